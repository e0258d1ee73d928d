import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// Sessions as ZooKeeperServer.processConnectRequest and SessionTrackerImpl handle them, with a manual clock.
/// Default configuration: tickTime 2000, so timeouts are clamped to [4000, 40000].
@Suite struct SessionTests {
    static let zeroPassword = [UInt8](repeating: 0, count: 16)

    static func newSession(timeout: Int32 = 10_000, readOnly: Bool? = false, lastZxidSeen: Int64 = 0) -> ConnectRequest {
        ConnectRequest(lastZxidSeen: lastZxidSeen, timeOut: timeout, sessionId: 0, passwd: zeroPassword, readOnly: readOnly)
    }

    // MARK: Handshake

    @Test func handshakeCreatesALoggedSession() {
        var d = CoreDriver()
        let id = d.open()
        let password = d.freshPassword()
        let actions = d.handshake(id, Self.newSession(), password: password)
        #expect(actions.count == 2)
        guard case .log(let logged) = actions.first,
            case .createSession(let sid, let timeout, let pw) = logged.transaction
        else {
            Issue.record("expected a logged createSession first: \(actions)")
            return
        }
        #expect(sid != 0)
        #expect(timeout == 10_000)
        #expect(pw == password)
        #expect(logged.header.sessionId == sid)
        #expect(logged.header.zxid == 1)
        #expect(logged.header.time == d.clock.wall)
        #expect(actions.last == .send(id, .connectResponse(ConnectResponse(timeOut: 10_000, sessionId: sid, passwd: password, readOnly: false)), after: 1))
        #expect(d.state.sessions[sid] == SessionRecord(timeout: 10_000, password: password))
        #expect(d.machine.session(of: id) == sid)
        #expect(d.machine.sessionCount == 1)
        #expect(d.machine.lastZxid == 1)
    }

    @Test func oldClientsWithoutTheReadOnlyByteGetNoneBack() {
        var d = CoreDriver()
        let id = d.open()
        let actions = d.handshake(id, Self.newSession(readOnly: nil))
        #expect(actions.connectResponse(to: id)?.readOnly == nil)
        let id2 = d.open()
        #expect(d.handshake(id2, Self.newSession(readOnly: true)).connectResponse(to: id2)?.readOnly == false)
    }

    static let negotiations: [(Int32, Int32)] = [
        (0, 4000), (1, 4000), (3999, 4000), (4000, 4000), (10_000, 10_000), (40_000, 40_000),
        (40_001, 40_000), (Int32.max, 40_000), (-5, 4000),
    ]

    @Test(arguments: negotiations)
    func timeoutIsNegotiatedIntoMinAndMax(_ requested: Int32, _ negotiated: Int32) {
        var d = CoreDriver()
        let c = d.connect(timeout: requested)
        #expect(d.machine.negotiatedTimeout(of: c.sessionId) == negotiated)
        #expect(d.last.connectResponse(to: c.connection)?.timeOut == negotiated)
        #expect(d.state.sessions[c.sessionId]?.timeout == negotiated)
    }

    @Test func configuredMinAndMaxTimeouts() {
        var d = CoreDriver(config: CoreConfiguration(tickTime: 1000, minSessionTimeout: 5000, maxSessionTimeout: 6000))
        #expect(d.connect(timeout: 1000).sessionId != 0)
        #expect(d.last.connectResponse(to: ConnectionID(1))?.timeOut == 5000)
        let c = d.connect(timeout: 60_000)
        #expect(d.machine.negotiatedTimeout(of: c.sessionId) == 6000)
        let defaults = CoreConfiguration(tickTime: 3000)
        #expect(defaults.minSessionTimeout == 6000 && defaults.maxSessionTimeout == 60_000)
    }

    @Test func sessionIdsAreDistinct() {
        var d = CoreDriver()
        let ids = (0..<20).map { _ in d.connect().sessionId }
        #expect(Set(ids).count == 20)
        #expect(!ids.contains(0))
        #expect(!ids.contains(EphemeralKind.containerOwner))
    }

    @Test func aSecondHandshakeOnAConnectionClosesIt() {
        var d = CoreDriver()
        let c = d.connect()
        let actions = d.handshake(c.connection, Self.newSession())
        #expect(actions.closes.map(\.1) == [.duplicateHandshake])
        #expect(actions.logged.isEmpty)
    }

    @Test func clientAheadOfTheServerIsRefused() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/x")
        let ahead = d.machine.lastZxid + 1
        let id = d.open()
        let actions = d.handshake(id, Self.newSession(lastZxidSeen: ahead))
        #expect(actions == [.close(id, reason: .zxidAhead)])
        #expect(d.machine.sessionCount == 1)
        // Reattaching is refused the same way, and the session's connection is left alone.
        let (_, again) = d.reattach(c, lastZxidSeen: ahead)
        #expect(again.closes.map(\.1) == [.zxidAhead])
        #expect(again.connectResponse(to: ConnectionID(3)) == nil)
        #expect(d.getData(c, "/x").err == .ok)
        // Up to date is fine.
        let (_, ok) = d.reattach(c, lastZxidSeen: d.machine.lastZxid)
        #expect(ok.connectResponse(to: ConnectionID(4))?.sessionId == c.sessionId)
    }

    // MARK: Reattach

    @Test func reattachByIdAndPasswordClosesTheOldConnection() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/e", mode: .ephemeral)
        let logCount = d.logged.count
        let (again, actions) = d.reattach(c, timeout: 10_000)
        #expect(actions.connectResponse(to: again.connection) == ConnectResponse(
            timeOut: 10_000, sessionId: c.sessionId, passwd: c.password, readOnly: false))
        #expect(actions.closes.map(\.0) == [c.connection])
        #expect(actions.closes.map(\.1) == [.reconnectedElsewhere])
        #expect(d.logged.count == logCount)  // no new session
        #expect(d.machine.session(of: again.connection) == c.sessionId)
        #expect(d.machine.session(of: c.connection) == nil)
        #expect(d.exists("/e"))
        #expect(d.getData(again, "/e").err == .ok)
        #expect(d.stat("/e")?.ephemeralOwner == c.sessionId)
    }

    @Test func reattachAfterTheConnectionDropped() {
        var d = CoreDriver()
        let c = d.connect()
        d.closeConnection(c.connection)
        #expect(d.isAlive(c.sessionId))
        let (again, actions) = d.reattach(c)
        #expect(actions.closes.isEmpty)
        #expect(actions.connectResponse(to: again.connection)?.sessionId == c.sessionId)
    }

    @Test(arguments: [false, true])
    func wrongPasswordIsRejectedLikeZooKeeper(oldClient: Bool) {
        var d = CoreDriver()
        let c = d.connect()
        let id = d.open()
        var wrong = c.password
        wrong[0] ^= 0xFF
        let actions = d.handshake(id, ConnectRequest(
            lastZxidSeen: 0, timeOut: 10_000, sessionId: c.sessionId, passwd: wrong, readOnly: oldClient ? nil : false))
        // ZooKeeper answers timeOut 0, sessionId 0 and 16 zero bytes (in the shape the client used), then closes.
        let rejection = CoreAction.send(id, .connectResponse(ConnectResponse(
            timeOut: 0, sessionId: 0, passwd: Self.zeroPassword, readOnly: oldClient ? nil : false)), after: d.machine.lastZxid)
        let close = CoreAction.close(id, reason: .invalidSession)
        #expect(actions.filter { if case .send(id, _, _) = $0 { return true } else { return false } } == [rejection])
        #expect(actions.contains(close))
        #expect(actions.firstIndex(of: rejection)! < actions.firstIndex(of: close)!)
        #expect(actions.logged.isEmpty)
        #expect(d.isAlive(c.sessionId))
        #expect(d.machine.session(of: id) == nil)
    }

    @Test func unknownSessionIsRejected() {
        var d = CoreDriver()
        let id = d.open()
        let actions = d.handshake(id, ConnectRequest(
            lastZxidSeen: 0, timeOut: 10_000, sessionId: 0x5EED, passwd: Self.zeroPassword, readOnly: false))
        #expect(actions.connectResponse(to: id) == ConnectResponse.rejected(readOnly: false))
        #expect(actions.closes.map(\.1) == [.invalidSession])
    }

    // MARK: Expiry

    /// Touched last at `lastTouch` (the handshake at 0, then a ping), a 10 s session must still be alive at
    /// lastTouch + 10 s and gone by lastTouch + 10 s + one tick (ExpiryQueue rounds up to the next tick).
    @Test(arguments: [Int64(0), 1, 999, 1000, 1999, 2000, 2001, 3500, 7999])
    func expiryHappensWithinOneTickAfterTheTimeout(lastTouch: Int64) {
        var d = CoreDriver()
        let c = d.connect(timeout: 10_000)
        if lastTouch > 0 {
            d.clock.set(lastTouch)
            d.ping(c)
        }
        let deadline = lastTouch + 10_000
        var t = lastTouch
        while t <= deadline {
            let actions = d.tick(at: t)
            #expect(actions.isEmpty, "tick at \(t)")
            #expect(d.isAlive(c.sessionId), "alive at \(t)")
            t += 250
        }
        d.tick(at: deadline)  // the last instant it must be alive
        #expect(d.isAlive(c.sessionId))
        let actions = d.tick(at: deadline + 2000)  // one tick later it must be gone
        #expect(!d.isAlive(c.sessionId))
        #expect(actions.logged.map(\.transaction) == [.closeSession(sessionId: c.sessionId)])
        #expect(actions.closes.map(\.0) == [c.connection])
        #expect(actions.closes.map(\.1) == [.sessionExpired])
        #expect(d.state.sessions[c.sessionId] == nil)
    }

    @Test func anyRequestKeepsTheSessionAlive() {
        var d = CoreDriver()
        let c = d.connect(timeout: 4000)
        d.create(c, "/n")
        for t in stride(from: Int64(3000), through: 60_000, by: 3000) {
            d.tick(at: t)
            #expect(d.isAlive(c.sessionId), "at \(t)")
            if t % 6000 == 0 { d.ping(c) } else { d.getData(c, "/n") }
        }
        d.tick(at: 60_000 + 4000 + 2000)
        #expect(!d.isAlive(c.sessionId))
    }

    @Test func nextDeadlineTellsTheShellWhenToTick() {
        var d = CoreDriver()
        #expect(d.machine.nextDeadline == 2000)  // the first tick bucket
        _ = d.connect(timeout: 4000)
        d.tick(at: 2000)
        #expect(d.machine.nextDeadline == 4000)
        d.tick(at: 6000)
        #expect(d.machine.sessionCount == 0)
    }

    @Test func expiryDeletesEphemeralsInOneTransactionAndTellsWatchers() {
        var d = CoreDriver()
        let owner = d.connect(timeout: 4000)
        let watcher = d.connect(timeout: 40_000)
        d.create(owner, "/app")
        d.create(owner, "/app/e1", mode: .ephemeral)
        let e2 = d.create(owner, "/app/e-", mode: .ephemeralSequential).createdPath!
        d.create(owner, "/top", mode: .ephemeral)
        d.exists(watcher, "/app/e1", watch: true)
        d.getData(watcher, "/top", watch: true)
        d.getChildren(watcher, "/app", watch: true)
        d.getChildren(owner, "/app", watch: true)  // the expiring session's own watch fires too, before its close
        d.tick(at: 4000)
        #expect(d.isAlive(owner.sessionId))
        let actions = d.tick(at: 6000)
        #expect(!d.isAlive(owner.sessionId))
        #expect(d.isAlive(watcher.sessionId))
        // One transaction.
        #expect(actions.logged.count == 1)
        let txn = actions.logged[0]
        #expect(txn.transaction == .closeSession(sessionId: owner.sessionId))
        #expect(txn.header.sessionId == owner.sessionId)
        // The ephemerals are gone, the persistent parent stays.
        for p in ["/app/e1", e2, "/top"] { #expect(!d.exists(p), "\(p)") }
        #expect(d.exists("/app"))
        #expect(d.tree.ephemerals[owner.sessionId] == nil)
        #expect(d.stat("/app")?.pzxid == txn.header.zxid)
        #expect(d.stat("/app")?.cversion == 4)
        // Watchers heard NodeDeleted for the nodes and NodeChildrenChanged for the parent, once.
        let events = actions.events(to: watcher.connection).map(\.description).sorted()
        #expect(events == ["nodeChildrenChanged(/app)", "nodeDeleted(/app/e1)", "nodeDeleted(/top)"])
        // As with closeSession in ZooKeeper, the closing session's connection hears its own watches fire.
        #expect(actions.events(to: owner.connection).map(\.description) == ["nodeChildrenChanged(/app)"])
        // Events come after the log; the expired connection is closed after them.
        let logAt = actions.firstIndex { if case .log = $0 { return true } else { return false } }!
        #expect(actions.notificationIndices(to: watcher.connection).allSatisfy { $0 > logAt })
        #expect(actions.last == .close(owner.connection, reason: .sessionExpired))
        // The expired session can't come back.
        let (_, back) = d.reattach(owner)
        #expect(back.connectResponse(to: ConnectionID(3))?.sessionId == 0)
        #expect(back.closes.map(\.1) == [.invalidSession])
    }

    @Test func aDisconnectedSessionExpiresToo() {
        var d = CoreDriver()
        let c = d.connect(timeout: 4000)
        d.create(c, "/e", mode: .ephemeral)
        d.closeConnection(c.connection)
        d.tick(at: 4000)
        #expect(d.exists("/e"))
        let actions = d.tick(at: 6000)
        #expect(!d.exists("/e"))
        #expect(actions.closes.isEmpty)
        #expect(actions.logged.map(\.transaction) == [.closeSession(sessionId: c.sessionId)])
    }

    @Test func severalSessionsExpireInTheSameTick() {
        var d = CoreDriver()
        let a = d.connect(timeout: 4000)
        d.clock.set(500)
        let b = d.connect(timeout: 4000)
        d.create(a, "/a", mode: .ephemeral)
        d.create(b, "/b", mode: .ephemeral)
        let actions = d.tick(at: 6000)
        let expected = [a.sessionId, b.sessionId].sorted().map { Transaction.closeSession(sessionId: $0) }
        #expect(actions.logged.map(\.transaction) == expected)
        #expect(!d.exists("/a") && !d.exists("/b"))
    }

    // MARK: closeSession

    @Test func closeSessionRemovesEphemeralsAtOnce() {
        var d = CoreDriver()
        let c = d.connect()
        let watcher = d.connect()
        d.create(c, "/p")
        d.create(c, "/p/e1", mode: .ephemeral)
        d.create(c, "/p/e2", mode: .ephemeral)
        d.getChildren(watcher, "/p", watch: true)
        d.exists(watcher, "/p/e2", watch: true)
        let r = d.call(c, .closeSession, xid: 77)
        #expect(r.err == .ok)
        let actions = d.last
        #expect(actions.logged.map(\.transaction) == [.closeSession(sessionId: c.sessionId)])
        #expect(!d.exists("/p/e1") && !d.exists("/p/e2") && d.exists("/p"))
        #expect(actions.events(to: watcher.connection).map(\.description).sorted() == ["nodeChildrenChanged(/p)", "nodeDeleted(/p/e2)"])
        // Reply first, then the connection closes.
        let replyAt = actions.replyIndex(xid: 77, on: c.connection)!
        #expect(actions.last == .close(c.connection, reason: .closeSession))
        #expect(replyAt < actions.count - 1)
        #expect(!d.isAlive(c.sessionId))
        #expect(d.state.sessions[c.sessionId] == nil)
        // Nothing is left to expire later.
        d.closeConnection(c.connection)
        #expect(!d.tick(at: 100_000).logged.map(\.transaction).contains(.closeSession(sessionId: c.sessionId)))
    }

    @Test func closeSessionWithoutEphemeralsStillLogs() {
        var d = CoreDriver()
        let c = d.connect()
        d.call(c, .closeSession)
        #expect(d.last.logged.map(\.transaction) == [.closeSession(sessionId: c.sessionId)])
    }

    @Test func pingIsAnsweredWithTheLastZxid() {
        var d = CoreDriver()
        let c = d.connect()
        d.create(c, "/x")
        let r = d.call(c, .ping, xid: -2)
        #expect(r == Reply(xid: -2, zxid: d.machine.lastZxid, err: .ok, response: .empty))
        #expect(d.last.count == 1)
    }

    // MARK: Restart

    /// A server restarted from its durable state: every session gets a full timeout from the restart.
    @Test func restoredSessionsGetAFullTimeoutFromTheRestart() {
        var before = CoreDriver()
        let c = before.connect(timeout: 10_000)
        before.create(c, "/e", mode: .ephemeral)
        let other = before.connect(timeout: 20_000)
        before.clock.set(9_000)  // c's deadline would be 12000 had the server kept running
        let restartedAt: Int64 = 500_000
        var d = CoreDriver(state: before.state, clock: ManualClock(monotonic: restartedAt))
        #expect(d.machine.sessionCount == 2)
        #expect(d.machine.connectionCount == 0)
        for t in stride(from: restartedAt, through: restartedAt + 10_000, by: 1000) {
            #expect(d.tick(at: t).logged.isEmpty, "at \(t)")
        }
        #expect(d.isAlive(c.sessionId) && d.exists("/e"))
        let actions = d.tick(at: restartedAt + 12_000)
        #expect(actions.logged.map(\.transaction) == [.closeSession(sessionId: c.sessionId)])
        #expect(!d.exists("/e"))
        #expect(d.isAlive(other.sessionId))
        d.tick(at: restartedAt + 22_000)
        #expect(!d.isAlive(other.sessionId))
    }

    @Test func aRestoredSessionCanBeReattached() {
        var before = CoreDriver()
        let c = before.connect(timeout: 10_000)
        before.create(c, "/e", mode: .ephemeral)
        var d = CoreDriver(state: before.state, clock: ManualClock(monotonic: 0))
        d.clock.set(8_000)
        // A wrong password is still refused.
        let (_, refused) = d.reattach(c, password: Self.zeroPassword)
        #expect(refused.connectResponse(to: ConnectionID(1))?.sessionId == 0)
        let (again, actions) = d.reattach(c, lastZxidSeen: before.machine.lastZxid)
        #expect(actions.connectResponse(to: again.connection)?.sessionId == c.sessionId)
        #expect(actions.connectResponse(to: again.connection)?.passwd == c.password)
        // Reattaching touched it: alive well past the first deadline.
        d.tick(at: 8_000 + 10_000)
        #expect(d.isAlive(c.sessionId) && d.exists("/e"))
        // New sessions don't reuse a restored id, even with the same clock.
        let fresh = d.connect()
        #expect(fresh.sessionId != c.sessionId)
        #expect(fresh.sessionId > c.sessionId)
        // And the zxid continues.
        #expect(d.logged.first?.header.zxid == before.machine.lastZxid + 1)
    }
}
