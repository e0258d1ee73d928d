import DequeModule
import Jute
import NIOCore
import NIOPosix
import ZooKeeperWire

/// Receives what a `RawConnection` reads. Called on the connection's event loop.
protocol RawConnectionDelegate: AnyObject {
    /// The reply to a request sent with `send(_:tag:)`; `body` is empty unless `header.err` is 0.
    func rawConnection(_ connection: RawConnection, didReceive header: ReplyHeader, body: ByteBuffer, tag: Int, op: OpCode)
    /// A watch notification.
    func rawConnection(_ connection: RawConnection, didReceiveNotification event: WatcherEvent, zxid: Int64)
    /// The connection closed; `expected` is false unless `close()` was called.
    func rawConnectionDidClose(_ connection: RawConnection, expected: Bool)
}

/// One ZooKeeper session over one TCP connection, driven directly on the ZooKeeperWire codec with as little work per
/// request as possible: requests are encoded into one outbound buffer per turn of the event loop, replies are matched
/// to requests in FIFO order (ZooKeeper answers a session's requests in order), and bodies are left undecoded for
/// the delegate to read only what it needs. No reconnect, no watch bookkeeping: a benchmark wants to see a failure.
///
/// It lives on its channel's event loop (it is the channel's last handler); every method must be called there.
final class RawConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Sent {
        var xid: Int32
        var op: OpCode
        var tag: Int
    }

    enum Phase { case handshaking, open, closing, closed }

    let eventLoop: any EventLoop
    private(set) var phase: Phase = .handshaking
    private(set) var sessionID: Int64 = 0
    private(set) var negotiatedTimeoutMs: Int32 = 0
    weak var delegate: (any RawConnectionDelegate)?

    private let requestedTimeoutMs: Int32
    private var channel: (any Channel)?
    private var handshake: EventLoopPromise<NIOLoopBound<RawConnection>>?
    private var closed: EventLoopPromise<Void>
    private var inFlight = Deque<Sent>()
    private var outbound: ByteBuffer?
    private var nextXid: Int32 = 1
    private var pingTask: RepeatedTask?
    private var sentSinceLastPing = false
    private var pingsInFlight = 0
    private var closeXid: Int32?

    /// Requests sent and not answered yet.
    var outstanding: Int { inFlight.count }

    private init(eventLoop: any EventLoop, requestedTimeoutMs: Int32, handshake: EventLoopPromise<NIOLoopBound<RawConnection>>) {
        self.eventLoop = eventLoop
        self.requestedTimeoutMs = requestedTimeoutMs
        self.handshake = handshake
        self.closed = eventLoop.makePromise()
    }

    /// Connects, sends the handshake (a new session), and completes once the server granted the session.
    static func connect(
        host: String, port: Int, on eventLoop: any EventLoop, sessionTimeoutMs: Int32, connectTimeout: TimeAmount = .seconds(10)
    ) -> EventLoopFuture<NIOLoopBound<RawConnection>> {
        let promise = eventLoop.makePromise(of: NIOLoopBound<RawConnection>.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = RawConnection(eventLoop: channel.eventLoop, requestedTimeoutMs: sessionTimeoutMs, handshake: promise)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ZooKeeperFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        bootstrap.connect(host: host, port: port).whenFailure { error in
            promise.fail(BenchError.handshakeFailed("connect to \(host):\(port): \(error)"))
        }
        return promise.futureResult
    }

    // MARK: Sending

    /// Queues a request (sent at the next `flush()`, or when the current read batch completes).
    func send(_ request: ZooKeeperRequest, tag: Int) {
        guard phase == .open else { return }
        let xid = nextXid
        nextXid = nextXid == Int32.max ? 1 : nextXid + 1
        inFlight.append(Sent(xid: xid, op: request.opCode, tag: tag))
        appendFrame(xid: xid, request: request)
    }

    private func appendFrame(xid: Int32, request: ZooKeeperRequest) {
        if outbound == nil { outbound = channel?.allocator.buffer(capacity: 4096) }
        outbound?.writeZooKeeperRequest(xid: xid, request: request)
        sentSinceLastPing = true
    }

    /// Writes whatever was queued.
    func flush() {
        guard let buffer = outbound, buffer.readableBytes > 0, let channel else { return }
        outbound = nil
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Sends closeSession and closes the connection when it is answered (or after `timeout`). Completes when closed.
    func close(timeout: TimeAmount = .seconds(3)) -> EventLoopFuture<Void> {
        switch phase {
        case .open:
            phase = .closing
            closeXid = nextXid
            appendFrame(xid: nextXid, request: .closeSession)
            nextXid += 1
            flush()
            let channel = self.channel
            let timer = eventLoop.scheduleTask(in: timeout) { channel?.close(promise: nil) }
            closed.futureResult.whenComplete { _ in timer.cancel() }
        case .handshaking:
            phase = .closing
            channel?.close(promise: nil)
        case .closing, .closed:
            break
        }
        return closed.futureResult
    }

    /// Closes the socket without closeSession (the session then expires on the server).
    func abort() {
        channel?.close(promise: nil)
    }

    // MARK: ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
    }

    /// A channel that never became active (connect refused) is torn down without channelInactive.
    func handlerRemoved(context: ChannelHandlerContext) {
        phase = .closed
        pingTask?.cancel()
        pingTask = nil
        handshake?.fail(BenchError.handshakeFailed("connection closed before the handshake"))
        handshake = nil
        closed.succeed(())
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        buffer.writeZooKeeperFrame(record: ConnectRequest(
            lastZxidSeen: 0, timeOut: requestedTimeoutMs, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16),
            readOnly: false))
        context.writeAndFlush(NIOAny(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch phase {
        case .handshaking:
            receiveHandshake(frame, context: context)
        case .open, .closing:
            receive(frame, context: context)
        case .closed:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let expected = phase == .closing
        phase = .closed
        pingTask?.cancel()
        pingTask = nil
        handshake?.fail(BenchError.handshakeFailed("connection closed during the handshake"))
        handshake = nil
        inFlight.removeAll()
        closed.succeed(())
        delegate?.rawConnectionDidClose(self, expected: expected)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func receiveHandshake(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        do {
            let response = try ConnectResponse.decodeWhole(frame)
            guard response.sessionId != 0, response.timeOut > 0 else {
                throw BenchError.handshakeFailed("the server refused the session")
            }
            sessionID = response.sessionId
            negotiatedTimeoutMs = response.timeOut
            phase = .open
            startPings()
            let promise = handshake
            handshake = nil
            promise?.succeed(NIOLoopBound(self, eventLoop: eventLoop))
        } catch {
            handshake?.fail(error is BenchError ? error : BenchError.handshakeFailed("\(error)"))
            handshake = nil
            context.close(promise: nil)
        }
    }

    private func receive(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        var body = frame
        guard let header = try? body.readWireRecord(ReplyHeader.self) else {
            context.close(promise: nil)
            return
        }
        if header.xid == closeXid {
            context.close(promise: nil)
            return
        }
        switch header.xid {
        case SpecialXid.notification:
            if let event = try? WatcherEvent.decodeWhole(body) {
                delegate?.rawConnection(self, didReceiveNotification: event, zxid: header.zxid)
            }
        case SpecialXid.ping:
            pingsInFlight = max(0, pingsInFlight - 1)
        default:
            guard let sent = popSent(xid: header.xid) else {
                context.close(promise: nil)
                return
            }
            delegate?.rawConnection(self, didReceive: header, body: body, tag: sent.tag, op: sent.op)
        }
    }

    /// Replies come in order, so the answered request is normally the oldest one.
    private func popSent(xid: Int32) -> Sent? {
        if let first = inFlight.first, first.xid == xid { return inFlight.removeFirst() }
        guard let index = inFlight.firstIndex(where: { $0.xid == xid }) else { return nil }
        return inFlight.remove(at: index)
    }

    /// Pings when nothing was sent for a third of the session timeout, as ZooKeeper's clients do.
    private func startPings() {
        let interval = TimeAmount.milliseconds(Int64(max(100, negotiatedTimeoutMs / 3)))
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        pingTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let connection = bound.value
            guard connection.phase == .open else { return }
            if !connection.sentSinceLastPing && connection.pingsInFlight < 2 {
                connection.pingsInFlight += 1
                connection.appendFrame(xid: SpecialXid.ping, request: .ping)
                connection.flush()
            }
            connection.sentSinceLastPing = false
        }
    }
}
