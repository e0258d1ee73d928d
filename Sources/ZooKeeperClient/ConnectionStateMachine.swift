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
/// Time is an input; nothing here reads a clock or touches a socket.
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

    private enum State: Hashable {
        case idle
        case connecting(Attempt)
        case handshaking(Attempt)
        case connected(ConnectionID)
        case waitingToReconnect(until: NIODeadline)
        case closing(ConnectionID, deadline: NIODeadline)
        case expired
        case closed
    }

    private struct Attempt: Hashable {
        var connection: ConnectionID
        var server: ServerAddress
        var deadline: NIODeadline
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

    private struct AuthEntry: Hashable {
        var scheme: String
        var auth: [UInt8]
        /// Callers waiting for this auth to be sent and answered (added while disconnected).
        var waiters: [RequestID] = []
    }

    private struct PendingAuth {
        var scheme: String
        var auth: [UInt8]
        var waiters: [RequestID]
    }

    let configuration: Configuration
    private var state: State = .idle
    private var rng: SplitMix64
    private var serverOrder: [ServerAddress]
    private var nextServerIndex = 0
    private var consecutiveFailures = 0
    private var nextConnectionID: UInt64 = 0
    private var nextXid: Int32 = 1
    private var scheduledTimer: NIODeadline?
    private var isSuspended = false
    private var lastSent = NIODeadline.uptimeNanoseconds(0)
    private var lastReceived = NIODeadline.uptimeNanoseconds(0)

    /// The session id, 0 before the first session.
    private(set) var sessionID: Int64 = 0
    private(set) var password: [UInt8] = ConnectionStateMachine.noPassword
    /// The timeout the server granted, nil before the first session.
    private(set) var negotiatedTimeout: TimeAmount?
    /// The zxid of the last reply (ClientCnxn.lastZxid), sent in the handshake and in setWatches.
    private(set) var lastZxidSeen: Int64 = 0
    private(set) var watches = ClientWatchTable()
    private var authInfo: [AuthEntry] = []
    private var pendingAuth: Deque<PendingAuth> = []
    private var pending: Deque<Pending> = []
    private var queued: Deque<QueuedRequest> = []

    static let noPassword = [UInt8](repeating: 0, count: 16)

    init(configuration: Configuration) {
        precondition(!configuration.servers.isEmpty, "a connect string names at least one server")
        self.configuration = configuration
        self.rng = SplitMix64(seed: configuration.randomSeed)
        var order = configuration.servers
        order.shuffle(using: &rng)
        self.serverOrder = order
    }

    // MARK: Queries

    var isExpired: Bool { state == .expired }
    var isClosed: Bool { state == .closed }
    var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }
    /// Requests sent and not answered yet (not counting pings and auth).
    var pendingCount: Int { pending.count }
    /// Requests waiting for a connection.
    var queuedCount: Int { queued.count }

    /// Whether a watcher is registered (its request succeeded and it has not fired or been removed).
    func isRegistered(_ watcher: WatcherID) -> Bool { watches.kind(of: watcher) != nil }

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
        guard state == .idle else { return [] }
        var actions: [Action] = []
        connectNext(now: now, into: &actions)
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
        lastSent = now
        return [.send(.connect(request), id)]
    }

    /// The TCP connection `id` could not be opened.
    mutating func connectFailed(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        guard case .connecting(let attempt) = state, attempt.connection == id else { return [] }
        var actions: [Action] = []
        attemptFailed(now: now, closing: nil, into: &actions)
        return actions
    }

    /// The connection `id` was closed (by the server, the network, or the shell after `closeConnection`).
    mutating func channelInactive(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .connecting(let attempt), .handshaking(let attempt):
            guard attempt.connection == id else { return [] }
            attemptFailed(now: now, closing: nil, into: &actions)
        case .connected(let connection):
            guard connection == id else { return [] }
            connectionLost(now: now, closing: nil, into: &actions)
        case .closing(let connection, _):
            guard connection == id else { return [] }
            finishClose(into: &actions)
        case .idle, .waitingToReconnect, .expired, .closed:
            return []
        }
        return actions
    }

    /// A frame (without its length prefix) arrived on connection `id`.
    mutating func frameReceived(_ id: ConnectionID, _ frame: ByteBuffer, now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .handshaking(let attempt):
            guard attempt.connection == id else { return [] }
            handshakeAnswered(id, frame, now: now, into: &actions)
        case .connected(let connection), .closing(let connection, _):
            guard connection == id else { return [] }
            lastReceived = now
            replyReceived(id, frame, now: now, into: &actions)
        case .idle, .connecting, .waitingToReconnect, .expired, .closed:
            return []
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
                attemptFailed(now: now, closing: attempt.connection, into: &actions)
            }
        case .connected(let connection):
            if now >= lastReceived + readTimeout {
                actions.append(.warning(.readTimeout, connection))
                connectionLost(now: now, closing: connection, into: &actions)
            } else if now >= lastSent + pingInterval {
                actions.append(.send(.request(RequestFrame(xid: SpecialXid.ping, request: .ping)), connection))
                lastSent = now
            }
        case .waitingToReconnect(let until):
            if now >= until { connectNext(now: now, into: &actions) }
        case .closing(let connection, let deadline):
            if now >= deadline {
                actions.append(.closeConnection(connection))
                finishClose(into: &actions)
            }
        case .idle, .expired, .closed:
            break
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
            queued.append(item)
            connectNext(now: now, into: &actions)
        case .connecting, .handshaking, .waitingToReconnect:
            queued.append(item)
        case .connected(let connection):
            send(item, on: connection, now: now, into: &actions)
        case .expired:
            actions.append(.fail(id, error(.sessionExpired, serverPath: request.path)))
        case .closing, .closed:
            actions.append(.fail(id, closedError(serverPath: request.path)))
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
        case .connected(let connection):
            if !authInfo.contains(where: { $0.scheme == scheme && $0.auth == auth }) {
                authInfo.append(AuthEntry(scheme: scheme, auth: auth))
            }
            sendAuth(scheme: scheme, auth: auth, waiters: [id], on: connection, now: now, into: &actions)
        case .idle, .connecting, .handshaking, .waitingToReconnect:
            if let index = authInfo.firstIndex(where: { $0.scheme == scheme && $0.auth == auth }) {
                authInfo[index].waiters.append(id)
            } else {
                authInfo.append(AuthEntry(scheme: scheme, auth: auth, waiters: [id]))
            }
            if state == .idle { connectNext(now: now, into: &actions) }
        }
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// close(): sends closeSession when connected and waits for its reply (or the close timeout); otherwise
    /// closes at once. Requests made afterwards fail.
    mutating func close(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .idle, .waitingToReconnect, .expired:
            finishClose(into: &actions)
        case .connecting(let attempt), .handshaking(let attempt):
            actions.append(.closeConnection(attempt.connection))
            finishClose(into: &actions)
        case .connected(let connection):
            let xid = allocateXid()
            pending.append(Pending(xid: xid, kind: .closeSession))
            actions.append(.send(.request(RequestFrame(xid: xid, request: .closeSession)), connection))
            lastSent = now
            // Requests that waited for a connection cannot be sent any more.
            failQueued(with: .clientClosed, into: &actions)
            state = .closing(connection, deadline: now + (configuration.closeTimeout ?? readTimeout))
        case .closing, .closed:
            break
        }
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// After `.expired`: forget the old session and connect for a new one. Does nothing in other states.
    mutating func startNewSession(now: NIODeadline) -> [Action] {
        guard state == .expired else { return [] }
        sessionID = 0
        password = Self.noPassword
        negotiatedTimeout = nil
        lastZxidSeen = 0
        isSuspended = false
        consecutiveFailures = 0
        var actions: [Action] = []
        connectNext(now: now, into: &actions)
        scheduleTimerIfNeeded(into: &actions)
        return actions
    }

    /// A local watcher went away (its stream ended, its owner gave up). When it was the last watcher of a
    /// persistent watch at its path, the server's watch is removed too (removeWatches with type any, which
    /// ZooKeeper 3.6+ applies to persistent watches; sent only when no other local watch or watch-setting
    /// request concerns that path).
    mutating func removeWatcher(_ watcher: WatcherID, now: NIODeadline) -> [Action] {
        guard let (kind, path) = watches.remove(watcher) else { return [] }
        var actions: [Action] = []
        if kind == .persistent || kind == .persistentRecursive {
            removeServerWatchIfUnused(path: path, now: now, into: &actions)
        }
        return actions
    }

    /// removeWatches with local = true (or for persistent types, which ZooKeeper 3.8's removeWatches refuses):
    /// drops the local watchers of `type` at `serverPath` and tells them. Returns whether any was removed.
    mutating func removeLocalWatches(serverPath: String, type: WatcherType, now: NIODeadline) -> (
        actions: [Action], removed: Bool
    ) {
        var actions: [Action] = []
        let removed = dropLocalWatches(serverPath: serverPath, type: type, into: &actions)
        if type == .persistent || type == .persistentRecursive || type == .any {
            removeServerWatchIfUnused(path: serverPath, now: now, into: &actions)
        }
        return (actions, removed)
    }

    // MARK: Connecting

    private mutating func connectNext(now: NIODeadline, into actions: inout [Action]) {
        let server = serverOrder[nextServerIndex % serverOrder.count]
        nextServerIndex = (nextServerIndex + 1) % serverOrder.count
        nextConnectionID += 1
        let id = ConnectionID(rawValue: nextConnectionID)
        let timeout = connectTimeout
        state = .connecting(Attempt(connection: id, server: server, deadline: now + timeout))
        actions.append(.connect(server, id, timeout: timeout))
        scheduleTimerIfNeeded(into: &actions)
    }

    /// A connection attempt failed before the session was (re-)established.
    private mutating func attemptFailed(now: NIODeadline, closing: ConnectionID?, into actions: inout [Action]) {
        if let closing { actions.append(.closeConnection(closing)) }
        failQueued(with: .connectionLoss, into: &actions)
        consecutiveFailures += 1
        let servers = serverOrder.count
        if consecutiveFailures % servers == 0 {
            let round = consecutiveFailures / servers
            let base = backoff(round: round)
            let jittered = base.nanoseconds / 2 + Int64.random(in: 0...max(0, base.nanoseconds / 2), using: &rng)
            state = .waitingToReconnect(until: now + .nanoseconds(jittered))
            scheduleTimerIfNeeded(into: &actions)
        } else {
            connectNext(now: now, into: &actions)
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
        _ id: ConnectionID, _ frame: ByteBuffer, now: NIODeadline, into actions: inout [Action]
    ) {
        let response: ConnectResponse
        do {
            response = try ConnectResponse.decodeWhole(frame)
        } catch {
            actions.append(.warning(.protocolError("malformed ConnectResponse: \(error)"), id))
            attemptFailed(now: now, closing: id, into: &actions)
            return
        }
        if response.timeOut <= 0 {
            expire(closing: id, into: &actions)
            return
        }
        if sessionID != 0 && response.sessionId != sessionID {
            // Not our session any more: treat it as lost rather than continue with another one silently.
            actions.append(.warning(.sessionIDChanged, id))
            expire(closing: id, into: &actions)
            return
        }
        let isNewSession = sessionID == 0
        sessionID = response.sessionId
        password = response.passwd
        negotiatedTimeout = .milliseconds(Int64(response.timeOut))
        consecutiveFailures = 0
        isSuspended = false
        state = .connected(id)
        lastSent = now
        lastReceived = now
        if response.readOnly == true {
            actions.append(.stateChanged(.readOnly))
        } else {
            actions.append(.stateChanged(isNewSession ? .connected : .reconnected))
        }
        // As ClientCnxn.primeConnection: auth first, then the watches, then what waited.
        for index in authInfo.indices {
            let entry = authInfo[index]
            authInfo[index].waiters = []
            sendAuth(scheme: entry.scheme, auth: entry.auth, waiters: entry.waiters, on: id, now: now, into: &actions)
        }
        if !watches.isEmpty { sendSetWatches(on: id, now: now, into: &actions) }
        while let item = queued.popFirst() {
            send(item, on: id, now: now, into: &actions)
        }
    }

    // MARK: Connected

    private mutating func allocateXid() -> Int32 {
        let xid = nextXid
        nextXid = nextXid == Int32.max ? 1 : nextXid + 1
        return xid
    }

    private mutating func send(
        _ item: QueuedRequest, on connection: ConnectionID, now: NIODeadline, into actions: inout [Action]
    ) {
        let xid = allocateXid()
        pending.append(
            Pending(
                xid: xid,
                kind: .user(item.id, item.request.opCode, path: item.request.path, watch: item.watch, effect: item.effect)))
        actions.append(.send(.request(RequestFrame(xid: xid, request: item.request)), connection))
        lastSent = now
    }

    private mutating func sendAuth(
        scheme: String, auth: [UInt8], waiters: [RequestID], on connection: ConnectionID, now: NIODeadline,
        into actions: inout [Action]
    ) {
        pendingAuth.append(PendingAuth(scheme: scheme, auth: auth, waiters: waiters))
        let packet = AuthPacket(type: 0, scheme: scheme, auth: auth)
        actions.append(.send(.request(RequestFrame(xid: SpecialXid.auth, request: .auth(packet))), connection))
        lastSent = now
    }

    /// setWatches (or setWatches2 when persistent watches exist), in batches of at most
    /// `setWatchesMaxBytes` bytes of paths.
    private mutating func sendSetWatches(on connection: ConnectionID, now: NIODeadline, into actions: inout [Action]) {
        let lists: [[String]] = [
            watches.paths(.data), watches.paths(.exist), watches.paths(.child), watches.paths(.persistent),
            watches.paths(.persistentRecursive),
        ]
        let usesPersistent = !lists[3].isEmpty || !lists[4].isEmpty
        var batch: [[String]] = Array(repeating: [], count: 5)
        var batchBytes = 0
        func flush(_ sm: inout ConnectionStateMachine) {
            let request: ZooKeeperRequest
            if usesPersistent {
                request = .setWatches2(
                    SetWatches2(
                        relativeZxid: sm.lastZxidSeen, dataWatches: batch[0], existWatches: batch[1],
                        childWatches: batch[2], persistentWatches: batch[3], persistentRecursiveWatches: batch[4]))
            } else {
                request = .setWatches(
                    SetWatches(
                        relativeZxid: sm.lastZxidSeen, dataWatches: batch[0], existWatches: batch[1],
                        childWatches: batch[2]))
            }
            sm.pending.append(Pending(xid: SpecialXid.setWatches, kind: .setWatches))
            actions.append(.send(.request(RequestFrame(xid: SpecialXid.setWatches, request: request)), connection))
            sm.lastSent = now
            batch = Array(repeating: [], count: 5)
            batchBytes = 0
        }
        for (list, paths) in lists.enumerated() {
            for path in paths {
                if batchBytes > 0 && batchBytes + path.utf8.count > configuration.setWatchesMaxBytes {
                    flush(&self)
                }
                batch[list].append(path)
                batchBytes += path.utf8.count
            }
        }
        if batchBytes > 0 { flush(&self) }
    }

    private mutating func replyReceived(
        _ id: ConnectionID, _ frame: ByteBuffer, now: NIODeadline, into actions: inout [Action]
    ) {
        let reply: ReplyFrame
        do {
            reply = try ReplyFrame.decode(frame)
        } catch {
            protocolError("malformed reply header: \(error)", id, now: now, into: &actions)
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
                protocolError("malformed notification: \(error)", id, now: now, into: &actions)
                return
            }
            notificationReceived(event, into: &actions)
        case SpecialXid.auth:
            guard let auth = pendingAuth.popFirst() else {
                protocolError("auth reply without an auth request", id, now: now, into: &actions)
                return
            }
            if reply.header.err == 0 {
                for waiter in auth.waiters { actions.append(.succeed(waiter, .empty)) }
            } else {
                let code = ErrorCode(rawValue: reply.header.err) ?? .authFailed
                actions.append(.warning(.authFailed(scheme: auth.scheme, code), id))
                for waiter in auth.waiters { actions.append(.fail(waiter, ZooKeeperError(code: code))) }
                // Never re-send credentials the server refused (it closes the connection after AUTHFAILED).
                authInfo.removeAll { $0.scheme == auth.scheme && $0.auth == auth.auth }
            }
        default:
            guard let head = pending.popFirst() else {
                protocolError("reply xid \(reply.header.xid) with nothing pending", id, now: now, into: &actions)
                return
            }
            guard head.xid == reply.header.xid else {
                pending.prepend(head)
                protocolError(
                    "reply xid \(reply.header.xid) out of order, expected \(head.xid)", id, now: now, into: &actions)
                return
            }
            if reply.header.zxid > 0 { lastZxidSeen = reply.header.zxid }
            complete(head, reply, connection: id, now: now, into: &actions)
        }
    }

    private mutating func complete(
        _ entry: Pending, _ reply: ReplyFrame, connection: ConnectionID, now: NIODeadline, into actions: inout [Action]
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
                    protocolError("malformed \(opCode) reply: \(error)", connection, now: now, into: &actions)
                    return
                }
                if let watch, let path { register(watch, path: path, nodeExists: true) }
                if let effect { apply(effect, into: &actions) }
                actions.append(.succeed(id, response))
            } else {
                let code = ErrorCode(rawValue: err) ?? .systemError
                if code == .noNode, case .exists(let watcher)? = watch, let path {
                    watches.add(watcher, kind: .exist, path: path)
                }
                actions.append(.fail(id, error(code, serverPath: path)))
            }
        case .setWatches:
            if err != 0 { actions.append(.warning(.setWatchesFailed(ErrorCode(rawValue: err) ?? .systemError), connection)) }
        case .internalRemoveWatches:
            break
        case .closeSession:
            actions.append(.closeConnection(connection))
            finishClose(into: &actions)
        }
    }

    private mutating func register(_ registration: WatchRegistration, path: String, nodeExists: Bool) {
        switch registration {
        case .data(let w): watches.add(w, kind: .data, path: path)
        case .exists(let w): watches.add(w, kind: nodeExists ? .data : .exist, path: path)
        case .children(let w): watches.add(w, kind: .child, path: path)
        case .persistent(let w): watches.add(w, kind: .persistent, path: path)
        case .persistentRecursive(let w): watches.add(w, kind: .persistentRecursive, path: path)
        }
    }

    private mutating func apply(_ effect: LocalEffect, into actions: inout [Action]) {
        switch effect {
        case .removeWatches(let path, let type):
            _ = dropLocalWatches(serverPath: path, type: type, into: &actions)
        }
    }

    private mutating func dropLocalWatches(serverPath: String, type: WatcherType, into actions: inout [Action]) -> Bool {
        let groups: [(ClientWatchTable.Kind, EventType)]
        switch type {
        case .children: groups = [(.child, .childWatchRemoved)]
        case .data: groups = [(.data, .dataWatchRemoved), (.exist, .dataWatchRemoved)]
        case .any:
            groups = [
                (.data, .dataWatchRemoved), (.exist, .dataWatchRemoved), (.child, .childWatchRemoved),
                (.persistent, .persistentWatchRemoved), (.persistentRecursive, .persistentWatchRemoved),
            ]
        case .persistent: groups = [(.persistent, .persistentWatchRemoved)]
        case .persistentRecursive: groups = [(.persistentRecursive, .persistentWatchRemoved)]
        }
        var removedAny = false
        let clientPath = ZNodePath.clientPath(serverPath, chroot: configuration.chroot)
        for (kind, eventType) in groups {
            let removed = watches.removeAll(at: serverPath, kinds: [kind])
            guard !removed.isEmpty else { continue }
            removedAny = true
            actions.append(.deliver(WatchEvent(type: eventType, path: clientPath), to: removed))
            if kind == .persistent || kind == .persistentRecursive {
                actions.append(.endWatchers(removed, nil))
            }
        }
        return removedAny
    }

    private mutating func removeServerWatchIfUnused(path: String, now: NIODeadline, into actions: inout [Action]) {
        guard case .connected(let connection) = state, !watches.hasWatchers(at: path) else { return }
        let inFlight = pending.contains { entry in
            if case .user(_, _, let p, let watch, _) = entry.kind, watch != nil, p == path { return true }
            return false
        }
        guard !inFlight else { return }
        let xid = allocateXid()
        pending.append(Pending(xid: xid, kind: .internalRemoveWatches))
        let request = ZooKeeperRequest.removeWatches(RemoveWatchesRequest(path: path, type: WatcherType.any.rawValue))
        actions.append(.send(.request(RequestFrame(xid: xid, request: request)), connection))
        lastSent = now
    }

    private mutating func notificationReceived(_ event: WatcherEvent, into actions: inout [Action]) {
        guard let type = EventType(rawValue: event.type), type != .none else { return }
        let targets = watches.materialize(type, path: event.path)
        guard !targets.isEmpty else { return }
        let state = KeeperState(rawValue: event.state) ?? .syncConnected
        let path = ZNodePath.clientPath(event.path, chroot: configuration.chroot)
        actions.append(.deliver(WatchEvent(type: type, state: state, path: path), to: targets))
    }

    private mutating func protocolError(
        _ reason: String, _ id: ConnectionID, now: NIODeadline, into actions: inout [Action]
    ) {
        actions.append(.warning(.protocolError(reason), id))
        if case .closing = state {
            actions.append(.closeConnection(id))
            finishClose(into: &actions)
        } else {
            connectionLost(now: now, closing: id, into: &actions)
        }
    }

    // MARK: Losing the connection, expiry, close

    /// The live connection is gone: everything in flight fails with connectionLoss, the session is suspended,
    /// and the next server is tried at once.
    private mutating func connectionLost(now: NIODeadline, closing: ConnectionID?, into actions: inout [Action]) {
        if let closing { actions.append(.closeConnection(closing)) }
        failInFlight(with: .connectionLoss, into: &actions)
        if !isSuspended {
            isSuspended = true
            actions.append(.stateChanged(.suspended))
        }
        connectNext(now: now, into: &actions)
    }

    private mutating func expire(closing: ConnectionID?, into actions: inout [Action]) {
        if let closing { actions.append(.closeConnection(closing)) }
        state = .expired
        isSuspended = false
        failInFlight(with: .sessionExpired, into: &actions)
        failQueued(with: .sessionExpired, into: &actions)
        let ended = watches.removeAll()
        if !ended.isEmpty { actions.append(.endWatchers(ended, .sessionExpired)) }
        actions.append(.stateChanged(.expired))
    }

    private mutating func finishClose(into actions: inout [Action]) {
        state = .closed
        failInFlight(with: .clientClosed, into: &actions)
        failQueued(with: .clientClosed, into: &actions)
        let ended = watches.removeAll()
        if !ended.isEmpty { actions.append(.endWatchers(ended, nil)) }
        actions.append(.stateChanged(.closed))
    }

    /// Fails the requests sent and not answered, and the auth packets sent and not answered.
    private mutating func failInFlight(with base: ZooKeeperError, into actions: inout [Action]) {
        while let entry = pending.popFirst() {
            if case .user(let id, _, let path, _, _) = entry.kind {
                var e = base
                e.path = path.map { ZNodePath.clientPath($0, chroot: configuration.chroot) }
                actions.append(.fail(id, e))
            }
        }
        while let auth = pendingAuth.popFirst() {
            for waiter in auth.waiters { actions.append(.fail(waiter, base)) }
        }
    }

    /// Fails the requests (and addAuth calls) that waited for a connection.
    private mutating func failQueued(with base: ZooKeeperError, into actions: inout [Action]) {
        while let item = queued.popFirst() {
            var e = base
            e.path = item.request.path.map { ZNodePath.clientPath($0, chroot: configuration.chroot) }
            actions.append(.fail(item.id, e))
        }
        for index in authInfo.indices {
            for waiter in authInfo[index].waiters { actions.append(.fail(waiter, base)) }
            authInfo[index].waiters = []
        }
    }

    private func error(_ code: ErrorCode, serverPath: String?) -> ZooKeeperError {
        ZooKeeperError(code: code, path: serverPath.map { ZNodePath.clientPath($0, chroot: configuration.chroot) })
    }

    private func closedError(serverPath: String?) -> ZooKeeperError {
        var e = ZooKeeperError.clientClosed
        e.path = serverPath.map { ZNodePath.clientPath($0, chroot: configuration.chroot) }
        return e
    }

    // MARK: Timer

    private mutating func scheduleTimerIfNeeded(into actions: inout [Action]) {
        let next: NIODeadline?
        switch state {
        case .connecting(let attempt), .handshaking(let attempt): next = attempt.deadline
        case .connected: next = min(lastReceived + readTimeout, lastSent + pingInterval)
        case .waitingToReconnect(let until): next = until
        case .closing(_, let deadline): next = deadline
        case .idle, .expired, .closed: next = nil
        }
        guard let next else { return }
        if let scheduled = scheduledTimer, scheduled <= next { return }
        scheduledTimer = next
        actions.append(.scheduleTimer(next))
    }
}
