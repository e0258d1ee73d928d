import AdminHTTP
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The Prometheus endpoint: an ``AdminHTTPServer`` whose one route is ``MetricsRoute``. `GET /metrics` answers
/// with the registry in the text exposition format; any other path is 404 and any other method on /metrics 405.
///
/// Run it in a `ServiceGroup`; it shuts down as ``AdminHTTPServer`` does (a request in progress gets its response,
/// idle keep-alive connections are closed, `run()` returns when every connection is closed).
public struct MetricsHTTPServer: Service {
    public var host: String { server.host }
    public var port: Int { server.port }
    let server: AdminHTTPServer

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
        // A scrape has no body worth reading.
        server = AdminHTTPServer(
            host: host, port: port, routes: [MetricsRoute(registry: registry)], maxBodyBytes: 64 << 10,
            name: "Prometheus metrics endpoint", logger: logger, eventLoopGroup: eventLoopGroup,
            onServerRunning: onServerRunning)
    }

    public func run() async throws {
        try await server.run()
    }
}

/// `/metrics` in the Prometheus text exposition format (GET and HEAD; other methods are 405). It answers every
/// other path too, with a plain-text 404 that says where the metrics are: it is the metrics port's only route.
public struct MetricsRoute: HTTPRoute {
    let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    public func respond(to request: HTTPRequest) async -> HTTPResponse? {
        guard request.path == "/metrics" else {
            return .text("Not found. Metrics are at /metrics\n", status: .notFound)
        }
        guard request.method == .GET || request.method == .HEAD else {
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET, HEAD")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            return .full(status: .methodNotAllowed, headers: headers, body: ByteBuffer(string: "Only GET and HEAD are allowed\n"))
        }
        var body: [UInt8] = []
        registry.emit(into: &body)
        return .bytes(body, contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}
