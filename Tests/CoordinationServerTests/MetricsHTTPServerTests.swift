import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Testing
import ZooKeeperWire

@testable import CoordinationServer

@Suite struct ServerMetricsTests {
    @Test func metricsAreCreatedOnceWithOpDimensions() {
        let registry = PrometheusCollectorRegistry()
        let metrics = ServerMetrics(registry: registry)
        metrics.recordRequest(.create, duration: .milliseconds(3))
        metrics.recordRequest(.create, duration: .microseconds(80))
        metrics.recordRequest(.getData, duration: .microseconds(300))
        metrics.recordRequest(nil, duration: .milliseconds(1))
        metrics.recordFsync(duration: .milliseconds(2))
        metrics.bytesReceived.increment(by: 120)
        metrics.bytesSent.increment(by: 64)
        metrics.connections.record(2)
        metrics.sessions.record(1)
        metrics.znodes.record(5)
        metrics.watches.record(3)
        metrics.ephemerals.record(1)

        let text = registry.emitToString()
        #expect(text.contains(#"zooreg_requests_total{op="create"} 2"#))
        #expect(text.contains(#"zooreg_requests_total{op="getData"} 1"#))
        #expect(text.contains(#"zooreg_requests_total{op="unknown"} 1"#))
        #expect(text.contains(#"zooreg_requests_total{op="setData"} 0"#))
        #expect(text.contains(#"zooreg_request_duration_seconds_bucket{op="create",le="0.0001"} 1"#))
        #expect(text.contains(#"zooreg_request_duration_seconds_count{op="create"} 2"#))
        #expect(text.contains("zooreg_fsync_duration_seconds_count 1"))
        #expect(text.contains("bytes_received_count 120"))
        #expect(text.contains("zooreg_sent_bytes_total 64"))
        #expect(text.contains("num_alive_connections 2"))
        #expect(text.contains("global_sessions 1"))
        #expect(text.contains("znode_count 5"))
        #expect(text.contains("watch_count 3"))
        #expect(text.contains("ephemerals_count 1"))

        // Creating the metrics again on the same registry reuses them.
        let again = ServerMetrics(registry: registry)
        again.recordRequest(.create, duration: .milliseconds(1))
        #expect(registry.emitToString().contains(#"zooreg_requests_total{op="create"} 3"#))
    }
}

@Suite struct MetricsHTTPServerTests {
    static let quietLogger = Logger(label: "metrics-test") { _ in SwiftLogNoOpLogHandler() }

    typealias Client = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int, group: any EventLoopGroup) async throws -> Client {
        try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try Client(wrappingChannelSynchronously: channel) }
        }
    }

    /// Sends a raw request and reads until the server closes.
    static func exchange(_ request: String, port: Int, group: any EventLoopGroup) async throws -> String {
        let client = try await connect(port: port, group: group)
        return try await client.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var response = ""
            for try await chunk in inbound {
                response += String(buffer: chunk)
            }
            return response
        }
    }

    /// Whether `text` holds a complete response with a Content-Length body.
    static func isComplete(_ text: String) -> Bool {
        guard let headerEnd = text.range(of: "\r\n\r\n") else { return false }
        let header = text[..<headerEnd.lowerBound].lowercased()
        guard let line = header.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingBlanksForTest())
        else { return false }
        return text[headerEnd.upperBound...].utf8.count >= length
    }

    @Test(.timeLimit(.minutes(1)))
    func servesMetricsThenShutsDownGracefully() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let registry = PrometheusCollectorRegistry()
        let metrics = ServerMetrics(registry: registry)
        metrics.recordRequest(.create, duration: .milliseconds(3))
        metrics.znodes.record(5)

        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = MetricsHTTPServer(
            host: "127.0.0.1", port: 0, registry: registry, logger: Self.quietLogger, eventLoopGroup: group,
            onServerRunning: { address in
                portContinuation.yield(address.port ?? -1)
                portContinuation.finish()
            })
        let services = ServiceGroup(configuration: .init(services: [server], logger: Self.quietLogger))

        let port = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            var portIterator = ports.makeAsyncIterator()
            let port = try #require(await portIterator.next())
            #expect(port > 0)

            let ok = try await Self.exchange(
                "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", port: port, group: group)
            #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(ok.lowercased().contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"))
            #expect(ok.contains(#"zooreg_requests_total{op="create"} 1"#))
            #expect(ok.contains("znode_count 5"))
            #expect(Self.isComplete(ok))

            let notFound = try await Self.exchange("GET /other HTTP/1.0\r\n\r\n", port: port, group: group)
            #expect(notFound.hasPrefix("HTTP/1.0 404 Not Found\r\n"))

            let wrongMethod = try await Self.exchange(
                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                port: port, group: group)
            #expect(wrongMethod.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))

            // A keep-alive connection that stays open after its response must not hold up shutdown.
            let idle = try await Self.connect(port: port, group: group)
            try await idle.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"))
                var iterator = inbound.makeAsyncIterator()
                var response = ""
                while !Self.isComplete(response), let chunk = try await iterator.next() {
                    response += String(buffer: chunk)
                }
                #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
                #expect(!response.lowercased().contains("connection: close"))

                await services.triggerGracefulShutdown()
                // The server closes the idle connection: the stream ends without more data.
                let after = try await iterator.next()
                #expect(after == nil)
            }
            // run() has returned.
            try await tasks.next()
            return port
        }

        // Nothing listens any more.
        await #expect(throws: (any Error).self) {
            _ = try await Self.connect(port: port, group: group)
        }
        try await group.shutdownGracefully()
    }
}

extension Substring {
    fileprivate func trimmingBlanksForTest() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
