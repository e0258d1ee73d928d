import CoordinationCore
import Logging
import NIOCore
import Persistence
import ReplicatedLog
import Testing
import ZooKeeperWire

@testable import CoordinationServer

/// A seeded generator for schedules and session passwords (reproducible from the seed).
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// What a connection was sent, parsed: the connect response, then replies and notifications.
struct ParsedOutput {
    struct Reply: Equatable {
        var xid: Int32
        var zxid: Int64
        var err: Int32
        var body: ByteBuffer
    }

    var pending = ByteBuffer()
    var connected = false
    var session: ConnectResponse?
    var replies: [Reply] = []
    var events: [WatcherEvent] = []

    mutating func feed(_ bytes: ByteBuffer) -> [Reply] {
        var bytes = bytes
        pending.writeBuffer(&bytes)
        var parsed: [Reply] = []
        while pending.readableBytes >= 4, let length = pending.getInteger(at: pending.readerIndex, as: Int32.self),
            pending.readableBytes >= 4 + Int(length)
        {
            pending.moveReaderIndex(forwardBy: 4)
            var frame = pending.readSlice(length: Int(length))!
            if !connected {
                connected = true
                session = try? ConnectResponse(juteFrom: &frame)
                continue
            }
            let header = try! ReplyHeader(juteFrom: &frame)
            if header.xid == SpecialXid.notification {
                events.append(try! WatcherEvent(juteFrom: &frame))
            } else {
                let reply = Reply(xid: header.xid, zxid: header.zxid, err: header.err, body: frame)
                replies.append(reply)
                parsed.append(reply)
            }
        }
        return parsed
    }
}

/// Drives the machine with a manual clock and a fake log, and checks its promises at every write.
struct EngineHarness {
    var machine: ServerEngineStateMachine
    var now = EngineTime(wallMillis: 1_700_000_000_000, monotonicNanos: 1_000_000_000)
    var appends: [(records: [LogRecord], upTo: Int64)] = []
    var ordered: [LogEntry] = []
    var nextRevision: Int64 = 1
    var outputs: [ConnectionID: ParsedOutput] = [:]
    var bytes: [ConnectionID: ByteBuffer] = [:]
    var closed: Set<ConnectionID> = []
    var timers: [EngineTimer: Int64] = [:]
    var autoRead: [ConnectionID: Bool] = [:]
    var snapshots: [SnapshotImage] = []
    var fatal: PersistenceError?
    /// Requests sent per connection, by xid: the op.
    var sent: [ConnectionID: [Int32: OpCode]] = [:]
    var nextXid: [ConnectionID: Int32] = [:]
    /// setData transactions appended to the log: (zxid, path).
    var loggedSetData: [(zxid: Int64, path: String)] = []
    var violations: [String] = []

    init(
        configure: (inout ServerConfiguration) -> Void = { _ in }, ordering: ServerEngineStateMachine.Ordering = .local, seed: UInt64 = 1,
        recovered: CoordinationState = CoordinationState(), startMillis: Int64 = 0, now start: EngineTime? = nil,
        saslUsers: JAASDigestUsers? = nil
    ) {
        var configuration = ServerConfiguration(dataDir: "/unused")
        configuration.snapCount = 1_000_000
        configure(&configuration)
        if let start { now = start }
        now.wallMillis += startMillis
        machine = ServerEngineStateMachine(
            configuration: configuration, recovered: recovered, now: now, ordering: ordering,
            random: TestRandom(state: seed), saslUsers: saslUsers, logger: Logger(label: "engine-test"))
    }

    mutating func perform(_ body: (inout ServerEngineStateMachine, EngineTime, inout [EngineAction]) -> Void) {
        var actions: [EngineAction] = []
        body(&machine, now, &actions)
        handle(actions)
    }

    mutating func handle(_ actions: [EngineAction]) {
        for action in actions {
            switch action {
            case .appendToLog(let records, let upTo):
                appends.append((records, upTo))
                for record in records {
                    var payload = record.payload
                    if let logged = try? LoggedTransaction.decode(from: &payload) {
                        collectSetData(logged.transaction, zxid: logged.header.zxid)
                    }
                }
            case .appendOrdered(let entry):
                ordered.append(entry)
            case .write(let id, let buffer, let closeAfter):
                if closed.contains(id) { violations.append("write to \(id) after its close") }
                checkWrite(id, buffer)
                if closeAfter { closed.insert(id) }
            case .close(let id):
                closed.insert(id)
            case .scheduleTimer(let timer, let at):
                timers[timer] = at
            case .cancelTimer(let timer):
                timers[timer] = nil
            case .takeSnapshot(let image):
                snapshots.append(image)
            case .setAutoRead(let id, let on):
                autoRead[id] = on
            case .recordRequest, .recordBytesSent, .recordFsync:
                break
            case .fatal(let error):
                fatal = error
            }
        }
    }

    mutating func collectSetData(_ request: ZooKeeperRequest) {
        switch request {
        case .setData(let r): loggedSetData.append((Int64.min, r.path))
        case .multi(let all): for r in all { collectSetData(r) }
        default: break
        }
    }

    mutating func collectSetData(_ transaction: Transaction, zxid: Int64) {
        switch transaction {
        case .setData(let path, _, _): loggedSetData.append((zxid, path))
        case .multi(let all): for t in all { collectSetData(t, zxid: zxid) }
        default: break
        }
    }

    /// The promises checked at every write: nothing revealed above the durable zxid (reply headers, the Stats in
    /// replies, watch events: no more data-changed events for a path than durable setData of it), replies of a
    /// connection in request order.
    mutating func checkWrite(_ id: ConnectionID, _ buffer: ByteBuffer) {
        bytes[id, default: ByteBuffer()].writeImmutableBuffer(buffer)
        let durable = machine.durableZxid
        var output = outputs[id] ?? ParsedOutput()
        let eventsBefore = output.events.count
        let replies = output.feed(buffer)
        let lastXid = outputs[id]?.replies.last(where: { $0.xid >= 0 })?.xid ?? -1
        var previous = lastXid
        for reply in replies {
            if reply.zxid > durable { violations.append("reply zxid \(reply.zxid) above durable \(durable)") }
            if reply.xid >= 0 {
                if reply.xid <= previous { violations.append("reply xid \(reply.xid) after \(previous) on \(id)") }
                previous = reply.xid
            }
            guard reply.err == 0, let op = sent[id]?[reply.xid] else { continue }
            var body = reply.body
            var stat: Stat?
            switch op {
            case .setData: stat = try? SetDataResponse(juteFrom: &body).stat
            case .create2: stat = try? Create2Response(juteFrom: &body).stat
            case .exists: stat = try? ExistsResponse(juteFrom: &body).stat
            case .getData: stat = try? GetDataResponse(juteFrom: &body).stat
            default: break
            }
            if let stat, max(stat.czxid, stat.mzxid, stat.pzxid) > durable {
                violations.append("\(op) reply reveals zxid \(max(stat.czxid, stat.mzxid, stat.pzxid)) above durable \(durable)")
            }
        }
        outputs[id] = output
        let changed = EventType.nodeDataChanged.rawValue
        for path in Set(output.events[eventsBefore...].filter { $0.type == changed }.map(\.path)) {
            // Each durable setData fires at most one event per watching session.
            let delivered = outputs.values.reduce(0) { $0 + $1.events.filter { $0.type == changed && $0.path == path }.count }
            let durableChanges = loggedSetData.filter { $0.path == path && $0.zxid <= durable }.count
            if delivered > durableChanges * outputs.count {
                violations.append("data-changed event for \(path) before its change was durable")
            }
        }
    }

    // MARK: Inputs

    mutating func open(_ address: String = "127.0.0.1") -> ConnectionID {
        var id: ConnectionID?
        perform { machine, now, _ in id = machine.connectionOpened(remoteAddress: address, remotePort: 1, now: now) }
        return id!
    }

    mutating func handshake(
        _ id: ConnectionID, timeout: Int32 = 30_000, sessionId: Int64 = 0, password: [UInt8] = [UInt8](repeating: 0, count: 16),
        lastZxidSeen: Int64 = 0
    ) {
        var frame = ByteBuffer()
        ConnectRequest(protocolVersion: 0, lastZxidSeen: lastZxidSeen, timeOut: timeout, sessionId: sessionId, passwd: password, readOnly: false)
            .juteEncode(into: &frame)
        perform { machine, now, actions in machine.frameReceived(id, frame, now: now, into: &actions) }
    }

    @discardableResult
    mutating func send(_ id: ConnectionID, _ request: ZooKeeperRequest) -> Int32 {
        let xid = request.opCode == .ping ? SpecialXid.ping : nextXid[id, default: 1]
        if request.opCode != .ping { nextXid[id] = xid + 1 }
        sent[id, default: [:]][xid] = request.opCode
        var frame = ByteBuffer()
        RequestFrame(header: RequestHeader(xid: xid, type: request.opCode.rawValue), request: request).encode(into: &frame)
        perform { machine, now, actions in machine.frameReceived(id, frame, now: now, into: &actions) }
        return xid
    }

    mutating func readComplete() {
        perform { machine, now, actions in machine.readComplete(now: now, into: &actions) }
    }

    /// Completes the oldest log append.
    mutating func completeAppend() {
        guard !appends.isEmpty else { return }
        let (_, upTo) = appends.removeFirst()
        perform { machine, now, actions in machine.logAppended(upTo: upTo, now: now, into: &actions) }
    }

    mutating func completeAllAppends() {
        while !appends.isEmpty { completeAppend() }
    }

    /// Delivers the ordered log's entries (ordered mode), in order.
    mutating func deliverOrdered() {
        let entries = ordered
        ordered = []
        // The ordered log is the durability: what it delivers counts as durable.
        for entry in entries {
            if case .request(_, let request, _, _) = entry.kind { collectSetData(request) }
        }
        let delivery = LogDelivery(revision: nextRevision, entries: entries)
        nextRevision += 1
        perform { machine, now, actions in machine.orderedDelivered(delivery, now: now, into: &actions) }
    }

    mutating func advance(millis: Int64) {
        now.wallMillis += millis
        now.monotonicNanos += millis * 1_000_000
        for (timer, at) in timers.sorted(by: { $0.value < $1.value }) where at <= now.monotonicNanos {
            timers[timer] = nil
            perform { machine, now, actions in machine.timerFired(timer, now: now, into: &actions) }
        }
    }

    func replies(_ id: ConnectionID) -> [ParsedOutput.Reply] { outputs[id]?.replies ?? [] }
}

func create(_ path: String, _ data: String = "", flags: Int32 = 0) -> ZooKeeperRequest {
    .create2(CreateRequest(path: path, data: Array(data.utf8), acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "world", id: "anyone"))], flags: flags))
}

func setData(_ path: String, _ data: String) -> ZooKeeperRequest {
    .setData(SetDataRequest(path: path, data: Array(data.utf8), version: -1))
}

@Suite struct ServerEngineStateMachineTests {
    @Test func writesWaitForTheLogAndReadsOfDurableDataDoNot() {
        var h = EngineHarness()
        let a = h.open()
        h.handshake(a)
        h.readComplete()
        h.completeAllAppends()
        #expect(h.outputs[a]?.connected == true)
        h.send(a, create("/x", "1"))
        h.readComplete()
        #expect(h.replies(a).isEmpty, "the create's reply waits for its fsync")
        #expect(h.appends.count == 1)
        h.completeAppend()
        #expect(h.replies(a).count == 1)
        // A read of durable data leaves with its batch, without a log append.
        h.send(a, .getData(GetDataRequest(path: "/x", watch: false)))
        h.readComplete()
        #expect(h.appends.isEmpty)
        #expect(h.replies(a).count == 2)
        #expect(h.violations.isEmpty, "\(h.violations)")
    }

    @Test func aReadAfterAPendingWriteOfItsConnectionWaitsBehindIt() {
        var h = EngineHarness()
        let a = h.open()
        h.handshake(a)
        h.readComplete()
        h.completeAllAppends()
        h.send(a, create("/x"))
        h.send(a, .exists(ExistsRequest(path: "/", watch: false)))
        h.readComplete()
        #expect(h.replies(a).isEmpty)
        h.completeAppend()
        #expect(h.replies(a).map(\.xid) == [1, 2])
    }

    @Test func aLogFailureAcknowledgesNothingMoreAndClosesEverything() {
        var h = EngineHarness()
        let a = h.open()
        let b = h.open()
        h.handshake(a)
        h.handshake(b)
        h.readComplete()
        h.completeAllAppends()
        h.send(a, create("/lost"))
        h.readComplete()
        h.appends.removeAll()
        h.perform { machine, _, actions in machine.logFailed(.io(operation: "fdatasync", path: "log", errno: 28, message: "No space left on device"), into: &actions) }
        #expect(h.fatal != nil)
        #expect(h.replies(a).isEmpty, "the failed write is never acknowledged")
        #expect(h.closed == [a, b])
        #expect(h.machine.failed)
        // No new connections while failed.
        h.perform { machine, now, _ in #expect(machine.connectionOpened(remoteAddress: "x", remotePort: 1, now: now) == nil) }
    }

    @Test func shutdownSubmitsPendingWritesAndClosesAfterTheirReplies() {
        var h = EngineHarness(configure: { $0.commitPacing.delayFactor = 3 })
        let a = h.open()
        h.handshake(a)
        h.readComplete()
        h.completeAllAppends()
        h.send(a, create("/x"))
        // Shutdown before the batch ended: the pending record is submitted now, not paced.
        h.perform { machine, now, actions in machine.beginShutdown(now: now, into: &actions) }
        #expect(h.appends.count == 1)
        h.completeAllAppends()
        #expect(h.replies(a).count == 1)
        h.perform { machine, _, actions in machine.closeAllConnections(into: &actions) }
        #expect(h.closed == [a])
        h.perform { machine, now, _ in #expect(machine.connectionOpened(remoteAddress: "x", remotePort: 1, now: now) == nil) }
    }

    @Test func manyWritersArePacedAndTheTimerSubmits() {
        var h = EngineHarness(configure: { $0.commitPacing.delayFactor = 3 })
        var ids: [ConnectionID] = []
        for _ in 0..<6 {
            let id = h.open()
            h.handshake(id)
            ids.append(id)
        }
        h.readComplete()
        h.completeAllAppends()
        // Teach the pacer a commit time: one append that takes 1 ms (spacing: 3 x 1 ms).
        for (n, id) in ids.enumerated() { h.send(id, create("/w\(n)")) }
        h.readComplete()
        #expect(h.appends.count == 1)
        h.now.monotonicNanos += 1_000_000
        h.completeAppend()
        for (n, id) in ids.enumerated() { h.send(id, setData("/w\(n)", "v")) }
        h.readComplete()
        #expect(h.appends.isEmpty, "paced: six writers, the last submission 1 ms ago, spacing 3 ms")
        #expect(h.timers[.pacedSubmit] != nil)
        h.advance(millis: 2)
        #expect(h.appends.count == 1, "the paced timer submitted")
        h.completeAllAppends()
        #expect(ids.allSatisfy { h.replies($0).count == 2 })
        #expect(h.violations.isEmpty, "\(h.violations)")
    }

    @Test func snapshotsFollowTheThreshold() {
        var h = EngineHarness(configure: { $0.snapCount = 4 })
        let a = h.open()
        h.handshake(a)
        h.readComplete()
        h.completeAllAppends()
        for n in 0..<4 {
            h.send(a, create("/s\(n)"))
            h.readComplete()
            h.completeAllAppends()
        }
        #expect(h.snapshots.count == 1, "snapCount 4: a snapshot after 2 to 3 transactions")
        // One at a time.
        for n in 4..<8 {
            h.send(a, create("/s\(n)"))
            h.readComplete()
        }
        #expect(h.snapshots.count == 1)
        h.perform { machine, _, _ in machine.snapshotCompleted(zxid: 1, error: nil) }
        h.send(a, create("/s9"))
        h.readComplete()
        #expect(h.snapshots.count == 2)
        #expect(h.machine.snapshotsTaken == 1)
    }

    @Test func ticksAreScheduledAtTheCoresDeadlineAndExpireSessions() {
        var h = EngineHarness(configure: { $0.tickTime = 100 })
        let a = h.open()
        h.handshake(a, timeout: 400)
        h.readComplete()
        h.completeAllAppends()
        #expect(h.timers[.tick] != nil)
        h.perform { machine, now, actions in machine.connectionClosed(a, now: now, into: &actions) }
        for _ in 0..<10 {
            h.advance(millis: 100)
            h.completeAllAppends()
        }
        #expect(h.machine.core.sessionCount == 0)
        #expect(h.machine.expiredSessions == 1)
    }

    @Test func undecodableFramesAreAnsweredAsZooKeeperDoes() {
        var h = EngineHarness()
        let a = h.open()
        h.handshake(a)
        h.readComplete()
        h.completeAllAppends()
        var frame = ByteBuffer()
        RequestHeader(xid: 5, type: 9999).juteEncode(into: &frame)
        h.perform { machine, now, actions in machine.frameReceived(a, frame, now: now, into: &actions) }
        h.readComplete()
        #expect(h.replies(a).first?.err == ErrorCode.unimplemented.rawValue)
        #expect(h.replies(a).first?.zxid == -1)
        #expect(h.closed.contains(a))
        // A frame shorter than a request header closes the connection.
        let b = h.open()
        h.handshake(b)
        h.readComplete()
        var short = ByteBuffer()
        short.writeInteger(Int16(1))
        h.perform { machine, now, actions in machine.frameReceived(b, short, now: now, into: &actions) }
        #expect(h.closed.contains(b))
    }

    // MARK: Back-pressure

    @Test func anUnwritableConnectionIsNotReadUntilItDrains() {
        var h = EngineHarness()
        let a = h.open()
        h.perform { machine, _, actions in machine.writabilityChanged(a, writable: false, into: &actions) }
        #expect(h.autoRead[a] == false)
        #expect(!h.machine.isReading(a))
        h.perform { machine, _, actions in machine.writabilityChanged(a, writable: true, into: &actions) }
        #expect(h.autoRead[a] == true)
    }

    @Test func globalOutstandingLimitPausesConnectionsWithRequestsInFlight() {
        var h = EngineHarness(configure: { $0.globalOutstandingLimit = 3 })
        let a = h.open()
        let idle = h.open()
        h.handshake(a)
        h.handshake(idle)
        h.readComplete()
        h.completeAllAppends()
        for n in 0..<4 { h.send(a, create("/p\(n)")) }
        #expect(h.autoRead[a] == false, "4 writes in flight > 3")
        #expect(h.autoRead[idle] == nil, "a connection with nothing in flight is not paused")
        h.readComplete()
        h.completeAllAppends()
        #expect(h.replies(a).count == 4)
        #expect(h.autoRead[a] == true)
        #expect(h.machine.inFlight == 0)
    }

    @Test func watchEventsToAClientThatDoesNotReadAreBoundedByClosingIt() {
        var h = EngineHarness(configure: { $0.clientOutputCloseLimit = 4096 })
        let watcher = h.open()
        let writer = h.open()
        h.handshake(watcher)
        h.handshake(writer)
        h.readComplete()
        h.completeAllAppends()
        h.send(writer, create("/hot"))
        h.readComplete()
        h.completeAllAppends()
        h.perform { machine, _, actions in machine.writabilityChanged(watcher, writable: false, into: &actions) }
        var rounds = 0
        while !h.closed.contains(watcher) && rounds < 200 {
            // The watcher re-arms (its requests were read before it stopped reading), the writer writes.
            h.send(watcher, .getData(GetDataRequest(path: "/hot", watch: true)))
            h.send(writer, setData("/hot", String(repeating: "v", count: 100)))
            h.readComplete()
            h.completeAllAppends()
            rounds += 1
        }
        #expect(h.closed.contains(watcher), "closed once more than the limit was queued while unwritable")
        #expect(rounds < 200)
        #expect(!h.closed.contains(writer))
        #expect(h.violations.isEmpty, "\(h.violations)")
    }

    // MARK: Property test

    @Test(arguments: Array(UInt64(1)...UInt64(40)))
    func randomSchedulesKeepTheEnginesPromises(seed: UInt64) {
        var rng = TestRandom(state: seed)
        var h = EngineHarness(configure: { configuration in
            configuration.commitPacing.delayFactor = rng.below(2) == 0 ? 0 : 3
            configuration.globalOutstandingLimit = 2 + rng.below(20)
            configuration.tickTime = 50
        }, seed: seed)
        var live: [ConnectionID] = []
        var closedBySession: Set<ConnectionID> = []
        let paths = ["/a", "/b", "/a/c"]
        for _ in 0..<3 {
            let id = h.open()
            h.handshake(id)
            live.append(id)
        }
        for _ in 0..<400 {
            switch rng.below(12) {
            case 0...4:
                let id = live[rng.below(live.count)]
                guard !h.closed.contains(id), !closedBySession.contains(id) else { continue }
                let path = paths[rng.below(paths.count)]
                switch rng.below(8) {
                case 0: h.send(id, create(path, "c"))
                case 1: h.send(id, setData(path, "\(rng.next())"))
                case 2: h.send(id, .getData(GetDataRequest(path: path, watch: true)))
                case 3: h.send(id, .exists(ExistsRequest(path: path, watch: true)))
                case 4: h.send(id, .delete(DeleteRequest(path: path, version: -1)))
                case 5: h.send(id, .ping)
                case 6: h.send(id, .multi([create("/m\(rng.below(3))"), setData(path, "m")]))
                default:
                    if rng.below(10) == 0 {
                        h.send(id, .closeSession)
                        closedBySession.insert(id)
                    } else {
                        h.send(id, .getChildren(GetChildrenRequest(path: "/", watch: true)))
                    }
                }
            case 5, 6: h.readComplete()
            case 7, 8: h.completeAppend()
            case 9: h.advance(millis: Int64(rng.below(20)))
            case 10:
                let id = live[rng.below(live.count)]
                h.perform { machine, _, actions in
                    machine.writabilityChanged(id, writable: rng.below(2) == 0, into: &actions)
                }
            default:
                if live.count < 6 {
                    let id = h.open()
                    h.handshake(id)
                    live.append(id)
                }
            }
        }
        h.readComplete()
        h.completeAllAppends()
        h.advance(millis: 10)
        h.completeAllAppends()
        #expect(h.violations.isEmpty, "seed \(seed): \(h.violations)")
        // Every request on a connection that stayed open was answered, exactly once.
        for id in live where !h.closed.contains(id) {
            let answered = h.replies(id).map(\.xid).filter { $0 >= 0 }
            let asked = (h.sent[id] ?? [:]).keys.filter { $0 >= 0 }.sorted()
            #expect(answered == asked, "seed \(seed) \(id): asked \(asked.count), answered \(answered.count)")
        }
        // A closeSession's close never overtakes the replies it must follow: everything asked before it, and the
        // closeSession itself, was answered before the connection closed.
        for id in closedBySession {
            guard let closeXid = h.sent[id]?.first(where: { $0.value == .closeSession })?.key else { continue }
            let answered = Set(h.replies(id).map(\.xid))
            let owed = (h.sent[id] ?? [:]).keys.filter { $0 >= 0 && $0 <= closeXid }
            #expect(owed.allSatisfy(answered.contains), "seed \(seed) \(id): a reply was lost to the close")
            #expect(h.closed.contains(id), "seed \(seed) \(id): closeSession closes the connection")
        }
        #expect(h.machine.heldCount == 0)
    }

    // MARK: The log seam

    /// The same request sequences through the local WAL and through an in-memory ordered log give identical
    /// trees, replies and watch events.
    @Test(arguments: Array(UInt64(1)...UInt64(10)))
    func anOrderedLogYieldsTheSameStateRepliesAndEvents(seed: UInt64) {
        var local = EngineHarness(ordering: .local, seed: seed)
        var ordered = EngineHarness(ordering: .ordered(replicaId: 0), seed: seed)
        var rng = TestRandom(state: seed &* 7919)
        var ids: [(ConnectionID, ConnectionID)] = []
        for _ in 0..<3 {
            let l = local.open()
            let o = ordered.open()
            #expect(l == o)
            local.handshake(l)
            ordered.handshake(o)
            ids.append((l, o))
        }
        func settle() {
            local.readComplete()
            local.completeAllAppends()
            ordered.readComplete()
            ordered.deliverOrdered()
        }
        settle()
        let paths = ["/a", "/b", "/a/x", "/b/y"]
        for _ in 0..<150 {
            let (l, o) = ids[rng.below(ids.count)]
            let path = paths[rng.below(paths.count)]
            let request: ZooKeeperRequest
            switch rng.below(7) {
            case 0: request = create(path, "d", flags: rng.below(3) == 0 ? 1 : 0)
            case 1: request = setData(path, "\(rng.below(100))")
            case 2: request = .getData(GetDataRequest(path: path, watch: true))
            case 3: request = .exists(ExistsRequest(path: path, watch: true))
            case 4: request = .delete(DeleteRequest(path: path, version: -1))
            case 5: request = .getChildren(GetChildrenRequest(path: "/", watch: true))
            default: request = create("/seq-", "s", flags: 2)
            }
            local.send(l, request)
            ordered.send(o, request)
            // Reads are served from the local tree: deliver the log at once, as the local WAL applies at once,
            // so that both see the same state.
            ordered.readComplete()
            ordered.deliverOrdered()
            if rng.below(3) == 0 { settle() }
            local.advance(millis: 1)
            ordered.advance(millis: 1)
        }
        settle()
        #expect(local.violations.isEmpty, "\(local.violations)")
        #expect(ordered.violations.isEmpty, "\(ordered.violations)")
        var localImage = ByteBuffer()
        local.machine.core.state.snapshotImage().encode(into: &localImage)
        var orderedImage = ByteBuffer()
        ordered.machine.core.state.snapshotImage().encode(into: &orderedImage)
        #expect(localImage == orderedImage, "identical trees, sessions and zxids, byte for byte")
        #expect(local.machine.core.lastZxid == ordered.machine.core.lastZxid)
        for (l, o) in ids {
            // Identical replies. Only a read's header zxid may differ: the local WAL caps it at the durable zxid
            // while a newer write is still being fsynced, and the ordered log's writes are durable when applied.
            func content(_ r: [ParsedOutput.Reply]) -> [String] { r.map { "\($0.xid) \($0.err) \(Array($0.body.readableBytesView))" } }
            #expect(content(local.replies(l)) == content(ordered.replies(o)), "identical replies")
            let zxids = ordered.replies(o).map(\.zxid)
            #expect(zxids == zxids.sorted(), "reply zxids never go down")
            #expect(local.outputs[l]?.events == ordered.outputs[o]?.events, "identical watch events")
        }
        #expect(ordered.appends.isEmpty, "the ordered log, not the local WAL, holds the writes")
    }
}
