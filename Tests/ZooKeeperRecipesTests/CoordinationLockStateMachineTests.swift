import Testing
@testable import ZooKeeperRecipes

/// A manual instant: tests move time by hand.
struct TestInstant: InstantProtocol {
    var offset: Duration
    init(_ offset: Duration = .zero) { self.offset = offset }
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
}

private let guid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
private let guid2 = "11111111-2222-3333-4444-555555555555"

@Suite struct CoordinationLockSchemaTests {
    @Test func protectedNamesAreLowercaseAndMatchCurator() {
        #expect(LockProtectedName.make(guid: guid.uppercased(), name: "lock-") == "_c_\(guid)-lock-")
        #expect(LockProtectedName.make(guid: guid, name: "lock-").count == 40 + 5)
        #expect(LockProtectedName.matches("_c_\(guid)-lock-0000000003", guid: guid))
        #expect(!LockProtectedName.matches("_c_\(guid2)-lock-0000000003", guid: guid))
    }

    @Test func sortsBySequenceNotByGuid() {
        let children = [
            "_c_ffffffff-0000-0000-0000-000000000000-lock-0000000001",
            "_c_00000000-0000-0000-0000-000000000000-lock-0000000002",
            "_c_88888888-0000-0000-0000-000000000000-lock-0000000000",
        ]
        #expect(LockSchema.mutex.sorted(children).map { $0.suffix(1) } == ["0", "1", "2"])
    }

    @Test func mutexWaiterWatchesOnlyItsPredecessor() {
        let children = ["_c_a-lock-0000000002", "_c_b-lock-0000000000", "_c_c-lock-0000000001"]
        #expect(LockSchema.mutex.evaluate(children: children, ours: "_c_b-lock-0000000000") == .granted)
        #expect(LockSchema.mutex.evaluate(children: children, ours: "_c_c-lock-0000000001") == .watchNode("_c_b-lock-0000000000"))
        #expect(LockSchema.mutex.evaluate(children: children, ours: "_c_a-lock-0000000002") == .watchNode("_c_c-lock-0000000001"))
        #expect(LockSchema.mutex.evaluate(children: children, ours: "_c_d-lock-0000000009") == .missing)
    }

    @Test func readersShareUntilAWriterQueues() {
        let children = [
            "_c_a-__READ__0000000000", "_c_b-__READ__0000000001", "_c_c-__WRIT__0000000002",
            "_c_d-__READ__0000000003", "_c_e-__WRIT__0000000004",
        ]
        #expect(LockSchema.readLock.evaluate(children: children, ours: "_c_a-__READ__0000000000") == .granted)
        #expect(LockSchema.readLock.evaluate(children: children, ours: "_c_b-__READ__0000000001") == .granted)
        // A reader after a writer watches the first writer.
        #expect(LockSchema.readLock.evaluate(children: children, ours: "_c_d-__READ__0000000003") == .watchNode("_c_c-__WRIT__0000000002"))
        // A writer waits for whatever node precedes it, reader or writer.
        #expect(LockSchema.writeLock.evaluate(children: children, ours: "_c_c-__WRIT__0000000002") == .watchNode("_c_b-__READ__0000000001"))
        #expect(LockSchema.writeLock.evaluate(children: children, ours: "_c_e-__WRIT__0000000004") == .watchNode("_c_d-__READ__0000000003"))
    }

    @Test func leasesAreGrantedWhileAtMostMaxExist() {
        let schema = LockSchema.leases(max: 2)
        #expect(schema.evaluate(children: ["_c_a-lease-0000000000", "_c_b-lease-0000000001"], ours: "_c_b-lease-0000000001") == .granted)
        #expect(schema.evaluate(children: ["x-lease-0000000000", "y-lease-0000000001", "z-lease-0000000002"], ours: "z-lease-0000000002") == .watchChildren)
    }
}

@Suite struct CoordinationLockAttemptTests {
    typealias Attempt = LockAttempt<TestInstant>
    let t0 = TestInstant()

    @Test func createsProtectedNodeAndAcquiresWhenFirst() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil)
        #expect(attempt.start(guid: guid, now: t0) == .create(path: "/l/_c_\(guid)-lock-"))
        #expect(attempt.created(path: "/l/_c_\(guid)-lock-0000000000", now: t0) == .list(parent: "/l", watch: false))
        #expect(attempt.listed(["_c_\(guid)-lock-0000000000"], now: t0) == .acquired(path: "/l/_c_\(guid)-lock-0000000000"))
    }

    @Test func waitsOnPredecessorAndRelistsWhenItGoes() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        _ = attempt.created(path: "/l/_c_\(guid)-lock-0000000001", now: t0)
        let other = "_c_\(guid2)-lock-0000000000"
        #expect(attempt.listed([other, "_c_\(guid)-lock-0000000001"], now: t0) == .watchNode(path: "/l/\(other)"))
        #expect(attempt.watchSet(exists: true, now: t0) == .wait(deadline: nil))
        #expect(attempt.watchFired(now: t0) == .list(parent: "/l", watch: false))
        #expect(attempt.listed(["_c_\(guid)-lock-0000000001"], now: t0) == .acquired(path: "/l/_c_\(guid)-lock-0000000001"))
    }

    @Test func predecessorAlreadyGoneMeansLookAgain() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        _ = attempt.created(path: "/l/_c_\(guid)-lock-0000000001", now: t0)
        _ = attempt.listed(["_c_x-lock-0000000000", "_c_\(guid)-lock-0000000001"], now: t0)
        #expect(attempt.failed(.noNode, now: t0) == .list(parent: "/l", watch: false))
    }

    @Test func lostCreateReplyAdoptsTheNodeWithOurGuid() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        #expect(attempt.failed(.connectionLoss, now: t0) == .waitForConnection(deadline: nil))
        #expect(attempt.connectionRestored(now: t0) == .list(parent: "/l", watch: false))
        let mine = "_c_\(guid)-lock-0000000004"
        #expect(attempt.listed(["_c_x-lock-0000000003", mine], now: t0) == .watchNode(path: "/l/_c_x-lock-0000000003"))
        #expect(attempt.ourPath == "/l/\(mine)")
    }

    @Test func lostCreateReplyWithoutNodeCreatesAgain() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        _ = attempt.failed(.connectionLoss, now: t0)
        _ = attempt.connectionRestored(now: t0)
        #expect(attempt.listed(["_c_x-lock-0000000003"], now: t0) == .create(path: "/l/_c_\(guid)-lock-"))
    }

    @Test func missingParentIsCreatedAsContainers() {
        var attempt = Attempt(parent: "/a/l", schema: .mutex, deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        #expect(attempt.failed(.noNode, now: t0) == .createParents(of: "/a/l/x"))
        #expect(attempt.parentsCreated(now: t0) == .create(path: "/a/l/_c_\(guid)-lock-"))
    }

    @Test func deadlineDeletesOurNodeAndTimesOut() {
        let deadline = t0.advanced(by: .seconds(2))
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: deadline)
        _ = attempt.start(guid: guid, now: t0)
        _ = attempt.created(path: "/l/_c_\(guid)-lock-0000000001", now: t0)
        _ = attempt.listed(["_c_x-lock-0000000000", "_c_\(guid)-lock-0000000001"], now: t0)
        #expect(attempt.watchSet(exists: true, now: t0) == .wait(deadline: deadline))
        // Woken early (e.g. spuriously): still waiting.
        #expect(attempt.timeReached(now: t0.advanced(by: .seconds(1))) == .wait(deadline: deadline))
        #expect(attempt.timeReached(now: deadline) == .abandon(.node("/l/_c_\(guid)-lock-0000000001"), .timedOut))
    }

    @Test func timeoutWhileCreateInDoubtCleansUpByGuid() {
        let deadline = t0.advanced(by: .seconds(1))
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: deadline)
        _ = attempt.start(guid: guid, now: t0)
        #expect(attempt.failed(.connectionLoss, now: t0) == .waitForConnection(deadline: deadline))
        #expect(attempt.timeReached(now: deadline) == .abandon(.protected(parent: "/l", guid: guid), .timedOut))
    }

    @Test func cancellationAbandonsOurNode() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        _ = attempt.created(path: "/l/_c_\(guid)-lock-0000000001", now: t0)
        #expect(attempt.cancelled() == .abandon(.node("/l/_c_\(guid)-lock-0000000001"), .cancelled))
    }

    @Test func vanishedNodeRestartsWithANewGuidBounded() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil, maxRestarts: 1)
        _ = attempt.start(guid: guid, now: t0)
        _ = attempt.created(path: "/l/_c_\(guid)-lock-0000000001", now: t0)
        #expect(attempt.listed(["_c_x-lock-0000000000"], now: t0) == .restart)
        #expect(attempt.start(guid: guid2, now: t0) == .create(path: "/l/_c_\(guid2)-lock-"))
        _ = attempt.created(path: "/l/_c_\(guid2)-lock-0000000002", now: t0)
        #expect(attempt.listed([], now: t0) == .restart)
        guard case .abandon(.none, .error) = attempt.start(guid: guid, now: t0) else {
            Issue.record("expected to give up")
            return
        }
    }

    @Test func sessionExpiryFailsWithoutCleanup() {
        var attempt = Attempt(parent: "/l", schema: .mutex, deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        _ = attempt.created(path: "/l/_c_\(guid)-lock-0000000001", now: t0)
        #expect(attempt.failed(.sessionExpired, now: t0) == .abandon(.none, .error(ZooKeeperError(code: .sessionExpired, path: "/l"))))
    }

    @Test func semaphoreLeaseListsWithAChildWatch() {
        var attempt = Attempt(parent: "/s/leases", schema: .leases(max: 1), deadline: nil)
        _ = attempt.start(guid: guid, now: t0)
        #expect(attempt.created(path: "/s/leases/_c_\(guid)-lease-0000000001", now: t0) == .list(parent: "/s/leases", watch: true))
        #expect(attempt.listed(["_c_x-lease-0000000000", "_c_\(guid)-lease-0000000001"], now: t0) == .wait(deadline: nil))
        #expect(attempt.watchFired(now: t0) == .list(parent: "/s/leases", watch: true))
        #expect(attempt.listed(["_c_\(guid)-lease-0000000001"], now: t0) == .acquired(path: "/s/leases/_c_\(guid)-lease-0000000001"))
    }

    @Test func latchResumesWithItsNode() {
        var attempt = Attempt(parent: "/e", schema: .latch, deadline: nil)
        #expect(attempt.resume(ownedPath: "/e/_c_\(guid)-latch-0000000003") == .list(parent: "/e", watch: false))
        #expect(attempt.listed(["_c_\(guid)-latch-0000000003"], now: t0) == .acquired(path: "/e/_c_\(guid)-latch-0000000003"))
    }
}

@Suite struct CoordinationLockHoldTests {
    typealias Hold = LockHold<TestInstant>
    let t0 = TestInstant()

    @Test func sessionPolicyRidesOutAShortDisconnection() {
        var hold = Hold(policy: .sessionLoss, sessionTimeout: .seconds(4))
        #expect(hold.connection(.suspended, now: t0) == [.report(.suspended), .schedule(t0.advanced(by: .seconds(4)))])
        #expect(hold.connection(.reconnected, now: t0.advanced(by: .seconds(1))) == [.verifyNode])
        #expect(hold.nodeVerified(exists: true, now: t0.advanced(by: .seconds(1))) == [.report(.held)])
        // The old timer finds nothing to do.
        #expect(hold.tick(now: t0.advanced(by: .seconds(4))) == [])
        #expect(hold.status == .held)
    }

    @Test func sessionPolicyLosesAfterTheSessionTimeoutOfDisconnection() {
        var hold = Hold(policy: .sessionLoss, sessionTimeout: .seconds(4))
        _ = hold.connection(.suspended, now: t0)
        #expect(hold.tick(now: t0.advanced(by: .seconds(3))) == [.schedule(t0.advanced(by: .seconds(4)))])
        #expect(hold.tick(now: t0.advanced(by: .seconds(4))) == [.report(.lost(.suspendedTooLong))])
        // Nothing after the loss.
        #expect(hold.connection(.reconnected, now: t0.advanced(by: .seconds(5))) == [])
    }

    @Test func reconnectFindingTheNodeGoneIsALoss() {
        var hold = Hold(policy: .sessionLoss, sessionTimeout: .seconds(4))
        _ = hold.connection(.suspended, now: t0)
        _ = hold.connection(.reconnected, now: t0)
        #expect(hold.nodeVerified(exists: false, now: t0) == [.report(.lost(.nodeDeleted))])
    }

    @Test func suspensionPolicyLosesAtOnce() {
        var hold = Hold(policy: .suspension, sessionTimeout: .seconds(4))
        #expect(hold.connection(.suspended, now: t0) == [.report(.lost(.connectionSuspended))])
    }

    @Test func expiryNewSessionCloseAndDeletionAreLosses() {
        for (state, reason) in [(ConnectionState.expired, LockLossReason.sessionExpired), (.connected, .sessionExpired), (.closed, .clientClosed)] {
            var hold = Hold(policy: .sessionLoss, sessionTimeout: .seconds(4))
            #expect(hold.connection(state, now: t0) == [.report(.lost(reason))])
        }
        var hold = Hold(policy: .sessionLoss, sessionTimeout: .seconds(4))
        #expect(hold.nodeDeleted(now: t0) == [.report(.lost(.nodeDeleted))])
        #expect(hold.nodeDeleted(now: t0) == [])
    }
}
