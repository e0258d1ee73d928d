import NIOConcurrencyHelpers

/// How a `ServiceProvider` picks one instance among the healthy ones, as Curator's provider strategies.
public enum ProviderStrategy: String, Sendable, Hashable, CaseIterable {
    /// A uniformly random instance each time.
    case random
    /// Each instance in turn (in znode-name order).
    case roundRobin
    /// The same instance as last time while it is still there; otherwise a random one, which then sticks.
    case sticky
}

/// The memory of a strategy (round-robin position, sticky choice), as a pure value.
public struct ProviderState: Sendable, Hashable {
    public let strategy: ProviderStrategy
    private var position = 0
    /// The id of the instance a sticky provider sticks to.
    public private(set) var stickyID: String?

    public init(strategy: ProviderStrategy) {
        self.strategy = strategy
    }

    /// Picks from `instances` (nil when empty).
    public mutating func choose<R: RandomNumberGenerator>(
        from instances: [ServiceInstance], using generator: inout R
    ) -> ServiceInstance? {
        guard !instances.isEmpty else { return nil }
        switch strategy {
        case .random:
            return instances[Int.random(in: 0..<instances.count, using: &generator)]
        case .roundRobin:
            let chosen = instances[position % instances.count]
            position = (position + 1) % Int(Int32.max)
            return chosen
        case .sticky:
            if let stickyID, let same = instances.first(where: { $0.id == stickyID }) { return same }
            let chosen = instances[Int.random(in: 0..<instances.count, using: &generator)]
            stickyID = chosen.id
            return chosen
        }
    }
}

/// Hands out one instance of a service per call, from the resolver's cache, with a strategy:
///
/// ```swift
/// let billing = resolver.provider(for: "billing", strategy: .roundRobin)
/// let instance = try await billing.next()
/// ```
public final class ServiceProvider: Sendable {
    public let service: String
    public let strategy: ProviderStrategy
    private let resolver: Resolver
    private let state: NIOLockedValueBox<ProviderState>

    init(resolver: Resolver, service: String, strategy: ProviderStrategy) {
        self.resolver = resolver
        self.service = service
        self.strategy = strategy
        self.state = NIOLockedValueBox(ProviderState(strategy: strategy))
    }

    /// One healthy instance. Throws as `Resolver.resolve` does (`noInstances`, `noHealthyInstances`,
    /// `unreachable`).
    public func next() async throws -> ServiceInstance {
        let resolution = try await resolver.resolve(service)
        var generator = SystemRandomNumberGenerator()
        guard let chosen = state.withLockedValue({ $0.choose(from: resolution.instances, using: &generator) }) else {
            throw ServiceRegistryError.noInstances(service: service)
        }
        return chosen
    }
}
