import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// A small HTTP/1.1 server for the AdminServer's endpoints and the web console: each request goes to the first of
/// `routes` that answers it; none answering is a 404 in ZooKeeper AdminServer's JSON error shape.
///
/// Bodies are read in full up to `maxBodyBytes` (413 beyond). A streamed response (server-sent events) is sent
/// chunked; its producer is cancelled when the client goes or the server shuts down.
///
/// Run it in a `ServiceGroup`. On graceful shutdown it stops accepting, ends the streams, lets a request in
/// progress finish and closes the idle connections; `run()` returns when every connection is closed.
public struct AdminHTTPServer: Service {
    public let host: String
    public let port: Int
    let routes: [any HTTPRoute]
    let maxBodyBytes: Int
    /// What its log lines call it ("Admin HTTP server", "Prometheus metrics endpoint").
    let name: String
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    let onServerRunning: (@Sendable (SocketAddress) async -> Void)?

    public init(
        host: String,
        port: Int,
        routes: [any HTTPRoute],
        maxBodyBytes: Int = 1 << 20,
        name: String = "Admin HTTP server",
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onServerRunning: (@Sendable (SocketAddress) async -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.routes = routes
        self.maxBodyBytes = maxBodyBytes
        self.name = name
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onServerRunning = onServerRunning
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public func run() async throws {
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(ChannelOptions.backlog, value: 128)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let address = server.channel.localAddress
        logger.info(
            "\(name) listening",
            metadata: ["http.address": "\(address.map { "\($0)" } ?? "\(host):\(port)")"]
        )
        if let address, let onServerRunning {
            await onServerRunning(address)
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            await withGracefulShutdownHandler {
                                await serve(connection)
                            } onGracefulShutdown: {
                                connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                            }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        logger.info("\(name) stopped")
    }

    private func serve(_ connection: Connection) async {
        let remote = connection.channel.remoteAddress
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body.clear()
                        tooLarge = false
                    case .body(var chunk):
                        if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                            tooLarge = true
                        } else if !tooLarge {
                            body.writeBuffer(&chunk)
                        }
                    case .end:
                        guard let h = head else { continue }
                        head = nil
                        let response: HTTPResponse
                        if tooLarge {
                            response = Self.error(.payloadTooLarge, "Request body larger than \(maxBodyBytes) bytes")
                        } else {
                            let request = HTTPRequest(method: h.method, uri: h.uri, headers: h.headers, body: body, remoteAddress: remote)
                            response = await route(request)
                        }
                        let keepAlive = try await write(response, for: h, outbound: outbound, channel: connection.channel)
                        if !keepAlive || tooLarge {
                            connection.channel.close(mode: .output, promise: nil)
                        }
                    }
                }
            }
        } catch {
            logger.debug("\(name): connection closed with an error", metadata: ["error": "\(error)"])
        }
    }

    func route(_ request: HTTPRequest) async -> HTTPResponse {
        for route in routes {
            if let response = await route.respond(to: request) {
                return response
            }
        }
        return Self.error(.notFound, "No handler for \(request.path)")
    }

    /// ZooKeeper AdminServer's error shape: `{"error": "...", "command": null}`-like; here `{"error": ...}`.
    public static func error(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        .json("{\"error\":\(jsonString(message))}", status: status)
    }

    /// A JSON string literal of `text`, escaped as Jackson (ZooKeeper's AdminServer) escapes it: quotes, backslashes
    /// and control characters (b, f, n, r, t by name, the others as uppercase u00XX); everything else as is.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Writes `response`; returns whether the connection may serve another request.
    private func write(
        _ response: HTTPResponse, for head: HTTPRequestHead,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, channel: any Channel
    ) async throws -> Bool {
        switch response {
        case .full(let status, var headers, let body):
            headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
            if !head.isKeepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            var parts: [HTTPServerResponsePart] = [.head(HTTPResponseHead(version: head.version, status: status, headers: headers))]
            if head.method != .HEAD { parts.append(.body(.byteBuffer(body))) }
            parts.append(.end(nil))
            try await outbound.write(contentsOf: parts)
            return head.isKeepAlive
        case .stream(let status, var headers, let producer):
            headers.replaceOrAdd(name: "Cache-Control", value: "no-cache")
            headers.replaceOrAdd(name: "Connection", value: "close")
            try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
            if head.method == .HEAD {
                try await outbound.write(.end(nil))
                return false
            }
            let writer = HTTPStreamWriter { buffer in
                try Task.checkCancellation()
                try await outbound.write(.body(.byteBuffer(buffer)))
            }
            // The producer runs until it returns, the client goes (the channel closes) or the server shuts down.
            // The close is watched through a stream: `closeFuture.get()` ignores cancellation, and would keep the
            // group (and a graceful shutdown) waiting for the client after the producer ended.
            let (closed, closedContinuation) = AsyncStream<Void>.makeStream()
            channel.closeFuture.whenComplete { _ in closedContinuation.finish() }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await cancelWhenGracefulShutdown { try await producer(writer) }
                    } catch {
                        logger.debug("Admin HTTP stream ended", metadata: ["error": "\(error)"])
                    }
                }
                group.addTask {
                    for await _ in closed {}
                }
                await group.next()
                group.cancelAll()
            }
            try? await outbound.write(.end(nil))
            return false
        }
    }
}
