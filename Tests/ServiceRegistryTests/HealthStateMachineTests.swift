import Testing

@testable import ServiceRegistry

/// The health state machine, driven by results and a manual clock.
@Suite struct HealthStateMachineTests {
    typealias Machine = HealthStateMachine<ManualClock.Instant>

    @Test func startsCriticalAndPassesOnFirstSuccess() {
        let clock = ManualClock()
        let machine = HealthDriver(HealthCheckPolicy(), now: clock.now)
        #expect(machine.status == .critical)
        #expect(!machine.isPassing)
        #expect(machine.record(.passed, now: clock.now) == [.markPassing])
        #expect(machine.isPassing)
        #expect(machine.criticalSince == nil)
    }

    @Test func canStartPassing() {
        let clock = ManualClock()
        let machine = HealthDriver(HealthCheckPolicy(initialStatus: .passing), now: clock.now)
        #expect(machine.isPassing)
        #expect(machine.record(.passed, now: clock.now) == [])
    }

    @Test func failureThreshold() {
        let clock = ManualClock()
        let machine = HealthDriver(HealthCheckPolicy(failuresBeforeCritical: 3, initialStatus: .passing), now: clock.now)
        #expect(machine.record(.failed("503"), now: clock.now) == [])
        clock.advance(by: .seconds(10))
        #expect(machine.record(.failed("503"), now: clock.now) == [])
        // A success in between resets the count.
        #expect(machine.record(.passed, now: clock.now) == [])
        #expect(machine.record(.failed("503"), now: clock.now) == [])
        #expect(machine.record(.failed("503"), now: clock.now) == [])
        clock.advance(by: .seconds(10))
        #expect(machine.record(.failed("503"), now: clock.now) == [.markCritical])
        #expect(machine.status == .critical)
        #expect(machine.criticalSince == clock.now)
        #expect(machine.consecutiveFailures == 3)
        // Staying critical does not repeat the directive.
        #expect(machine.record(.failed("503"), now: clock.now) == [])
    }

    @Test func successThreshold() {
        let clock = ManualClock()
        let machine = HealthDriver(HealthCheckPolicy(successesBeforePassing: 2, initialStatus: .passing), now: clock.now)
        #expect(machine.record(.failed("timeout"), now: clock.now) == [.markCritical])
        #expect(machine.record(.passed, now: clock.now) == [])
        #expect(machine.record(.failed("timeout"), now: clock.now) == [])
        #expect(machine.record(.passed, now: clock.now) == [])
        #expect(machine.record(.passed, now: clock.now) == [.markPassing])
        #expect(machine.isPassing)
    }

    @Test func deregistersWhenCriticalPastTheDeadline() {
        let clock = ManualClock()
        let policy = HealthCheckPolicy(deregisterCriticalAfter: .seconds(30), initialStatus: .passing)
        let machine = HealthDriver(policy, now: clock.now)
        #expect(machine.deregisterDeadline == nil)
        clock.advance(by: .seconds(5))
        #expect(machine.record(.failed("refused"), now: clock.now) == [.markCritical])
        #expect(machine.deregisterDeadline == clock.now.advanced(by: .seconds(30)))
        clock.advance(by: .seconds(29))
        #expect(machine.record(.failed("refused"), now: clock.now) == [])
        #expect(machine.tick(now: clock.now) == [])
        clock.advance(by: .seconds(1))
        #expect(machine.tick(now: clock.now) == [.deregister])
        #expect(machine.isDeregistered)
        #expect(machine.deregisterDeadline == nil)
        // Once only.
        clock.advance(by: .seconds(60))
        #expect(machine.record(.failed("refused"), now: clock.now) == [])
        #expect(machine.tick(now: clock.now) == [])
        // Recovery registers it again.
        #expect(machine.record(.passed, now: clock.now) == [.reregister])
        #expect(!machine.isDeregistered)
        #expect(machine.isPassing)
    }

    @Test func deadlineCountsFromTheStartWhenStartingCritical() {
        let clock = ManualClock()
        let machine = HealthDriver(HealthCheckPolicy(deregisterCriticalAfter: .seconds(10)), now: clock.now)
        #expect(machine.record(.failed("no"), now: clock.now) == [])
        clock.advance(by: .seconds(10))
        #expect(machine.record(.failed("no"), now: clock.now) == [.deregister])
    }

    @Test func recoveryBeforeTheDeadlineResetsIt() {
        let clock = ManualClock()
        let policy = HealthCheckPolicy(deregisterCriticalAfter: .seconds(10), initialStatus: .passing)
        let machine = HealthDriver(policy, now: clock.now)
        _ = machine.record(.failed("no"), now: clock.now)
        clock.advance(by: .seconds(9))
        #expect(machine.record(.passed, now: clock.now) == [.markPassing])
        clock.advance(by: .seconds(5))
        #expect(machine.record(.failed("no"), now: clock.now) == [.markCritical])
        clock.advance(by: .seconds(9))
        #expect(machine.tick(now: clock.now) == [])
        clock.advance(by: .seconds(1))
        #expect(machine.tick(now: clock.now) == [.deregister])
    }

    @Test func thresholdsAreAtLeastOne() {
        let policy = HealthCheckPolicy(failuresBeforeCritical: 0, successesBeforePassing: -3)
        #expect(policy.failuresBeforeCritical == 1)
        #expect(policy.successesBeforePassing == 1)
    }

    @Test func manualClockWakesSleepers() async throws {
        let clock = ManualClock()
        // Whether the sleeper parks before or after the advance, it wakes at t+5s.
        let sleeper = Task { try await clock.sleep(until: ManualClock.Instant(offset: .seconds(5)), tolerance: nil) }
        clock.advance(by: .seconds(2))
        clock.advance(by: .seconds(3))
        try await sleeper.value
        #expect(clock.now.offset == .seconds(5))
    }
}
