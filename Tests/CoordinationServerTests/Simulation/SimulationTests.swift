import Foundation
import Testing

/// The deterministic simulation (`Simulation`): seeded runs of the real engine against `ReferenceModel`.
///
/// CI runs `SIM_SEEDS` seeds (default 20) of `SIM_STEPS` steps (default 2,000) each. The long mode is
/// `SIM_SEEDS=2000 SIM_STEPS=20000 swift test --filter SimulationTests` (see the README). A failing seed is
/// reproduced with `SIM_SEED=<n>`, and then belongs in `regressionSeeds` below.
@Suite(.serialized) struct SimulationTests {
    static func env(_ name: String) -> Int? { ProcessInfo.processInfo.environment[name].flatMap { Int($0) } }

    static var seeds: [UInt64] {
        if let one = env("SIM_SEED") { return [UInt64(one)] }
        let first = UInt64(env("SIM_FIRST_SEED") ?? 1)
        return (0..<UInt64(env("SIM_SEEDS") ?? 20)).map { first + $0 }
    }

    static var steps: Int { env("SIM_STEPS") ?? 2000 }

    /// Seeds that once failed (each a bug found and fixed); they run every time.
    static let regressionSeeds: [UInt64] = []

    @Test func randomSeedsAgreeWithTheReferenceModel() async {
        var total = (steps: 0, requests: 0, crashes: 0, expiries: 0, snapshots: 0, events: 0, replies: 0)
        for seed in Self.seeds + Self.regressionSeeds {
            // CPU-bound: let other tests' tasks run between seeds (the test pool has one thread per core).
            await Task.yield()
            var sim = Simulation(seed: seed)
            sim.run(steps: Self.steps)
            #expect(sim.failure == nil, "\(sim.failure ?? "")")
            if sim.failure != nil { return }
            total.steps += sim.step
            total.requests += sim.stats.requests
            total.crashes += sim.stats.crashes
            total.expiries += sim.stats.expiries
            total.snapshots += sim.stats.snapshots
            total.events += sim.stats.events
            total.replies += sim.stats.replies
        }
        print("simulation: \(Self.seeds.count + Self.regressionSeeds.count) seeds, \(total.steps) steps, \(total.requests) requests, \(total.replies) replies checked, \(total.events) watch events, \(total.crashes) crashes, \(total.snapshots) snapshots, \(total.expiries) session expiries")
        // The runs must exercise what they claim to check.
        if Self.seeds.count >= 10 && Self.steps >= 1000 {
            #expect(total.crashes > 0 && total.expiries > 0 && total.snapshots > 0 && total.events > 0)
        }
    }

    /// The ensemble: `SIM_ENSEMBLE_SEEDS` seeds (default 10) of `SIM_ENSEMBLE_STEPS` steps (default 1,500).
    @Test func ensembleReplicasAgreeAtEveryLogPosition() async {
        let first = UInt64(Self.env("SIM_FIRST_SEED") ?? 1)
        let seeds = Self.env("SIM_SEED").map { [UInt64($0)] } ?? (0..<UInt64(Self.env("SIM_ENSEMBLE_SEEDS") ?? 10)).map { first + $0 }
        let steps = Self.env("SIM_ENSEMBLE_STEPS") ?? 1500
        var total = (steps: 0, requests: 0, deliveries: 0, deaths: 0, bootstraps: 0, expiries: 0, comparisons: 0, moves: 0, stale: 0)
        for seed in seeds {
            await Task.yield()
            var sim = EnsembleSimulation(seed: seed)
            sim.run(steps: steps)
            #expect(sim.failure == nil, "\(sim.failure ?? "")")
            if sim.failure != nil { return }
            total.steps += sim.step
            total.requests += sim.stats.requests
            total.deliveries += sim.stats.deliveries
            total.deaths += sim.stats.deaths
            total.bootstraps += sim.stats.bootstraps
            total.expiries += sim.stats.expiries
            total.comparisons += sim.stats.comparisons
            total.moves += sim.stats.moves
            total.stale += sim.stats.staleLandings
        }
        print("ensemble simulation: \(seeds.count) seeds, \(total.steps) steps, \(total.requests) requests, \(total.deliveries) deliveries, \(total.comparisons) same-position comparisons, \(total.deaths) replica deaths (\(total.bootstraps) bootstrapped from a peer's snapshot), \(total.expiries) log expiries, \(total.moves) session moves (\(total.stale) stale batches landed after)")
        if seeds.count >= 5 && steps >= 1000 {
            #expect(total.comparisons > 0 && total.bootstraps > 0 && total.deaths > 0 && total.moves > 0 && total.stale > 0)
        }
    }

    @Test func aSeedReproducesExactly() {
        var a = Simulation(seed: 7)
        var b = Simulation(seed: 7)
        a.run(steps: 500)
        b.run(steps: 500)
        #expect(a.model == b.model)
        #expect(a.stats == b.stats)
    }
}
