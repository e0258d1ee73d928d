import Benchmark
import ServiceRegistry

// The resolver's cache answers `resolve()` locally: what a lookup costs once the cache is loaded. A
// `Resolver.resolve` hit is this lookup (ServiceCacheState.instances + the health filter) plus a lock and the
// already-loaded check; the target is under 1 µs.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], warmupIterations: 5, scalingFactor: .kilo,
        maxDuration: .seconds(2), maxIterations: 2000)

    func cache(services: Int, instancesEach: Int) -> ServiceCacheState {
        var cache = ServiceCacheState()
        for s in 0..<services {
            for i in 0..<instancesEach {
                let instance = ServiceInstance(
                    name: "service-\(s)", id: "id-\(s)-\(i)", address: "10.0.\(s % 250).\(i % 250)", port: 8000 + i,
                    registrationTimeUTC: 1_700_000_000_000)
                cache.setInstance(service: "service-\(s)", node: "id-\(s)-\(i)", instance)
            }
        }
        return cache
    }

    let small = cache(services: 100, instancesEach: 3)
    let wide = cache(services: 100, instancesEach: 50)
    let names = (0..<100).map { "service-\($0)" }

    Benchmark("ResolverCache/lookup + health filter (100 services × 3 instances)") { benchmark in
        var s = 0
        for _ in benchmark.scaledIterations {
            s = (s + 37) % 100
            let all = small.instances(of: names[s])
            blackHole(all.filter(\.enabled))
        }
    }

    Benchmark("ResolverCache/lookup + health filter (100 services × 50 instances)") { benchmark in
        var s = 0
        for _ in benchmark.scaledIterations {
            s = (s + 37) % 100
            let all = wide.instances(of: names[s])
            blackHole(all.filter(\.enabled))
        }
    }

    Benchmark("ResolverCache/round-robin provider pick (3 instances)") { benchmark in
        let instances = small.instances(of: "service-1")
        var state = ProviderState(strategy: .roundRobin)
        var generator = SystemRandomNumberGenerator()
        for _ in benchmark.scaledIterations {
            blackHole(state.choose(from: instances, using: &generator))
        }
    }
}
