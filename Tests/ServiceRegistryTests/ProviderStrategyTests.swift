import Testing
import ZooKeeperClient

@testable import ServiceRegistry

@Suite struct ProviderStrategyTests {
    let instances = (1...3).map { ServiceInstance(name: "api", id: "i\($0)", registrationTimeUTC: 1) }

    @Test func roundRobinCycles() {
        let state = ProviderDriver(.roundRobin, seed: 1)
        let picks = (0..<7).map { _ in state.choose(from: instances)!.id }
        #expect(picks == ["i1", "i2", "i3", "i1", "i2", "i3", "i1"])
        // Fewer instances: still in range.
        #expect(state.choose(from: Array(instances.prefix(1)))?.id == "i1")
    }

    @Test func randomCoversAllAndStaysInRange() {
        let state = ProviderDriver(.random, seed: 42)
        var counts: [String: Int] = [:]
        for _ in 0..<3000 { counts[state.choose(from: instances)!.id, default: 0] += 1 }
        #expect(counts.keys.sorted() == ["i1", "i2", "i3"])
        for count in counts.values { #expect((800...1200).contains(count)) }
    }

    @Test func stickyKeepsItsChoiceWhileItLasts() {
        let state = ProviderDriver(.sticky, seed: 7)
        let first = state.choose(from: instances)!
        for _ in 0..<20 { #expect(state.choose(from: instances) == first) }
        #expect(state.stickyID == first.id)
        let others = instances.filter { $0.id != first.id }
        let second = state.choose(from: others)!
        #expect(second.id != first.id)
        for _ in 0..<20 { #expect(state.choose(from: instances) == second) }
    }

    @Test func emptyGivesNil() {
        for strategy in ProviderStrategy.allCases {
            let state = ProviderDriver(strategy, seed: 1)
            #expect(state.choose(from: []) == nil)
        }
    }
}
