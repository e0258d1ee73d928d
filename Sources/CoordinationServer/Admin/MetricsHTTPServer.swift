import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The Prometheus endpoint: `GET /metrics` answers with the registry in the text exposition format; any
/// other path is 404 and any other method on /metrics 405.
///
/// Run it in a `ServiceGroup`. On graceful shutdown it stops accepting connections and quiesces the open
/// ones: an idle keep-alive connection is closed at once, a request in progress gets its response (with
/// `Connection: close`) first. `run()` returns when every connection is closed. Cancellation closes
/// everything at once.
public struct MetricsHTTPServer: Service {
    public let host: String
    public let port: Int
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    let onServerRunning: (@Sendable (SocketAddress) async -> Void)?

    /// - Parameters:
    ///   - host: the address to bind, e.g. `127.0.0.1` or `0.0.0.0`.
    ///   - port: the port to bind; 0 picks a free one, reported to `onServerRunning`.
    ///   - registry: what `/metrics` serves.
    ///   - eventLoopGroup: the group to run on (default: the process-wide singleton).
    ///   - onServerRunning: called once the socket is bound, with its address.
    public init(
        host: String,
        port: Int,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onServerRunning: (@Sendable (SocketAddress) async -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.registry = registry
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onServerRunning = onServerRunning
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public func run() async throws {
        let server = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let address = server.channel.localAddress
        logger.info(
            "Prometheus metrics endpoint listening",
            metadata: ["metrics.address": "\(address.map { "\($0)" } ?? "\(host):\(port)")"]
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
                                // HTTPServerPipelineHandler closes an idle connection now, a busy one after
                                // its response.
                                connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                            }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            // Ends the accept loop above; the task group then waits for the open connections.
            server.channel.close(promise: nil)
        }
        logger.info("Prometheus metrics endpoint stopped")
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var request: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let head):
                        request = head
                    case .body:
                        continue
                    case .end:
                        guard let head = request else { continue }
                        request = nil
                        try await respond(to: head, outbound: outbound)
                        if !head.isKeepAlive {
                            // Half-close after the response is written; the loop ends when the client closes.
                            connection.channel.close(mode: .output, promise: nil)
                        }
                    }
                }
            }
        } catch {
            logger.debug("Metrics connection closed with an error", metadata: ["error": "\(error)"])
        }
    }

    private func respond(
        to head: HTTPRequestHead,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let status: HTTPResponseStatus
        var body: [UInt8]
        var headers = HTTPHeaders()
        if path != "/metrics" {
            status = .notFound
            body = Array("Not found. Metrics are at /metrics\n".utf8)
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        } else if head.method != .GET && head.method != .HEAD {
            status = .methodNotAllowed
            body = Array("Only GET and HEAD are allowed\n".utf8)
            headers.add(name: "Allow", value: "GET, HEAD")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        } else {
            status = .ok
            body = []
            registry.emit(into: &body)
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        }
        headers.add(name: "Content-Length", value: String(body.count))
        if !head.isKeepAlive {
            headers.add(name: "Connection", value: "close")
        }
        var parts: [HTTPServerResponsePart] = [.head(HTTPResponseHead(version: head.version, status: status, headers: headers))]
        if head.method != .HEAD {
            parts.append(.body(.byteBuffer(ByteBuffer(bytes: body))))
        }
        parts.append(.end(nil))
        try await outbound.write(contentsOf: parts)
    }
}
