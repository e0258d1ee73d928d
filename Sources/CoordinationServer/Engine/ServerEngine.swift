import CoordinationCore
import Logging
import NIOCore
import Persistence
import ZooKeeperWire

/// The commit loop around the pure core. It lives on ONE event loop (the server's), which is also the loop of
/// every client channel, so no lock is needed and a request never hops threads: decode → core → log (group
/// commit on the log thread) → hold the outputs until their transactions are durable → write.
///
/// Not Sendable: every method must be called on `loop` (handlers reach it through `NIOLoopBound`).
final class ServerEngine {
    /// A client connection's bookkeeping. A class, so that appending to `out` never copies the buffer
    /// (a struct in the dictionary would be copied out, making the buffer's storage shared and CoW-copied).
    final class Connection {
        let channel: Channel
        let remoteAddress: String
        let remotePort: Int
        let openedAt: Int64
        var out: ByteBuffer
        var dirty = false
        var closeAfterFlush = false
        var received: Int64 = 0
        var sent: Int64 = 0
        var lastXid: Int32 = 0
        var lastOp = "NA"
        var lastZxid: Int64 = 0
        var lastResponseTime: Int64 = 0
        var outstanding = 0
        /// The `CommitPacer` window in which this connection last wrote.
        var lastWriteWindow: Int64 = .min

        init(channel: Channel, remoteAddress: String, remotePort: Int, openedAt: Int64, out: ByteBuffer) {
            self.channel = channel
            self.remoteAddress = remoteAddress
            self.remotePort = remotePort
            self.openedAt = openedAt
            self.out = out
        }
    }

    /// An output waiting for the log.
    enum Held {
        case send(OutboundFrame, receivedAt: Int64, op: OpCode?)
        case close(CloseReason)
    }

    let loop: EventLoop
    let configuration: ServerConfiguration
    let logger: Logger
    let persistence: PersistenceContext
    private(set) var core: CoordinationStateMachine
    private(set) var connections: [ConnectionID: Connection] = [:]
    private var connectionsPerIP: [String: Int] = [:]
    private var nextConnection: UInt64 = 1
    private var actions: [CoreAction] = []
    private var pendingRecords: [LogRecord] = []
    /// Spaces log submissions when many sessions write (see `CommitPacer`).
    private var pacer: CommitPacer
    private var pacedSubmitTask: Scheduled<Void>?
    private(set) var submittedZxid: Int64
    var durableZxid: Int64 { gate.durableZxid }
    /// Outputs waiting for the log (see `DurabilityGate`).
    private var gate: DurabilityGate<Held>
    private var dirty: [ConnectionID] = []
    private var tickTask: Scheduled<Void>?
    private var scheduledTickAt: Int64 = .max
    private var txnsSinceSnapshot = 0
    private var snapshotThreshold: Int
    private var snapshotInProgress = false
    private(set) var stats = ServerStatistics()
    private var failed = false
    private var shuttingDown = false
    let startedAt = ServerClock.wallMillis()
    var boundPort: Int?
    var metrics: ServerMetrics?
    private(set) var snapshotsTaken: Int64 = 0
    var expiredSessions: Int64 { core.expiredSessionCount }
    var random = SystemRandomNumberGenerator()

    init(
        loop: EventLoop, configuration: ServerConfiguration, persistence: PersistenceContext,
        recovered: CoordinationState, logger: Logger
    ) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.persistence = persistence
        self.core = CoordinationStateMachine(state: recovered, config: configuration.coreConfiguration, now: ServerClock.now())
        self.submittedZxid = recovered.lastZxid
        self.gate = DurabilityGate(durableZxid: recovered.lastZxid)
        self.pacer = CommitPacer(settings: configuration.commitPacing)
        self.snapshotThreshold = ServerEngine.nextSnapshotThreshold(configuration.snapCount)
    }

    static func nextSnapshotThreshold(_ snapCount: Int) -> Int {
        let half = max(1, snapCount / 2)
        return half + Int.random(in: 0..<half)
    }

    // MARK: Connections

    /// A new client connection. Returns nil when its address already has maxClientCnxns connections.
    func open(channel: Channel) -> ConnectionID? {
        loop.preconditionInEventLoop()
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        let port = channel.remoteAddress?.port ?? 0
        if configuration.maxClientCnxns > 0, connectionsPerIP[address, default: 0] >= configuration.maxClientCnxns {
            logger.warning(
                "Too many connections from one address",
                metadata: ["client.address": "\(address)", "max": "\(configuration.maxClientCnxns)"])
            return nil
        }
        if failed || shuttingDown { return nil }
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        connectionsPerIP[address, default: 0] += 1
        connections[id] = Connection(
            channel: channel, remoteAddress: address, remotePort: port, openedAt: ServerClock.wallMillis(),
            out: ByteBuffer())
        core.connectionOpened(id, remoteAddress: address)
        return id
    }

    /// The channel went inactive.
    func closed(_ id: ConnectionID) {
        guard let c = connections.removeValue(forKey: id) else { return }
        connectionsPerIP[c.remoteAddress, default: 1] -= 1
        if connectionsPerIP[c.remoteAddress] == 0 { connectionsPerIP[c.remoteAddress] = nil }
        core.connectionClosed(id)
    }

    /// The handshake frame.
    func handshake(_ id: ConnectionID, _ request: ConnectRequest) {
        var password = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { password[i] = UInt8.random(in: 0...255, using: &random) }
        let now = ServerClock.now()
        stats.packetsReceived += 1
        if let c = connections[id] {
            // ZooKeeper counts the connect request: recved=1, lop=SESS, lcxid=0x0.
            c.received += 1
            c.lastOp = "SESS"
            c.lastXid = 0
        }
        core.connect(id, request: request, password: password, now: now, into: &actions)
        run(receivedMicros: ServerClock.monotonicNanos() / 1000, op: .createSession)
    }

    /// A request frame after the handshake.
    func request(_ id: ConnectionID, xid: Int32, request: ZooKeeperRequest) {
        stats.packetsReceived += 1
        let receivedMicros = ServerClock.monotonicNanos() / 1000
        let now = ServerClock.now()
        let connection = connections[id]
        if let c = connection {
            c.received += 1
            c.lastXid = xid
            c.lastOp = request.opCode.shortName
            c.outstanding += 1
        }
        core.receive(id, xid: xid, request: request, now: now, into: &actions)
        if run(receivedMicros: receivedMicros, op: request.opCode), let c = connection {
            pacer.noteWriter(lastWindow: &c.lastWriteWindow, now: receivedMicros * 1000)
        }
    }

    /// A frame the codec could not turn into a request: answer as ZooKeeper does.
    func undecodable(_ id: ConnectionID, xid: Int32, error: WireError) {
        stats.packetsReceived += 1
        let receivedMicros = ServerClock.monotonicNanos() / 1000
        switch error {
        case .unknownOpCode(let op):
            logger.warning("Unknown request type, closing connection", metadata: ["connection": "\(id)", "op": "\(op)"])
            // ZooKeeper's UnimplementedRequestProcessor answers with the request's zxid, which is -1.
            actions.append(.send(id, .reply(xid: xid, zxid: -1, err: .unimplemented, response: .empty), after: core.lastZxid))
            actions.append(.close(id, reason: .unimplemented))
        default:
            logger.warning("Malformed request", metadata: ["connection": "\(id)", "error": "\(error)"])
            actions.append(.send(
                id, .reply(xid: xid, zxid: core.lastZxid, err: .marshallingError, response: .empty), after: core.lastZxid))
        }
        run(receivedMicros: receivedMicros, op: nil)
    }

    // MARK: Driving the core

    /// Performs the actions the core just produced. A send leaves at once when the state it reveals is durable and
    /// its connection has nothing held, so a read of durable data does not wait for another session's fsync; a
    /// close waits for everything submitted before it, as does everything else of its connection after it.
    /// Returns whether the actions logged a transaction.
    @discardableResult
    private func run(receivedMicros: Int64, op: OpCode?) -> Bool {
        var loggedAny = false
        for action in actions {
            switch action {
            case .log(let logged):
                var payload = ByteBufferAllocator().buffer(capacity: 128)
                logged.encode(into: &payload)
                pendingRecords.append(LogRecord(zxid: logged.header.zxid, payload: payload))
                submittedZxid = logged.header.zxid
                txnsSinceSnapshot += 1
                loggedAny = true
            case .send(let id, let frame, let after):
                if gate.admit(.send(frame, receivedAt: receivedMicros, op: op), to: id, after: after) {
                    write(id, frame, receivedAt: receivedMicros, op: op)
                }
            case .close(let id, let reason):
                if durableZxid >= submittedZxid && gate.isEmpty {
                    closeConnection(id, reason: reason)
                } else {
                    gate.hold(.close(reason), to: id, until: submittedZxid)
                }
            }
        }
        actions.removeAll(keepingCapacity: true)
        return loggedAny
    }

    /// After a batch of inputs (a read burst, a tick): one log submission and one write per connection.
    func endOfBatch() {
        submitPendingRecords()
        flush()
        scheduleTick()
        if txnsSinceSnapshot >= snapshotThreshold { takeSnapshot() }
    }

    /// Hands the pending records to the log now, or schedules that for when the pacer allows it (`force`: now).
    private func submitPendingRecords(force: Bool = false) {
        guard !pendingRecords.isEmpty else { return }
        let nowNanos = ServerClock.monotonicNanos()
        if !force && !shuttingDown, case .submit(let at) = pacer.decide(now: nowNanos) {
            if pacedSubmitTask == nil {
                let bound = NIOLoopBound(self, eventLoop: loop)
                pacedSubmitTask = loop.scheduleTask(in: .nanoseconds(at - nowNanos)) {
                    bound.value.pacedSubmitTask = nil
                    bound.value.submitPendingRecords(force: true)
                }
            }
            return
        }
        pacedSubmitTask?.cancel()
        pacedSubmitTask = nil
        pacer.submitted(now: nowNanos)
        let records = pendingRecords
        pendingRecords = []
        let upTo = records.last!.zxid
        let bound = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        let submittedAt = ContinuousClock.now
        let metrics = self.metrics
        persistence.log.append(records) { result in
            metrics?.recordFsync(duration: ContinuousClock.now - submittedAt)
            loop.execute {
                bound.value.logCompleted(upTo: upTo, result: result, submittedNanos: nowNanos)
            }
        }
    }

    private func logCompleted(upTo zxid: Int64, result: Result<Void, PersistenceError>, submittedNanos: Int64) {
        switch result {
        case .success:
            pacer.committed(tookNanos: ServerClock.monotonicNanos() - submittedNanos)
            gate.markDurable(upTo: zxid)
            while let (id, held) = gate.nextReleased() {
                switch held {
                case .send(let frame, let at, let op): write(id, frame, receivedAt: at, op: op)
                case .close(let reason): closeConnection(id, reason: reason)
                }
            }
            flush()
        case .failure(let error):
            logFailed(error)
        }
    }

    /// The log could not make a write durable (disk full, I/O error). Nothing that depended on it was sent. The
    /// in-memory state is now ahead of the disk, so the server drops every connection without acknowledging
    /// anything further and stops; the operator fixes the disk and restarts, and recovery brings back exactly
    /// what was acknowledged.
    private func logFailed(_ error: PersistenceError) {
        guard !failed else { return }
        failed = true
        logger.critical(
            "Transaction log write failed; refusing further requests and shutting down without acknowledging unlogged writes",
            metadata: ["error": "\(error)"])
        gate.removeAll()
        for (id, _) in connections { closeConnection(id, reason: .closeSession) }
        flush()
        onFatalError?(error)
    }

    var onFatalError: ((PersistenceError) -> Void)?

    // MARK: Output

    /// Writes a frame the gate let through. A reply's header carries the server's last zxid (ZooKeeper: the last
    /// processed one, which a client keeps as its last zxid seen and shows on reconnect). A read may leave before
    /// the newest submitted transaction is durable, so the header is capped at the durable zxid: a client must not
    /// learn of a zxid a crash could lose (it would then be refused as "ahead" by the restarted server). Per
    /// connection the value still never goes down.
    private func write(_ id: ConnectionID, _ frame: OutboundFrame, receivedAt: Int64?, op: OpCode?) {
        guard let c = connections[id], !c.closeAfterFlush else { return }
        // An idle connection holds no output buffer (`ByteBuffer()` shares one empty storage); the first frame
        // after a flush allocates one of a size most replies fit in.
        if c.out.capacity == 0 { c.out.reserveCapacity(256) }
        switch frame {
        case .connectResponse(let response):
            c.out.writeZooKeeperFrame(record: response)
            c.sent += 1
            c.lastZxid = min(core.lastZxid, durableZxid)
            stats.packetsSent += 1
        case .reply(let xid, let frameZxid, let err, let response):
            let zxid = min(frameZxid, durableZxid)
            c.out.writeZooKeeperReply(xid: xid, zxid: zxid, err: err, response: response)
            c.sent += 1
            c.lastZxid = zxid
            if xid >= 0 || xid == SpecialXid.ping { c.outstanding = max(0, c.outstanding - 1) }
            stats.packetsSent += 1
            if let receivedAt {
                let now = ServerClock.monotonicNanos() / 1000
                let latency = max(0, now - receivedAt)
                stats.record(latencyMicros: latency)
                c.lastResponseTime = ServerClock.wallMillis()
                metrics?.recordRequest(xid == SpecialXid.ping ? .ping : op, duration: .microseconds(latency))
            }
        case .notification(let zxid, let event):
            c.out.writeZooKeeperNotification(zxid: zxid, event: event)
            c.sent += 1
            stats.packetsSent += 1
        }
        if !c.dirty {
            c.dirty = true
            dirty.append(id)
        }
    }

    private func closeConnection(_ id: ConnectionID, reason: CloseReason) {
        guard let c = connections[id] else { return }
        logger.debug("Closing connection", metadata: ["connection": "\(id)", "reason": "\(reason.rawValue)"])
        c.closeAfterFlush = true
        if !c.dirty {
            c.dirty = true
            dirty.append(id)
        }
    }

    /// Writes what each connection has accumulated, one write per connection.
    func flush() {
        guard !dirty.isEmpty else { return }
        let ids = dirty
        dirty.removeAll(keepingCapacity: true)
        for id in ids {
            guard let c = connections[id] else { continue }
            c.dirty = false
            if c.out.readableBytes > 0 {
                let buffer = c.out
                metrics?.bytesSent.increment(by: Int64(buffer.readableBytes))
                c.out = ByteBuffer()
                if c.closeAfterFlush {
                    let channel = c.channel
                    channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
                } else {
                    c.channel.writeAndFlush(buffer, promise: nil)
                }
            } else if c.closeAfterFlush {
                c.channel.close(promise: nil)
            }
        }
    }

    // MARK: Time

    private func scheduleTick() {
        let deadline = core.nextDeadline
        if deadline >= scheduledTickAt, tickTask != nil { return }
        tickTask?.cancel()
        scheduledTickAt = deadline
        let delay = max(0, deadline - ServerClock.monotonicMillis())
        let bound = NIOLoopBound(self, eventLoop: loop)
        tickTask = loop.scheduleTask(in: .milliseconds(delay)) {
            bound.value.tick()
        }
    }

    private func tick() {
        tickTask = nil
        scheduledTickAt = .max
        guard !failed else { return }
        let now = ServerClock.now()
        core.tick(now: now, into: &actions)
        run(receivedMicros: ServerClock.monotonicNanos() / 1000, op: nil)
        endOfBatch()
    }

    // MARK: Snapshots

    func takeSnapshot() {
        guard !snapshotInProgress, !failed else { return }
        snapshotInProgress = true
        txnsSinceSnapshot = 0
        snapshotThreshold = Self.nextSnapshotThreshold(configuration.snapCount)
        submitPendingRecords(force: true)  // the snapshot's transactions go to the log before the roll
        let image = core.state.snapshotImage()  // a consistent copy in O(pages); later writes copy what they touch
        let zxid = image.lastZxid
        persistence.log.roll { _ in }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let persistence = self.persistence
        let logger = self.logger
        let loop = self.loop
        persistence.threadPool.runIfActive(eventLoop: loop) {
            try persistence.writeSnapshot(image)
        }.whenComplete { result in
            bound.value.snapshotInProgress = false
            bound.value.snapshotsTaken += 1
            switch result {
            case .success: logger.info("Snapshot written", metadata: ["zxid": "0x\(String(zxid, radix: 16))"])
            case .failure(let error): logger.error("Snapshot failed", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Shutdown

    /// Stops taking requests, waits until everything submitted is durable, sends what was held and closes every
    /// connection. Sessions survive in the log: clients reconnect to the restarted server.
    func beginShutdown() {
        shuttingDown = true
        submitPendingRecords(force: true)
        tickTask?.cancel()
        tickTask = nil
    }

    func closeAllConnections() {
        for (id, _) in connections { closeConnection(id, reason: .closeSession) }
        flush()
    }

    var heldCount: Int { gate.count }

    func resetServerStatistics() {
        stats.reset()
    }

    func resetConnectionStatistics() {
        for c in connections.values {
            c.received = 0
            c.sent = 0
        }
    }

    /// Publishes the gauges (called periodically, not per request).
    func updateGauges() {
        guard let metrics else { return }
        metrics.connections.record(connections.count)
        metrics.sessions.record(core.sessionCount)
        metrics.znodes.record(core.state.tree.nodeCount)
        metrics.watches.record(core.watches.count)
        metrics.ephemerals.record(core.state.tree.ephemerals.values.reduce(0) { $0 + $1.count })
    }
}
