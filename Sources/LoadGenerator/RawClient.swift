import NIOCore
import ZooKeeperWire

/// A reply as the raw client hands it over: the header and the undecoded body.
struct RawReply {
    var header: ReplyHeader
    var body: ByteBuffer
    var op: OpCode

    var error: ErrorCode? { header.err == 0 ? nil : (ErrorCode(rawValue: header.err) ?? .systemError) }
}

/// A `RawConnection` with a future per request, for setup and scenarios (not for the hot loop). Lives on the
/// connection's event loop.
final class RawClient: RawConnectionDelegate {
    let connection: RawConnection
    private var nextTag = 0
    private var waiting: [Int: EventLoopPromise<RawReply>] = [:]
    /// Called for each watch notification, on the event loop.
    var onNotification: ((WatcherEvent, Int64) -> Void)?
    private(set) var lost = false

    init(connection: RawConnection) {
        self.connection = connection
        connection.delegate = self
    }

    var eventLoop: any EventLoop { connection.eventLoop }

    /// Sends a request (flushed at once unless `flush` is false) and completes with its reply.
    func request(_ request: ZooKeeperRequest, flush: Bool = true) -> EventLoopFuture<RawReply> {
        let promise = eventLoop.makePromise(of: RawReply.self)
        guard !lost, connection.phase == .open else {
            promise.fail(BenchError.connectionLost("session \(connection.sessionID)"))
            return promise.futureResult
        }
        nextTag += 1
        waiting[nextTag] = promise
        connection.send(request, tag: nextTag)
        if flush { connection.flush() }
        return promise.futureResult
    }

    func rawConnection(_ connection: RawConnection, didReceive header: ReplyHeader, body: ByteBuffer, tag: Int, op: OpCode) {
        waiting.removeValue(forKey: tag)?.succeed(RawReply(header: header, body: body, op: op))
    }

    func rawConnection(_ connection: RawConnection, didReceiveNotification event: WatcherEvent, zxid: Int64) {
        onNotification?(event, zxid)
    }

    func rawConnectionDidClose(_ connection: RawConnection, expected: Bool) {
        lost = !expected
        let pending = waiting
        waiting = [:]
        for promise in pending.values { promise.fail(BenchError.connectionLost("session \(connection.sessionID)")) }
    }

    /// Connects a raw client.
    static func connect(
        host: String, port: Int, on eventLoop: any EventLoop, sessionTimeoutMs: Int32, connectTimeout: TimeAmount = .seconds(10)
    ) -> EventLoopFuture<NIOLoopBound<RawClient>> {
        RawConnection.connect(
            host: host, port: port, on: eventLoop, sessionTimeoutMs: sessionTimeoutMs, connectTimeout: connectTimeout
        ).map { bound in
            NIOLoopBound(RawClient(connection: bound.value), eventLoop: eventLoop)
        }
    }
}
