#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Persistence
import ServiceLifecycle

/// Serves this replica's newest valid snapshot to peers that bootstrap from it: `GET /snapshot` answers with the
/// snapshot file's bytes as they are on disk (header, body and checksums; the receiver checks them), and the
/// zxid in `X-Zooreg-Zxid`. 404 when there is none. The address it listens on is published with the replica's
/// membership key in etcd.
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
            // Newest first; a damaged file is passed over (the receiver would refuse it anyway).
            for snapshot in try store.snapshots().reversed() {
                guard (try? store.load(snapshot)) != nil else { continue }
                let bytes = try FileBytes.read(snapshot.path)
                var h = HTTPHeaders()
                h.add(name: "Content-Type", value: "application/octet-stream")
                h.add(name: "X-Zooreg-Zxid", value: String(snapshot.zxid, radix: 16))
                return (.ok, h, bytes)
            }
            return (.notFound, headers, ByteBuffer(string: "This replica has no snapshot yet\n"))
        } catch {
            logger.warning("Could not serve a snapshot", metadata: ["error": "\(error)"])
            return (.internalServerError, headers, ByteBuffer(string: "\(error)\n"))
        }
    }
}

enum FileBytes {
    static func read(_ path: String) throws -> ByteBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotTransferError.io("open \(path): errno \(errno)") }
        defer { close(fd) }
        var buffer = ByteBuffer()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SnapshotTransferError.io("read \(path): errno \(errno)")
            }
            if n == 0 { break }
            buffer.writeBytes(chunk[0..<n])
        }
        return buffer
    }

    /// Writes `bytes` to `path` through a temporary file, fsynced and renamed, then fsyncs the directory.
    static func writeAtomically(_ bytes: ByteBuffer, to path: String, directory: String) throws {
        let tmp = path + ".tmp-bootstrap"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SnapshotTransferError.io("create \(tmp): errno \(errno)") }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        try bytes.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    close(fd)
                    throw SnapshotTransferError.io("write \(tmp): errno \(errno)")
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw SnapshotTransferError.io("fsync \(tmp): errno \(errno)")
        }
        close(fd)
        guard rename(tmp, path) == 0 else { throw SnapshotTransferError.io("rename \(tmp): errno \(errno)") }
        ok = true
        let dfd = open(directory, O_RDONLY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
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

    static func fetch(host: String, port: Int, maxBytes: Int = 1 << 34) async throws -> (zxid: Int64, bytes: ByteBuffer) {
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
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let head):
                    status = head.status
                    zxid = head.headers.first(name: "X-Zooreg-Zxid").flatMap { Int64($0, radix: 16) }
                case .body(var chunk):
                    guard body.readableBytes + chunk.readableBytes <= maxBytes else { throw SnapshotTransferError.http("snapshot too large") }
                    body.writeBuffer(&chunk)
                case .end:
                    guard status == .ok else {
                        throw SnapshotTransferError.http("\(host):\(port) answered \(status.code): \(String(buffer: body).prefix(200))")
                    }
                    guard let zxid else { throw SnapshotTransferError.http("\(host):\(port) sent no X-Zooreg-Zxid") }
                    return (zxid, body)
                }
            }
            throw SnapshotTransferError.http("\(host):\(port) closed before the end of the snapshot")
        }
    }
}
