import CoordinationCore
import Logging
import NIOCore
import Persistence
import ReplicatedLog
import ZooKeeperWire

/// The NIO shell around `ServerEngineStateMachine`: it reads the clocks, feeds the machine its inputs and runs
/// the actions it returns (`run`), which is the only place that touches channels, timers and persistence. It
/// lives on ONE event loop (the server's), which is also the loop of every client channel, so no lock is needed
/// and a request never hops threads: decode → machine (core) → log (group commit on the log thread) → write.
///
/// Not Sendable: every method must be called on `loop` (handlers reach it through `NIOLoopBound`).
final class ServerEngine {
    let loop: EventLoop
    let configuration: ServerConfiguration
    let logger: Logger
    let persistence: PersistenceContext
    /// The ensemble's shared log (nil: standalone, the local WAL orders and keeps the writes).
    let sharedLog: (any SharedLog)?
    private(set) var machine: ServerEngineStateMachine
    private var outgoing: [LogEntry] = []
    private var channels: [ConnectionID: Channel] = [:]
    private var timers: [EngineTimer: Scheduled<Void>] = [:]
    private var actions: [EngineAction] = []
    /// Set while `run` works through `actions`: a channel call that reenters the engine synchronously (a close
    /// firing channelInactive, a write changing writability) only appends, and the running loop picks it up.
    private var running = false
    let startedAt = ServerClock.wallMillis()
    var boundPort: Int?
    var metrics: ServerMetrics? {
        didSet { machine.metricsEnabled = metrics != nil }
    }
    var onFatalError: ((PersistenceError) -> Void)?

    init(
        loop: EventLoop, configuration: ServerConfiguration, persistence: PersistenceContext,
        recovered: CoordinationState, sharedLog: (any SharedLog)? = nil, saslUsers: JAASDigestUsers? = nil,
        logger: Logger
    ) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.persistence = persistence
        self.sharedLog = sharedLog
        let ordering: ServerEngineStateMachine.Ordering =
            sharedLog == nil ? .local : .ordered(replicaId: UInt8(configuration.ensembleReplicaId ?? 1))
        self.machine = ServerEngineStateMachine(
            configuration: configuration, recovered: recovered, now: Self.now(), ordering: ordering, saslUsers: saslUsers,
            logger: logger)
    }

    static func now() -> EngineTime {
        EngineTime(wallMillis: ServerClock.wallMillis(), monotonicNanos: ServerClock.monotonicNanos())
    }

    // MARK: Inputs

    /// A new client connection. Returns nil when it must be refused (the caller closes it).
    /// `transportAuth`: ids the transport authenticated (a TLS client certificate's `x509` id).
    func open(channel: Channel, transportAuth: [Id] = []) -> ConnectionID? {
        loop.preconditionInEventLoop()
        let id = machine.connectionOpened(
            remoteAddress: channel.remoteAddress?.ipAddress ?? "unknown", remotePort: channel.remoteAddress?.port ?? 0,
            transportAuth: transportAuth, now: Self.now())
        if let id { channels[id] = channel }
        return id
    }

    /// The channel went inactive.
    func closed(_ id: ConnectionID) {
        channels[id] = nil
        machine.connectionClosed(id, now: Self.now(), into: &actions)
        run()
    }

    /// A frame (handshake or request) from a connection.
    func frame(_ id: ConnectionID, _ frame: ByteBuffer) {
        machine.frameReceived(id, frame, now: Self.now(), into: &actions)
        run()
    }

    /// After a batch of reads: one log submission and one write per connection.
    func endOfBatch() {
        machine.readComplete(now: Self.now(), into: &actions)
        run()
    }

    func writabilityChanged(_ id: ConnectionID, writable: Bool) {
        machine.writabilityChanged(id, writable: writable, into: &actions)
        run()
    }

    /// The shared log delivered these positions (ensemble), in order.
    func delivered(_ deliveries: [LogDelivery]) {
        let now = Self.now()
        for delivery in deliveries { machine.orderedDelivered(delivery, now: now, into: &actions) }
        machine.readComplete(now: now, into: &actions)
        run()
    }

    /// The shared log became unreachable, or reachable again (ensemble).
    func logAvailabilityChanged(_ available: Bool) {
        machine.logAvailabilityChanged(available, into: &actions)
        run()
    }

    /// The sessions of this replica's clients heard from since `sinceNanos` (ensemble: their leases are renewed).
    func sessionsHeardFrom(sinceNanos: Int64) -> [Int64] { machine.sessionsHeardFrom(sinceNanos: sinceNanos) }

    /// Call once, right after creating the engine: schedules its first tick.
    func start() {
        machine.started(now: Self.now(), into: &actions)
        run()
    }

    func takeSnapshot() {
        machine.takeSnapshot(now: Self.now(), into: &actions)
        run()
    }

    /// Stops taking requests and submits everything pending; sessions survive in the log.
    func beginShutdown() {
        machine.beginShutdown(now: Self.now(), into: &actions)
        run()
    }

    func closeAllConnections() {
        machine.closeAllConnections(into: &actions)
        run()
    }

    // MARK: Running the machine's actions

    private func run() {
        guard !running, !actions.isEmpty else { return }
        running = true
        defer { running = false }
        var index = 0
        // Actions may feed the machine again (a synchronous completion): they append to `actions`.
        while index < actions.count {
            let action = actions[index]
            index += 1
            switch action {
            case .write(let id, let buffer, let closeAfter):
                guard let channel = channels[id] else { continue }
                if closeAfter {
                    channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.writeAndFlush(buffer, promise: nil)
                }
            case .close(let id):
                channels[id]?.close(promise: nil)
            case .setAutoRead(let id, let on):
                guard let channel = channels[id] else { continue }
                _ = try? channel.syncOptions?.setOption(.autoRead, value: on)
                if on { channel.read() }
            case .appendToLog(let records, let upTo):
                let bound = NIOLoopBound(self, eventLoop: loop)
                let loop = self.loop
                persistence.log.append(records) { result in
                    loop.execute { bound.value.logCompleted(upTo: upTo, result: result) }
                }
            case .appendOrdered(let entry):
                outgoing.append(entry)
            case .scheduleTimer(let timer, let at):
                timers[timer]?.cancel()
                let bound = NIOLoopBound(self, eventLoop: loop)
                let delay = max(0, at - ServerClock.monotonicNanos())
                timers[timer] = loop.scheduleTask(in: .nanoseconds(delay)) { bound.value.timerFired(timer) }
            case .cancelTimer(let timer):
                timers.removeValue(forKey: timer)?.cancel()
            case .takeSnapshot(let image):
                snapshot(image)
            case .recordRequest(let op, let micros):
                metrics?.recordRequest(op, duration: .microseconds(micros))
            case .recordBytesSent(let bytes):
                metrics?.bytesSent.increment(by: Int64(bytes))
            case .recordFsync(let nanos):
                metrics?.recordFsync(duration: .nanoseconds(nanos))
            case .fatal(let error):
                onFatalError?(error)
            }
        }
        actions.removeAll(keepingCapacity: true)
        if !outgoing.isEmpty {
            sharedLog?.append(outgoing)
            outgoing.removeAll(keepingCapacity: true)
        }
    }

    private func logCompleted(upTo zxid: Int64, result: Result<Void, PersistenceError>) {
        switch result {
        case .success: machine.logAppended(upTo: zxid, now: Self.now(), into: &actions)
        case .failure(let error): machine.logFailed(error, into: &actions)
        }
        run()
    }

    private func timerFired(_ timer: EngineTimer) {
        timers[timer] = nil
        machine.timerFired(timer, now: Self.now(), into: &actions)
        run()
    }

    private func snapshot(_ image: SnapshotImage) {
        let zxid = image.lastZxid
        persistence.log.roll { _ in }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let persistence = self.persistence
        persistence.threadPool.runIfActive(eventLoop: loop) {
            try persistence.writeSnapshot(image)
        }.whenComplete { result in
            if case .failure(let error) = result {
                bound.value.machine.snapshotCompleted(zxid: zxid, error: error)
            } else {
                bound.value.machine.snapshotCompleted(zxid: zxid, error: nil)
                bound.value.sharedLog?.snapshotTaken(atRevision: ZxidLayout.revision(ofZxid: zxid))
            }
        }
    }

    // MARK: Views

    func channel(of id: ConnectionID) -> Channel? { channels[id] }

    var heldCount: Int { machine.heldCount }
    var durableZxid: Int64 { machine.durableZxid }

    func resetServerStatistics() { machine.resetServerStatistics() }

    func resetConnectionStatistics() { machine.resetConnectionStatistics() }

    /// Publishes the gauges (called periodically, not per request).
    func updateGauges() {
        guard let metrics else { return }
        let core = machine.core
        metrics.connections.record(machine.connections.count)
        metrics.sessions.record(core.sessionCount)
        metrics.znodes.record(core.state.tree.nodeCount)
        metrics.watches.record(core.watches.count)
        metrics.ephemerals.record(core.state.tree.ephemerals.values.reduce(0) { $0 + $1.count })
        if let status = sharedLog?.status {
            metrics.logLag.record(status.lag)
            metrics.logAppliedRevision.record(status.deliveredRevision)
            metrics.logQueuedEntries.record(status.queuedEntries)
            metrics.logAvailable.record(status.available ? 1 : 0)
        }
    }
}
