import DequeModule
import NIOCore
import ZooKeeperWire

/// Identifies one TCP connection attempt of the client.
struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    var rawValue: UInt64
    var description: String { "c\(rawValue)" }
}

/// Identifies one caller's request inside the client.
typealias RequestID = UInt64

/// One session of the client across its connections, as a pure state machine: inputs (a connection opened, a
/// frame arrived, a timer fired, the user submitted a request, ...) return the actions the shell must run
/// (connect, send a frame, complete a request, deliver a watch event, emit a state, schedule the timer, ...).
/// Time is an input; nothing here reads a clock or touches a socket. The auth data and the watches of the
/// session are sub-machines (`AuthStateMachine`, `WatchStateMachine`) whose results it turns into actions.
///
/// It follows ZooKeeper's Java client (ClientCnxn):
/// - the handshake carries the session id, password and last zxid seen, and the requested timeout;
/// - a ConnectResponse with a timeout <= 0 means the session expired: everything fails with sessionExpired, and
///   nothing more is sent until `startNewSession` (the client never continues silently with a dead session);
/// - after a reconnect it re-sends its auth data, then its watches (setWatches, or setWatches2 when there are
///   persistent watches, in batches of at most 128 KiB of paths, relative to the last zxid seen), then the
///   requests that waited;
/// - requests are pipelined: each gets the next xid, and replies must come back in the order sent;
/// - when idle it pings every third of the negotiated timeout, and if nothing arrives for two thirds of it, it
///   drops the connection and reconnects;
/// - a failed connection attempt fails the requests that waited for it with connectionLoss, as the Java client
///   does; after a full round of failed attempts over all servers it backs off exponentially, with jitter.
struct ConnectionStateMachine {
    struct Configuration: Sendable {
        var servers: [ServerAddress]
        /// The chroot as the server sees it (no trailing slash), or nil.
        var chroot: String?
        /// The timeout the client asks for.
        var sessionTimeout: TimeAmount
        /// Whether the client accepts a read-only server (ConnectRequest.readOnly).
        var canBeReadOnly: Bool = false
        /// The backoff after the first full round of failed connection attempts; it doubles each round.
        var initialBackoff: TimeAmount = .milliseconds(10)
        /// The largest backoff between rounds of connection attempts.
        var maxBackoff: TimeAmount = .seconds(1)
        /// How long `close` waits for the server to answer closeSession; nil means two thirds of the
        /// negotiated timeout.
        var closeTimeout: TimeAmount?
        /// The most bytes of paths in one setWatches request (ClientCnxn.SET_WATCHES_MAX_LENGTH).
        var setWatchesMaxBytes: Int = 128 * 1024
        /// Seeds the shuffle of the servers and the backoff jitter.
        var randomSeed: UInt64

        init(servers: [ServerAddress], chroot: String? = nil, sessionTimeout: TimeAmount, randomSeed: UInt64) {
            self.servers = servers
            self.chroot = chroot
            self.sessionTimeout = sessionTimeout
            self.randomSeed = randomSeed
        }
    }

    /// A frame to write on a connection.
    enum OutboundFrame: Hashable, Sendable {
        /// The handshake, without a request header.
        case connect(ConnectRequest)
        case request(RequestFrame)
    }

    /// Something worth a log line.
    enum Warning: Hashable, Sendable {
        case protocolError(String)
        case handshakeTimeout
        case readTimeout
        case authFailed(scheme: String, ErrorCode)
        case setWatchesFailed(ErrorCode)
        case sessionIDChanged
    }

    enum Action: Hashable, Sendable {
        /// Open a TCP connection to the server, giving up after `timeout`; then report `channelActive`,
        /// `connectFailed`, `frameReceived` and `channelInactive` with this id.
        case connect(ServerAddress, ConnectionID, timeout: TimeAmount)
        /// Write a frame (the shell flushes after the batch of actions).
        case send(OutboundFrame, ConnectionID)
        /// Close the connection; no more inputs are expected from it.
        case closeConnection(ConnectionID)
        case succeed(RequestID, ZooKeeperResponse)
        case fail(RequestID, ZooKeeperError)
        /// Deliver a watch event to these watchers. One-shot watchers are then gone.
        case deliver(WatchEvent, to: [WatcherID])
        /// These watchers will receive nothing more: the session expired (error) or the client was closed or
        /// the watch removed (nil).
        case endWatchers([WatcherID], ZooKeeperError?)
        case stateChanged(ConnectionState)
        /// Call `timerFired` at this deadline (replaces any earlier schedule).
        case scheduleTimer(NIODeadline)
        case warning(Warning, ConnectionID?)
    }

    /// What a successful request does to the local watch tables besides registering its own watch.
    enum LocalEffect: Hashable, Sendable {
        /// removeWatches succeeded on the server: drop the local watchers of this type at this server path.
        case removeWatches(path: String, type: WatcherType)
    }

    /// Where the session's connection is. What only matters in one state lives in that state: the attempt and
    /// its deadline, the requests waiting for a connection, the requests in flight, the ping and read
    /// deadlines, the close deadline.
    private enum State {
        /// Not started yet.
        case idle
        /// A TCP connection is being opened.
        case connecting(Attempt)
        /// The TCP connection is open and the handshake sent.
        case handshaking(Attempt)
        /// The session is established on a connection.
        case connected(Connection)
        /// A full round of attempts failed: the next one starts after the backoff.
        case waitingToReconnect(Backoff)
        /// closeSession was sent; waiting for its reply until `deadline`.
        case closing(Connection, deadline: NIODeadline)
        /// The server said the session expired; nothing is sent until `startNewSession`.
        case expired
        case closed
        /// Only while an input changes the queue of a state in place (so that the queue is not copied); never
        /// seen between inputs.
        case modifying
    }

    /// One connection attempt, up to the end of its handshake.
    private struct Attempt {
        var connection: ConnectionID
        var server: ServerAddress
        /// When the attempt (TCP connect and handshake) gives up.
        var deadline: NIODeadline
        /// The attempts that failed before this one since the session was last connected (or started).
        var failures: Int
        /// Requests that wait for this attempt's session (they fail with it).
        var queued: Deque<QueuedRequest>
    }

    private struct Backoff {
        var until: NIODeadline
        /// The attempts that failed since the session was last connected (or started).
        var failures: Int
        /// Requests made during the backoff; they wait for the next attempt.
        var queued: Deque<QueuedRequest>
    }

    /// A connection with an established session.
    private struct Connection {
        var id: ConnectionID
        /// Requests sent and not answered yet (not counting pings and auth), in the order sent.
        var pending: Deque<Pending> = []
        var lastSent: NIODeadline
        var lastReceived: NIODeadline
    }

    private struct QueuedRequest {
        var id: RequestID
        var request: ZooKeeperRequest
        var watch: WatchRegistration?
        var effect: LocalEffect?
    }

    private enum PendingKind {
        case user(RequestID, OpCode, path: String?, watch: WatchRegistration?, effect: LocalEffect?)
        case setWatches
        case internalRemoveWatches
        case closeSession
    }

    private struct Pending {
        var xid: Int32
        var kind: PendingKind
    }

    let configuration: Configuration
    private var state: State = .idle
    private var rng: SplitMix64
    private let serverOrder: [ServerAddress]
    private var nextServerIndex = 0
    private var nextConnectionID: UInt64 = 0
    private var nextXid: Int32 = 1
    private var scheduledTimer: NIODeadline?

    /// The session id, 0 before the first session.
    private(set) var sessionID: Int64 = 0
    private(set) var password: [UInt8] = ConnectionStateMachine.noPassword
    /// The timeout the server granted, nil before the first session.
    private(set) var negotiatedTimeout: TimeAmount?
    /// The zxid of the last reply (ClientCnxn.lastZxid), sent in the handshake and in setWatches.
    private(set) var lastZxidSeen: Int64 = 0
    /// The session's watches.
    private(set) var watches: WatchStateMachine
    /// The session's auth data.
    private(set) var auth = AuthStateMachine()

    static let noPassword = [UInt8](repeating: 0, count: 16)

    init(configuration: Configuration) {
        precondition(!configuration.servers.isEmpty, "a connect string names at least one server")
        self.configuration = configuration
        self.rng = SplitMix64(seed: configuration.randomSeed)
        var order = configuration.servers
        order.shuffle(using: &rng)
        self.serverOrder = order
        self.watches = WatchStateMachine(chroot: configuration.chroot)
    }

    // MARK: Queries

    var isExpired: Bool {
        if case .expired = state { return true }
        return false
    }
    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }
    var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }
    /// Requests sent and not answered yet (not counting pings and auth).
    var pendingCount: Int {
        switch state {
        case .connected(let connection), .closing(let connection, _): return connection.pending.count
        default: return 0
        }
    }
    /// Requests waiting for a connection.
    var queuedCount: Int {
        switch state {
        case .connecting(let attempt), .handshaking(let attempt): return attempt.queued.count
        case .waitingToReconnect(let backoff): return backoff.queued.count
        default: return 0
        }
    }

    /// Whether a watcher is registered (its request succeeded and it has not fired or been removed).
    func isRegistered(_ watcher: WatcherID) -> Bool { watches.isRegistered(watcher) }

    /// Ping interval: a third of the negotiated timeout (ClientCnxn pings at readTimeout / 2).
    var pingInterval: TimeAmount { .nanoseconds(timeout.nanoseconds / 3) }
    /// Read timeout: two thirds of the negotiated timeout.
    var readTimeout: TimeAmount { .nanoseconds(timeout.nanoseconds * 2 / 3) }
    /// Connect timeout: the timeout divided by the number of servers, as in ClientCnxn.
    var connectTimeout: TimeAmount { .nanoseconds(timeout.nanoseconds / Int64(configuration.servers.count)) }
    private var timeout: TimeAmount { negotiatedTimeout ?? configuration.sessionTimeout }

    // MARK: Inputs

    /// Starts connecting (once; later calls do nothing).
    mutating func start(now: NIODeadline) -> [Action] {
        guard case .idle = state else { return [] }
        var actions: [Action] = []
        connectNext(now: now, failures: 0, queued: [], into: &actions)
        return actions
    }

    /// The TCP connection `id` is open: send the handshake.
    mutating func channelActive(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        guard case .connecting(let attempt) = state, attempt.connection == id else { return [.closeConnection(id)] }
        state = .handshaking(attempt)
        let request = ConnectRequest(
            protocolVersion: 0, lastZxidSeen: lastZxidSeen,
            timeOut: Int32(clamping: configuration.sessionTimeout.nanoseconds / 1_000_000), sessionId: sessionID,
            passwd: password, readOnly: configuration.canBeReadOnly)
        return [.send(.connect(request), id)]
    }

    /// The TCP connection `id` could not be opened.
    mutating func connectFailed(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        guard case .connecting(let attempt) = state, attempt.connection == id else { return [] }
        var actions: [Action] = []
        attemptFailed(attempt, now: now, closing: nil, into: &actions)
        return actions
    }

    /// The connection `id` was closed (by the server, the network, or the shell after `closeConnection`).
    mutating func channelInactive(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .connecting(let attempt), .handshaking(let attempt):
            guard attempt.connection == id else { return [] }
            attemptFailed(attempt, now: now, closing: nil, into: &actions)
        case .connected(let connection):
            guard connection.id == id else { return [] }
            connectionLost(connection, now: now, closing: nil, into: &actions)
        case .closing(let connection, _):
            guard connection.id == id else { return [] }
            finishClose(inFlight: connection.pending, into: &actions)
        case .idle, .waitingToReconnect, .expired, .closed:
            return []
        case .modifying:
            preconditionFailure(Self.reentered)
        }
        return actions
    }

    /// A frame (without its length prefix) arrived on connection `id`.
    mutating func frameReceived(_ id: ConnectionID, _ frame: ByteBuffer, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .handshaking(let attempt):
            guard attempt.connection == id else { return [] }
            handshakeAnswered(attempt, frame, now: now, into: &actions)
        case .connected(var connection):
            guard connection.id == id else { return [] }
            state = .modifying
            connection.lastReceived = now
            replyReceived(frame, on: &connection, closing: false, now: now, into: &actions)
            if case .modifying = state { state = .connected(connection) }
        case .closing(var connection, let deadline):
            guard connection.id == id else { return [] }
            state = .modifying
            connection.lastReceived = now
            replyReceived(frame, on: &connection, closing: true, now: now, into: &actions)
            if case .modifying = state { state = .closing(connection, deadline: deadline) }
        case .idle, .connecting, .waitingToReconnect, .expired, .closed:
            return []
        case .modifying:
            preconditionFailure(Self.reentered)
        }
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// The timer scheduled by the last `scheduleTimer` action fired (early calls are harmless).
    mutating func timerFired(now: NIODeadline) -> [Action] {
        scheduledTimer = nil
        var actions: [Action] = []
        switch state {
        case .connecting(let attempt), .handshaking(let attempt):
            if now >= attempt.deadline {
                actions.append(.warning(.handshakeTimeout, attempt.connection))
                attemptFailed(attempt, now: now, closing: attempt.connection, into: &actions)
            }
        case .connected(var connection):
            if now >= connection.lastReceived + readTimeout {
                actions.append(.warning(.readTimeout, connection.id))
                connectionLost(connection, now: now, closing: connection.id, into: &actions)
            } else if now >= connection.lastSent + pingInterval {
                actions.append(.send(.request(RequestFrame(xid: SpecialXid.ping, request: .ping)), connection.id))
                connection.lastSent = now
                state = .connected(connection)
            }
        case .waitingToReconnect(let backoff):
            if now >= backoff.until {
                connectNext(now: now, failures: backoff.failures, queued: backoff.queued, into: &actions)
            }
        case .closing(let connection, let deadline):
            if now >= deadline {
                actions.append(.closeConnection(connection.id))
                finishClose(inFlight: connection.pending, into: &actions)
            }
        case .idle, .expired, .closed:
            break
        case .modifying:
            preconditionFailure(Self.reentered)
        }
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// A caller's request; `request` holds server paths. `watch` is registered when the reply says the server
    /// set it. Sent at once when connected, held while connecting, failed when expired or closed.
    mutating func submit(
        _ id: RequestID, _ request: ZooKeeperRequest, watch: WatchRegistration? = nil, effect: LocalEffect? = nil,
        now: NIODeadline
    ) -> [Action] {
        var actions: [Action] = []
        let item = QueuedRequest(id: id, request: request, watch: watch, effect: effect)
        switch state {
        case .idle:
            connectNext(now: now, failures: 0, queued: [item], into: &actions)
        case .connecting(var attempt):
            state = .modifying
            attempt.queued.append(item)
            state = .connecting(attempt)
        case .handshaking(var attempt):
            state = .modifying
            attempt.queued.append(item)
            state = .handshaking(attempt)
        case .waitingToReconnect(var backoff):
            state = .modifying
            backoff.queued.append(item)
            state = .waitingToReconnect(backoff)
        case .connected(var connection):
            state = .modifying
            send(item, on: &connection, now: now, into: &actions)
            state = .connected(connection)
        case .expired:
            actions.append(.fail(id, error(.sessionExpired, serverPath: request.path)))
        case .closing, .closed:
            actions.append(.fail(id, closedError(serverPath: request.path)))
        case .modifying:
            preconditionFailure(Self.reentered)
        }
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// addAuth: remembered for every later connection of the session (and re-sent after reconnects).
    mutating func addAuth(_ id: RequestID, scheme: String, auth: [UInt8], now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .expired:
            return [.fail(id, .sessionExpired)]
        case .closing, .closed:
            return [.fail(id, .clientClosed)]
        case .connected(var connection):
            if case .send(let packet) = self.auth.addAuth(id, scheme: scheme, auth: auth) {
                sendAuth(packet, on: &connection, now: now, into: &actions)
                state = .connected(connection)
            }
        case .idle:
            _ = self.auth.addAuth(id, scheme: scheme, auth: auth)
            connectNext(now: now, failures: 0, queued: [], into: &actions)
        case .connecting, .handshaking, .waitingToReconnect:
            _ = self.auth.addAuth(id, scheme: scheme, auth: auth)
        case .modifying:
            preconditionFailure(Self.reentered)
        }
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// close(): sends closeSession when connected and waits for its reply (or the close timeout); otherwise
    /// closes at once. Requests made afterwards fail.
    mutating func close(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .idle, .expired:
            finishClose(into: &actions)
        case .waitingToReconnect(let backoff):
            finishClose(queued: backoff.queued, into: &actions)
        case .connecting(let attempt), .handshaking(let attempt):
            actions.append(.closeConnection(attempt.connection))
            finishClose(queued: attempt.queued, into: &actions)
        case .connected(var connection):
            // Nothing waits for a connection while connected (the handshake sent it all).
            state = .modifying
            let xid = allocateXid()
            connection.pending.append(Pending(xid: xid, kind: .closeSession))
            actions.append(.send(.request(RequestFrame(xid: xid, request: .closeSession)), connection.id))
            connection.lastSent = now
            state = .closing(connection, deadline: now + (configuration.closeTimeout ?? readTimeout))
        case .closing, .closed:
            break
        case .modifying:
            preconditionFailure(Self.reentered)
        }
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// After `.expired`: forget the old session and connect for a new one. Does nothing in other states.
    mutating func startNewSession(now: NIODeadline) -> [Action] {
        guard case .expired = state else { return [] }
        sessionID = 0
        password = Self.noPassword
        negotiatedTimeout = nil
        lastZxidSeen = 0
        var actions: [Action] = []
        connectNext(now: now, failures: 0, queued: [], into: &actions)
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// A local watcher went away (its stream ended, its owner gave up). When it was the last watcher of a
    /// persistent watch at its path, the server's watch is removed too (removeWatches with type any, which
    /// ZooKeeper 3.6+ applies to persistent watches; sent only when no other local watch or watch-setting
    /// request concerns that path).
    mutating func removeWatcher(_ watcher: WatcherID, now: NIODeadline) -> [Action] {
        guard let path = watches.removeWatcher(watcher) else { return [] }
        var actions: [Action] = []
        removeServerWatchIfUnused(path: path, now: now, into: &actions)
        return actions
    }

    /// removeWatches with local = true (or for persistent types, which ZooKeeper 3.8's removeWatches refuses):
    /// drops the local watchers of `type` at `serverPath` and tells them. Returns whether any was removed.
    mutating func removeLocalWatches(serverPath: String, type: WatcherType, now: NIODeadline) -> (
        actions: [Action], removed: Bool
    ) {
        let (watchActions, unused) = watches.removeLocalWatches(serverPath: serverPath, type: type)
        var actions: [Action] = []
        append(watchActions, into: &actions)
        if let unused { removeServerWatchIfUnused(path: unused, now: now, into: &actions) }
        return (actions, !watchActions.isEmpty)
    }

    // MARK: Connecting

    private mutating func connectNext(
        now: NIODeadline, failures: Int, queued: Deque<QueuedRequest>, into actions: inout [Action]
    ) {
        let server = serverOrder[nextServerIndex % serverOrder.count]
        nextServerIndex = (nextServerIndex + 1) % serverOrder.count
        nextConnectionID += 1
        let id = ConnectionID(rawValue: nextConnectionID)
        let timeout = connectTimeout
        state = .connecting(
            Attempt(connection: id, server: server, deadline: now + timeout, failures: failures, queued: queued))
        actions.append(.connect(server, id, timeout: timeout))
        scheduleTimerIfNeeded(into: &actions)
    }

    /// A connection attempt failed before the session was (re-)established.
    private mutating func attemptFailed(
        _ attempt: Attempt, now: NIODeadline, closing: ConnectionID?, into actions: inout [Action]
    ) {
        if let closing { actions.append(.closeConnection(closing)) }
        failQueued(attempt.queued, with: .connectionLoss, into: &actions)
        let failures = attempt.failures + 1
        let servers = serverOrder.count
        if failures % servers == 0 {
            let round = failures / servers
            let base = backoff(round: round)
            let jittered = base.nanoseconds / 2 + Int64.random(in: 0...max(0, base.nanoseconds / 2), using: &rng)
            state = .waitingToReconnect(Backoff(until: now + .nanoseconds(jittered), failures: failures, queued: []))
            scheduleTimerIfNeeded(into: &actions)
        } else {
            connectNext(now: now, failures: failures, queued: [], into: &actions)
        }
    }

    /// The backoff before round `round` (1-based) of attempts: initial × 2^(round-1), at most the maximum.
    func backoff(round: Int) -> TimeAmount {
        let initial = configuration.initialBackoff.nanoseconds
        let maximum = configuration.maxBackoff.nanoseconds
        let shift = min(max(round - 1, 0), 40)
        let (value, overflow) = initial.multipliedReportingOverflow(by: Int64(1) << shift)
        return .nanoseconds(overflow ? maximum : min(value, maximum))
    }

    private mutating func handshakeAnswered(
        _ attempt: Attempt, _ frame: ByteBuffer, now: NIODeadline, into actions: inout [Action]
    ) {
        let id = attempt.connection
        let response: ConnectResponse
        do {
            response = try ConnectResponse.decodeWhole(frame)
        } catch {
            actions.append(.warning(.protocolError("malformed ConnectResponse: \(error)"), id))
            attemptFailed(attempt, now: now, closing: id, into: &actions)
            return
        }
        if response.timeOut <= 0 {
            expire(attempt, into: &actions)
            return
        }
        if sessionID != 0 && response.sessionId != sessionID {
            // Not our session any more: treat it as lost rather than continue with another one silently.
            actions.append(.warning(.sessionIDChanged, id))
            expire(attempt, into: &actions)
            return
        }
        let isNewSession = sessionID == 0
        sessionID = response.sessionId
        password = response.passwd
        negotiatedTimeout = .milliseconds(Int64(response.timeOut))
        var connection = Connection(id: id, lastSent: now, lastReceived: now)
        if response.readOnly == true {
            actions.append(.stateChanged(.readOnly))
        } else {
            actions.append(.stateChanged(isNewSession ? .connected : .reconnected))
        }
        // As ClientCnxn.primeConnection: auth first, then the watches, then what waited.
        for packet in auth.connected() {
            sendAuth(packet, on: &connection, now: now, into: &actions)
        }
        let setWatches = watches.setWatchesRequests(
            relativeZxid: lastZxidSeen, maxBytes: configuration.setWatchesMaxBytes)
        for request in setWatches {
            connection.pending.append(Pending(xid: SpecialXid.setWatches, kind: .setWatches))
            actions.append(.send(.request(RequestFrame(xid: SpecialXid.setWatches, request: request)), id))
            connection.lastSent = now
        }
        for item in attempt.queued {
            send(item, on: &connection, now: now, into: &actions)
        }
        state = .connected(connection)
    }

    // MARK: Connected

    private mutating func allocateXid() -> Int32 {
        let xid = nextXid
        nextXid = nextXid == Int32.max ? 1 : nextXid + 1
        return xid
    }

    private mutating func send(
        _ item: QueuedRequest, on connection: inout Connection, now: NIODeadline, into actions: inout [Action]
    ) {
        let xid = allocateXid()
        connection.pending.append(
            Pending(
                xid: xid,
                kind: .user(item.id, item.request.opCode, path: item.request.path, watch: item.watch, effect: item.effect)))
        actions.append(.send(.request(RequestFrame(xid: xid, request: item.request)), connection.id))
        connection.lastSent = now
    }

    private func sendAuth(
        _ packet: AuthPacket, on connection: inout Connection, now: NIODeadline, into actions: inout [Action]
    ) {
        actions.append(.send(.request(RequestFrame(xid: SpecialXid.auth, request: .auth(packet))), connection.id))
        connection.lastSent = now
    }

    /// A reply on the live connection, which is out of `state` (`closing` says which state it came from). The
    /// connection goes back unless this moved to another state.
    private mutating func replyReceived(
        _ frame: ByteBuffer, on connection: inout Connection, closing: Bool, now: NIODeadline,
        into actions: inout [Action]
    ) {
        let reply: ReplyFrame
        do {
            reply = try ReplyFrame.decode(frame)
        } catch {
            protocolError("malformed reply header: \(error)", connection, closing: closing, now: now, into: &actions)
            return
        }
        switch reply.header.xid {
        case SpecialXid.ping:
            return
        case SpecialXid.notification:
            let event: WatcherEvent
            do {
                event = try reply.notification()
            } catch {
                protocolError(
                    "malformed notification: \(error)", connection, closing: closing, now: now, into: &actions)
                return
            }
            if let action = watches.notificationReceived(event) { append([action], into: &actions) }
        case SpecialXid.auth:
            switch auth.replyReceived(err: reply.header.err) {
            case .succeeded(let waiters):
                for waiter in waiters { actions.append(.succeed(waiter, .empty)) }
            case .failed(let scheme, let code, let waiters):
                actions.append(.warning(.authFailed(scheme: scheme, code), connection.id))
                for waiter in waiters { actions.append(.fail(waiter, ZooKeeperError(code: code))) }
            case .unexpected:
                protocolError(
                    "auth reply without an auth request", connection, closing: closing, now: now, into: &actions)
            }
        default:
            guard let head = connection.pending.first else {
                protocolError(
                    "reply xid \(reply.header.xid) with nothing pending", connection, closing: closing, now: now,
                    into: &actions)
                return
            }
            guard head.xid == reply.header.xid else {
                protocolError(
                    "reply xid \(reply.header.xid) out of order, expected \(head.xid)", connection, closing: closing,
                    now: now, into: &actions)
                return
            }
            connection.pending.removeFirst()
            if reply.header.zxid > 0 { lastZxidSeen = reply.header.zxid }
            complete(head, reply, on: connection, closing: closing, now: now, into: &actions)
        }
    }

    private mutating func complete(
        _ entry: Pending, _ reply: ReplyFrame, on connection: Connection, closing: Bool, now: NIODeadline,
        into actions: inout [Action]
    ) {
        let err = reply.header.err
        switch entry.kind {
        case .user(let id, let opCode, let path, let watch, let effect):
            if err == 0 {
                let response: ZooKeeperResponse
                do {
                    response = try reply.response(for: opCode)
                } catch {
                    actions.append(.fail(id, self.error(.marshallingError, serverPath: path)))
                    protocolError(
                        "malformed \(opCode) reply: \(error)", connection, closing: closing, now: now, into: &actions)
                    return
                }
                if let watch, let path { watches.requestSucceeded(watch, serverPath: path) }
                if let effect { apply(effect, into: &actions) }
                actions.append(.succeed(id, response))
            } else {
                let code = ErrorCode(rawValue: err) ?? .systemError
                if let watch, let path { watches.requestFailed(watch, serverPath: path, code: code) }
                actions.append(.fail(id, error(code, serverPath: path)))
            }
        case .setWatches:
            if err != 0 {
                actions.append(.warning(.setWatchesFailed(ErrorCode(rawValue: err) ?? .systemError), connection.id))
            }
        case .internalRemoveWatches:
            break
        case .closeSession:
            actions.append(.closeConnection(connection.id))
            finishClose(inFlight: connection.pending, into: &actions)
        }
    }

    private mutating func apply(_ effect: LocalEffect, into actions: inout [Action]) {
        switch effect {
        case .removeWatches(let path, let type):
            append(watches.watchesRemoved(serverPath: path, type: type), into: &actions)
        }
    }

    /// Sends removeWatches (type any) for the persistent watch at `path` that no local watcher uses any more,
    /// when connected and no watch-setting request for that path is in flight.
    private mutating func removeServerWatchIfUnused(path: String, now: NIODeadline, into actions: inout [Action]) {
        guard case .connected(var connection) = state else { return }
        let inFlight = connection.pending.contains { entry in
            if case .user(_, _, let p, let watch, _) = entry.kind, watch != nil, p == path { return true }
            return false
        }
        guard !inFlight else { return }
        state = .modifying
        let xid = allocateXid()
        connection.pending.append(Pending(xid: xid, kind: .internalRemoveWatches))
        let request = ZooKeeperRequest.removeWatches(RemoveWatchesRequest(path: path, type: WatcherType.any.rawValue))
        actions.append(.send(.request(RequestFrame(xid: xid, request: request)), connection.id))
        connection.lastSent = now
        state = .connected(connection)
    }

    private func append(_ watchActions: [WatchStateMachine.Action], into actions: inout [Action]) {
        for action in watchActions {
            switch action {
            case .deliver(let event, let watchers): actions.append(.deliver(event, to: watchers))
            case .endWatchers(let watchers, let error): actions.append(.endWatchers(watchers, error))
            }
        }
    }

    /// Drops the live connection (which is out of `state`): while closing, the close ends; otherwise the
    /// connection is lost.
    private mutating func protocolError(
        _ reason: String, _ connection: Connection, closing: Bool, now: NIODeadline, into actions: inout [Action]
    ) {
        actions.append(.warning(.protocolError(reason), connection.id))
        if closing {
            actions.append(.closeConnection(connection.id))
            finishClose(inFlight: connection.pending, into: &actions)
        } else {
            connectionLost(connection, now: now, closing: connection.id, into: &actions)
        }
    }

    // MARK: Losing the connection, expiry, close

    /// The live connection is gone: everything in flight fails with connectionLoss, the session is suspended,
    /// and the next server is tried at once.
    private mutating func connectionLost(
        _ connection: Connection, now: NIODeadline, closing: ConnectionID?, into actions: inout [Action]
    ) {
        if let closing { actions.append(.closeConnection(closing)) }
        failInFlight(connection.pending, with: .connectionLoss, into: &actions)
        actions.append(.stateChanged(.suspended))
        connectNext(now: now, failures: 0, queued: [], into: &actions)
    }

    /// The handshake of `attempt` said the session is gone.
    private mutating func expire(_ attempt: Attempt, into actions: inout [Action]) {
        actions.append(.closeConnection(attempt.connection))
        state = .expired
        failQueued(attempt.queued, with: .sessionExpired, into: &actions)
        if let ended = watches.endAll(.sessionExpired) { append([ended], into: &actions) }
        actions.append(.stateChanged(.expired))
    }

    private mutating func finishClose(
        inFlight: Deque<Pending> = [], queued: Deque<QueuedRequest> = [], into actions: inout [Action]
    ) {
        state = .closed
        failInFlight(inFlight, with: .clientClosed, into: &actions)
        failQueued(queued, with: .clientClosed, into: &actions)
        if let ended = watches.endAll(nil) { append([ended], into: &actions) }
        actions.append(.stateChanged(.closed))
    }

    /// Fails the requests sent and not answered, and the auth packets sent and not answered.
    private mutating func failInFlight(
        _ inFlight: Deque<Pending>, with base: ZooKeeperError, into actions: inout [Action]
    ) {
        for entry in inFlight {
            if case .user(let id, _, let path, _, _) = entry.kind {
                var e = base
                e.path = path.map { ZNodePath.clientPath($0, chroot: configuration.chroot) }
                actions.append(.fail(id, e))
            }
        }
        for waiter in auth.connectionClosed() { actions.append(.fail(waiter, base)) }
    }

    /// Fails the requests (and addAuth calls) that waited for a connection.
    private mutating func failQueued(
        _ queued: Deque<QueuedRequest>, with base: ZooKeeperError, into actions: inout [Action]
    ) {
        for item in queued {
            var e = base
            e.path = item.request.path.map { ZNodePath.clientPath($0, chroot: configuration.chroot) }
            actions.append(.fail(item.id, e))
        }
        for waiter in auth.removeWaiters() { actions.append(.fail(waiter, base)) }
    }

    private func error(_ code: ErrorCode, serverPath: String?) -> ZooKeeperError {
        ZooKeeperError(code: code, path: serverPath.map { ZNodePath.clientPath($0, chroot: configuration.chroot) })
    }

    private func closedError(serverPath: String?) -> ZooKeeperError {
        var e = ZooKeeperError.clientClosed
        e.path = serverPath.map { ZNodePath.clientPath($0, chroot: configuration.chroot) }
        return e
    }

    private static let reentered = "ConnectionStateMachine: an input arrived while another was changing the state"

    // MARK: Timer

    private mutating func scheduleTimerIfNeeded(into actions: inout [Action]) {
        let next: NIODeadline?
        switch state {
        case .connecting(let attempt), .handshaking(let attempt): next = attempt.deadline
        case .connected(let connection):
            next = min(connection.lastReceived + readTimeout, connection.lastSent + pingInterval)
        case .waitingToReconnect(let backoff): next = backoff.until
        case .closing(_, let deadline): next = deadline
        case .idle, .expired, .closed: next = nil
        case .modifying: preconditionFailure(Self.reentered)
        }
        guard let next else { return }
        if let scheduled = scheduledTimer, scheduled <= next { return }
        scheduledTimer = next
        actions.append(.scheduleTimer(next))
    }
}
