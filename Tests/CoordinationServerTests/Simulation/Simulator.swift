import CoordinationCore
import Foundation
import Logging
import NIOCore
import Persistence
import ZooKeeperWire

@testable import CoordinationServer

/// A seeded, deterministic simulation of a standalone server: the real engine (`ServerEngineStateMachine`, with
/// the core inside it) driven through random steps by a few clients, with a fake write-ahead log whose appends
/// become durable only when the simulator says so, snapshots, clock jumps, silence that expires sessions, and
/// crashes that drop the unsynced log tail and restart from the newest snapshot plus the durable log.
///
/// After every step it checks the server against `ReferenceModel`:
/// - the tree (data, version, cversion, ephemeral owner, children) and the set of sessions are equal;
/// - every reply matches what the model said the request should get (error, created name, versions, data,
///   children, each result of a multi);
/// - watch events arrive exactly once and in the model's order;
/// - nothing acknowledged is lost: after a crash the recovered state equals the model as of the durable log,
///   and no reply or event ever revealed a zxid above the durable one (the harness's own checks);
/// - a session expires only after its timeout without contact, and then with all its ephemerals at once.
///
/// The same seed gives the same run: everything random comes from `TestRandom(seed)`, and time is a number the
/// simulator moves.
struct Simulation {
    struct Client {
        var conn: ConnectionID?
        var session: Int64 = 0
        var password: [UInt8] = []
        var handshaking = false
        /// xid → the request and what the model says it gets.
        var expected: [Int32: (request: ZooKeeperRequest, outcome: ReferenceModel.Outcome)] = [:]
        var repliesSeen = 0
        var eventsSeen = 0
        /// The session a handshake without a session id created (known from the server's state before the answer
        /// arrives, which waits for durability).
        var pendingSession: Int64 = 0
    }

    /// Every session the model has: when the server last heard from it (monotonic ms) and its timeout.
    var sessionInfo: [Int64: (lastContact: Int64, timeout: Int32)] = [:]

    let seed: UInt64
    var rng: TestRandom
    var h: EngineHarness
    var model = ReferenceModel()
    /// The model as of each log append not yet durable, oldest first.
    var pendingModels: [ReferenceModel] = []
    var durableModel = ReferenceModel()
    var durableRecords: [LogRecord] = []
    var pendingSnapshot: (zxid: Int64, bytes: ByteBuffer, model: ReferenceModel)?
    var snapshot: (zxid: Int64, bytes: ByteBuffer, model: ReferenceModel)?
    var clients: [Client]
    var step = 0
    var failure: String?
    /// Connections of expired sessions: closed once the expiry is durable.
    var mustClose: [ConnectionID] = []
    var stats = (requests: 0, crashes: 0, expiries: 0, snapshots: 0, events: 0, replies: 0)
    let configure: (inout ServerConfiguration) -> Void

    static let paths = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/s", "/s/q-", "/e"]

    init(seed: UInt64, clients: Int = 4) {
        self.seed = seed
        rng = TestRandom(state: seed)
        configure = { c in
            c.snapCount = 40
            c.tickTime = 200
            c.minSessionTimeout = 400
            c.maxSessionTimeout = 4000
        }
        h = EngineHarness(configure: configure, seed: seed)
        h.perform { machine, now, actions in machine.started(now: now, into: &actions) }
        self.clients = Array(repeating: Client(), count: clients)
    }

    var nowMillis: Int64 { h.now.monotonicNanos / 1_000_000 }

    /// Everything the server applied is durable (and nothing waits to be submitted to the log).
    var allDurable: Bool { h.appends.isEmpty && h.machine.durableZxid >= h.machine.core.lastZxid }

    mutating func fail(_ message: String) {
        if failure == nil { failure = "seed \(seed), step \(step): \(message)" }
    }

    // MARK: Running

    /// Runs `steps` random steps; stops at the first failure.
    mutating func run(steps: Int) {
        for _ in 0..<steps {
            step += 1
            randomStep()
            observe()
            if failure != nil { return }
        }
    }

    /// `SIM_TRACE=1` prints every step (for reproducing a seed).
    static let tracing = ProcessInfo.processInfo.environment["SIM_TRACE"] == "1"

    func trace(_ message: @autoclosure () -> String) {
        if Self.tracing { print("[sim \(seed) #\(step) t=\(nowMillis)] \(message())") }
    }

    mutating func randomStep() {
        let r = rng.below(1000)
        switch r {
        case 0..<560: request()
        case 560..<640: ping()
        case 640..<790: makeDurable(all: rng.below(2) == 0)
        case 790..<880: advance(Int64(10 + rng.below(300)))
        case 880..<890: advance(Int64(3000 + rng.below(3000)))  // silence: sessions without contact expire
        case 890..<900: wallClockJump()
        case 900..<930: disconnect()
        case 930..<980: connect()
        case 980..<990: completeSnapshot()
        case 990..<995: closeSession()
        default: crashAndRestart()
        }
    }

    // MARK: Steps

    mutating func connect() {
        guard let i = clients.indices.filter({ clients[$0].conn == nil }).randomElement(using: &rng) else { return }
        let conn = h.open()
        trace("client \(i) connects as \(conn), session \(clients[i].session)")
        clients[i].conn = conn
        clients[i].handshaking = true
        clients[i].repliesSeen = 0
        clients[i].eventsSeen = 0
        clients[i].expected = [:]
        clients[i].pendingSession = 0
        let timeout = Int32([400, 1000, 2000][rng.below(3)])
        // Reattach to its session while it has one (the model knows whether it is still alive).
        let asked = clients[i].session
        let password = asked != 0 ? clients[i].password : [UInt8](repeating: 0, count: 16)
        let before = Set(h.machine.core.state.sessions.keys)
        h.handshake(conn, timeout: timeout, sessionId: asked, password: password)
        h.readComplete()
        let state = h.machine.core.state
        let created = Set(state.sessions.keys).subtracting(before)
        if asked == 0 {
            guard created.count == 1, let sid = created.first else {
                fail("a handshake for a new session created \(created.count) sessions")
                return
            }
            model.openSession(sid)
            sessionInfo[sid] = (nowMillis, state.sessions[sid]!.timeout)
            clients[i].pendingSession = sid
        } else if !created.isEmpty {
            fail("a reattach created sessions \(created)")
        } else if sessionInfo[asked] != nil {
            // The reattach takes effect now (its answer may wait for durability): contact, and the new timeout
            // (the request's, within minSessionTimeout 400 and maxSessionTimeout 4000).
            sessionInfo[asked] = (nowMillis, min(max(timeout, 400), 4000))
        }
    }

    /// The server heard from client `i`.
    mutating func contact(_ i: Int) {
        if sessionInfo[clients[i].session] != nil { sessionInfo[clients[i].session]!.lastContact = nowMillis }
    }

    mutating func disconnect() {
        guard let i = clients.indices.filter({ clients[$0].conn != nil && !clients[$0].handshaking }).randomElement(using: &rng) else { return }
        let conn = clients[i].conn!
        trace("client \(i) disconnects \(conn)")
        h.perform { machine, now, actions in machine.connectionClosed(conn, now: now, into: &actions) }
        clients[i].conn = nil
        clients[i].expected = [:]
        model.dropWatches(of: clients[i].session)
    }

    mutating func closeSession() {
        guard let i = readyClients().randomElement(using: &rng) else { return }
        let conn = clients[i].conn!
        h.send(conn, .closeSession)
        h.readComplete()
        model.closeSession(clients[i].session)
        sessionInfo[clients[i].session] = nil
        clients[i].conn = nil
        clients[i].session = 0
        clients[i].expected = [:]
    }

    func readyClients() -> [Int] { clients.indices.filter { clients[$0].conn != nil && !clients[$0].handshaking } }

    mutating func ping() {
        guard let i = readyClients().randomElement(using: &rng) else { return }
        h.send(clients[i].conn!, .ping)
        contact(i)
        h.readComplete()
    }

    mutating func request() {
        guard let i = readyClients().randomElement(using: &rng) else { return }
        let sid = clients[i].session
        let path = Self.paths.randomElement(using: &rng)!
        let data = Array("v\(step)".utf8)
        let version = rng.below(3) == 0 ? Int32(rng.below(3)) : -1
        let watch = rng.below(2) == 0
        let open = [ACL(perms: Perms.all.rawValue, id: Id(scheme: "world", id: "anyone"))]
        let request: ZooKeeperRequest
        let outcome: ReferenceModel.Outcome
        switch rng.below(9) {
        case 0, 1:
            let ephemeral = rng.below(2) == 0
            let sequential = path.hasSuffix("-") || rng.below(4) == 0
            let mode: CreateMode = ephemeral ? (sequential ? .ephemeralSequential : .ephemeral) : (sequential ? .persistentSequential : .persistent)
            request = .create2(CreateRequest(path: path, data: data, acl: open, flags: mode.rawValue))
            outcome = model.create(path, data: data, ephemeralOwner: ephemeral ? sid : 0, sequential: sequential)
        case 2:
            request = .delete(DeleteRequest(path: path, version: version))
            outcome = model.delete(path, version: version)
        case 3:
            request = .setData(SetDataRequest(path: path, data: data, version: version))
            outcome = model.setData(path, data: data, version: version)
        case 4:
            request = .getData(GetDataRequest(path: path, watch: watch))
            outcome = model.getData(path, watcher: watch ? sid : nil)
        case 5:
            request = .exists(ExistsRequest(path: path, watch: watch))
            outcome = model.exists(path, watcher: watch ? sid : nil)
        case 6:
            request = .getChildren(GetChildrenRequest(path: path, watch: watch))
            outcome = model.getChildren(path, watcher: watch ? sid : nil)
        default:
            var ops: [ZooKeeperRequest] = []
            var modelOps: [ReferenceModel.Op] = []
            for _ in 0..<(1 + rng.below(3)) {
                let p = Self.paths.randomElement(using: &rng)!
                let v = rng.below(3) == 0 ? Int32(rng.below(2)) : -1
                switch rng.below(4) {
                case 0:
                    ops.append(.check(CheckVersionRequest(path: p, version: v)))
                    modelOps.append(.check(p, version: v))
                case 1:
                    let seq = p.hasSuffix("-")
                    ops.append(.create2(CreateRequest(path: p, data: data, acl: open, flags: (seq ? CreateMode.persistentSequential : .persistent).rawValue)))
                    modelOps.append(.create(p, data: data, ephemeralOwner: 0, sequential: seq))
                case 2:
                    ops.append(.setData(SetDataRequest(path: p, data: data, version: v)))
                    modelOps.append(.setData(p, data: data, version: v))
                default:
                    ops.append(.delete(DeleteRequest(path: p, version: v)))
                    modelOps.append(.delete(p, version: v))
                }
            }
            request = .multi(ops)
            outcome = model.multi(modelOps)
        }
        trace("client \(i) session \(sid): \(request) → model: \(outcome)")
        let xid = h.send(clients[i].conn!, request)
        clients[i].expected[xid] = (request, outcome)
        contact(i)
        stats.requests += 1
        h.readComplete()
    }

    mutating func makeDurable(all: Bool) {
        trace("durable (all: \(all)) of \(h.appends.count) appends")
        repeat {
            guard !h.appends.isEmpty else { return }
            let records = h.appends.first!.records
            h.completeAppend()
            durableRecords.append(contentsOf: records)
            if !pendingModels.isEmpty { durableModel = pendingModels.removeFirst() }
        } while all
    }

    mutating func advance(_ millis: Int64) {
        trace("advance \(millis) ms; timers \(h.timers)")
        h.advance(millis: millis)
    }

    mutating func wallClockJump() {
        // The wall clock may jump either way (NTP); only ctime/mtime see it.
        h.now.wallMillis += Int64(rng.below(2) == 0 ? -3_600_000 : 86_400_000)
    }

    mutating func completeSnapshot() {
        guard let pending = pendingSnapshot else { return }
        pendingSnapshot = nil
        h.machine.snapshotCompleted(zxid: pending.zxid, error: nil)
        snapshot = pending
        stats.snapshots += 1
    }

    /// kill -9: appends not yet durable are gone, and so is a snapshot still being written; the server restarts
    /// from the newest snapshot plus the durable log. Every client is disconnected.
    mutating func crashAndRestart() {
        stats.crashes += 1
        trace("crash; durable records \(durableRecords.count), snapshot at \(snapshot?.zxid ?? -1)")
        var state = CoordinationState()
        var base = ReferenceModel()
        if let snapshot {
            var bytes = snapshot.bytes
            do {
                state = try CoordinationState(snapshot: &bytes)
            } catch {
                fail("the snapshot does not load: \(error)")
                return
            }
            base = snapshot.model
        }
        var triggers: [WatchTrigger] = []
        for record in durableRecords where record.zxid > state.lastZxid {
            var payload = record.payload
            guard let logged = try? LoggedTransaction.decode(from: &payload) else {
                fail("a durable log record does not decode")
                return
            }
            state.apply(logged, triggers: &triggers)
        }
        // The model as of what survived: the durable log's, unless the snapshot is newer (a snapshot may hold
        // transactions whose append had not yet completed; they were never acknowledged, so either is right).
        let durableZxid = durableRecords.last?.zxid ?? 0
        model = (snapshot.map { $0.zxid > durableZxid } ?? false) ? base : durableModel
        model.dropAllWatches()
        durableModel = model
        pendingModels = []
        pendingSnapshot = nil
        mustClose = []
        let now = h.now
        h = EngineHarness(configure: configure, seed: seed &+ UInt64(step), recovered: state, now: now)
        h.perform { machine, now, actions in machine.started(now: now, into: &actions) }
        // A restored session gets a full timeout from the restart to come back; the others are gone.
        for sid in sessionInfo.keys where !model.sessions.contains(sid) { sessionInfo[sid] = nil }
        for sid in model.sessions {
            // Also a session closed before the crash whose close was not durable: it is back.
            sessionInfo[sid] = (nowMillis, state.sessions[sid]?.timeout ?? sessionInfo[sid]?.timeout ?? 0)
        }
        for i in clients.indices {
            clients[i].conn = nil
            clients[i].handshaking = false
            clients[i].expected = [:]
            // A session whose answer was lost lives on as an orphan and expires by itself.
            clients[i].pendingSession = 0
            if !model.sessions.contains(clients[i].session) { clients[i].session = 0 }
        }
    }

    // MARK: Checking

    /// Takes what the server did in the last step and checks it against the model.
    mutating func observe() {
        // New log appends: the model as of each (requests are applied when received; the append carries them).
        while pendingModels.count < h.appends.count { pendingModels.append(model) }
        if let image = h.snapshots.last {
            h.snapshots.removeAll()
            var bytes = ByteBuffer()
            image.encode(into: &bytes)
            pendingSnapshot = (image.lastZxid, bytes, model)
        }
        if let v = h.violations.first { fail("engine promise broken: \(v)") }
        checkExpiries()
        checkHandshakes()
        checkReplies()
        checkEvents()
        compareTrees()
    }

    mutating func checkExpiries() {
        let real = Set(h.machine.core.state.sessions.keys)
        for sid in model.sessions.subtracting(real).sorted() {
            guard let info = sessionInfo[sid] else {
                fail("session \(sid) vanished and the simulator never knew it")
                continue
            }
            if nowMillis < info.lastContact + Int64(info.timeout) {
                fail("session \(sid) expired \(nowMillis - info.lastContact) ms after its last contact; its timeout is \(info.timeout) ms")
            }
            stats.expiries += 1
            model.closeSession(sid)
            sessionInfo[sid] = nil
            for i in clients.indices where clients[i].session == sid || clients[i].pendingSession == sid {
                if let conn = clients[i].conn { mustClose.append(conn) }
                clients[i].session = 0
                clients[i].pendingSession = 0
                clients[i].conn = nil
                clients[i].handshaking = false
                clients[i].expected = [:]
            }
        }
        for sid in real.subtracting(model.sessions) {
            fail("the server has session \(sid) the model does not")
        }
        if allDurable {
            for conn in mustClose where !h.closed.contains(conn) {
                fail("\(conn): its session expired, the expiry is durable, and the connection stays open")
            }
            mustClose = []
        }
        // Overdue: alive with no connection for its timeout plus two ticks (and a timer granularity).
        for (sid, info) in sessionInfo where model.sessions.contains(sid) {
            let connected = clients.contains { ($0.session == sid || $0.pendingSession == sid) && $0.conn != nil }
            if !connected, nowMillis > info.lastContact + Int64(info.timeout) + 2 * 200 + 50 {
                fail("session \(sid) is alive \(nowMillis - info.lastContact) ms after its last contact (timeout \(info.timeout) ms)")
            }
        }
    }

    mutating func checkHandshakes() {
        for i in clients.indices where clients[i].handshaking {
            guard let conn = clients[i].conn, let out = h.outputs[conn], let response = out.session else {
                if let conn = clients[i].conn, h.closed.contains(conn) {
                    // Refused before answering (never expected here).
                    fail("handshake of client \(i) closed without an answer")
                }
                continue
            }
            clients[i].handshaking = false
            let asked = clients[i].session
            if response.sessionId == 0 || response.timeOut <= 0 {
                if asked != 0 && model.sessions.contains(asked) {
                    fail("reattach to live session \(asked) was refused")
                }
                // Expired: the client starts over with a new session next time.
                clients[i].session = 0
                clients[i].conn = nil
                continue
            }
            if asked != 0 {
                if response.sessionId != asked { fail("reattach to \(asked) answered with session \(response.sessionId)") }
                if !model.sessions.contains(asked) { fail("reattach to dead session \(asked) was accepted") }
            } else if response.sessionId != clients[i].pendingSession {
                fail("the handshake answered session \(response.sessionId); the server created \(clients[i].pendingSession)")
            }
            clients[i].pendingSession = 0
            clients[i].session = response.sessionId
            clients[i].password = response.passwd
            sessionInfo[response.sessionId]?.timeout = response.timeOut
        }
    }

    mutating func checkReplies() {
        for i in clients.indices {
            guard let conn = clients[i].conn, let out = h.outputs[conn] else { continue }
            let replies = out.replies.filter { $0.xid >= 0 }
            while clients[i].repliesSeen < replies.count {
                let reply = replies[clients[i].repliesSeen]
                clients[i].repliesSeen += 1
                stats.replies += 1
                guard let (request, outcome) = clients[i].expected.removeValue(forKey: reply.xid) else {
                    fail("unexpected reply xid \(reply.xid) on client \(i)")
                    continue
                }
                check(reply, of: request, against: outcome, client: i)
            }
        }
    }

    mutating func check(_ reply: ParsedOutput.Reply, of request: ZooKeeperRequest, against outcome: ReferenceModel.Outcome, client: Int) {
        let what = "client \(client) \(request.opCode) xid \(reply.xid)"
        if case .error(let code) = outcome {
            if reply.err != code.rawValue { fail("\(what): error \(reply.err), model says \(code)") }
            return
        }
        if reply.err != 0 && request.opCode != .multi {
            fail("\(what): error \(reply.err), model says \(outcome)")
            return
        }
        var body = reply.body
        guard let response = try? ZooKeeperResponse.decode(for: request.opCode, from: &body) else {
            if case .multi(let codes, _) = outcome, codes.contains(where: { $0 != .ok }) {
                // A failed multi's reply header carries the error; its body is the per-op errors.
                var b = reply.body
                if case .multi(let results)? = try? ZooKeeperResponse.decode(for: .multi, from: &b) {
                    checkMulti(results, codes: codes, created: [], what: what)
                } else {
                    fail("\(what): failed multi's body does not decode")
                }
                return
            }
            fail("\(what): reply body does not decode")
            return
        }
        switch (response, outcome) {
        case (.create2(let r), .created(let path)):
            if r.path != path { fail("\(what): created \(r.path), model says \(path)") }
        case (.empty, .done):
            break
        case (.setData(let r), .stat(let version, let cversion, let owner, let children)):
            checkStat(r.stat, version, cversion, owner, children, what)
        case (.exists(let r), .stat(let version, let cversion, let owner, let children)):
            checkStat(r.stat, version, cversion, owner, children, what)
        case (.getData(let r), .data(let data, let version)):
            if r.data != data || r.stat.version != version { fail("\(what): data/version differ from the model's") }
        case (.getChildren(let r), .children(let names)):
            if r.children.sorted() != names { fail("\(what): children \(r.children.sorted()), model says \(names)") }
        case (.multi(let results), .multi(let codes, let created)):
            checkMulti(results, codes: codes, created: created, what: what)
        default:
            fail("\(what): reply \(response), model says \(outcome)")
        }
    }

    mutating func checkStat(_ s: Stat, _ version: Int32, _ cversion: Int32, _ owner: Int64, _ children: Int32, _ what: String) {
        if s.version != version || s.cversion != cversion || s.ephemeralOwner != owner || s.numChildren != children {
            fail("\(what): stat v\(s.version) cv\(s.cversion) owner \(s.ephemeralOwner) children \(s.numChildren), model says v\(version) cv\(cversion) owner \(owner) children \(children)")
        }
    }

    mutating func checkMulti(_ results: [MultiResult], codes: [ErrorCode], created: [String], what: String) {
        if results.count != codes.count {
            fail("\(what): \(results.count) results, model says \(codes.count)")
            return
        }
        var createdSeen: [String] = []
        for (result, code) in zip(results, codes) {
            switch result {
            case .error(let got):
                if got != code { fail("\(what): a result \(got), model says \(code)") }
                if codes.allSatisfy({ $0 == .ok }) { fail("\(what): an error result in a multi the model applies") }
            case .success(_, let response):
                if code != .ok || codes.contains(where: { $0 != .ok }) { fail("\(what): a success result, model says \(code)") }
                if case .create2(let r) = response { createdSeen.append(r.path) }
                if case .create(let r) = response { createdSeen.append(r.path) }
            }
        }
        if createdSeen != created { fail("\(what): created \(createdSeen), model says \(created)") }
    }

    mutating func checkEvents() {
        for i in clients.indices {
            guard let conn = clients[i].conn, let out = h.outputs[conn] else { continue }
            let sid = clients[i].session
            while clients[i].eventsSeen < out.events.count {
                let e = out.events[clients[i].eventsSeen]
                clients[i].eventsSeen += 1
                stats.events += 1
                guard var owed = model.owed[sid], !owed.isEmpty else {
                    fail("client \(i) got event \(e.type) \(e.path) that the model does not owe it")
                    return
                }
                let next = owed.removeFirst()
                model.owed[sid] = owed
                if next.type.rawValue != e.type || next.path != e.path {
                    fail("client \(i) got event \(e.type) \(e.path); the model owes \(next) first")
                }
            }
        }
        // Once everything is durable, every owed event has arrived.
        if allDurable {
            for c in clients where c.conn != nil && !c.handshaking {
                if let owed = model.owed[c.session], !owed.isEmpty {
                    fail("session \(c.session) is owed \(owed) and everything is durable")
                }
            }
        }
    }

    mutating func compareTrees() {
        let tree = h.machine.core.state.tree
        if tree.nodeCount != model.nodes.count {
            let real = Set(tree.paths)
            fail("the tree has \(tree.nodeCount) nodes, the model \(model.nodes.count): only in the tree \(real.subtracting(model.nodes.keys).sorted()), only in the model \(Set(model.nodes.keys).subtracting(real).sorted())")
            return
        }
        for (path, m) in model.nodes {
            guard let n = tree.node(at: path) else {
                let real = Set(tree.paths)
                fail("\(path) is in the model, not in the tree; only in the tree: \(real.subtracting(model.nodes.keys).sorted())")
                return
            }
            let s = n.stat
            if tree.data(of: n) ?? [] != m.data || s.version != m.version || s.cversion != m.cversion
                || s.ephemeralOwner != m.ephemeralOwner || Set(tree.children(of: n)) != m.children
            {
                fail("\(path) differs: tree v\(s.version) cv\(s.cversion) owner \(s.ephemeralOwner) children \(tree.children(of: n).sorted()); model v\(m.version) cv\(m.cversion) owner \(m.ephemeralOwner) children \(m.children.sorted())")
                return
            }
        }
    }
}
