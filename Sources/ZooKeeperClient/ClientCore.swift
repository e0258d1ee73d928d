import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ZooKeeperWire

/// Where a local watcher's events go.
enum WatcherSink: Sendable {
    case oneShot(OneShotWatch)
    case callback(path: String, @Sendable (WatchEvent) -> Void)
    case stream(AsyncThrowingStream<WatchEvent, any Error>.Continuation)

    var isPersistent: Bool {
        if case .stream = self { return true }
        return false
    }

    /// The watcher will get nothing more: the session expired (error) or the client closed or the watch was
    /// removed (nil).
    func end(_ error: ZooKeeperError?) {
        switch self {
        case .oneShot(let watch):
            watch.complete(.failure(error ?? .clientClosed))
        case .callback(let path, let callback):
            callback(WatchEvent(type: .none, state: error == nil ? .closed : .expired, path: path))
        case .stream(let continuation):
            if let error { continuation.finish(throwing: error) } else { continuation.finish() }
        }
    }
}

/// The connection-state subscribers, shared between the event loop (which publishes) and callers (who
/// subscribe from any thread): a lock, because subscribing must take effect before `states` returns.
struct StateObservers: Sendable {
    var current: ConnectionState?
    var sessionID: Int64 = 0
    var negotiatedTimeout: TimeAmount?
    var nextID: UInt64 = 0
    var continuations: [UInt64: AsyncStream<ConnectionState>.Continuation] = [:]
}

/// The NIO shell around `ConnectionStateMachine`. It lives on one event loop (every method runs there; the
/// client hops onto the loop for each call), and is the only place that does I/O: it runs the actions the
/// state machine returns (connect, write, close, schedule the timer) and resumes the callers.
final class ClientCore {
    let loop: any EventLoop
    let logger: Logger
    let observers: NIOLockedValueBox<StateObservers>
    private var machine: ConnectionStateMachine
    private var nextRequestID: RequestID = 0
    private var requests: [RequestID: CheckedContinuation<ZooKeeperResponse, any Error>] = [:]
    private var requestWatchers: [RequestID: WatcherID] = [:]
    private var sinks: [WatcherID: WatcherSink] = [:]
    private var channels: [ConnectionID: any Channel] = [:]
    private var timer: Scheduled<Void>?
    private var flushScheduled = false
    private var unflushed: Set<ConnectionID> = []
    private var sessionWaiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    private var cancelledWaiters: [UInt64: any Error] = [:]
    /// TLS for every connection, or nil for plaintext.
    private let tls: ZooKeeperClientTLS?

    init(
        loop: any EventLoop, configuration: ConnectionStateMachine.Configuration, logger: Logger,
        observers: NIOLockedValueBox<StateObservers>, tls: ZooKeeperClientTLS? = nil
    ) {
        self.tls = tls
        self.loop = loop
        self.logger = logger
        self.observers = observers
        self.machine = ConnectionStateMachine(configuration: configuration)
    }

    private var bound: NIOLoopBound<ClientCore> { NIOLoopBound(self, eventLoop: loop) }

    // MARK: Inputs from callers (on the loop)

    func start() {
        run(machine.start(now: .now()))
    }

    func submit(
        _ request: ZooKeeperRequest, watch: (WatchRegistration, WatcherSink)? = nil,
        effect: ConnectionStateMachine.LocalEffect? = nil,
        continuation: CheckedContinuation<ZooKeeperResponse, any Error>
    ) {
        nextRequestID += 1
        let id = nextRequestID
        requests[id] = continuation
        var registration: WatchRegistration?
        if let (reg, sink) = watch {
            registration = reg
            sinks[reg.watcher] = sink
            requestWatchers[id] = reg.watcher
        }
        run(machine.submit(id, request, watch: registration, effect: effect, now: .now()))
    }

    func addAuth(scheme: String, auth: [UInt8], continuation: CheckedContinuation<ZooKeeperResponse, any Error>) {
        nextRequestID += 1
        let id = nextRequestID
        requests[id] = continuation
        run(machine.addAuth(id, scheme: scheme, auth: auth, now: .now()))
    }

    func removeLocalWatches(serverPath: String, type: WatcherType) -> Bool {
        let (actions, removed) = machine.removeLocalWatches(serverPath: serverPath, type: type, now: .now())
        run(actions)
        return removed
    }

    /// A watcher's owner went away (a persistent stream stopped being iterated).
    func watcherTerminated(_ watcher: WatcherID) {
        guard sinks.removeValue(forKey: watcher) != nil else { return }
        run(machine.removeWatcher(watcher, now: .now()))
    }

    func close(continuation: CheckedContinuation<Void, Never>?) {
        if machine.isClosed {
            continuation?.resume()
            return
        }
        if let continuation { closeWaiters.append(continuation) }
        run(machine.close(now: .now()))
    }

    func startNewSession() {
        run(machine.startNewSession(now: .now()))
    }

    /// Waits until a session is established (`connected`, `reconnected` or `readOnly`). Fails with
    /// `sessionExpired` if it is expired, or the closed error if the client is closed.
    func waitForSession(
        id: UInt64, continuation: CheckedContinuation<Void, any Error>
    ) {
        if machine.isConnected {
            continuation.resume()
        } else if machine.isClosed {
            continuation.resume(throwing: ZooKeeperError.clientClosed)
        } else if machine.isExpired {
            continuation.resume(throwing: ZooKeeperError.sessionExpired)
        } else if let error = cancelledWaiters.removeValue(forKey: id) {
            continuation.resume(throwing: error)
        } else {
            sessionWaiters[id] = continuation
            run(machine.start(now: .now()))
        }
    }

    /// Ends a `waitForSession` early (cancellation, timeout); remembered if it has not arrived yet.
    func cancelSessionWaiter(id: UInt64, error: any Error) {
        if let waiter = sessionWaiters.removeValue(forKey: id) {
            waiter.resume(throwing: error)
        } else if !machine.isConnected {
            cancelledWaiters[id] = error
        }
    }

    func waitUntilClosed(_ continuation: CheckedContinuation<Void, Never>) {
        if machine.isClosed { continuation.resume() } else { closeWaiters.append(continuation) }
    }

    var isClosed: Bool { machine.isClosed }

    // MARK: Inputs from the network and the timer

    func frameReceived(_ id: ConnectionID, _ frame: ByteBuffer) {
        run(machine.frameReceived(id, frame, now: .now()))
    }

    func channelInactive(_ id: ConnectionID) {
        channels[id] = nil
        unflushed.remove(id)
        run(machine.channelInactive(id, now: .now()))
    }

    private func timerFired() {
        timer = nil
        run(machine.timerFired(now: .now()))
    }

    // MARK: Running actions

    private func run(_ actions: [ConnectionStateMachine.Action]) {
        for action in actions {
            switch action {
            case .connect(let server, let id, let timeout):
                openConnection(to: server, id: id, timeout: timeout)
            case .send(let frame, let id):
                guard let channel = channels[id] else { continue }
                var buffer = channel.allocator.buffer(capacity: 64)
                switch frame {
                case .connect(let request): buffer.writeZooKeeperFrame(record: request)
                case .request(let request): buffer.writeZooKeeperRequest(request)
                }
                channel.write(buffer, promise: nil)
                unflushed.insert(id)
            case .closeConnection(let id):
                if let channel = channels.removeValue(forKey: id) {
                    unflushed.remove(id)
                    channel.close(promise: nil)
                }
            case .succeed(let id, let response):
                requestWatchers[id] = nil
                requests.removeValue(forKey: id)?.resume(returning: response)
            case .fail(let id, let error):
                if let watcher = requestWatchers.removeValue(forKey: id), !machine.isRegistered(watcher) {
                    sinks[watcher] = nil
                }
                requests.removeValue(forKey: id)?.resume(throwing: error)
            case .deliver(let event, let watchers):
                for watcher in watchers { deliver(event, to: watcher) }
            case .endWatchers(let watchers, let error):
                for watcher in watchers { sinks.removeValue(forKey: watcher)?.end(error) }
            case .stateChanged(let state):
                publish(state)
            case .scheduleTimer(let deadline):
                timer?.cancel()
                let core = bound
                timer = loop.scheduleTask(deadline: deadline) { core.value.timerFired() }
            case .warning(let warning, let connection):
                log(warning, connection)
            }
        }
        scheduleFlush()
    }

    private func deliver(_ event: WatchEvent, to watcher: WatcherID) {
        guard let sink = sinks[watcher] else { return }
        switch sink {
        case .oneShot(let watch):
            sinks[watcher] = nil
            watch.complete(.success(event))
        case .callback(_, let callback):
            sinks[watcher] = nil
            callback(event)
        case .stream(let continuation):
            continuation.yield(event)
        }
    }

    /// Writes are flushed once per turn of the loop, so that requests submitted together go out in one write.
    private func scheduleFlush() {
        guard !unflushed.isEmpty, !flushScheduled else { return }
        flushScheduled = true
        let core = bound
        loop.execute {
            let core = core.value
            core.flushScheduled = false
            for id in core.unflushed { core.channels[id]?.flush() }
            core.unflushed.removeAll()
        }
    }

    private func publish(_ state: ConnectionState) {
        let sessionID = machine.sessionID
        let timeout = machine.negotiatedTimeout
        var metadata: Logger.Metadata = ["zk.state": "\(state)", "zk.session.id": "0x\(String(sessionID, radix: 16))"]
        if let timeout { metadata["zk.session.timeout.ms"] = "\(timeout.nanoseconds / 1_000_000)" }
        switch state {
        case .expired: logger.warning("ZooKeeper session expired", metadata: metadata)
        case .suspended: logger.info("ZooKeeper connection lost", metadata: metadata)
        default: logger.info("ZooKeeper connection state changed", metadata: metadata)
        }
        let continuations = observers.withLockedValue { observers in
            observers.current = state
            observers.sessionID = sessionID
            observers.negotiatedTimeout = timeout
            let list = Array(observers.continuations.values)
            if state == .closed { observers.continuations = [:] }
            return list
        }
        for continuation in continuations {
            continuation.yield(state)
            if state == .closed { continuation.finish() }
        }
        switch state {
        case .connected, .reconnected, .readOnly:
            let waiters = sessionWaiters
            sessionWaiters = [:]
            for waiter in waiters.values { waiter.resume() }
        case .expired:
            let waiters = sessionWaiters
            sessionWaiters = [:]
            for waiter in waiters.values { waiter.resume(throwing: ZooKeeperError.sessionExpired) }
        case .closed:
            timer?.cancel()
            timer = nil
            let waiters = sessionWaiters
            sessionWaiters = [:]
            for waiter in waiters.values { waiter.resume(throwing: ZooKeeperError.clientClosed) }
            let closers = closeWaiters
            closeWaiters = []
            for closer in closers { closer.resume() }
        case .suspended:
            break
        }
    }

    private func log(_ warning: ConnectionStateMachine.Warning, _ connection: ConnectionID?) {
        var metadata: Logger.Metadata = ["zk.session.id": "0x\(String(machine.sessionID, radix: 16))"]
        if let connection { metadata["zk.connection"] = "\(connection)" }
        switch warning {
        case .protocolError(let reason):
            metadata["reason"] = "\(reason)"
            logger.warning("ZooKeeper protocol error, dropping the connection", metadata: metadata)
        case .handshakeTimeout:
            logger.info("ZooKeeper connection attempt timed out", metadata: metadata)
        case .readTimeout:
            logger.warning("No frame from the ZooKeeper server within the read timeout, reconnecting", metadata: metadata)
        case .authFailed(let scheme, let code):
            metadata["zk.auth.scheme"] = "\(scheme)"
            metadata["zk.error"] = "\(code)"
            logger.warning("ZooKeeper authentication failed", metadata: metadata)
        case .setWatchesFailed(let code):
            metadata["zk.error"] = "\(code)"
            logger.warning("ZooKeeper setWatches failed", metadata: metadata)
        case .sessionIDChanged:
            logger.warning("ZooKeeper server answered with another session id", metadata: metadata)
        }
    }

    private func openConnection(to server: ServerAddress, id: ConnectionID, timeout: TimeAmount) {
        let core = bound
        logger.debug(
            "Connecting to ZooKeeper", metadata: ["zk.server": "\(server)", "zk.connection": "\(id)"])
        let tls = self.tls
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // First in the pipeline: every byte written goes through TLS, after the handshake.
                        try channel.pipeline.syncOperations.addHandler(try tls.makeHandler(host: server.host))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ZooKeeperFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        ZooKeeperClientChannelHandler(core: core, connection: id))
                }
            }
        bootstrap.connect(host: server.host, port: server.port).hop(to: loop).whenComplete { result in
            let core = core.value
            switch result {
            case .success(let channel):
                core.channels[id] = channel
                core.run(core.machine.channelActive(id, now: .now()))
            case .failure(let error):
                core.logger.debug(
                    "ZooKeeper connection attempt failed",
                    metadata: ["zk.server": "\(server)", "zk.connection": "\(id)", "error": "\(error)"])
                core.run(core.machine.connectFailed(id, now: .now()))
            }
        }
    }
}

/// Hands a connection's frames and its end to the core. Lives on the core's event loop.
final class ZooKeeperClientChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let core: NIOLoopBound<ClientCore>
    private let connection: ConnectionID

    init(core: NIOLoopBound<ClientCore>, connection: ConnectionID) {
        self.core = core
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.value.frameReceived(connection, unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.value.channelInactive(connection)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError {
            // Worth seeing: an untrusted server certificate, a name mismatch, a server without TLS on that port.
            core.value.logger.warning(
                "ZooKeeper TLS connection failed", metadata: ["zk.connection": "\(connection)", "error": "\(error)"])
            context.close(promise: nil)
            return
        }
        core.value.logger.debug(
            "ZooKeeper connection error", metadata: ["zk.connection": "\(connection)", "error": "\(error)"])
        context.close(promise: nil)
    }
}
