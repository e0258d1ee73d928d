import CoordinationCore
import DequeModule
import Jute
import Logging
import NIOCore
import Persistence
import ReplicatedLog
import ZooKeeperWire

/// The time as the engine gets it with every input: wall-clock milliseconds (znode ctime/mtime) and monotonic
/// nanoseconds (deadlines, latencies, pacing). The shell reads the clocks; the machine never does.
struct EngineTime: Sendable, Equatable {
    var wallMillis: Int64
    var monotonicNanos: Int64

    var core: CoreTime { CoreTime(wall: wallMillis, monotonic: monotonicNanos / 1_000_000) }
    var micros: Int64 { monotonicNanos / 1000 }
}

/// The engine's timers: each is either scheduled at one deadline or not scheduled.
enum EngineTimer: Sendable, Hashable {
    /// The core's next deadline (session expiry bucket, container check).
    case tick
    /// The commit pacer's delayed submission.
    case pacedSubmit
    /// Ordered mode: time to append a reap entry (containers and TTL nodes are reaped at a log position).
    case reap
}

/// What the shell does for the engine. It runs them in order.
enum EngineAction {
    /// Append the records to the write-ahead log (group commit); answer with `logAppended` or `logFailed`.
    case appendToLog([LogRecord], upTo: Int64)
    /// Append this entry to the ordered log (`.ordered` only); answer with `orderedDelivered`, in log order.
    case appendOrdered(LogEntry)
    /// Write and flush these bytes; with `closeAfter`, close the connection once they are written.
    case write(ConnectionID, ByteBuffer, closeAfter: Bool)
    /// Close the connection now (nothing to write, or its output is dropped).
    case close(ConnectionID)
    /// Run `timerFired(timer)` at this monotonic time (replacing any earlier schedule of that timer).
    case scheduleTimer(EngineTimer, atNanos: Int64)
    case cancelTimer(EngineTimer)
    /// Roll the log, then write this image as a snapshot off the event loop; answer with `snapshotCompleted`.
    case takeSnapshot(SnapshotImage)
    /// Read from the connection, or stop reading from it (back-pressure).
    case setAutoRead(ConnectionID, Bool)
    /// A request was answered after this many microseconds (only with `metricsEnabled`).
    case recordRequest(OpCode?, micros: Int64)
    /// Bytes handed to a connection (only with `metricsEnabled`).
    case recordBytesSent(Int)
    /// A log append took this long from submission to durable (only with `metricsEnabled`).
    case recordFsync(nanos: Int64)
    /// The log failed: everything is closed and nothing further is acknowledged; the server must stop.
    case fatal(PersistenceError)
}

/// The engine's decisions, as a pure state machine (no NIO channels, no clock reads, no persistence calls):
/// connections and their limits, the durability gate, commit pacing, log batching, snapshot thresholds, ticks,
/// shutdown, per-connection output buffers, back-pressure and `cons` statistics. `ServerEngine` feeds it inputs
/// with the time and runs the actions it returns; tests drive it with a manual clock and a fake log.
///
/// **Ordering.** A reply never reveals a zxid above the durable one: every output that depends on a transaction
/// waits in the `DurabilityGate` until the log reports it durable; a connection's outputs leave in the order the
/// core produced them; a close waits for everything submitted before it.
///
/// **Back-pressure** (ZooKeeper's semantics plus a bound on memory):
/// - `globalOutstandingLimit`: when more requests than that are in flight (received, not yet answered) across
///   the server, every connection that has a request in flight stops being read (autoRead off) until the total
///   drops below the limit. A connection with nothing in flight is never paused by this, so each client's next
///   request always gets through: that is the per-connection share.
/// - Pending output: the shell sets each channel's write-buffer high-water mark to `outputHighWaterMark`; while
///   a connection is not writable (its client does not read), it is not read either, so its own requests stop
///   producing replies.
/// - Watch events (and held replies) still reach a connection that does not read. Past `outputCloseLimit` bytes
///   queued while it was not writable, the connection is closed with a log line (its session lives on, as after
///   any disconnect); other clients are unaffected.
///
/// **Log seam.** With `.local` ordering (standalone) a request is prepared and applied at once and the local WAL
/// makes it durable. With `.ordered`, requests are first appended to an ordered log (`appendOrdered`); entries
/// come back through `orderedDelivered` in log order and are prepared and applied then, at the time they carry,
/// so that every replica applying the same log computes the same state. The log is then the durability: the
/// local WAL is not used. (Everything a session sends is ordered, reads too, so that its replies stay in order.)
struct ServerEngineStateMachine {
    /// How requests are ordered and made durable.
    enum Ordering: Sendable, Equatable {
        /// Prepare and apply at once; the local write-ahead log makes it durable (standalone).
        case local
        /// Append writes to an ordered shared log first; prepare and apply in log order when delivered. Reads
        /// are served from the local tree once the connection's earlier entries are applied. `replicaId` (1-127)
        /// numbers the replica of an ensemble: it is the top byte of its connection and session ids, which are
        /// then chosen here and carried in the entries, and zxids come from the log's positions. 0 is a
        /// single-replica log (the in-memory seam of the tests): the core numbers sessions and zxids count.
        case ordered(replicaId: UInt8)

        var isOrdered: Bool { self != .local }
    }

    struct Limits: Sendable, Equatable {
        var maxClientCnxns: Int
        var globalOutstandingLimit: Int
        var outputCloseLimit: Int

        init(configuration: ServerConfiguration) {
            maxClientCnxns = configuration.maxClientCnxns
            globalOutstandingLimit = configuration.globalOutstandingLimit
            outputCloseLimit = configuration.clientOutputCloseLimit
        }
    }

    /// A client connection's bookkeeping. A class, so that appending to `out` never copies the buffer (a struct in
    /// the dictionary would be copied out, making the buffer's storage shared and CoW-copied).
    final class Connection {
        let remoteAddress: String
        let remotePort: Int
        let openedAt: Int64
        var out = ByteBuffer()
        var dirty = false
        var closeAfterFlush = false
        var handshakeReceived = false
        // `cons` statistics.
        var received: Int64 = 0
        var sent: Int64 = 0
        var lastXid: Int32 = 0
        var lastOp = "NA"
        var lastZxid: Int64 = 0
        var lastResponseTime: Int64 = 0
        var outstanding = 0
        /// Requests received and not yet answered (for globalOutstandingLimit).
        var inFlight = 0
        /// The `CommitPacer` window in which this connection last wrote.
        var lastWriteWindow: Int64 = .min
        // Back-pressure.
        var writable = true
        var throttled = false
        var reading = true
        var bytesWhileUnwritable = 0
        /// Ordered mode: this connection's entries appended and not yet applied, and the reads that wait behind
        /// them (a session reads its own writes, and its replies leave in order).
        var steps = Deque<Step>()
        /// When a frame last arrived (monotonic nanos), for keeping the session's lease alive.
        var lastReceivedNanos: Int64 = 0

        init(remoteAddress: String, remotePort: Int, openedAt: Int64) {
            self.remoteAddress = remoteAddress
            self.remotePort = remotePort
            self.openedAt = openedAt
        }
    }

    /// Ordered mode: what a connection waits for, in arrival order.
    enum Step {
        /// An entry appended to the log and not yet delivered.
        case appended
        /// A request not yet handled: a read waits until the appended entries before it are applied, anything
        /// else until the connection's session is known (its handshake applied).
        case waiting(xid: Int32, ZooKeeperRequest, EngineTime)
    }

    /// An output waiting for the log.
    enum Held {
        case send(OutboundFrame, receivedAt: Int64, op: OpCode?)
        case close(CloseReason)
    }

    let configuration: ServerConfiguration
    let limits: Limits
    let ordering: Ordering
    let logger: Logger
    var metricsEnabled = false
    private(set) var core: CoordinationStateMachine
    private(set) var connections: [ConnectionID: Connection] = [:]
    private var connectionsPerIP: [String: Int] = [:]
    private var nextConnection: UInt64 = 1
    private var coreActions: [CoreAction] = []
    private var pendingRecords: [LogRecord] = []
    /// Submission times of the appends in flight, oldest first (appends complete in order).
    private var appendsInFlight: [(upTo: Int64, submittedNanos: Int64)] = []
    private var pacer: CommitPacer
    private var pacedSubmitScheduled = false
    private(set) var submittedZxid: Int64
    var durableZxid: Int64 { gate.durableZxid }
    private var gate: DurabilityGate<Held>
    private var dirty: [ConnectionID] = []
    private var scheduledTickAt: Int64 = .max
    private var txnsSinceSnapshot = 0
    private var snapshotThreshold: Int
    private(set) var snapshotInProgress = false
    private(set) var stats = ServerStatistics()
    private(set) var failed = false
    private(set) var shuttingDown = false
    private(set) var snapshotsTaken: Int64 = 0
    /// Requests in flight across all connections.
    private(set) var inFlight = 0
    private var throttled: Set<ConnectionID> = []
    /// Session passwords and snapshot thresholds: the system's generator in the server, a seeded one in tests.
    private var random: any RandomNumberGenerator
    /// Ordered mode with a replica id: the next session id this replica gives a new session.
    private var nextSessionId: Int64 = 0
    private var reapScheduled = false
    /// Ordered mode: the shared log is unreachable; connections are closed and refused until it is back.
    private(set) var logUnavailable = false
    private var reapAt: Int64 = 0

    var expiredSessions: Int64 { core.expiredSessionCount }
    var heldCount: Int { gate.count }
    var pendingRecordCount: Int { pendingRecords.count }
    var isTickScheduled: Bool { scheduledTickAt != .max }

    init(
        configuration: ServerConfiguration, recovered: CoordinationState, now: EngineTime, ordering: Ordering = .local,
        random: any RandomNumberGenerator = SystemRandomNumberGenerator(), saslUsers: JAASDigestUsers? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.limits = Limits(configuration: configuration)
        self.ordering = ordering
        self.logger = logger
        var ordered = false
        if case .ordered = ordering { ordered = true }
        var coreConfiguration = configuration.coreConfiguration
        coreConfiguration.saslUsers = saslUsers
        self.core = CoordinationStateMachine(
            state: recovered, config: coreConfiguration, now: now.core, restoringConnectionOwners: ordered)
        self.submittedZxid = recovered.lastZxid
        self.gate = DurabilityGate(durableZxid: recovered.lastZxid)
        self.pacer = CommitPacer(settings: configuration.commitPacing)
        self.random = random
        self.snapshotThreshold = 0
        self.snapshotThreshold = nextSnapshotThreshold()
        self.reapAt = now.monotonicNanos + Int64(configuration.containerCheckIntervalMs) * 1_000_000
        if case .ordered(let replica) = ordering, replica != 0 {
            // Unique across replicas (the top byte) and across restarts of this one (the start time below it), as
            // ZooKeeper numbers sessions per server; positive, so that a session's id is also its etcd lease id.
            let top = UInt64(replica & 0x7F) << 56
            nextConnection = top | (UInt64(max(0, now.wallMillis)) & 0xFF_FFFF_FFFF) << 12
            nextSessionId = Int64(bitPattern: top | (UInt64(bitPattern: now.wallMillis << 24) >> 8))
        }
    }

    /// Ordered mode with a replica id: the sessions whose clients are connected here and have been heard from
    /// since `sinceNanos` (monotonic), whose leases this replica keeps alive.
    func sessionsHeardFrom(sinceNanos: Int64) -> [Int64] {
        var out: [Int64] = []
        for (id, c) in connections where c.lastReceivedNanos >= sinceNanos {
            if let sid = core.session(of: id) { out.append(sid) }
        }
        return out
    }

    private mutating func nextSnapshotThreshold() -> Int {
        let half = max(1, configuration.snapCount / 2)
        return half + Int(random.next() % UInt64(half))
    }

    // MARK: Connections

    /// A new client connection: its id, or nil when it must be refused (maxClientCnxns from its address, or the
    /// server is stopping); the shell then closes it.
    mutating func connectionOpened(
        remoteAddress: String, remotePort: Int, transportAuth: [Id] = [], now: EngineTime
    ) -> ConnectionID? {
        if limits.maxClientCnxns > 0, connectionsPerIP[remoteAddress, default: 0] >= limits.maxClientCnxns {
            logger.warning(
                "Too many connections from one address",
                metadata: ["client.address": "\(remoteAddress)", "max": "\(limits.maxClientCnxns)"])
            return nil
        }
        if failed || shuttingDown || logUnavailable { return nil }
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        connectionsPerIP[remoteAddress, default: 0] += 1
        connections[id] = Connection(remoteAddress: remoteAddress, remotePort: remotePort, openedAt: now.wallMillis)
        core.connectionOpened(id, remoteAddress: remoteAddress, transportAuth: transportAuth)
        return id
    }

    /// The connection is gone.
    mutating func connectionClosed(_ id: ConnectionID, now: EngineTime, into actions: inout [EngineAction]) {
        guard let c = connections.removeValue(forKey: id) else { return }
        connectionsPerIP[c.remoteAddress, default: 1] -= 1
        if connectionsPerIP[c.remoteAddress] == 0 { connectionsPerIP[c.remoteAddress] = nil }
        if ordering.isOrdered && c.handshakeReceived && !failed {
            // Every replica learns of it at the same log position; until then the core keeps the connection.
            actions.append(.appendOrdered(entry(id, .disconnect, now)))
        } else {
            core.connectionClosed(id)
        }
        if c.inFlight > 0 {
            inFlight -= c.inFlight
            releaseThrottles(into: &actions)
        }
        throttled.remove(id)
    }

    /// A frame (after the length prefix): the handshake first, then requests. Decoding failures are answered as
    /// ZooKeeper answers them (see `CoordinationStateMachine.receiveUndecodable`); a frame too short for its
    /// header, or a malformed handshake, closes the connection.
    mutating func frameReceived(_ id: ConnectionID, _ frame: ByteBuffer, now: EngineTime, into actions: inout [EngineAction]) {
        guard let c = connections[id] else { return }
        c.lastReceivedNanos = now.monotonicNanos
        var frame = frame
        if !c.handshakeReceived {
            c.handshakeReceived = true
            do {
                handshake(id, try ConnectRequest(juteFrom: &frame), now: now, into: &actions)
            } catch {
                logger.warning(
                    "Malformed handshake, closing connection", metadata: ["connection": "\(id)", "error": "\(error)"])
                closeConnection(id)
                flush(into: &actions)
            }
            return
        }
        let header: RequestHeader
        do {
            header = try RequestHeader(juteFrom: &frame)
        } catch {
            logger.warning("Request shorter than its header, closing connection", metadata: ["connection": "\(id)"])
            closeConnection(id)
            flush(into: &actions)
            return
        }
        do {
            let request = try ZooKeeperRequest.decode(opCode: header.type, from: &frame, allowTrailingBytes: true)
            self.request(id, xid: header.xid, request: request, now: now, into: &actions)
        } catch {
            undecodable(id, xid: header.xid, error: error, now: now, into: &actions)
        }
    }

    private mutating func handshake(_ id: ConnectionID, _ request: ConnectRequest, now: EngineTime, into actions: inout [EngineAction]) {
        var password = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { password[i] = UInt8(truncatingIfNeeded: random.next()) }
        stats.packetsReceived += 1
        if let c = connections[id] {
            // ZooKeeper counts the connect request: recved=1, lop=SESS, lcxid=0x0.
            c.received += 1
            c.lastOp = "SESS"
            c.lastXid = 0
        }
        switch ordering {
        case .local:
            core.connect(id, request: request, password: password, now: now.core, into: &coreActions)
            run(receivedAt: now.micros, op: .createSession, now: now, into: &actions)
        case .ordered(let replica):
            var sid: Int64 = 0
            if replica != 0 && request.sessionId == 0 {
                sid = nextSessionId
                nextSessionId += 1
            }
            connections[id]?.steps.append(.appended)
            let address = connections[id]?.remoteAddress ?? "unknown"
            actions.append(.appendOrdered(entry(
                id, .connect(request, password: password, sessionId: sid, remoteAddress: address), now)))
        }
    }

    private func entry(_ id: ConnectionID, _ kind: LogEntry.Kind, _ now: EngineTime) -> LogEntry {
        LogEntry(connection: id.raw, kind: kind, wallMillis: now.wallMillis, monotonicNanos: now.monotonicNanos)
    }

    /// Ordered mode: whether a request is served from the local tree (reads and the connection's own watch
    /// bookkeeping) rather than appended to the log (everything that changes the tree, the session or its
    /// authentication, and sync, which catches up with the log's tail).
    static func servedLocally(_ request: ZooKeeperRequest) -> Bool {
        switch request {
        case .exists, .getData, .getChildren, .getChildren2, .getACL, .getAllChildrenNumber, .multiRead, .ping,
            .setWatches, .setWatches2, .addWatch, .checkWatches, .removeWatches, .whoAmI, .getEphemerals:
            return true
        default:
            return false
        }
    }

    private mutating func request(
        _ id: ConnectionID, xid: Int32, request: ZooKeeperRequest, now: EngineTime, into actions: inout [EngineAction]
    ) {
        stats.packetsReceived += 1
        guard let c = connections[id] else { return }
        c.received += 1
        c.lastXid = xid
        c.lastOp = request.opCode.shortName
        c.outstanding += 1
        c.inFlight += 1
        inFlight += 1
        if inFlight > limits.globalOutstandingLimit, !c.throttled {
            c.throttled = true
            throttled.insert(id)
            updateReading(id, c, into: &actions)
        }
        switch ordering {
        case .local:
            core.receive(id, xid: xid, request: request, now: now.core, saslNonce: saslNonce(for: request), into: &coreActions)
            if run(receivedAt: now.micros, op: request.opCode, now: now, into: &actions) {
                pacer.noteWriter(lastWindow: &c.lastWriteWindow, now: now.monotonicNanos)
            }
        case .ordered:
            c.steps.append(.waiting(xid: xid, request, now))
            drain(id, c, into: &actions)
        }
    }

    /// Ordered mode: handles the connection's waiting requests that can go now, in order. Authentication is
    /// handled at once, as ZooKeeper does (the requests after it carry it into the log); a read is served from
    /// the local tree when no appended entry of the connection is before it; anything else is appended once the
    /// session is known.
    private mutating func drain(_ id: ConnectionID, _ c: Connection, into actions: inout [EngineAction]) {
        var index = 0
        var blocked = false
        while index < c.steps.count {
            guard case .waiting(let xid, let request, let at) = c.steps[index] else {
                blocked = true
                index += 1
                continue
            }
            guard let sid = core.session(of: id) else { return }
            if Self.authenticates(request) {
                c.steps.remove(at: index)
                core.receive(id, xid: xid, request: request, now: at.core, saslNonce: saslNonce(for: request), into: &coreActions)
                run(receivedAt: at.micros, op: request.opCode, now: at, into: &actions)
            } else if Self.servedLocally(request) {
                if blocked {
                    index += 1
                    continue
                }
                c.steps.remove(at: index)
                core.receive(id, xid: xid, request: request, now: at.core, into: &coreActions)
                run(receivedAt: at.micros, op: request.opCode, now: at, into: &actions)
            } else {
                c.steps[index] = .appended
                blocked = true
                index += 1
                let auth = core.authInfo(of: id) ?? []
                actions.append(.appendOrdered(entry(id, .request(xid: xid, request, sessionId: sid, authInfo: auth), at)))
            }
        }
    }

    /// addauth and SASL tokens: handled by the replica that holds the connection, at once (ZooKeeper handles
    /// them on the server the client is connected to, outside the request pipeline).
    static func authenticates(_ request: ZooKeeperRequest) -> Bool {
        switch request {
        case .auth, .sasl: return true
        default: return false
        }
    }

    /// For a SASL token: a fresh DIGEST-MD5 nonce (16 random bytes, hex), from the generator of session passwords.
    private mutating func saslNonce(for request: ZooKeeperRequest) -> String {
        guard case .sasl = request else { return "" }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for _ in 0..<16 {
            let byte = UInt8(truncatingIfNeeded: random.next())
            text += [digits[Int(byte >> 4)], digits[Int(byte & 15)]]
        }
        return String(decoding: text, as: UTF8.self)
    }

    private mutating func undecodable(
        _ id: ConnectionID, xid: Int32, error: WireError, now: EngineTime, into actions: inout [EngineAction]
    ) {
        stats.packetsReceived += 1
        if case .unknownOpCode(let op) = error {
            logger.warning("Unknown request type, closing connection", metadata: ["connection": "\(id)", "op": "\(op)"])
        } else {
            logger.warning("Malformed request", metadata: ["connection": "\(id)", "error": "\(error)"])
        }
        core.receiveUndecodable(id, xid: xid, error: error, into: &coreActions)
        run(receivedAt: now.micros, op: nil, now: now, into: &actions)
    }

    /// What the ordered log delivers for one position, in log order (`.ordered` only): every entry is prepared
    /// and applied now, at the time it carries, whichever replica appended it. The log holds them durably, so
    /// what they produce is durable at once. A replica (`replicaId` > 0) first moves the zxid to the position's
    /// base (`ZxidLayout`).
    mutating func orderedDelivered(_ delivery: LogDelivery, now: EngineTime, into actions: inout [EngineAction]) {
        guard case .ordered(let replica) = ordering else { return }
        if replica != 0 { core.advanceZxid(to: delivery.zxidBase) }
        for entry in delivery.entries {
            let id = ConnectionID(entry.connection)
            let time = EngineTime(wallMillis: entry.wallMillis, monotonicNanos: entry.monotonicNanos)
            let local = connections[id]
            let receivedAt: Int64? = local != nil ? time.micros : nil
            var op: OpCode? = nil
            switch entry.kind {
            case .connect(let request, let password, let sid, let address):
                // The handshake is contact: counted when it takes effect, since the session it names (a new one, or
                // one reattaching from another replica) is unknown to this connection until now. Otherwise a
                // client that reattaches and stays silent would not renew its session's lease.
                local?.lastReceivedNanos = now.monotonicNanos
                if !core.knows(id) { core.connectionOpened(id, remoteAddress: address) }
                core.connect(id, request: request, password: password, newSessionId: sid, now: time.core, into: &coreActions)
                op = .createSession
            case .request(let xid, let request, let sid, let auth):
                core.receive(id, xid: xid, request: request, now: time.core, origin: (sid, auth), into: &coreActions)
                op = request.opCode
            case .disconnect:
                core.connectionClosed(id)
            case .reap:
                core.reapNow(now: time.core, into: &coreActions)
            case .expire(let sid):
                core.expireSession(sid, now: time.core, into: &coreActions)
            }
            run(receivedAt: receivedAt ?? now.micros, op: op, now: now, into: &actions)
            switch (local, entry.kind) {
            case (let c?, .connect), (let c?, .request): serveReadsBehind(id, c, now: now, into: &actions)
            default: break
            }
        }
        pendingRecords.removeAll(keepingCapacity: true)
        submittedZxid = max(submittedZxid, core.lastZxid)
        logDurable(upTo: submittedZxid, now: now, into: &actions)
    }

    /// One of the connection's appended entries was applied: what waited behind it goes now.
    private mutating func serveReadsBehind(_ id: ConnectionID, _ c: Connection, now: EngineTime, into actions: inout [EngineAction]) {
        if case .appended = c.steps.first { c.steps.removeFirst() }
        drain(id, c, into: &actions)
    }

    /// The shared log became unreachable, or reachable again. While it is unreachable nothing can be applied or
    /// acknowledged, so the replica closes its client connections and refuses new ones, as a ZooKeeper follower
    /// that lost its leader does: the clients move to a healthy replica with their sessions.
    mutating func logAvailabilityChanged(_ available: Bool, into actions: inout [EngineAction]) {
        guard logUnavailable == available else { return }
        logUnavailable = !available
        if available {
            logger.notice("The shared log is reachable again; accepting clients")
        } else {
            logger.warning(
                "The shared log is unreachable; closing client connections so that they move to another replica",
                metadata: ["connections": "\(connections.count)"])
            for id in connections.keys.sorted() { closeConnection(id, reason: .closeSession) }
            flush(into: &actions)
        }
    }

    // MARK: Driving the core

    /// Performs the actions the core just produced. A send leaves at once when the state it reveals is durable and
    /// its connection has nothing held, so a read of durable data does not wait for another session's fsync; a
    /// close waits for everything submitted before it, as does everything else of its connection after it.
    /// Returns whether the actions logged a transaction.
    @discardableResult
    private mutating func run(receivedAt: Int64, op: OpCode?, now: EngineTime, into actions: inout [EngineAction]) -> Bool {
        var loggedAny = false
        for action in coreActions {
            switch action {
            case .log(let logged):
                var payload = ByteBufferAllocator().buffer(capacity: 128)
                logged.encode(into: &payload)
                pendingRecords.append(LogRecord(zxid: logged.header.zxid, payload: payload))
                submittedZxid = logged.header.zxid
                txnsSinceSnapshot += 1
                loggedAny = true
            case .send(let id, let frame, let after):
                if gate.admit(.send(frame, receivedAt: receivedAt, op: op), to: id, after: after) {
                    write(id, frame, receivedAt: receivedAt, op: op, now: now, into: &actions)
                }
            case .close(let id, let reason):
                if durableZxid >= submittedZxid && gate.isEmpty {
                    closeConnection(id, reason: reason)
                } else {
                    gate.hold(.close(reason), to: id, until: submittedZxid)
                }
            case .authentication(let id, let event):
                logAuthentication(id, event)
            }
        }
        coreActions.removeAll(keepingCapacity: true)
        return loggedAny
    }

    /// The engine is running: the first tick is scheduled, so that sessions restored from disk expire (with their
    /// ephemerals) even if no client ever sends anything again. Until this, ticks were only scheduled after input,
    /// and a restarted server that nobody talked to kept dead sessions forever (found by the simulator).
    mutating func started(now: EngineTime, into actions: inout [EngineAction]) {
        scheduleTick(into: &actions)
    }

    /// After a batch of inputs (a read burst): one log submission and one write per connection, the next tick,
    /// and a snapshot when enough transactions were logged since the last one.
    mutating func readComplete(now: EngineTime, into actions: inout [EngineAction]) {
        submitPendingRecords(now: now, into: &actions)
        flush(into: &actions)
        scheduleTick(into: &actions)
        if txnsSinceSnapshot >= snapshotThreshold { takeSnapshot(now: now, into: &actions) }
    }

    /// Hands the pending records to the log now, or schedules that for when the pacer allows it (`force`: now).
    private mutating func submitPendingRecords(force: Bool = false, now: EngineTime, into actions: inout [EngineAction]) {
        guard !pendingRecords.isEmpty, !ordering.isOrdered else { return }
        if !force && !shuttingDown, case .submit(let at) = pacer.decide(now: now.monotonicNanos) {
            if !pacedSubmitScheduled {
                pacedSubmitScheduled = true
                actions.append(.scheduleTimer(.pacedSubmit, atNanos: at))
            }
            return
        }
        if pacedSubmitScheduled {
            pacedSubmitScheduled = false
            actions.append(.cancelTimer(.pacedSubmit))
        }
        pacer.submitted(now: now.monotonicNanos)
        let records = pendingRecords
        pendingRecords = []
        let upTo = records.last!.zxid
        appendsInFlight.append((upTo, now.monotonicNanos))
        actions.append(.appendToLog(records, upTo: upTo))
    }

    /// The log made everything up to `zxid` durable.
    mutating func logAppended(upTo zxid: Int64, now: EngineTime, into actions: inout [EngineAction]) {
        if let first = appendsInFlight.first, first.upTo <= zxid {
            appendsInFlight.removeFirst()
            let took = now.monotonicNanos - first.submittedNanos
            pacer.committed(tookNanos: took)
            if metricsEnabled { actions.append(.recordFsync(nanos: took)) }
        }
        logDurable(upTo: zxid, now: now, into: &actions)
    }

    private mutating func logDurable(upTo zxid: Int64, now: EngineTime, into actions: inout [EngineAction]) {
        gate.markDurable(upTo: zxid)
        while let (id, held) = gate.nextReleased() {
            switch held {
            case .send(let frame, let at, let op): write(id, frame, receivedAt: at, op: op, now: now, into: &actions)
            case .close(let reason): closeConnection(id, reason: reason)
            }
        }
        flush(into: &actions)
    }

    /// The log could not make a write durable (disk full, I/O error). Nothing that depended on it was sent. The
    /// in-memory state is now ahead of the disk, so the server drops every connection without acknowledging
    /// anything further and stops; the operator fixes the disk and restarts, and recovery brings back exactly
    /// what was acknowledged.
    mutating func logFailed(_ error: PersistenceError, into actions: inout [EngineAction]) {
        guard !failed else { return }
        failed = true
        logger.critical(
            "Transaction log write failed; refusing further requests and shutting down without acknowledging unlogged writes",
            metadata: ["error": "\(error)"])
        gate.removeAll()
        pendingRecords.removeAll()
        for id in connections.keys.sorted() { closeConnection(id, reason: .closeSession) }
        flush(into: &actions)
        actions.append(.fatal(error))
    }

    // MARK: Output

    /// Writes a frame the gate let through. A reply's header carries the server's last zxid (ZooKeeper: the last
    /// processed one, which a client keeps as its last zxid seen and shows on reconnect). A read may leave before
    /// the newest submitted transaction is durable, so the header is capped at the durable zxid: a client must not
    /// learn of a zxid a crash could lose (it would then be refused as "ahead" by the restarted server). Per
    /// connection the value still never goes down.
    private mutating func write(
        _ id: ConnectionID, _ frame: OutboundFrame, receivedAt: Int64?, op: OpCode?, now: EngineTime,
        into actions: inout [EngineAction]
    ) {
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
            if c.inFlight > 0 {
                c.inFlight -= 1
                inFlight -= 1
                if !throttled.isEmpty { releaseThrottles(into: &actions) }
            }
            stats.packetsSent += 1
            if let receivedAt {
                let latency = max(0, now.micros - receivedAt)
                stats.record(latencyMicros: latency)
                c.lastResponseTime = now.wallMillis
                if metricsEnabled { actions.append(.recordRequest(xid == SpecialXid.ping ? .ping : op, micros: latency)) }
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

    /// ZooKeeper logs these at INFO and WARN; the user name is no secret, the password never reaches here.
    private func logAuthentication(_ id: ConnectionID, _ event: AuthenticationEvent) {
        let address = connections[id].map { "\($0.remoteAddress):\($0.remotePort)" } ?? "unknown"
        switch event {
        case .succeeded(let authId, let superUser):
            logger.info(
                superUser ? "Authenticated a client as the superuser" : "Authenticated a client",
                metadata: ["connection": "\(id)", "client.address": "\(address)", "auth.id": "\(authId.scheme):\(authId.id)"])
        case .failed(let scheme, let reason):
            logger.warning(
                "Client failed to authenticate, closing connection",
                metadata: ["connection": "\(id)", "client.address": "\(address)", "auth.scheme": "\(scheme)", "reason": "\(reason)"])
        }
    }

    private mutating func closeConnection(_ id: ConnectionID, reason: CloseReason? = nil) {
        guard let c = connections[id] else { return }
        if let reason {
            logger.debug("Closing connection", metadata: ["connection": "\(id)", "reason": "\(reason.rawValue)"])
        }
        c.closeAfterFlush = true
        if !c.dirty {
            c.dirty = true
            dirty.append(id)
        }
    }

    /// Writes what each connection has accumulated, one write per connection. A connection that does not read
    /// its replies and has queued more than `outputCloseLimit` since it stopped being writable is closed instead.
    mutating func flush(into actions: inout [EngineAction]) {
        guard !dirty.isEmpty else { return }
        let ids = dirty
        dirty.removeAll(keepingCapacity: true)
        for id in ids {
            guard let c = connections[id] else { continue }
            c.dirty = false
            let bytes = c.out.readableBytes
            if bytes > 0 {
                if !c.writable {
                    c.bytesWhileUnwritable += bytes
                    if c.bytesWhileUnwritable > limits.outputCloseLimit {
                        logger.warning(
                            "Closing a connection that does not read what it is sent",
                            metadata: [
                                "connection": "\(id)", "client.address": "\(c.remoteAddress)",
                                "queued": "\(c.bytesWhileUnwritable)", "limit": "\(limits.outputCloseLimit)",
                            ])
                        c.out = ByteBuffer()
                        c.closeAfterFlush = true
                        actions.append(.close(id))
                        continue
                    }
                }
                if metricsEnabled { actions.append(.recordBytesSent(bytes)) }
                let buffer = c.out
                c.out = ByteBuffer()
                actions.append(.write(id, buffer, closeAfter: c.closeAfterFlush))
            } else if c.closeAfterFlush {
                actions.append(.close(id))
            }
        }
    }

    // MARK: Back-pressure

    /// The channel's writability changed (its pending output crossed the high- or low-water mark).
    mutating func writabilityChanged(_ id: ConnectionID, writable: Bool, into actions: inout [EngineAction]) {
        guard let c = connections[id], c.writable != writable else { return }
        c.writable = writable
        if writable { c.bytesWhileUnwritable = 0 }
        updateReading(id, c, into: &actions)
    }

    private mutating func releaseThrottles(into actions: inout [EngineAction]) {
        guard inFlight < limits.globalOutstandingLimit else { return }
        for id in throttled.sorted() {
            guard let c = connections[id] else { continue }
            c.throttled = false
            updateReading(id, c, into: &actions)
        }
        throttled.removeAll()
    }

    private func updateReading(_ id: ConnectionID, _ c: Connection, into actions: inout [EngineAction]) {
        let read = c.writable && !c.throttled
        guard read != c.reading else { return }
        c.reading = read
        actions.append(.setAutoRead(id, read))
    }

    /// Whether the engine currently reads from the connection.
    func isReading(_ id: ConnectionID) -> Bool { connections[id]?.reading ?? false }

    // MARK: Time

    private mutating func scheduleTick(into actions: inout [EngineAction]) {
        if ordering.isOrdered {
            // Sessions expire through the log (their leases), and reaping is a log entry of its own.
            if !reapScheduled && !shuttingDown {
                reapScheduled = true
                actions.append(.scheduleTimer(.reap, atNanos: reapAt))
            }
            return
        }
        let deadline = core.nextDeadline
        if deadline >= scheduledTickAt { return }
        scheduledTickAt = deadline
        actions.append(.scheduleTimer(.tick, atNanos: deadline * 1_000_000))
    }

    mutating func timerFired(_ timer: EngineTimer, now: EngineTime, into actions: inout [EngineAction]) {
        switch timer {
        case .tick:
            scheduledTickAt = .max
            guard !failed else { return }
            core.tick(now: now.core, into: &coreActions)
            run(receivedAt: now.micros, op: nil, now: now, into: &actions)
            readComplete(now: now, into: &actions)
        case .reap:
            reapScheduled = false
            guard !failed, !shuttingDown else { return }
            actions.append(.appendOrdered(LogEntry(
                connection: 0, kind: .reap, wallMillis: now.wallMillis, monotonicNanos: now.monotonicNanos)))
            reapAt = now.monotonicNanos + Int64(configuration.containerCheckIntervalMs) * 1_000_000
            scheduleTick(into: &actions)
        case .pacedSubmit:
            guard pacedSubmitScheduled else { return }
            pacedSubmitScheduled = false
            submitPendingRecords(force: true, now: now, into: &actions)
        }
    }

    // MARK: Snapshots

    mutating func takeSnapshot(now: EngineTime, into actions: inout [EngineAction]) {
        guard !snapshotInProgress, !failed else { return }
        snapshotInProgress = true
        txnsSinceSnapshot = 0
        snapshotThreshold = nextSnapshotThreshold()
        submitPendingRecords(force: true, now: now, into: &actions)  // its transactions go to the log before the roll
        // A consistent copy in O(pages); later writes copy what they touch.
        actions.append(.takeSnapshot(core.snapshotImage()))
    }

    mutating func snapshotCompleted(zxid: Int64, error: (any Error)?) {
        snapshotInProgress = false
        snapshotsTaken += 1
        if let error {
            logger.error("Snapshot failed", metadata: ["error": "\(error)"])
        } else {
            logger.info("Snapshot written", metadata: ["zxid": "0x\(String(zxid, radix: 16))"])
        }
    }

    // MARK: Shutdown

    /// Stops taking requests and connections and submits everything pending (the shell then waits until the log
    /// has made it durable).
    mutating func beginShutdown(now: EngineTime, into actions: inout [EngineAction]) {
        shuttingDown = true
        submitPendingRecords(force: true, now: now, into: &actions)
        if scheduledTickAt != .max {
            scheduledTickAt = .max
            actions.append(.cancelTimer(.tick))
        }
    }

    /// Sends what is left and closes every connection. Sessions survive in the log.
    mutating func closeAllConnections(into actions: inout [EngineAction]) {
        for id in connections.keys.sorted() { closeConnection(id, reason: .closeSession) }
        flush(into: &actions)
    }

    // MARK: Statistics

    mutating func resetServerStatistics() {
        stats.reset()
    }

    mutating func resetConnectionStatistics() {
        for c in connections.values {
            c.received = 0
            c.sent = 0
        }
    }
}

