import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import ZooKeeperClient

/// What `Resolver.resolve` answers: the instances of a service from the local cache.
public struct Resolution: Sendable, Hashable, CustomStringConvertible {
    public var service: String
    /// The healthy instances (all of them when asked with `includeUnhealthy`), in znode-name order.
    public var instances: [ServiceInstance]
    /// Registered instances whose health check fails (`"enabled":false`); skipped unless `includeUnhealthy`.
    public var unhealthyCount: Int
    /// True while the resolver is not in sync with ZooKeeper (disconnected, session expired, or catching up
    /// after a reconnect): the answer is the last known state.
    public var isStale: Bool
    /// Where the answer came from: the registry, or mDNS on the LAN (for a DNS-SD name).
    public var source: ResolutionSource

    public init(
        service: String, instances: [ServiceInstance], unhealthyCount: Int, isStale: Bool,
        source: ResolutionSource = .registry
    ) {
        self.service = service
        self.instances = instances
        self.unhealthyCount = unhealthyCount
        self.isStale = isStale
        self.source = source
    }

    public var description: String {
        "\(service): \(instances.count) instance(s)" + (unhealthyCount > 0 ? ", \(unhealthyCount) unhealthy" : "")
            + (isStale ? " (stale)" : "") + (source == .mdns ? " (mDNS)" : "")
    }
}

/// Where a `Resolution` came from.
public enum ResolutionSource: String, Sendable, Hashable, CustomStringConvertible {
    /// The registry (ZooKeeper), through the resolver's cache: the source of truth.
    case registry
    /// Multicast DNS on the LAN: a view that can lag (a crashed peer's records stay in caches until their TTL).
    case mdns

    public var description: String { rawValue }
}

/// Looks DNS-SD names up on the LAN, for `Resolver`: implemented over Avahi by ServiceRegistryLAN's
/// `MDNSLookup` (this module does not depend on Avahi).
public protocol LANLookup: Sendable {
    /// The instances that a DNS-SD name stands for: one service instance (`"Office Printer._ipp._tcp.local"`) or
    /// every instance of a type (`"_ipp._tcp"`). Empty when none answered within `timeout`.
    func lookup(_ name: String, timeout: Duration) async throws -> [ServiceInstance]
}

extension Resolver {
    /// Whether `name` is a DNS-SD name rather than a registry name: it has a `_service._tcp` or `_service._udp`
    /// pair of labels (an instance name may come before it and a domain after it).
    public static func isDNSSDName(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for index in 1..<labels.count {
            let label = labels[index].lowercased()
            if (label == "_tcp" || label == "_udp") && labels[index - 1].hasPrefix("_") && labels[index - 1].count > 1 {
                return true
            }
        }
        return false
    }
}

/// Resolves service names from a local cache of the whole registry, fed by one persistent recursive watch on
/// the base path (addWatch, ZooKeeper 3.6+ and our server): `resolve(_:)` makes no network round trip once the
/// cache is loaded.
///
/// ```swift
/// let resolver = try Resolver(client: zk, logger: logger)
/// let billing = try await resolver.resolve("billing").instances
/// for await change in resolver.instances(of: "billing") { … }
/// ```
///
/// - Reads: the cache loads everything once (children, then data, pipelined), then re-reads what each watch
///   event names. After a reconnect it loads everything again, because ZooKeeper does not replay the changes a
///   persistent watch missed while disconnected. After a session expiry it starts a new session
///   (`reconnectWithNewSession`), sets the watch again and reloads.
/// - Staleness: while disconnected or catching up, answers are the last known state with `isStale`; with
///   `maxStaleness` set, answers older than that fail with `unreachable`.
/// - Health: instances written with `"enabled":false` (failing health checks) are skipped unless asked for.
/// - Lifecycle: it starts on first use (or `start()`), and as a swift-service-lifecycle `Service` its `run()`
///   keeps it until graceful shutdown. `close()` stops it. It never closes the client.
public final class Resolver: Service, Sendable {
    public struct Configuration: Sendable {
        /// Default `/services`.
        public var basePath: String = RegistryLayout.defaultBasePath
        /// How long the first `resolve` waits for the first load before failing with `unreachable`. Default 10 s.
        public var readyTimeout: Duration = .seconds(10)
        /// Fail with `unreachable` rather than answer from a cache stale for longer than this. nil (default)
        /// serves the last known state for as long as it takes.
        public var maxStaleness: Duration?
        /// Reads in flight at once during a full load. Default 256.
        public var maxConcurrentReads: Int = 256
        /// Answers DNS-SD names (`"Office Printer._ipp._tcp.local"`, `"_ipp._tcp"`) from mDNS; nil (default):
        /// only registry names.
        public var lanLookup: (any LANLookup)?
        /// How long a DNS-SD lookup waits for answers. Default 3 s.
        public var lanLookupTimeout: Duration = .seconds(3)

        public init(
            basePath: String = RegistryLayout.defaultBasePath, readyTimeout: Duration = .seconds(10),
            maxStaleness: Duration? = nil
        ) {
            self.basePath = basePath
            self.readyTimeout = readyTimeout
            self.maxStaleness = maxStaleness
        }
    }

    public let client: ZooKeeperClient
    public let layout: RegistryLayout
    public let configuration: Configuration
    let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let inbox = Inbox()

    /// Throws `ServiceRegistryError.invalidArgument` for an invalid base path.
    public init(client: ZooKeeperClient, configuration: Configuration = Configuration(), logger: Logger) throws {
        self.client = client
        self.configuration = configuration
        self.layout = try RegistryLayout(basePath: configuration.basePath)
        self.logger = logger
    }

    /// `Resolver(client:basePath:logger:)` with the other settings at their defaults.
    public convenience init(client: ZooKeeperClient, basePath: String, logger: Logger) throws {
        try self.init(client: client, configuration: Configuration(basePath: basePath), logger: logger)
    }

    deinit {
        state.withLockedValue { $0.worker?.cancel() }
    }

    // MARK: State

    private struct Subscriber {
        var service: String
        var includeUnhealthy: Bool
        var continuation: AsyncStream<Resolution>.Continuation
        var last: Resolution?
    }

    private struct State {
        var cache = ServiceCacheState()
        var loaded = false
        var fresh = false
        var staleSince: ContinuousClock.Instant? = .now
        var closed = false
        var worker: Task<Void, Never>?
        var nextID: UInt64 = 0
        var subscribers: [UInt64: Subscriber] = [:]
        var cacheSubscribers: [UInt64: AsyncStream<ServiceCacheState>.Continuation] = [:]
        var readyWaiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var lastError: String?

        func resolution(_ service: String, includeUnhealthy: Bool) -> Resolution {
            let all = cache.instances(of: service)
            let healthy = cache.healthyInstances(of: service)
            return Resolution(
                service: service, instances: includeUnhealthy ? all : healthy,
                unhealthyCount: all.count - healthy.count, isStale: !fresh)
        }
    }

    /// Whether answers are currently the last known state rather than in sync with ZooKeeper.
    public var isStale: Bool { state.withLockedValue { !$0.fresh } }

    /// Whether the first full load has completed.
    public var isLoaded: Bool { state.withLockedValue { $0.loaded } }

    /// A copy of the whole cache.
    public var snapshot: ServiceCacheState { state.withLockedValue { $0.cache } }

    // MARK: Resolving

    /// The instances of `service` from the cache. Waits for the first load (up to `readyTimeout`), then answers
    /// locally. Throws `noInstances` when none is registered, `noHealthyInstances` when all fail their checks
    /// (unless `includeUnhealthy`), `unreachable` when nothing could be loaded or the cache is stale past
    /// `maxStaleness`.
    ///
    /// With a `lanLookup` configured, a DNS-SD name (see `isDNSSDName`) that is not a registered service name is
    /// looked up on the LAN instead; the answer's `source` is then `.mdns`.
    public func resolve(_ service: String, includeUnhealthy: Bool = false) async throws -> Resolution {
        if let lanLookup = configuration.lanLookup, Self.isDNSSDName(service),
            !state.withLockedValue({ $0.loaded && $0.cache.contains(service: service) })
        {
            let found = try await lanLookup.lookup(service, timeout: configuration.lanLookupTimeout)
            let healthy = found.filter(\.enabled)
            let resolution = Resolution(
                service: service, instances: includeUnhealthy ? found : healthy,
                unhealthyCount: found.count - healthy.count, isStale: false, source: .mdns)
            if resolution.instances.isEmpty {
                if resolution.unhealthyCount > 0 {
                    throw ServiceRegistryError.noHealthyInstances(service: service, unhealthy: resolution.unhealthyCount)
                }
                throw ServiceRegistryError.noInstances(service: service)
            }
            return resolution
        }
        // The hit path takes the lock once: loaded, and the service is known (so its name is valid).
        let hit = state.withLockedValue { state -> (Resolution, ContinuousClock.Instant?)? in
            guard state.loaded, state.worker != nil, state.cache.contains(service: service) else { return nil }
            return (state.resolution(service, includeUnhealthy: includeUnhealthy), state.fresh ? nil : state.staleSince)
        }
        let (resolution, staleSince): (Resolution, ContinuousClock.Instant?)
        if let hit {
            (resolution, staleSince) = hit
        } else {
            try RegistryLayout.validateServiceName(service)
            try await waitUntilLoaded()
            (resolution, staleSince) = state.withLockedValue {
                ($0.resolution(service, includeUnhealthy: includeUnhealthy), $0.fresh ? nil : $0.staleSince)
            }
        }
        if let limit = configuration.maxStaleness, let staleSince, ContinuousClock.now - staleSince > limit {
            throw ServiceRegistryError.unreachable("the cache is stale for more than \(limit)")
        }
        if resolution.instances.isEmpty {
            if resolution.unhealthyCount > 0 {
                throw ServiceRegistryError.noHealthyInstances(service: service, unhealthy: resolution.unhealthyCount)
            }
            throw ServiceRegistryError.noInstances(service: service)
        }
        return resolution
    }

    /// The names of the registered services (children of the base path), from the cache.
    public func serviceNames() async throws -> [String] {
        try await waitUntilLoaded()
        return state.withLockedValue { $0.cache.serviceNames }
    }

    /// The instances of `service` now (once loaded) and after every change, including changes of staleness.
    /// Empty resolutions are yielded too (a service with no instance). The stream ends when the resolver is
    /// closed.
    public func instances(of service: String, includeUnhealthy: Bool = false) -> AsyncStream<Resolution> {
        let (stream, continuation) = AsyncStream<Resolution>.makeStream(bufferingPolicy: .unbounded)
        start()
        let id: UInt64? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            state.nextID += 1
            var subscriber = Subscriber(service: service, includeUnhealthy: includeUnhealthy, continuation: continuation)
            if state.loaded {
                let now = state.resolution(service, includeUnhealthy: includeUnhealthy)
                subscriber.last = now
                continuation.yield(now)
            }
            state.subscribers[state.nextID] = subscriber
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        let box = self.state
        continuation.onTermination = { _ in _ = box.withLockedValue { $0.subscribers.removeValue(forKey: id) } }
        return stream
    }

    /// The whole cache once loaded, and again after every change (coalesced: a slow reader gets the latest). For
    /// consumers of the whole registry, such as the LAN publisher. The stream ends when the resolver is closed.
    public func cacheUpdates() -> AsyncStream<ServiceCacheState> {
        let (stream, continuation) = AsyncStream<ServiceCacheState>.makeStream(bufferingPolicy: .bufferingNewest(1))
        start()
        let id: UInt64? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.cacheSubscribers[state.nextID] = continuation
            if state.loaded { continuation.yield(state.cache) }
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        let box = self.state
        continuation.onTermination = { _ in _ = box.withLockedValue { $0.cacheSubscribers.removeValue(forKey: id) } }
        return stream
    }

    /// A provider that picks one instance of `service` per call with a strategy.
    public func provider(for service: String, strategy: ProviderStrategy = .roundRobin) -> ServiceProvider {
        ServiceProvider(resolver: self, service: service, strategy: strategy)
    }

    /// Waits until the first full load completed, up to `readyTimeout`; throws `unreachable` otherwise.
    public func waitUntilLoaded(timeout: Duration? = nil) async throws {
        start()
        if state.withLockedValue({ $0.loaded }) { return }
        let timeout = timeout ?? configuration.readyTimeout
        let id = state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let box = self.state
        let timer = Task {
            try await Task.sleep(for: timeout)
            let waiter = box.withLockedValue { $0.readyWaiters.removeValue(forKey: id) }
            let reason = box.withLockedValue { $0.lastError } ?? "no answer from ZooKeeper"
            waiter?.resume(throwing: ServiceRegistryError.unreachable("\(reason) (waited \(timeout))"))
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = box.withLockedValue { state in
                    if state.loaded { return .success(()) }
                    if state.closed { return .failure(ServiceRegistryError.shutDown) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.readyWaiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            box.withLockedValue { $0.readyWaiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    // MARK: Lifecycle

    /// Starts loading and watching (idempotent; `resolve` and `instances(of:)` call it).
    public func start() {
        state.withLockedValue { state in
            guard state.worker == nil, !state.closed else { return }
            state.worker = Task { [weak self] in await self?.maintain() }
        }
    }

    /// `Service.run()`: starts, and keeps the cache until graceful shutdown or cancellation, then closes it.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        close()
    }

    /// Stops watching; the stream of `instances(of:)` end. The cache stays readable (stale). Idempotent.
    public func close() {
        let (worker, subscribers, waiters, cacheSubscribers) = state.withLockedValue { state in
            state.closed = true
            state.fresh = false
            let result = (
                state.worker, Array(state.subscribers.values), Array(state.readyWaiters.values),
                Array(state.cacheSubscribers.values)
            )
            state.subscribers = [:]
            state.readyWaiters = [:]
            state.cacheSubscribers = [:]
            return result
        }
        worker?.cancel()
        for subscriber in subscribers { subscriber.continuation.finish() }
        for subscriber in cacheSubscribers { subscriber.finish() }
        for waiter in waiters { waiter.resume(throwing: ServiceRegistryError.shutDown) }
    }

    // MARK: The worker

    private typealias Message = ResolverStateMachine.Message

    /// Messages for the worker: pushed from any task, drained in batches by the worker alone.
    private final class Inbox: Sendable {
        private let messages = NIOLockedValueBox<[Message]>([])
        let signals: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation

        init() {
            (signals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        func push(_ message: Message) {
            messages.withLockedValue { $0.append(message) }
            continuation.yield(())
        }

        func drain() -> [Message] {
            messages.withLockedValue { messages in
                defer { messages = [] }
                return messages
            }
        }
    }

    private func maintain() async {
        let states = client.states
        let inbox = self.inbox
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await connectionState in states { inbox.push(.state(connectionState)) }
            }
            await self.workLoop(group: &group)
            group.cancelAll()
        }
        markStale(reason: "closed")
    }

    /// Runs the `ResolverStateMachine`'s steps: the I/O (watch, reads) and the timers; the machine decides.
    private func workLoop(group: inout TaskGroup<Void>) async {
        var signals = inbox.signals.makeAsyncIterator()
        var machine = ResolverStateMachine(layout: layout)
        let inbox = self.inbox

        func perform(_ effects: [ResolverStateMachine.Effect]) {
            for effect in effects {
                switch effect {
                case .markStale(let reason): markStale(reason: reason)
                case .markFresh: markFresh()
                case .retry(let delay):
                    group.addTask {
                        try? await Task.sleep(for: delay)
                        inbox.push(.retry)
                    }
                case .reportUnsupported:
                    logger.error("The ZooKeeper server does not support addWatch (persistent recursive watches)")
                }
            }
        }

        while !Task.isCancelled {
            switch machine.next() {
            case .stop:
                return
            case .setWatch(let generation):
                do {
                    try await client.ensureSession()
                    let stream = try await client.addWatch(layout.basePath, mode: .persistentRecursive)
                    group.addTask {
                        do {
                            for try await event in stream { inbox.push(.event(event)) }
                            inbox.push(.watchEnded(generation: generation, error: nil))
                        } catch {
                            inbox.push(.watchEnded(generation: generation, error: "\(error)"))
                        }
                    }
                    machine.watchSet(generation: generation)
                } catch {
                    if Task.isCancelled || client.currentState == .closed { return }
                    let unsupported = (error as? ZooKeeperError)?.code == .unimplemented
                    if !unsupported { logger.debug("Resolver could not set its watch", metadata: ["error": "\(error)"]) }
                    perform(machine.watchFailed(
                        unsupported
                            ? "the server does not support persistent recursive watches (ZooKeeper 3.6+ does)"
                            : "\(error)",
                        unsupported: unsupported))
                }
            case .fullLoad:
                do {
                    try await fullLoad()
                    perform(machine.loaded())
                } catch {
                    if Task.isCancelled { return }
                    logger.debug("Resolver could not load the registry", metadata: ["error": "\(error)"])
                    perform(machine.loadFailed("\(error)"))
                }
            case .apply(let reads):
                do {
                    try await apply(reads)
                    perform(machine.applied())
                } catch {
                    if Task.isCancelled { return }
                    perform(machine.applyFailed("\(error)"))
                }
            case .wait:
                guard await signals.next() != nil else { return }
                for message in inbox.drain() { perform(machine.receive(message)) }
            }
        }
    }

    // MARK: Reads

    private func fullLoad() async throws {
        let started = ContinuousClock.now
        let client = self.client
        let layout = self.layout
        let names = try await Self.children(client, layout.basePath) ?? []
        let lists = try await Self.boundedMap(names, limit: configuration.maxConcurrentReads) { name in
            (name, try await Self.children(client, layout.servicePath(name)))
        }
        var tree: [String: [String: ServiceInstance]] = [:]
        var nodes: [(String, String)] = []
        for (name, children) in lists {
            guard let children else { continue }
            tree[name] = [:]
            for child in children { nodes.append((name, child)) }
        }
        let logger = self.logger
        let instances = try await Self.boundedMap(nodes, limit: configuration.maxConcurrentReads) { service, node in
            (service, node, try await Self.instance(client, layout, service: service, node: node, logger: logger))
        }
        for (service, node, instance) in instances {
            if let instance { tree[service]?[node] = instance }
        }
        let changed = state.withLockedValue { $0.cache.replaceAll(tree) }
        logger.debug(
            "Resolver loaded the registry",
            metadata: [
                "services": "\(tree.count)", "instances": "\(instances.count)",
                "ms": "\((ContinuousClock.now - started).zkWholeMilliseconds)",
            ])
        notify(changed, all: false)
    }

    private func apply(_ reads: [ServiceCacheState.Read]) async throws {
        let client = self.client
        let layout = self.layout
        let logger = self.logger
        enum Answer: Sendable {
            case base([String]?)
            case service(String, [String]?)
            case instance(String, String, ServiceInstance?)
        }
        let answers = try await Self.boundedMap(reads, limit: configuration.maxConcurrentReads) { read -> Answer in
            switch read {
            case .base:
                return .base(try await Self.children(client, layout.basePath))
            case .service(let name):
                return .service(name, try await Self.children(client, layout.servicePath(name)))
            case .instance(let service, let node):
                return .instance(
                    service, node, try await Self.instance(client, layout, service: service, node: node, logger: logger))
            }
        }
        let changed = state.withLockedValue { state -> Set<String> in
            var changed: Set<String> = []
            for answer in answers {
                switch answer {
                case .base(let children):
                    changed.formUnion(state.cache.applyBaseChildren(children))
                case .service(let name, let children):
                    if state.cache.applyServiceChildren(name, children) { changed.insert(name) }
                case .instance(let service, let node, let instance):
                    if state.cache.setInstance(service: service, node: node, instance) { changed.insert(service) }
                }
            }
            return changed
        }
        notify(changed, all: false)
    }

    /// Children of a path, nil when it does not exist.
    private static func children(_ client: ZooKeeperClient, _ path: String) async throws -> [String]? {
        do {
            return try await client.getChildren(path)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return nil
        }
    }

    /// The instance at a znode, nil when it does not exist or is not an instance.
    private static func instance(
        _ client: ZooKeeperClient, _ layout: RegistryLayout, service: String, node: String, logger: Logger
    ) async throws -> ServiceInstance? {
        let path = layout.instancePath(service: service, node: node)
        let data: [UInt8]
        do {
            data = Array(try await client.getData(path).data)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return nil
        }
        do {
            return try ServiceInstance(json: data)
        } catch {
            logger.warning("Ignoring a znode that is not a service instance", metadata: ["path": "\(path)", "error": "\(error)"])
            return nil
        }
    }

    /// Maps with at most `limit` transforms in flight (the client pipelines them on one connection); keeps order.
    static func boundedMap<T: Sendable, R: Sendable>(
        _ items: [T], limit: Int, _ transform: @escaping @Sendable (T) async throws -> R
    ) async throws -> [R] {
        if items.isEmpty { return [] }
        return try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var results = [R?](repeating: nil, count: items.count)
            var next = 0
            while next < min(limit, items.count) {
                let index = next
                group.addTask { (index, try await transform(items[index])) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < items.count {
                    let index = next
                    group.addTask { (index, try await transform(items[index])) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    // MARK: Notifications

    private func markFresh() {
        let (wasStale, waiters) = state.withLockedValue { state in
            let wasStale = !state.fresh
            state.fresh = !state.closed
            state.staleSince = nil
            state.lastError = nil
            state.loaded = true
            let waiters = Array(state.readyWaiters.values)
            state.readyWaiters = [:]
            return (wasStale, waiters)
        }
        for waiter in waiters { waiter.resume() }
        if wasStale {
            logger.debug("Resolver in sync")
            notify([], all: true)
        }
    }

    private func markStale(reason: String) {
        let wasFresh = state.withLockedValue { state in
            let wasFresh = state.fresh
            state.fresh = false
            state.lastError = reason
            if state.staleSince == nil { state.staleSince = .now }
            return wasFresh
        }
        if wasFresh {
            logger.info("Resolver serving the last known state", metadata: ["reason": "\(reason)"])
            notify([], all: true)
        }
    }

    private func notify(_ services: Set<String>, all: Bool) {
        let deliveries: [(AsyncStream<Resolution>.Continuation, Resolution)] = state.withLockedValue { state in
            guard state.loaded else { return [] }
            if !services.isEmpty || (all && state.fresh) {
                for subscriber in state.cacheSubscribers.values { subscriber.yield(state.cache) }
            }
            var out: [(AsyncStream<Resolution>.Continuation, Resolution)] = []
            for (id, subscriber) in state.subscribers where all || services.contains(subscriber.service) {
                let now = state.resolution(subscriber.service, includeUnhealthy: subscriber.includeUnhealthy)
                if now != subscriber.last {
                    state.subscribers[id]?.last = now
                    out.append((subscriber.continuation, now))
                }
            }
            return out
        }
        for (continuation, resolution) in deliveries { continuation.yield(resolution) }
    }
}
