import ZooKeeperClient

@testable import ServiceRegistry

// Swift Testing's #expect evaluates a member call on a copy of its base, so a mutating call cannot appear
// inside it. These reference wrappers let tests write `#expect(machine.start() == …)` step by step.

final class CreateDriver {
    var machine: ProtectedCreate
    init(_ machine: ProtectedCreate) { self.machine = machine }
    var nodeName: String { machine.nodeName }
    func start() -> ProtectedCreate.Step { machine.start() }
    func created(path: String) -> ProtectedCreate.Step { machine.created(path: path) }
    func createFailed(_ code: ErrorCode) -> ProtectedCreate.Step { machine.createFailed(code) }
    func parentsCreated() -> ProtectedCreate.Step { machine.parentsCreated() }
    func failed(_ code: ErrorCode, during step: ProtectedCreate.Step) -> ProtectedCreate.Step {
        machine.failed(code, during: step)
    }
    func connectionRestored() -> ProtectedCreate.Step { machine.connectionRestored() }
    func listed(_ children: [String]) -> ProtectedCreate.Step { machine.listed(children) }
    func checked(_ stat: Stat?) -> ProtectedCreate.Step { machine.checked(stat) }
    func deleted() -> ProtectedCreate.Step { machine.deleted() }
}

final class HealthDriver {
    var machine: HealthStateMachine<ManualClock.Instant>
    init(_ policy: HealthCheckPolicy, now: ManualClock.Instant) { machine = .init(policy: policy, now: now) }
    func record(_ result: HealthCheckResult, now: ManualClock.Instant) -> [HealthDirective] {
        machine.record(result, now: now)
    }
    func tick(now: ManualClock.Instant) -> [HealthDirective] { machine.tick(now: now) }
    var status: HealthStatus { machine.status }
    var isPassing: Bool { machine.isPassing }
    var isDeregistered: Bool { machine.isDeregistered }
    var criticalSince: ManualClock.Instant? { machine.criticalSince }
    var deregisterDeadline: ManualClock.Instant? { machine.deregisterDeadline }
    var consecutiveFailures: Int { machine.consecutiveFailures }
}

final class CacheDriver {
    var cache = ServiceCacheState()
    func setInstance(service: String, node: String, _ instance: ServiceInstance?) -> Bool {
        cache.setInstance(service: service, node: node, instance)
    }
    func applyServiceChildren(_ service: String, _ children: [String]?) -> Bool {
        cache.applyServiceChildren(service, children)
    }
    func applyBaseChildren(_ children: [String]?) -> Set<String> { cache.applyBaseChildren(children) }
    func replaceAll(_ new: [String: [String: ServiceInstance]]) -> Set<String> { cache.replaceAll(new) }
    func instances(of service: String) -> [ServiceInstance] { cache.instances(of: service) }
    func healthyInstances(of service: String) -> [ServiceInstance] { cache.healthyInstances(of: service) }
    func nodes(of service: String) -> [(node: String, instance: ServiceInstance)] { cache.nodes(of: service) }
    var serviceNames: [String] { cache.serviceNames }
    var instanceCount: Int { cache.instanceCount }
    var services: [String: [String: ServiceInstance]] { cache.services }
}

final class ProviderDriver {
    var state: ProviderState
    var generator: SplitMix64
    init(_ strategy: ProviderStrategy, seed: UInt64) {
        state = ProviderState(strategy: strategy)
        generator = SplitMix64(seed: seed)
    }
    func choose(from instances: [ServiceInstance]) -> ServiceInstance? { state.choose(from: instances, using: &generator) }
    var stickyID: String? { state.stickyID }
}
