import NIOCore
import Testing
import ZooKeeperWire

@testable import CoordinationCore

// Helpers for driving `CoordinationStateMachine` step by step with a manual clock. Nothing here sleeps or reads a
// clock: time is a number the test moves forward.

/// Wall-clock and monotonic milliseconds that move together, by hand.
struct ManualClock {
    /// The wall time at monotonic 0 (an arbitrary date in 2023).
    static let wallEpoch: Int64 = 1_700_000_000_000

    private(set) var monotonic: Int64

    init(monotonic: Int64 = 0) { self.monotonic = monotonic }

    var now: CoreTime { CoreTime(wall: Self.wallEpoch + monotonic, monotonic: monotonic) }
    var wall: Int64 { Self.wallEpoch + monotonic }

    mutating func advance(by ms: Int64) {
        precondition(ms >= 0)
        monotonic += ms
    }

    mutating func set(_ ms: Int64) {
        precondition(ms >= monotonic, "a manual clock never goes back")
        monotonic = ms
    }
}

/// A reply frame pulled out of the actions.
struct Reply: Equatable {
    var xid: Int32
    var zxid: Int64
    var err: ErrorCode
    var response: ZooKeeperResponse
}

/// A client with an established session.
struct Client {
    var connection: ConnectionID
    var sessionId: Int64
    var password: [UInt8]
}

/// Drives a state machine: opens connections, handshakes, sends requests with fresh xids and moves the clock.
/// Every action is kept in `history`; `last` holds the actions of the latest input.
struct CoreDriver {
    var machine: CoordinationStateMachine
    var clock: ManualClock
    private(set) var history: [CoreAction] = []
    private(set) var last: [CoreAction] = []
    private var nextConnection: UInt64 = 1
    private var nextXid: Int32 = 1
    private var passwordSeed: UInt8 = 1

    static let defaultTimeout: Int32 = 10_000

    init(config: CoreConfiguration = CoreConfiguration(), state: CoordinationState = CoordinationState(), clock: ManualClock = ManualClock()) {
        self.clock = clock
        self.machine = CoordinationStateMachine(state: state, config: config, now: clock.now)
    }

    var tree: DataTree { machine.state.tree }
    var state: CoordinationState { machine.state }
    var now: CoreTime { clock.now }

    /// Every transaction logged so far, in order.
    var logged: [LoggedTransaction] { history.logged }

    private mutating func record(_ actions: [CoreAction]) -> [CoreAction] {
        last = actions
        history += actions
        return actions
    }

    mutating func freshPassword() -> [UInt8] {
        defer { passwordSeed &+= 1 }
        return (0..<16).map { UInt8($0) &+ passwordSeed &* 17 }
    }

    mutating func freshXid() -> Int32 {
        defer { nextXid += 1 }
        return nextXid
    }

    // MARK: Connections

    mutating func open(remoteAddress: String = "127.0.0.1") -> ConnectionID {
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        machine.connectionOpened(id, remoteAddress: remoteAddress)
        return id
    }

    @discardableResult
    mutating func handshake(_ id: ConnectionID, _ request: ConnectRequest, password: [UInt8]? = nil) -> [CoreAction] {
        let pw = password ?? freshPassword()
        var actions: [CoreAction] = []
        machine.connect(id, request: request, password: pw, now: clock.now, into: &actions)
        return record(actions)
    }

    /// Opens a connection and creates a new session on it.
    mutating func connect(
        timeout: Int32 = CoreDriver.defaultTimeout, remoteAddress: String = "127.0.0.1",
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Client {
        let id = open(remoteAddress: remoteAddress)
        let actions = handshake(id, ConnectRequest(
            lastZxidSeen: 0, timeOut: timeout, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16), readOnly: false))
        guard let response = actions.connectResponse(to: id), response.sessionId != 0 else {
            Issue.record("handshake created no session: \(actions)", sourceLocation: sourceLocation)
            return Client(connection: id, sessionId: 0, password: [])
        }
        return Client(connection: id, sessionId: response.sessionId, password: response.passwd)
    }

    /// Reattaches `client`'s session on a new connection (as a client does after losing its connection).
    mutating func reattach(
        _ client: Client, timeout: Int32 = CoreDriver.defaultTimeout, password: [UInt8]? = nil,
        lastZxidSeen: Int64 = 0, remoteAddress: String = "127.0.0.1"
    ) -> (client: Client, actions: [CoreAction]) {
        let id = open(remoteAddress: remoteAddress)
        let actions = handshake(id, ConnectRequest(
            lastZxidSeen: lastZxidSeen, timeOut: timeout, sessionId: client.sessionId,
            passwd: password ?? client.password, readOnly: false))
        return (Client(connection: id, sessionId: client.sessionId, password: client.password), actions)
    }

    mutating func closeConnection(_ id: ConnectionID) {
        machine.connectionClosed(id)
    }

    // MARK: Requests

    @discardableResult
    mutating func send(_ id: ConnectionID, _ request: ZooKeeperRequest, xid: Int32, saslNonce: String = "") -> [CoreAction] {
        var actions: [CoreAction] = []
        machine.receive(id, xid: xid, request: request, now: clock.now, saslNonce: saslNonce, into: &actions)
        return record(actions)
    }

    /// Sends `request` with a fresh xid (or the given one) and returns its reply.
    @discardableResult
    mutating func call(
        _ client: Client, _ request: ZooKeeperRequest, xid: Int32? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Reply {
        let x = xid ?? freshXid()
        let actions = send(client.connection, request, xid: x)
        guard let reply = actions.reply(xid: x, on: client.connection) else {
            Issue.record("no reply to xid \(x): \(actions)", sourceLocation: sourceLocation)
            return Reply(xid: x, zxid: -1, err: .systemError, response: .empty)
        }
        return reply
    }

    // MARK: Time

    @discardableResult
    mutating func tick() -> [CoreAction] {
        var actions: [CoreAction] = []
        machine.tick(now: clock.now, into: &actions)
        return record(actions)
    }

    /// Moves the clock to monotonic `ms` and ticks.
    @discardableResult
    mutating func tick(at ms: Int64) -> [CoreAction] {
        clock.set(ms)
        return tick()
    }

    // MARK: Request shorthands

    @discardableResult
    mutating func create(
        _ c: Client, _ path: String, _ data: [UInt8]? = [], mode: CreateMode = .persistent, acl: [ACL] = ACLs.openUnsafe,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Reply {
        let r = CreateRequest(path: path, data: data, acl: acl, flags: mode.rawValue)
        return call(c, mode == .container ? .createContainer(r) : .create2(r), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func createTTL(
        _ c: Client, _ path: String, ttl: Int64, mode: CreateMode = .persistentWithTTL, data: [UInt8]? = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Reply {
        call(c, .createTTL(CreateTTLRequest(path: path, data: data, acl: ACLs.openUnsafe, flags: mode.rawValue, ttl: ttl)),
             sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func delete(_ c: Client, _ path: String, version: Int32 = -1, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .delete(DeleteRequest(path: path, version: version)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func setData(
        _ c: Client, _ path: String, _ data: [UInt8]?, version: Int32 = -1, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Reply {
        call(c, .setData(SetDataRequest(path: path, data: data, version: version)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func setACL(
        _ c: Client, _ path: String, _ acl: [ACL], version: Int32 = -1, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Reply {
        call(c, .setACL(SetACLRequest(path: path, acl: acl, version: version)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func getData(_ c: Client, _ path: String, watch: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .getData(GetDataRequest(path: path, watch: watch)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func exists(_ c: Client, _ path: String, watch: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .exists(ExistsRequest(path: path, watch: watch)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func getChildren(_ c: Client, _ path: String, watch: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .getChildren(GetChildrenRequest(path: path, watch: watch)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func getACL(_ c: Client, _ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .getACL(GetACLRequest(path: path)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func addWatch(_ c: Client, _ path: String, _ mode: AddWatchMode, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .addWatch(AddWatchRequest(path: path, mode: mode.rawValue)), sourceLocation: sourceLocation)
    }

    @discardableResult
    mutating func multi(_ c: Client, _ ops: [ZooKeeperRequest], sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .multi(ops), sourceLocation: sourceLocation)
    }

    /// Digest authentication with an `AuthPacket` on xid -4.
    @discardableResult
    mutating func addDigestAuth(_ c: Client, _ userAndPassword: String, sourceLocation: SourceLocation = #_sourceLocation) -> Reply {
        call(c, .auth(AuthPacket(type: 0, scheme: "digest", auth: Array(userAndPassword.utf8))), xid: -4,
             sourceLocation: sourceLocation)
    }

    mutating func ping(_ c: Client, sourceLocation: SourceLocation = #_sourceLocation) {
        let r = call(c, .ping, xid: -2, sourceLocation: sourceLocation)
        #expect(r.err == .ok, sourceLocation: sourceLocation)
    }

    /// The Stat of `path` as a client sees it, or nil.
    func stat(_ path: String) -> Stat? { tree.node(at: path)?.stat }

    func exists(_ path: String) -> Bool { tree.node(at: path) != nil }

    func children(_ path: String) -> [String] { tree.children(at: path).sorted() }

    /// Whether the session is still known to the machine.
    func isAlive(_ sessionId: Int64) -> Bool { machine.sessionIds.contains(sessionId) }
}

extension CoreDriver: CustomStringConvertible {
    /// Short, so that a failed expectation doesn't print the whole machine.
    var description: String {
        "CoreDriver(t=\(clock.monotonic), lastZxid=\(machine.lastZxid), sessions=\(machine.sessionCount), paths=\(tree.paths.sorted()))"
    }
}

// MARK: Reading actions

extension Array where Element == CoreAction {
    var logged: [LoggedTransaction] {
        compactMap { if case .log(let t) = $0 { return t } else { return nil } }
    }

    func reply(xid: Int32, on connection: ConnectionID) -> Reply? {
        for action in self {
            if case .send(connection, .reply(let x, let zxid, let err, let response), _) = action, x == xid {
                return Reply(xid: x, zxid: zxid, err: err, response: response)
            }
        }
        return nil
    }

    /// The index in the action list of the reply with `xid` on `connection`.
    func replyIndex(xid: Int32, on connection: ConnectionID) -> Int? {
        firstIndex {
            if case .send(connection, .reply(xid, _, _, _), _) = $0 { return true }
            return false
        }
    }

    func connectResponse(to connection: ConnectionID) -> ConnectResponse? {
        for action in self {
            if case .send(connection, .connectResponse(let r), _) = action { return r }
        }
        return nil
    }

    /// Watch notifications sent to `connection`, in order, as (type, path).
    func events(to connection: ConnectionID) -> [Event] {
        compactMap {
            guard case .send(connection, .notification(_, let e), _) = $0, let type = EventType(rawValue: e.type) else { return nil }
            return Event(type, e.path)
        }
    }

    /// Every notification, to any connection.
    var notifications: [(ConnectionID, WatcherEvent)] {
        compactMap {
            if case .send(let c, .notification(_, let e), _) = $0 { return (c, e) }
            return nil
        }
    }

    func notificationIndices(to connection: ConnectionID) -> [Int] {
        indices.filter {
            if case .send(connection, .notification, _) = self[$0] { return true }
            return false
        }
    }

    var closes: [(ConnectionID, CloseReason)] {
        compactMap {
            if case .close(let c, let reason) = $0 { return (c, reason) }
            return nil
        }
    }
}

/// A watch event as a test compares it.
struct Event: Equatable, CustomStringConvertible {
    var type: EventType
    var path: String
    init(_ type: EventType, _ path: String) {
        self.type = type
        self.path = path
    }
    var description: String { "\(type)(\(path))" }
}

// MARK: Reading replies

extension Reply {
    var createdPath: String? {
        switch response {
        case .create(let r): return r.path
        case .create2(let r): return r.path
        default: return nil
        }
    }

    var stat: Stat? {
        switch response {
        case .create2(let r): return r.stat
        case .exists(let r): return r.stat
        case .getData(let r): return r.stat
        case .setData(let r): return r.stat
        case .setACL(let r): return r.stat
        case .getACL(let r): return r.stat
        case .getChildren2(let r): return r.stat
        default: return nil
        }
    }

    var data: [UInt8]? {
        if case .getData(let r) = response { return r.data }
        return nil
    }

    var children: [String]? {
        switch response {
        case .getChildren(let r): return r.children.sorted()
        case .getChildren2(let r): return r.children.sorted()
        default: return nil
        }
    }

    var acl: [ACL]? {
        if case .getACL(let r) = response { return r.acl }
        return nil
    }

    var multiResults: [MultiResult]? {
        if case .multi(let r) = response { return r }
        return nil
    }
}

// MARK: Comparing states

/// Everything a client or the log-replay guarantee can observe about one node.
struct NodeImage: Equatable, CustomStringConvertible {
    var data: [UInt8]?
    var acl: [ACL]
    var stat: Stat
    var storedCversion: Int32
    var rawOwner: Int64
    var children: [String]

    init(_ node: ZNode, in tree: DataTree) {
        data = tree.data(of: node)
        acl = tree.acl(of: node)
        stat = node.stat
        storedCversion = node.storedCversion
        rawOwner = node.ephemeralOwner
        children = tree.children(of: node).sorted()
    }

    var description: String { "\(stat) data=\(data.map { "\($0.count)b" } ?? "nil") acl=\(acl) children=\(children)" }
}

/// Path → node image for a whole tree.
func image(of tree: DataTree) -> [String: NodeImage] {
    Dictionary(uniqueKeysWithValues: tree.paths.map { ($0, NodeImage(tree.node(at: $0)!, in: tree)) })
}

/// Checks two trees node by node (and their indexes).
func expectSameTree(_ a: DataTree, _ b: DataTree, sourceLocation: SourceLocation = #_sourceLocation) {
    let ia = image(of: a)
    let ib = image(of: b)
    #expect(Set(ia.keys) == Set(ib.keys), sourceLocation: sourceLocation)
    for (path, node) in ia {
        #expect(ib[path] == node, "node \(path)", sourceLocation: sourceLocation)
    }
    #expect(a.ephemerals == b.ephemerals, sourceLocation: sourceLocation)
    #expect(a.containers == b.containers, sourceLocation: sourceLocation)
    #expect(a.ttls == b.ttls, sourceLocation: sourceLocation)
    #expect(a.approximateDataSize == b.approximateDataSize, sourceLocation: sourceLocation)
}

// MARK: Small values

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func digestACL(_ userAndPassword: String, _ perms: Perms = .all) -> ACL {
    ACL(perms: perms, id: Id(scheme: "digest", id: ACLs.digest(userAndPassword: userAndPassword)))
}

let worldRead = ACL(perms: Perms.read, id: ACLs.anyoneId)

// MARK: Dependencies of sends

extension Array where Element == CoreAction {
    /// The zxid the reply with `xid` on `connection` waits for (`CoreAction.send`'s `after`).
    func dependency(ofReply xid: Int32, on connection: ConnectionID) -> Int64? {
        for action in self {
            if case .send(connection, .reply(xid, _, _, _), let after) = action { return after }
        }
        return nil
    }

    /// The zxids the notifications to `connection` wait for, in order.
    func notificationDependencies(to connection: ConnectionID) -> [Int64] {
        compactMap {
            if case .send(connection, .notification, let after) = $0 { return after }
            return nil
        }
    }
}

extension CoreDriver {
    /// Sends `request` and returns its reply and the zxid the reply waits for.
    mutating func callWithDependency(
        _ client: Client, _ request: ZooKeeperRequest, sourceLocation: SourceLocation = #_sourceLocation
    ) -> (reply: Reply, after: Int64) {
        let reply = call(client, request, sourceLocation: sourceLocation)
        guard let after = last.dependency(ofReply: reply.xid, on: client.connection) else {
            Issue.record("no dependency for xid \(reply.xid)", sourceLocation: sourceLocation)
            return (reply, .min)
        }
        return (reply, after)
    }
}
