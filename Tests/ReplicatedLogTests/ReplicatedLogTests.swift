import ReplicatedLog
import Testing
import ZooKeeperWire

@Suite struct LogLayoutTests {
    @Test func keysAreUnderTheClusterAndSessionKeysRoundTrip() {
        let layout = LogLayout(cluster: "prod")
        #expect(String(decoding: layout.batchKey(replica: 3, incarnation: 0xabc, sequence: 7), as: UTF8.self)
            == "/zooreg/prod/log/b/03-0000000000000abc-0000000000000007")
        let key = layout.sessionKey(0x0123_4567_89ab_cdef)
        #expect(layout.sessionId(fromKey: key) == 0x0123_4567_89ab_cdef)
        #expect(layout.sessionId(fromKey: layout.batchKey(replica: 1, incarnation: 1, sequence: 1)) == nil)
        #expect(layout.sessionId(fromKey: LogLayout(cluster: "other").sessionKey(5)) == nil, "another cluster's key")
        #expect(layout.batchKey(replica: 1, incarnation: 1, sequence: 1).starts(with: layout.logPrefix))
        #expect(layout.sessionKey(1).starts(with: layout.logPrefix))
        #expect(!layout.memberKey(1).starts(with: layout.logPrefix), "membership is not in the watched log")
    }
}

@Suite struct LogApplierTests {
    let layout = LogLayout(cluster: "c")

    func batch(_ seq: UInt64, _ entries: [LogEntry]) -> [UInt8] {
        LogBatch(replicaId: 1, incarnation: 1, sequence: seq, entries: entries).encode()
    }

    func entry(_ n: Int64) -> LogEntry {
        LogEntry(connection: 1, kind: .disconnect, wallMillis: n, monotonicNanos: 0)
    }

    @Test func deliversOnePositionPerRevisionBatchFirstThenExpiries() {
        var applier = LogApplier(layout: layout, appliedRevision: 10)
        let events = [
            LogEvent(kind: .put, key: layout.batchKey(replica: 1, incarnation: 1, sequence: 1), value: batch(1, [entry(1), entry(2)]), modRevision: 11),
            LogEvent(kind: .put, key: layout.sessionKey(77), value: Array("4".utf8), modRevision: 11),
            LogEvent(kind: .delete, key: layout.sessionKey(55), value: [], modRevision: 12),
            LogEvent(kind: .put, key: layout.batchKey(replica: 2, incarnation: 1, sequence: 1), value: batch(1, [entry(3)]), modRevision: 13),
            // A compaction deleting an old batch is not an entry.
            LogEvent(kind: .delete, key: layout.batchKey(replica: 2, incarnation: 1, sequence: 0), value: [], modRevision: 14),
        ]
        let (deliveries, problems) = applier.apply(events)
        #expect(problems.isEmpty)
        #expect(deliveries.map(\.revision) == [11, 12, 13, 14])
        #expect(deliveries[0].entries.map(\.wallMillis) == [1, 2])
        #expect(deliveries[1].entries.map(\.kind) == [.expire(sessionId: 55)])
        #expect(deliveries[3].entries.isEmpty)
        #expect(applier.appliedRevision == 14)
        // A reopened watch repeats revisions: they are not applied twice.
        let again = applier.apply(events)
        #expect(again.deliveries.isEmpty)
    }

    @Test func aCorruptBatchIsSkippedAndReported() {
        var applier = LogApplier(layout: layout, appliedRevision: 0)
        var bad = batch(1, [entry(1)])
        bad[bad.count - 1] ^= 0xFF
        let (deliveries, problems) = applier.apply([
            LogEvent(kind: .put, key: layout.batchKey(replica: 1, incarnation: 1, sequence: 1), value: bad, modRevision: 5)
        ])
        #expect(deliveries == [LogDelivery(revision: 5, entries: [])], "the position still moves on, empty")
        #expect(problems.count == 1)
    }

    @Test func progressMovesThePositionOnlyForward() {
        var applier = LogApplier(layout: layout, appliedRevision: 8)
        #expect(applier.caughtUp(to: 7) == nil)
        #expect(applier.caughtUp(to: 9) == LogDelivery(revision: 9, entries: []))
        #expect(applier.appliedRevision == 9)
    }
}

@Suite struct BatchLimitsTests {
    func connect(_ sid: Int64) -> LogEntry {
        let request = ConnectRequest(lastZxidSeen: 0, timeOut: 4000, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16), readOnly: false)
        return LogEntry(connection: 1, kind: .connect(request, password: [1], sessionId: sid, remoteAddress: "a"), wallMillis: 0, monotonicNanos: 0)
    }

    func write(_ size: Int) -> LogEntry {
        let request = ZooKeeperRequest.setData(SetDataRequest(path: "/x", data: [UInt8](repeating: 7, count: size), version: -1))
        return LogEntry(connection: 1, kind: .request(xid: 1, request, sessionId: 1, authInfo: []), wallMillis: 0, monotonicNanos: 0)
    }

    @Test func batchesStayUnderTheLimitsAndAlwaysTakeOne() {
        let limits = BatchLimits(maxBytes: 1000, maxEntries: 3, maxNewSessions: 2)
        #expect(limits.take(from: [write(10), write(10), write(10), write(10)]) == 3, "entry cap")
        #expect(limits.take(from: [write(400), write(400), write(400)]) == 2, "byte cap")
        #expect(limits.take(from: [write(5000)]) == 1, "an entry larger than the cap still goes, alone")
        #expect(limits.take(from: [connect(1), connect(2), connect(3)]) == 2, "new sessions add keys to the transaction")
        #expect(limits.take(from: [LogEntry]()) == 0)
        #expect(connect(9).newSessionId == 9)
        #expect(write(1).newSessionId == nil)
    }
}

@Suite struct LeaseRenewalsTests {
    /// A lease always runs at least to the session timeout after the client's last contact: the renewal that
    /// covers a contact comes at or after it.
    @Test func renewalsFollowContactAndAreSpacedByAThirdOfTheTTL() {
        var renewals = LeaseRenewals()
        let ttl: Int64 = 3000
        #expect(renewals.due(nowMillis: 0) { _ in ttl }.isEmpty, "nothing heard, nothing renewed")
        renewals.heardFrom([1])
        #expect(renewals.due(nowMillis: 100) { _ in ttl } == [1])
        renewals.heardFrom([1])
        #expect(renewals.due(nowMillis: 500) { _ in ttl }.isEmpty, "too soon after the last renewal")
        #expect(renewals.due(nowMillis: 1100) { _ in ttl } == [1], "a third of the TTL later, still heard")
        #expect(renewals.due(nowMillis: 5000) { _ in ttl }.isEmpty, "not heard since: the lease runs out")
        renewals.heardFrom([2])
        renewals.forget(2)
        #expect(renewals.due(nowMillis: 6000) { _ in ttl }.isEmpty)
    }

    /// Simulated: for random contact times, the lease's end (last renewal + TTL) is never before the last
    /// contact + TTL, and not later than a third of the TTL plus one round after it.
    @Test(arguments: Array(UInt64(1)...UInt64(20)))
    func leasesNeverEndBeforeTheTimeoutAfterLastContact(seed: UInt64) {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var renewals = LeaseRenewals()
        let ttl: Int64 = 4000
        let round: Int64 = 200
        var lastContact: Int64 = -1
        var lastRenewal: Int64 = -1
        var now: Int64 = 0
        while now < 60_000 {
            // Contacts at random moments inside the round, for a while, then silence.
            if now < 30_000 && next() % 3 == 0 {
                lastContact = now + Int64(next() % UInt64(round))
                renewals.heardFrom([1])
            }
            now += round
            if renewals.due(nowMillis: now, ttlMillis: { _ in ttl }) == [1] { lastRenewal = now }
        }
        #expect(lastContact >= 0)
        #expect(lastRenewal >= lastContact, "the last renewal follows the last contact")
        #expect(lastRenewal + ttl >= lastContact + ttl)
        #expect(lastRenewal - lastContact <= ttl / 3 + round)
    }
}
