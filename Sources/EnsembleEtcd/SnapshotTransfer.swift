import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Persistence
import ServiceLifecycle

/// Serves this replica's newest valid snapshot to peers that bootstrap from it: `GET /snapshot` answers with the
/// snapshot's verified body, its zxid in `X-Zooreg-Zxid` and the body's CRC-32C in `X-Zooreg-Body-CRC32C` (the
/// receiver checks it, then stores the body through `SnapshotStore`). 404 when there is none. The address it
/// listens on is published with the replica's membership key in etcd.
public struct SnapshotHTTPServer: Service {
    public let host: String
    public let port: Int
    let directory: String
    let logger: Logger
    let onServerRunning: (@Sendable (SocketAddress) -> Void)?

    public init(host: String, port: Int, directory: String, logger: Logger, onServerRunning: (@Sendable (SocketAddress) -> Void)? = nil) {
        self.host = host
        self.port = port
        self.directory = directory
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        if let address = server.channel.localAddress {
            logger.info("Serving snapshots to peers", metadata: ["snapshot.address": "\(address)"])
            onServerRunning?(address)
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await part in inbound {
                    guard case .head(let head) = part else { continue }
                    let (status, headers, body) = respond(to: head)
                    var h = headers
                    h.add(name: "Content-Length", value: String(body.readableBytes))
                    h.add(name: "Connection", value: "close")
                    try await outbound.write(contentsOf: [
                        .head(HTTPResponseHead(version: head.version, status: status, headers: h)),
                        .body(.byteBuffer(body)), .end(nil),
                    ])
                    break
                }
            }
        } catch {
            logger.debug("Snapshot connection closed with an error", metadata: ["error": "\(error)"])
        }
    }

    private func respond(to head: HTTPRequestHead) -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        guard head.uri == "/snapshot", head.method == .GET else {
            return (.notFound, headers, ByteBuffer(string: "Not found. GET /snapshot\n"))
        }
        let store = SnapshotStore(directory: directory, logger: logger)
        do {
            // Newest first; a damaged file is passed over. `load` reads and verifies the file once.
            for snapshot in try store.snapshots().reversed() {
                guard let body = try? store.load(snapshot) else { continue }
                var h = HTTPHeaders()
                h.add(name: "Content-Type", value: "application/octet-stream")
                h.add(name: "X-Zooreg-Zxid", value: String(snapshot.zxid, radix: 16))
                h.add(name: "X-Zooreg-Body-CRC32C", value: String(Self.crc(body), radix: 16))
                return (.ok, h, body)
            }
            return (.notFound, headers, ByteBuffer(string: "This replica has no snapshot yet\n"))
        } catch {
            logger.warning("Could not serve a snapshot", metadata: ["error": "\(error)"])
            return (.internalServerError, headers, ByteBuffer(string: "\(error)\n"))
        }
    }

    static func crc(_ body: ByteBuffer) -> UInt32 {
        body.withUnsafeReadableBytes { CRC32C.checksum($0) }
    }
}

public enum SnapshotTransferError: Error, CustomStringConvertible {
    case io(String)
    case http(String)
    case noSnapshotAvailable(String)

    public var description: String {
        switch self {
        case .io(let m): return "snapshot transfer: \(m)"
        case .http(let m): return "snapshot transfer: \(m)"
        case .noSnapshotAvailable(let m): return m
        }
    }
}

/// Fetches a peer's snapshot (`GET http://host:port/snapshot`).
enum SnapshotFetcher {
    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    static func fetch(host: String, port: Int, maxBytes: Int = 1 << 34) async throws -> (zxid: Int64, body: ByteBuffer) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(3))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: "\(host):\(port)")
            headers.add(name: "Connection", value: "close")
            try await outbound.write(contentsOf: [
                .head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/snapshot", headers: headers)), .end(nil),
            ])
            var status: HTTPResponseStatus = .ok
            var zxid: Int64?
            var crc: UInt32?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let head):
                    status = head.status
                    zxid = head.headers.first(name: "X-Zooreg-Zxid").flatMap { Int64($0, radix: 16) }
                    crc = head.headers.first(name: "X-Zooreg-Body-CRC32C").flatMap { UInt32($0, radix: 16) }
                case .body(var chunk):
                    guard body.readableBytes + chunk.readableBytes <= maxBytes else { throw SnapshotTransferError.http("snapshot too large") }
                    body.writeBuffer(&chunk)
                case .end:
                    guard status == .ok else {
                        throw SnapshotTransferError.http("\(host):\(port) answered \(status.code): \(String(buffer: body).prefix(200))")
                    }
                    guard let zxid, let crc else { throw SnapshotTransferError.http("\(host):\(port) sent no X-Zooreg-Zxid or X-Zooreg-Body-CRC32C") }
                    guard SnapshotHTTPServer.crc(body) == crc else {
                        throw SnapshotTransferError.http("\(host):\(port): the snapshot's body does not match its CRC-32C")
                    }
                    return (zxid, body)
                }
            }
            throw SnapshotTransferError.http("\(host):\(port) closed before the end of the snapshot")
        }
    }
}
