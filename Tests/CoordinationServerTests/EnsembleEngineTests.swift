import CoordinationCore
import Logging
import NIOCore
import ReplicatedLog
import Testing
import ZooKeeperWire

@testable import CoordinationServer

/// Three replica engines over one in-memory shared log: each appends its entries, and each applies the whole
/// log at its own pace.
struct ReplicaCluster {
    var replicas: [EngineHarness]
    var log: [LogDelivery] = []
    var applied: [Int]
    var revision: Int64 = 1000

    init(count: Int = 3, seed: UInt64) {
        replicas = (1...count).map { EngineHarness(ordering: .ordered(replicaId: UInt8($0)), seed: seed &+ UInt64($0)) }
        applied = Array(repeating: 0, count: count)
    }

    /// Replica `r` appends what it has (one batch, one log position).
    mutating func append(from r: Int) {
        replicas[r].readComplete()
        let entries = replicas[r].ordered
        replicas[r].ordered = []
        guard !entries.isEmpty else { return }
        revision += 1
        log.append(LogDelivery(revision: revision, entries: entries))
    }

    /// The log derives an expiry (a session's lease ran out).
    mutating func expire(_ sid: Int64) {
        revision += 1
        log.append(LogDelivery(revision: revision, entries: [
            LogEntry(connection: 0, kind: .expire(sessionId: sid), wallMillis: 0, monotonicNanos: 0)
        ]))
    }

    /// Replica `r` applies the next position of the log, if it has one to apply.
    mutating func deliver(to r: Int) {
        guard applied[r] < log.count else { return }
        let delivery = log[applied[r]]
        applied[r] += 1
        for entry in delivery.entries {
            if case .request(_, let request, _, _) = entry.kind { replicas[r].collectSetData(request) }
        }
        replicas[r].perform { machine, now, actions in machine.orderedDelivered(delivery, now: now, into: &actions) }
    }

    mutating func settle(_ live: [Int]? = nil) {
        let which = live ?? Array(replicas.indices)
        for r in which { append(from: r) }
        for r in which { while applied[r] < log.count { deliver(to: r) } }
    }

    /// Replica `r` takes `request` of connection `id` but cannot append it (cut off from the log): returns the
    /// batch it would have appended, for the caller to land later.
    mutating func holdBack(_ r: Int, _ id: ConnectionID, _ request: ZooKeeperRequest) -> [LogEntry] {
        replicas[r].send(id, request)
        replicas[r].readComplete()
        defer { replicas[r].ordered = [] }
        return replicas[r].ordered
    }

    /// Replica `r`'s snapshot bytes: the tree, the sessions and the connection each session is attached through.
    func image(_ r: Int) -> ByteBuffer {
        var b = ByteBuffer()
        replicas[r].machine.core.snapshotImage().encode(into: &b)
        return b
    }

    /// Replica `r`'s state in a canonical text: every node in path order with its data and stat, the sessions with
    /// their connections, and the zxid. (A replica restored from a snapshot lays its node pages out in another
    /// order, so its snapshot bytes differ from a peer's in node order only.)
    func contents(_ r: Int) -> String {
        let core = replicas[r].machine.core
        var image = image(r)
        let owners = (try? CoordinationState(snapshot: &image).connectionOwners) ?? [:]
        let tree = core.state.tree
        var out = "zxid \(core.lastZxid)\n"
        for (id, s) in core.state.sessions.sorted(by: { $0.key < $1.key }) {
            out += "session \(id) \(s.timeout) \(s.password) owner \(owners[id].map(String.init) ?? "-")\n"
        }
        for path in tree.paths.sorted() {
            out += "\(path) \(tree.data(at: path) ?? []) \(tree.node(at: path)!.stat) \(tree.acl(of: tree.node(at: path)!))\n"
        }
        return out
    }

    /// Replica `r` restarts from a snapshot it takes now, through the snapshot bytes: same state, no connections of
    /// its own, a new incarnation. It resumes the log where it was.
    mutating func restartFromSnapshot(_ r: Int, seed: UInt64, startMillis: Int64 = 60_000) throws {
        var bytes = image(r)
        let recovered = try CoordinationState(snapshot: &bytes)
        replicas[r] = EngineHarness(
            ordering: .ordered(replicaId: UInt8(r + 1)), seed: seed, recovered: recovered, startMillis: startMillis)
    }
}

@Suite struct EnsembleEngineTests {
    /// Random requests on connections of three replicas, random appends and random delivery paces: every replica
    /// ends with the same tree, sessions and zxids, byte for byte, and every request is answered, in order.
    @Test(arguments: Array(UInt64(1)...UInt64(12)))
    func replicasApplyingOneLogEndIdentical(seed: UInt64) {
        var cluster = ReplicaCluster(seed: seed)
        var rng = TestRandom(state: seed &* 104_729)
        var clients: [(replica: Int, id: ConnectionID)] = []
        for r in 0..<3 {
            for _ in 0..<2 {
                let id = cluster.replicas[r].open()
                cluster.replicas[r].handshake(id)
                clients.append((r, id))
            }
        }
        cluster.settle()
        for (r, id) in clients { #expect(cluster.replicas[r].outputs[id]?.connected == true) }
        let paths = ["/a", "/b", "/a/x", "/b/y", "/e"]
        var sentCount: [ConnectionID: Int] = [:]
        for _ in 0..<250 {
            switch rng.below(10) {
            case 0...5:
                let (r, id) = clients[rng.below(clients.count)]
                let path = paths[rng.below(paths.count)]
                let request: ZooKeeperRequest
                switch rng.below(9) {
                case 0: request = create(path, "d", flags: rng.below(3) == 0 ? 1 : 0)
                case 1: request = setData(path, "\(rng.below(100))")
                case 2: request = .getData(GetDataRequest(path: path, watch: true))
                case 3: request = .exists(ExistsRequest(path: path, watch: true))
                case 4: request = .delete(DeleteRequest(path: path, version: -1))
                case 5: request = .getChildren(GetChildrenRequest(path: "/", watch: true))
                case 6: request = .sync(SyncRequest(path: "/"))
                case 7: request = create("/c", "", flags: 0)
                default: request = create("/seq-", "s", flags: 2)
                }
                cluster.replicas[r].send(id, request)
                sentCount[id, default: 0] += 1
            case 6, 7:
                cluster.append(from: rng.below(3))
            default:
                cluster.deliver(to: rng.below(3))
            }
            for r in 0..<3 { cluster.replicas[r].advance(millis: 1) }
        }
        cluster.settle()
        for r in 0..<3 { #expect(cluster.replicas[r].violations.isEmpty, "\(cluster.replicas[r].violations)") }
        #expect(cluster.image(0) == cluster.image(1), "replicas 1 and 2 identical, byte for byte")
        #expect(cluster.image(0) == cluster.image(2), "replicas 1 and 3 identical, byte for byte")
        #expect(ZxidLayout.revision(ofZxid: cluster.replicas[0].machine.core.lastZxid) == cluster.revision)
        for (r, id) in clients {
            #expect(cluster.replicas[r].replies(id).count == sentCount[id, default: 0], "every request answered once")
        }
    }

    /// A session whose replica dies reattaches on another replica with its id and password, keeps its ephemeral,
    /// and loses it only when the log says that it expired, at the same position on every replica.
    @Test func aSessionMovesToAnotherReplicaAndExpiresOnlyThroughTheLog() throws {
        var cluster = ReplicaCluster(seed: 7)
        let a = cluster.replicas[0].open()
        cluster.replicas[0].handshake(a, timeout: 4000)
        cluster.settle()
        let session = try #require(cluster.replicas[0].outputs[a]?.session)
        #expect(session.sessionId >> 56 == 1, "replica 1 numbers the session")
        cluster.replicas[0].send(a, create("/eph", "x", flags: 1))
        cluster.settle()
        let lastSeen = try #require(cluster.replicas[0].replies(a).last).zxid
        // Replica 1 dies: it neither appends nor applies any more.
        let b = cluster.replicas[1].open()
        cluster.replicas[1].handshake(b, timeout: 4000, sessionId: session.sessionId, password: session.passwd, lastZxidSeen: lastSeen)
        cluster.settle([1, 2])
        let moved = try #require(cluster.replicas[1].outputs[b]?.session)
        #expect(moved.sessionId == session.sessionId, "same session on the new replica")
        cluster.replicas[1].send(b, .exists(ExistsRequest(path: "/eph", watch: false)))
        cluster.settle([1, 2])
        #expect(cluster.replicas[1].replies(b).last?.err == 0, "the ephemeral is still there")
        // A wrong password is refused.
        let c = cluster.replicas[2].open()
        cluster.replicas[2].handshake(c, sessionId: session.sessionId, password: [UInt8](repeating: 9, count: 16))
        cluster.settle([1, 2])
        #expect(cluster.replicas[2].outputs[c]?.session?.sessionId == 0)
        // The lease runs out: every replica drops the ephemeral at that position.
        cluster.expire(session.sessionId)
        cluster.settle([1, 2])
        for r in [1, 2] {
            #expect(cluster.replicas[r].machine.core.state.tree.node(at: "/eph") == nil)
            #expect(cluster.replicas[r].machine.core.sessionCount == 0)
        }
        #expect(cluster.replicas[1].closed.contains(b), "the expired session's client is closed")
        #expect(cluster.image(1) == cluster.image(2))
        // The dead replica comes back and catches up from the log: the same tree.
        cluster.settle()
        #expect(cluster.image(0) == cluster.image(1))
    }

    /// A replica cut off from the log still holds a write in its queue when its client reattaches on another
    /// replica and writes again. When the cut-off replica's queue lands later, the stale write fails with
    /// SESSIONMOVED on every replica (ZooKeeper's rule for a session that moved) instead of overwriting the newer
    /// value; its late disconnect does not touch the session's watches either.
    @Test func aStaleRequestOfAMovedSessionFailsWithSessionMovedEverywhere() throws {
        var cluster = ReplicaCluster(seed: 11)
        let a = cluster.replicas[0].open()
        cluster.replicas[0].handshake(a, timeout: 4000)
        cluster.settle()
        cluster.replicas[0].send(a, create("/v", "0"))
        cluster.settle()
        let session = try #require(cluster.replicas[0].outputs[a]?.session)
        let lastSeen = try #require(cluster.replicas[0].replies(a).last).zxid
        // Replica 1 takes a write but can't append it (cut off from the log).
        let held = cluster.holdBack(0, a, setData("/v", "stale"))
        #expect(!held.isEmpty)
        // The client moves to replica 2 and writes a newer value, with a watch on the node.
        let b = cluster.replicas[1].open()
        cluster.replicas[1].handshake(b, timeout: 4000, sessionId: session.sessionId, password: session.passwd, lastZxidSeen: lastSeen)
        cluster.replicas[1].send(b, setData("/v", "new"))
        cluster.replicas[1].send(b, .exists(ExistsRequest(path: "/v", watch: true)))
        cluster.settle([1, 2])  // the handshake
        cluster.settle([1, 2])  // what waited for it
        #expect(cluster.replicas[1].replies(b).map(\.err) == [0, 0])
        // The held write lands now, then replica 1's disconnect.
        cluster.revision += 1
        cluster.log.append(LogDelivery(revision: cluster.revision, entries: held))
        cluster.settle()
        for r in 0..<3 {
            let data = try #require(cluster.replicas[r].machine.core.state.tree.data(at: "/v"))
            #expect(String(decoding: data, as: UTF8.self) == "new", "replica \(r + 1)")
        }
        #expect(cluster.replicas[0].closed.contains(a), "the old connection is closed")
        #expect(cluster.image(0) == cluster.image(1))
        #expect(cluster.image(1) == cluster.image(2))
        // The session's watch (set through replica 2) survived the old connection's disconnect.
        let c = cluster.replicas[2].open()
        cluster.replicas[2].handshake(c, timeout: 4000)
        cluster.replicas[2].send(c, setData("/v", "later"))
        cluster.settle()
        cluster.settle()
        #expect(cluster.replicas[1].outputs[b]?.events.map(\.path) == ["/v"], "the watch fired")
    }

    /// A handshake that reattaches a session counts as contact when it takes effect (the session is unknown to
    /// the connection before), so the session's lease is renewed even if the client then stays silent.
    @Test func aReattachCountsAsContactForTheLease() throws {
        var cluster = ReplicaCluster(seed: 5)
        let a = cluster.replicas[0].open()
        cluster.replicas[0].handshake(a, timeout: 4000)
        cluster.settle()
        let session = try #require(cluster.replicas[0].outputs[a]?.session)
        let b = cluster.replicas[1].open()
        cluster.replicas[1].handshake(b, timeout: 4000, sessionId: session.sessionId, password: session.passwd)
        cluster.replicas[1].readComplete()
        // The lease task's previous look was after the handshake arrived but before it was applied.
        cluster.replicas[1].now.monotonicNanos += 300_000_000
        let cutoff = cluster.replicas[1].now.monotonicNanos
        cluster.replicas[1].now.monotonicNanos += 1_000_000
        cluster.settle()
        #expect(cluster.replicas[1].outputs[b]?.session?.sessionId == session.sessionId)
        #expect(cluster.replicas[1].machine.sessionsHeardFrom(sinceNanos: cutoff) == [session.sessionId])
    }

    /// Reads are served from the local tree at once, unless the connection has entries of its own in the log not
    /// yet applied: then they wait behind them (a session reads its own writes, and replies stay in order).
    @Test func readsAreLocalAndWaitOnlyForTheirOwnConnection() {
        var cluster = ReplicaCluster(seed: 3)
        let a = cluster.replicas[0].open()
        cluster.replicas[0].handshake(a)
        let b = cluster.replicas[0].open()
        cluster.replicas[0].handshake(b)
        cluster.settle()
        cluster.replicas[0].send(a, create("/x", "1"))
        cluster.replicas[0].send(a, .getData(GetDataRequest(path: "/x", watch: false)))
        cluster.replicas[0].send(b, .exists(ExistsRequest(path: "/x", watch: false)))
        cluster.replicas[0].readComplete()
        #expect(cluster.replicas[0].replies(a).isEmpty, "a's read waits behind a's create")
        #expect(cluster.replicas[0].replies(b).map(\.err) == [ErrorCode.noNode.rawValue], "b reads the local tree at once")
        #expect(cluster.replicas[0].ordered.count == 1, "only the create goes to the log")
        cluster.settle()
        #expect(cluster.replicas[0].replies(a).map(\.err) == [0, 0], "create, then the read that sees it")
    }

    /// A replica restarted from a snapshot knows no connection of the others, yet applies their later requests as
    /// they do: each request carries its session and authentication.
    @Test(arguments: Array(UInt64(1)...UInt64(6)))
    func aReplicaRestartedFromASnapshotAppliesLaterEntriesAlike(seed: UInt64) throws {
        var cluster = ReplicaCluster(seed: seed)
        var rng = TestRandom(state: seed &* 31)
        var clients: [(replica: Int, id: ConnectionID)] = []
        for r in 0..<3 {
            let id = cluster.replicas[r].open()
            cluster.replicas[r].handshake(id)
            clients.append((r, id))
        }
        cluster.settle()
        // Client 0 authenticates and makes a node only it may write.
        let (r0, c0) = clients[0]
        cluster.replicas[r0].send(c0, .auth(AuthPacket(type: 0, scheme: "digest", auth: Array("u:p".utf8))))
        cluster.replicas[r0].send(c0, .create2(CreateRequest(
            path: "/private", data: [], acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "auth", id: ""))], flags: 0)))
        cluster.settle()
        func randomTraffic(_ steps: Int, on live: [Int]) {
            for _ in 0..<steps {
                let (r, id) = clients[rng.below(clients.count)]
                guard live.contains(r) else { continue }
                switch rng.below(4) {
                case 0: cluster.replicas[r].send(id, setData("/private", "\(rng.below(100))"))
                case 1: cluster.replicas[r].send(id, create("/n\(rng.below(5))", "x", flags: rng.below(2) == 0 ? 1 : 0))
                case 2: cluster.replicas[r].send(id, .delete(DeleteRequest(path: "/n\(rng.below(5))", version: -1)))
                default: cluster.replicas[r].send(id, .getData(GetDataRequest(path: "/private", watch: true)))
                }
                if rng.below(3) == 0 { cluster.append(from: rng.below(3)) }
            }
        }
        randomTraffic(40, on: [0, 1, 2])
        cluster.settle()
        // Replica 3 restarts from its snapshot: same state, no connections, a new incarnation.
        try cluster.restartFromSnapshot(2, seed: seed &+ 100)
        randomTraffic(60, on: [0, 1])
        cluster.settle()
        #expect(cluster.contents(0) == cluster.contents(2), "the restarted replica matches")
        #expect(cluster.image(0) == cluster.image(1))
        for r in 0..<3 { #expect(cluster.replicas[r].violations.isEmpty, "\(cluster.replicas[r].violations)") }
        // Replica 1's authenticated client may still write its node; the restarted replica agrees.
        let versions = (0..<3).map { cluster.replicas[$0].machine.core.state.tree.node(at: "/private")?.stat.version }
        #expect(Set(versions).count == 1)
    }

    /// A session moves from replica 1 to replica 2 while replica 1 holds a write of it that it could not append.
    /// Replica 3 then restarts from a snapshot, and the stale write lands after that. Every replica fails it with
    /// SESSIONMOVED, the restarted one included, because the snapshot records which connection each session is
    /// attached through. (Before snapshots recorded it, the restarted replica let the first connection it heard
    /// from own the session and applied the stale write: its tree diverged.)
    @Test func aReplicaRestartedFromASnapshotFencesAStaleRequestOfAMovedSession() throws {
        var cluster = ReplicaCluster(seed: 21)
        let a = cluster.replicas[0].open()
        cluster.replicas[0].handshake(a, timeout: 4000)
        cluster.settle()
        cluster.replicas[0].send(a, create("/v", "0"))
        cluster.settle()
        let session = try #require(cluster.replicas[0].outputs[a]?.session)
        let lastSeen = try #require(cluster.replicas[0].replies(a).last).zxid
        let held = cluster.holdBack(0, a, setData("/v", "stale"))
        #expect(!held.isEmpty)
        let b = cluster.replicas[1].open()
        cluster.replicas[1].handshake(b, timeout: 4000, sessionId: session.sessionId, password: session.passwd, lastZxidSeen: lastSeen)
        cluster.replicas[1].send(b, setData("/v", "new"))
        cluster.settle([1, 2])
        cluster.settle([1, 2])
        #expect(cluster.replicas[1].replies(b).map(\.err) == [0])
        try cluster.restartFromSnapshot(2, seed: 77)
        #expect(cluster.contents(2) == cluster.contents(1), "the snapshot carries the session's connection")
        cluster.revision += 1
        cluster.log.append(LogDelivery(revision: cluster.revision, entries: held))
        cluster.settle()
        for r in 0..<3 {
            let data = try #require(cluster.replicas[r].machine.core.state.tree.data(at: "/v"))
            #expect(String(decoding: data, as: UTF8.self) == "new", "replica \(r + 1)")
        }
        #expect(cluster.contents(0) == cluster.contents(1))
        #expect(cluster.contents(1) == cluster.contents(2), "the restarted replica did not diverge")
        // The session's connection closes: every replica releases the session, the restarted one too (it knows
        // the connection from its snapshot), and a later connection of it is then its owner everywhere.
        cluster.replicas[1].perform { machine, now, actions in machine.connectionClosed(b, now: now, into: &actions) }
        cluster.settle()
        #expect(cluster.contents(1) == cluster.contents(2))
        let c = cluster.replicas[0].open()
        cluster.replicas[0].handshake(c, timeout: 4000, sessionId: session.sessionId, password: session.passwd)
        cluster.settle()
        cluster.replicas[0].send(c, setData("/v", "after"))
        cluster.settle()
        #expect(cluster.replicas[0].replies(c).map(\.err) == [0])
        #expect(cluster.contents(0) == cluster.contents(1))
        #expect(cluster.contents(1) == cluster.contents(2))
    }

    /// A closed connection is a log entry: every replica drops it at the same position, and a replica restarted
    /// from a snapshot of another gets the same state.
    @Test func disconnectsGoThroughTheLog() {
        var cluster = ReplicaCluster(seed: 5)
        let a = cluster.replicas[2].open()
        cluster.replicas[2].handshake(a)
        cluster.settle()
        cluster.replicas[2].perform { machine, now, actions in machine.connectionClosed(a, now: now, into: &actions) }
        #expect(cluster.replicas[2].ordered.count == 1)
        #expect(cluster.replicas[0].machine.core.knows(a))
        cluster.settle()
        for r in 0..<3 { #expect(!cluster.replicas[r].machine.core.knows(a)) }
        #expect(cluster.replicas[0].machine.core.sessionCount == 1, "the session lives on until it closes or expires")
    }
}

extension LogBatch {
    static func roundTrip(_ batch: LogBatch) throws -> LogBatch { try decode(batch.encode()) }
}

@Suite struct LogBatchTests {
    @Test func batchesRoundTripAndDetectCorruption() throws {
        let connect = ConnectRequest(lastZxidSeen: 5, timeOut: 4000, sessionId: 0, passwd: [UInt8](repeating: 1, count: 16), readOnly: false)
        let entries = [
            LogEntry(connection: 1 << 56 | 7, kind: .connect(connect, password: [1, 2, 3], sessionId: 42, remoteAddress: "10.0.0.1"), wallMillis: 1_700_000_000_000, monotonicNanos: 5),
            LogEntry(connection: 1 << 56 | 7, kind: .request(xid: 3, create("/a/b", "data", flags: 1), sessionId: 42, authInfo: [Id(scheme: "digest", id: "u:x")]), wallMillis: 1, monotonicNanos: 6),
            LogEntry(connection: 1 << 56 | 7, kind: .request(xid: 4, .multi([create("/m"), setData("/m", "v")]), sessionId: 42, authInfo: []), wallMillis: 2, monotonicNanos: 7),
            LogEntry(connection: 1 << 56 | 7, kind: .disconnect, wallMillis: 3, monotonicNanos: 8),
            LogEntry(connection: 0, kind: .reap, wallMillis: 4, monotonicNanos: 9),
            LogEntry(connection: 0, kind: .expire(sessionId: 42), wallMillis: 5, monotonicNanos: 10),
        ]
        let batch = LogBatch(replicaId: 1, incarnation: 99, sequence: 12, entries: entries)
        #expect(try LogBatch.roundTrip(batch) == batch)
        var bytes = batch.encode()
        bytes[40] ^= 0x01
        #expect(throws: LogBatch.DecodeError.checksumMismatch) { try LogBatch.decode(bytes) }
        #expect(throws: LogBatch.DecodeError.tooShort) { try LogBatch.decode([1, 2, 3]) }
        var foreign = batch.encode()
        foreign[0] = 0
        #expect(throws: LogBatch.DecodeError.badMagic) { try LogBatch.decode(foreign) }
    }

    @Test func zxidsComeFromLogPositions() {
        #expect(ZxidLayout.base(ofRevision: 3) == 3 << 16)
        #expect(ZxidLayout.revision(ofZxid: (3 << 16) + 200) == 3)
    }
}
