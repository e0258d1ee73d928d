import NIOCore
import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// The logged transactions and snapshots: round trips, the log-replay guarantee (replaying what the state machine
/// logged rebuilds the same state), and refusal of malformed bytes.
@Suite struct PersistenceFormatTests {
    static let password: [UInt8] = Array(0..<16)
    static let digestUser1 = ACL(perms: Perms.all, id: Id(scheme: "digest", id: "user1:GMJqCvSAmNfv41XqBotWHO0HsNc="))

    static let everyTransaction: [Transaction] = [
        .createSession(sessionId: 0x0123_4567_89AB_CDEF, timeout: 30_000, password: password),
        .createSession(sessionId: -1, timeout: 0, password: []),
        .closeSession(sessionId: 0x0123_4567_89AB_CDEF),
        .create(path: "/a", data: nil, acl: ACLs.openUnsafe, ephemeralOwner: 0),
        .create(path: "/b", data: [], acl: [], ephemeralOwner: 0x42),
        .create(path: "/ünï/cödé", data: [0, 1, 2, 0xFF], acl: [digestUser1, ACL(perms: Perms.read, id: ACLs.anyoneId)], ephemeralOwner: Int64.min),
        .create(path: "/t", data: [9], acl: ACLs.openUnsafe, ephemeralOwner: EphemeralKind.ttl(milliseconds: 5000).owner),
        .delete(path: "/a"),
        .setData(path: "/b", data: nil, version: 1),
        .setData(path: "/b", data: Array(repeating: 7, count: 1000), version: Int32.max),
        .setACL(path: "/b", acl: [digestUser1], aversion: 3),
        .setACL(path: "/b", acl: [], aversion: -1),
        .check(path: "/b"),
        .error(code: ErrorCode.noNode.rawValue),
        .multi([]),
        .multi([
            .create(path: "/m", data: [1], acl: ACLs.openUnsafe, ephemeralOwner: 0),
            .setData(path: "/m", data: [2], version: 1), .check(path: "/m"), .delete(path: "/m"),
            .setACL(path: "/", acl: ACLs.openUnsafe, aversion: 1),
        ]),
    ]

    static func encode(_ t: LoggedTransaction) -> ByteBuffer {
        var b = ByteBuffer()
        t.encode(into: &b)
        return b
    }

    @Test func everyTransactionRoundTrips() throws {
        for (i, t) in Self.everyTransaction.enumerated() {
            let logged = LoggedTransaction(
                header: TransactionHeader(zxid: Int64(i) + (5 << 32), time: 1_700_000_000_123, sessionId: 0x77, cxid: Int32(i) - 3),
                transaction: t)
            var b = Self.encode(logged)
            let back = try LoggedTransaction.decode(from: &b)
            #expect(back == logged)
            #expect(b.readableBytes == 0)
        }
    }

    @Test func everyStrictPrefixFailsToDecode() {
        for t in Self.everyTransaction {
            let whole = Self.encode(LoggedTransaction(header: TransactionHeader(zxid: 1, time: 2, sessionId: 3, cxid: 4), transaction: t))
            for cut in 0..<whole.readableBytes {
                var prefix = whole.getSlice(at: whole.readerIndex, length: cut)!
                #expect(throws: (any Error).self, "\(t) cut at \(cut)") { _ = try LoggedTransaction.decode(from: &prefix) }
            }
        }
    }

    @Test func malformedTransactionsAreRefused() {
        let good = Self.encode(LoggedTransaction(header: TransactionHeader(zxid: 1, time: 2, sessionId: 3, cxid: 4), transaction: .delete(path: "/x")))
        // Trailing bytes.
        var trailing = good
        trailing.writeInteger(UInt8(0))
        #expect(throws: (any Error).self) { _ = try LoggedTransaction.decode(from: &trailing) }
        // Unknown format version.
        var version = good
        version.setInteger(Int32(2), at: version.readerIndex)
        #expect(throws: (any Error).self) { _ = try LoggedTransaction.decode(from: &version) }
        // Unknown transaction type.
        var tag = good
        tag.setInteger(Int32(99), at: tag.readerIndex + 4 + 8 + 8 + 8 + 4)
        #expect(throws: (any Error).self) { _ = try LoggedTransaction.decode(from: &tag) }
        // A multi inside a multi.
        var nested = Self.encode(LoggedTransaction(
            header: TransactionHeader(zxid: 1, time: 2, sessionId: 3, cxid: 4), transaction: .multi([.multi([])])))
        #expect(throws: (any Error).self) { _ = try LoggedTransaction.decode(from: &nested) }
        // A multi claiming more ops than there are bytes.
        var huge = Self.encode(LoggedTransaction(header: TransactionHeader(zxid: 1, time: 2, sessionId: 3, cxid: 4), transaction: .multi([])))
        huge.setInteger(Int32.max, at: huge.writerIndex - 4)
        #expect(throws: (any Error).self) { _ = try LoggedTransaction.decode(from: &huge) }
    }

    // MARK: Log replay

    /// A busy history: sessions, auth, every node kind, sequential names, multi (good and bad), failed writes,
    /// ACL changes, closeSession, expiry, container and TTL reaping, with the clock moving between steps.
    static func busyHistory() -> CoreDriver {
        var d = CoreDriver(config: CoreConfiguration(extendedTypesEnabled: true, containerCheckInterval: 1000))
        let a = d.connect(timeout: 40_000)
        let b = d.connect(timeout: 40_000)
        let doomed = d.connect(timeout: 4000)
        d.addDigestAuth(a, "user1:pw1")
        d.clock.advance(by: 100)
        d.create(a, "/app", bytes("config"))
        d.create(a, "/app/secure", bytes("s"), acl: [ACL(perms: Perms.all, id: Id(scheme: "auth", id: ""))])
        for _ in 0..<3 { d.create(b, "/app/job-", bytes("j"), mode: .persistentSequential) }
        d.create(b, "/app/lock-", mode: .ephemeralSequential)
        d.create(doomed, "/app/member", mode: .ephemeral)
        d.create(doomed, "/doomed", mode: .ephemeral)
        d.create(a, "/containers", mode: .container)
        d.create(a, "/containers/x")
        d.create(a, "/keep", mode: .container)
        d.createTTL(a, "/ttl", ttl: 500)
        d.createTTL(a, "/ttl-keep", ttl: 1_000_000)
        d.clock.advance(by: 250)
        d.setData(a, "/app", bytes("config v2"))
        d.setData(a, "/app", nil, version: 1)
        d.setACL(a, "/app", [ACL(perms: Perms.all, id: ACLs.anyoneId)], version: 0)
        d.create(b, "/missing/child")  // fails
        d.setData(b, "/app/secure", bytes("nope"))  // NoAuth
        d.multi(a, [
            .create(CreateRequest(path: "/batch", data: bytes("b"), acl: ACLs.openUnsafe, flags: 0)),
            .create(CreateRequest(path: "/batch/one", data: [], acl: ACLs.openUnsafe, flags: 0)),
            .delete(DeleteRequest(path: "/app/job-0000000001", version: -1)),
            .setData(SetDataRequest(path: "/app/job-0000000002", data: bytes("done"), version: 0)),
            .check(CheckVersionRequest(path: "/app", version: 2)),
        ])
        d.multi(a, [
            .create(CreateRequest(path: "/never", data: [], acl: ACLs.openUnsafe, flags: 0)),
            .delete(DeleteRequest(path: "/app", version: -1)),  // NotEmpty
        ])
        d.delete(a, "/containers/x")
        d.clock.advance(by: 400)
        d.ping(a)
        d.ping(b)
        d.tick(at: 1000)  // reaps /containers and /ttl
        d.call(b, .closeSession)
        d.tick(at: 6000)  // expires `doomed`
        d.clock.advance(by: 10)
        d.create(a, "/after", bytes("end"))
        return d
    }

    @Test func theHistoryDidWhatItSays() {
        let d = Self.busyHistory()
        #expect(!d.exists("/containers") && !d.exists("/ttl") && d.exists("/ttl-keep") && d.exists("/keep"))
        #expect(!d.exists("/doomed") && !d.exists("/app/member") && !d.exists("/never"))
        #expect(d.children("/app") == ["job-0000000002", "job-0000000003", "secure"])
        #expect(d.exists("/batch/one") && d.exists("/after"))
        #expect(d.state.sessions.count == 1)
    }

    @Test func replayingTheLoggedTransactionsRebuildsTheSameState() throws {
        let d = Self.busyHistory()
        let log = d.logged
        #expect(log.count > 20)
        // zxids are consecutive, starting at 1.
        #expect(log.map(\.header.zxid) == Array(1...Int64(log.count)))
        var replayed = CoordinationState()
        var triggers: [WatchTrigger] = []
        for entry in log {
            // Through the bytes, as recovery reads them.
            var b = Self.encode(entry)
            replayed.apply(try LoggedTransaction.decode(from: &b), triggers: &triggers)
        }
        expectSameTree(replayed.tree, d.tree)
        #expect(replayed.sessions == d.state.sessions)
        #expect(replayed.lastZxid == d.state.lastZxid)
    }

    @Test func replayIsDeterministicAndIndependentOfTheClock() {
        let d = Self.busyHistory()
        var first = CoordinationState()
        var second = CoordinationState()
        var t1: [WatchTrigger] = []
        var t2: [WatchTrigger] = []
        for entry in d.logged { first.apply(entry, triggers: &t1) }
        for entry in d.logged { second.apply(entry, triggers: &t2) }
        expectSameTree(first.tree, second.tree)
        #expect(t1 == t2)
    }

    @Test func aRecoveredStateContinuesWhereTheLogEnded() {
        let d = Self.busyHistory()
        var replayed = CoordinationState()
        var triggers: [WatchTrigger] = []
        for entry in d.logged { replayed.apply(entry, triggers: &triggers) }
        var next = CoreDriver(config: d.machine.config, state: replayed, clock: ManualClock(monotonic: 100_000))
        let c = next.connect(timeout: 40_000)
        let r = next.create(c, "/app/job-", mode: .persistentSequential)
        #expect(r.createdPath == "/app/job-0000000006")
        #expect(r.zxid == d.state.lastZxid + 2)
    }

    // MARK: Snapshots

    static func snapshotBytes(_ state: CoordinationState) -> ByteBuffer {
        var b = ByteBuffer()
        state.encodeSnapshot(into: &b)
        return b
    }

    /// Version 2 records each session's owning connection (an ensemble replica restores it); version 1, written
    /// before, is still read, with no owners.
    @Test func snapshotOwnersInVersion2AndNoneInVersion1() throws {
        let pw = [UInt8](repeating: 7, count: 16)
        let root = SnapshotWriter.Node(path: "/")
        for version: Int32 in [1, 2] {
            var w = SnapshotWriter()
            w.header(version: version, lastZxid: 9)
            w.sessions([(5, 4000, pw), (6, 6000, pw)], owners: [5: 0x0100_0000_0000_1001])
            w.acls([ACLs.openUnsafe])
            w.nodes([root])
            let state = try CoordinationState(snapshot: &w.buffer)
            #expect(state.sessions.keys.sorted() == [5, 6])
            #expect(state.sessions[6]?.timeout == 6000)
            #expect(state.connectionOwners == (version == 2 ? [5: 0x0100_0000_0000_1001] : [:]))
            // Written again, it is version 2 with the same owners.
            var again = ByteBuffer()
            state.snapshotImage(connectionOwners: state.connectionOwners).encode(into: &again)
            #expect(again.getInteger(at: 4, as: Int32.self) == 2)
            #expect(try CoordinationState(snapshot: &again).connectionOwners == state.connectionOwners)
        }
    }

    @Test func snapshotRoundTrips() throws {
        let d = Self.busyHistory()
        var b = Self.snapshotBytes(d.state)
        let back = try CoordinationState(snapshot: &b)
        expectSameTree(back.tree, d.tree)
        #expect(back.sessions == d.state.sessions)
        #expect(back.lastZxid == d.state.lastZxid)
        // The restored state snapshots to the same contents.
        var again = Self.snapshotBytes(back)
        let twice = try CoordinationState(snapshot: &again)
        expectSameTree(twice.tree, back.tree)
    }

    @Test func aFreshStateRoundTrips() throws {
        var b = Self.snapshotBytes(CoordinationState())
        let back = try CoordinationState(snapshot: &b)
        expectSameTree(back.tree, CoordinationState().tree)
        #expect(back.sessions.isEmpty && back.lastZxid == 0)
    }

    @Test func snapshotPlusTheRestOfTheLogEqualsTheWholeLog() throws {
        let d = Self.busyHistory()
        let log = d.logged
        let cut = log.count / 2
        var mid = CoordinationState()
        var triggers: [WatchTrigger] = []
        for entry in log[..<cut] { mid.apply(entry, triggers: &triggers) }
        var b = Self.snapshotBytes(mid)
        var recovered = try CoordinationState(snapshot: &b)
        for entry in log[cut...] { recovered.apply(entry, triggers: &triggers) }
        expectSameTree(recovered.tree, d.tree)
        #expect(recovered.sessions == d.state.sessions)
        #expect(recovered.lastZxid == d.state.lastZxid)
    }

    @Test func everyStrictPrefixOfASnapshotIsRefused() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/a", bytes("x"), acl: [Self.digestUser1])
        d.create(c, "/a/e", mode: .ephemeral)
        let whole = Self.snapshotBytes(d.state)
        for cut in 0..<whole.readableBytes {
            var prefix = whole.getSlice(at: whole.readerIndex, length: cut)!
            #expect(throws: SnapshotError.self, "cut at \(cut)") { _ = try CoordinationState(snapshot: &prefix) }
        }
        var trailing = whole
        trailing.writeInteger(UInt8(1))
        #expect(throws: SnapshotError.self) { _ = try CoordinationState(snapshot: &trailing) }
    }

    @Test func malformedSnapshotsAreRefused() {
        func decode(_ build: (inout SnapshotWriter) -> Void) -> SnapshotError? {
            var w = SnapshotWriter()
            build(&w)
            do {
                _ = try CoordinationState(snapshot: &w.buffer)
                return nil
            } catch {
                return error
            }
        }
        let root = SnapshotWriter.Node(path: "/")
        // Well-formed, for reference.
        #expect(decode { $0.header(); $0.sessions([]); $0.acls([ACLs.openUnsafe]); $0.nodes([root]) } == nil)
        #expect(decode { $0.buffer.writeInteger(Int32(0x1234_5678)) } == .malformed("bad magic"))
        #expect(decode { $0.header(version: 9) } == .malformed("unknown version 9"))
        #expect(decode { $0.header(); $0.buffer.writeInteger(Int32(-1)) } != nil)  // negative session count
        #expect(decode { $0.header(); $0.sessions([]); $0.buffer.writeInteger(Int32(-1)) } != nil)  // negative ACL count
        #expect(decode { $0.header(); $0.sessions([]); $0.acls([ACLs.openUnsafe]); $0.buffer.writeInteger(Int32(-1)) } != nil)
        // Duplicate ACL lists would break the interning.
        #expect(decode { $0.header(); $0.sessions([]); $0.acls([ACLs.openUnsafe, ACLs.openUnsafe]); $0.nodes([root]) } != nil)
        // An ACL reference out of range.
        var badRef = root
        badRef.aclRef = 3
        #expect(decode { $0.header(); $0.sessions([]); $0.acls([ACLs.openUnsafe]); $0.nodes([badRef]) } != nil)
        // No root.
        #expect(decode { $0.header(); $0.sessions([]); $0.acls([ACLs.openUnsafe]); $0.nodes([SnapshotWriter.Node(path: "/a")]) } == .missingRoot)
        // A node without its parent.
        #expect(decode {
            $0.header(); $0.sessions([]); $0.acls([ACLs.openUnsafe])
            $0.nodes([root, SnapshotWriter.Node(path: "/a/b")])
        } == .orphan("/a/b"))
        // Empty input.
        var empty = ByteBuffer()
        #expect(throws: SnapshotError.self) { _ = try CoordinationState(snapshot: &empty) }
    }

    @Test func restoredIndexesAreRebuiltFromTheNodes() throws {
        var d = CoreDriver(config: CoreConfiguration(extendedTypesEnabled: true))
        let c = d.connect()
        d.create(c, "/e", mode: .ephemeral)
        d.create(c, "/c", mode: .container)
        d.createTTL(c, "/t", ttl: 100)
        d.create(c, "/c/x", bytes("12"))
        var b = Self.snapshotBytes(d.state)
        let back = try CoordinationState(snapshot: &b)
        #expect(back.tree.ephemerals == [c.sessionId: ["/e"]])
        #expect(back.tree.containers == ["/c"])
        #expect(back.tree.ttls == ["/t"])
        #expect(back.tree.children(at: "/c") == ["x"])
        #expect(back.tree.approximateDataSize == d.tree.approximateDataSize)
    }
}

/// Writes snapshot bytes by hand, in the layout `CoordinationState.encodeSnapshot` uses.
struct SnapshotWriter {
    struct Node {
        var path: String
        var data: [UInt8]? = []
        var aclRef: Int32 = 0
    }

    var buffer = ByteBuffer()
    var version = CoordinationState.snapshotVersion

    mutating func string(_ s: String) {
        buffer.writeInteger(Int32(s.utf8.count))
        buffer.writeString(s)
    }

    mutating func header(version: Int32 = CoordinationState.snapshotVersion, lastZxid: Int64 = 0) {
        self.version = version
        buffer.writeInteger(CoordinationState.snapshotMagic)
        buffer.writeInteger(version)
        buffer.writeInteger(lastZxid)
    }

    /// Version 2 writes after each password whether the session has an owning connection, then its id.
    mutating func sessions(_ list: [(Int64, Int32, [UInt8])], owners: [Int64: UInt64] = [:]) {
        buffer.writeInteger(Int32(list.count))
        for (id, timeout, pw) in list {
            buffer.writeInteger(id)
            buffer.writeInteger(timeout)
            buffer.writeInteger(Int32(pw.count))
            buffer.writeBytes(pw)
            guard version >= 2 else { continue }
            buffer.writeInteger(UInt8(owners[id] == nil ? 0 : 1))
            if let owner = owners[id] { buffer.writeInteger(owner) }
        }
    }

    mutating func acls(_ lists: [[ACL]]) {
        buffer.writeInteger(Int32(lists.count))
        for l in lists {
            buffer.writeInteger(Int32(l.count))
            for a in l {
                buffer.writeInteger(a.perms)
                string(a.id.scheme)
                string(a.id.id)
            }
        }
    }

    mutating func nodes(_ nodes: [Node]) {
        buffer.writeInteger(Int32(nodes.count))
        for n in nodes {
            string(n.path)
            if let data = n.data {
                buffer.writeInteger(Int32(data.count))
                buffer.writeBytes(data)
            } else {
                buffer.writeInteger(Int32(-1))
            }
            buffer.writeInteger(n.aclRef)
            for _ in 0..<4 { buffer.writeInteger(Int64(0)) }  // czxid, mzxid, ctime, mtime
            for _ in 0..<3 { buffer.writeInteger(Int32(0)) }  // version, cversion, aversion
            buffer.writeInteger(Int64(0))  // ephemeralOwner
            buffer.writeInteger(Int64(0))  // pzxid
        }
    }
}
