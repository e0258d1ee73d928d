import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Testing
@testable import AdminHTTP

/// The real server on a free loopback port, driven over raw TCP (HTTP/1.1 written by hand, so the tests see
/// exactly what goes over the wire).
@Suite struct AdminHTTPServerTests {
    struct Echo: HTTPRoute {
        func respond(to request: HTTPRequest) async -> HTTPResponse? {
            guard request.path.hasPrefix("/echo") else { return nil }
            return .text("\(request.method) \(request.path) \(request.query["q"] ?? "-") \(request.body.readableBytes)")
        }
    }

    /// Streams `count` events, then returns; records whether it was cancelled.
    struct Ticker: HTTPRoute {
        let count: Int
        let ended: NIOLockedValueBox<String?>
        func respond(to request: HTTPRequest) async -> HTTPResponse? {
            guard request.path == "/events" else { return nil }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/event-stream")
            return .stream(status: .ok, headers: headers) { writer in
                do {
                    for i in 0..<count {
                        try await writer.writeEvent("tick", data: "n=\(i)\nsecond line")
                    }
                    // Then wait for the client to go.
                    try await Task.sleep(for: .seconds(30))
                    ended.withLockedValue { $0 = "timeout" }
                } catch is CancellationError {
                    ended.withLockedValue { $0 = "cancelled" }
                } catch {
                    ended.withLockedValue { $0 = "error" }
                }
            }
        }
    }

    func withServer(
        routes: [any HTTPRoute], maxBodyBytes: Int = 1 << 20, _ body: @Sendable @escaping (Int) async throws -> Void
    ) async throws {
        let bound = AsyncStream<Int>.makeStream()
        let server = AdminHTTPServer(
            host: "127.0.0.1", port: 0, routes: routes, maxBodyBytes: maxBodyBytes, logger: Logger(label: "test"),
            onServerRunning: { address in bound.continuation.yield(address.port ?? 0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            var ports = bound.stream.makeAsyncIterator()
            let port = await ports.next() ?? 0
            try await body(port)
            group.cancelAll()
        }
    }

    /// Sends `request` and reads until the server closes or `until` appears in what was read.
    func exchange(port: Int, _ request: String, until marker: String? = nil) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var text = ""
            for try await var chunk in inbound {
                text += chunk.readString(length: chunk.readableBytes) ?? ""
                if let marker, text.contains(marker) { break }
            }
            return text
        }
    }

    @Test func aRouteAnswersAndTheRestIs404JSON() async throws {
        try await withServer(routes: [Echo()]) { port in
            let ok = try await exchange(port: port, "GET /echo/a%20b?q=x+y HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(ok.hasPrefix("HTTP/1.1 200 OK"))
            #expect(ok.lowercased().contains("content-length: 19"))
            #expect(ok.hasSuffix("GET /echo/a b x y 0"))
            let missing = try await exchange(port: port, "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(missing.hasPrefix("HTTP/1.1 404 Not Found"))
            #expect(missing.lowercased().contains("content-type: application/json"))
            #expect(missing.hasSuffix(#"{"error":"No handler for /nope"}"#))
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer(routes: [Echo()]) { port in
            let text = try await exchange(
                port: port,
                "GET /echo/1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /echo/2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
            #expect(text.split(separator: "HTTP/1.1 200 OK", omittingEmptySubsequences: false).count == 3)
            #expect(text.contains("GET /echo/1 - 0"))
            #expect(text.hasSuffix("POST /echo/2 - 3"))
        }
    }

    @Test func aBodyOverTheLimitIs413AndTheConnectionCloses() async throws {
        try await withServer(routes: [Echo()], maxBodyBytes: 8) { port in
            let text = try await exchange(
                port: port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\n01234567890123456789")
            #expect(text.hasPrefix("HTTP/1.1 413 Payload Too Large"))
            #expect(text.contains("larger than 8 bytes"))
        }
    }

    @Test func aStreamSendsServerSentEventsAndItsProducerIsCancelledWhenTheClientGoes() async throws {
        let ended = NIOLockedValueBox<String?>(nil)
        try await withServer(routes: [Ticker(count: 3, ended: ended)]) { port in
            let text = try await exchange(
                port: port, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n", until: "data: n=2\ndata: second line\n\n")
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(text.lowercased().contains("transfer-encoding: chunked"))
            #expect(text.contains("event: tick\ndata: n=0\ndata: second line\n\n"))
            // The client has closed: the producer's wait ends in cancellation, well before its 30 s.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            while ended.withLockedValue({ $0 }) == nil && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(ended.withLockedValue { $0 } == "cancelled")
        }
    }

    @Test func aMalformedRequestGetsA400AndTheServerKeepsServing() async throws {
        try await withServer(routes: [Echo()]) { port in
            let bad = try await exchange(port: port, "NOT HTTP AT ALL\r\n\r\n")
            #expect(bad.hasPrefix("HTTP/1.1 400"))
            let ok = try await exchange(port: port, "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            #expect(ok.hasPrefix("HTTP/1.1 200 OK"))
        }
    }
}
