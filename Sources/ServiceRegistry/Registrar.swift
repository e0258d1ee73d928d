#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import ZooKeeperClient

/// One registration of a `Registrar`.
public struct Registration: Sendable, Hashable, CustomStringConvertible {
    /// The instance as registered (its `enabled` follows its health check).
    public var instance: ServiceInstance
    /// The instance's znode, nil while it is not registered (not yet connected, between a session expiry and
    /// the next session, or deregistered for staying critical).
    public var path: String?
    /// The health status, nil without a health check.
    public var health: HealthStatus?

    public var description: String {
        "\(instance) at \(path ?? "(not registered)")" + (health.map { " [\($0)]" } ?? "")
    }
}

/// What happened to a registration; see `Registrar.events`.
public enum RegistrarEvent: Sendable, Hashable, CustomStringConvertible {
    /// The znode was created (or adopted after a lost create reply).
    case registered(id: String, path: String)
    /// Created again: after a session expiry, a new session, or the node's disappearance.
    case reregistered(id: String, path: String)
    /// The node's data was written (an update, a health change).
    case updated(id: String, path: String)
    /// The health status changed.
    case health(id: String, status: HealthStatus, result: HealthCheckResult)
    /// The znode was deleted: `deregister`, shutdown, or critical past the deadline.
    case deregistered(id: String, path: String, reason: String)
    /// Keeping the registration failed for now (it is retried).
    case failed(id: String, error: String)

    public var description: String {
        switch self {
        case .registered(let id, let path): return "registered \(id) at \(path)"
        case .reregistered(let id, let path): return "re-registered \(id) at \(path)"
        case .updated(let id, let path): return "updated \(id) at \(path)"
        case .health(let id, let status, let result): return "health of \(id): \(status) (\(result))"
        case .deregistered(let id, let path, let reason): return "deregistered \(id) from \(path) (\(reason))"
        case .failed(let id, let error): return "registration of \(id) failed: \(error)"
        }
    }
}

/// Registers service instances in ZooKeeper, Curator-compatibly, and keeps them registered.
///
/// ```swift
/// let registrar = try Registrar(client: zk, logger: logger)
/// try await registrar.register(ServiceInstance(name: "api", address: "10.0.0.5", port: 8080))
/// ```
///
/// - `register` creates `{basePath}/{name}/…` with container parents: an ephemeral sequential, protected znode
///   (`_c_<guid>-<id>0000000007`) for a generated id (`DYNAMIC_SEQUENTIAL`), an ephemeral znode at the id for a
///   given id (`DYNAMIC`), a persistent one for `STATIC`/`PERMANENT`. A create whose reply is lost is found and
///   adopted (see `ProtectedCreate`), never duplicated.
/// - It re-registers after a session expiry (it starts the new session itself with `reconnectWithNewSession`)
///   and checks its nodes after a reconnect.
/// - With a `HealthCheck`, the check runs every `interval`; the instance is written `"enabled":false` while
///   critical, and deregistered when critical past `deregisterCriticalAfter` (registered again on recovery).
/// - As a swift-service-lifecycle `Service`, `run()` keeps the registrations until graceful shutdown, then
///   deregisters them (put it after the client in the ServiceGroup, so it shuts down first). Outside a
///   ServiceGroup, call `shutdown()`.
public actor Registrar: Service {
    public struct Configuration: Sendable {
        /// Default `/services`.
        public var basePath: String = RegistryLayout.defaultBasePath
        /// The ACL of created znodes. Default world:anyone, all permissions (as Curator's default).
        public var acl: [ACL] = ACL.openUnsafe
        /// How long shutdown waits for the deletes. Default 5 s.
        public var shutdownTimeout: Duration = .seconds(5)
        public init(basePath: String = RegistryLayout.defaultBasePath) {
            self.basePath = basePath
        }
    }

    public nonisolated let client: ZooKeeperClient
    public nonisolated let layout: RegistryLayout
    public nonisolated let configuration: Configuration
    nonisolated let logger: Logger
    /// What happens to the registrations (one consumer; buffered).
    public nonisolated let events: AsyncStream<RegistrarEvent>
    private nonisolated let eventSink: AsyncStream<RegistrarEvent>.Continuation

    private struct Entry {
        var instance: ServiceInstance
        var wanted = true
        var path: String?
        var session: Int64?
        var written: ServiceInstance?
        var check: HealthCheck?
        var policy: HealthCheckPolicy?
        var health: HealthStatus?
        var healthTask: Task<Void, Never>?
        var everRegistered = false
    }

    private var entries: [String: Entry] = [:]
    private var busy: Set<String> = []
    private var lockWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var maintenance: Task<Void, Never>?
    private var isShutDown = false

    /// Throws `ServiceRegistryError.invalidArgument` for an invalid base path.
    public init(client: ZooKeeperClient, configuration: Configuration = Configuration(), logger: Logger) throws {
        self.client = client
        self.configuration = configuration
        self.layout = try RegistryLayout(basePath: configuration.basePath)
        self.logger = logger
        (events, eventSink) = AsyncStream<RegistrarEvent>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    public init(client: ZooKeeperClient, basePath: String, logger: Logger) throws {
        try self.init(client: client, configuration: Configuration(basePath: basePath), logger: logger)
    }

    // MARK: API

    /// Registers an instance and returns once its znode exists (waiting for a session if needed). With a
    /// health check, the first check runs before the znode is created, so the node starts with its result.
    /// Registering an id again updates it.
    @discardableResult
    public func register(
        _ instance: ServiceInstance, healthCheck: HealthCheck? = nil, policy: HealthCheckPolicy = HealthCheckPolicy()
    ) async throws -> Registration {
        guard !isShutDown else { throw ServiceRegistryError.shutDown }
        try RegistryLayout.validateServiceName(instance.name)
        guard RegistryLayout.isValidSegment(instance.id) else {
            throw ServiceRegistryError.invalidArgument("invalid instance id '\(instance.id)'")
        }
        if entries[instance.id] != nil, healthCheck == nil {
            try await update(instance)
            return registration(instance.id)!
        }
        if let existing = entries[instance.id], existing.instance.name != instance.name {
            throw ServiceRegistryError.invalidArgument("id '\(instance.id)' is registered for '\(existing.instance.name)'")
        }
        startMaintenance()
        var entry = Entry(instance: instance)
        var machine: HealthStateMachine<ContinuousClock.Instant>?
        if let healthCheck {
            var health = HealthStateMachine<ContinuousClock.Instant>(policy: policy, now: .now)
            let result = await healthCheck.run(timeout: policy.timeout)
            _ = health.record(result, now: .now)
            entry.instance.enabled = health.isPassing
            entry.check = healthCheck
            entry.policy = policy
            entry.health = health.status
            entry.wanted = !health.isDeregistered
            machine = health
            eventSink.yield(.health(id: instance.id, status: health.status, result: result))
        }
        if let existing = entries[instance.id] {
            // Registering an id again: keep its znode (it is updated in place, not duplicated).
            existing.healthTask?.cancel()
            entry.path = existing.path
            entry.session = existing.session
            entry.written = existing.written
            entry.everRegistered = existing.everRegistered
        }
        entries[instance.id] = entry
        do {
            try await reconcileUntilSettled(instance.id)
        } catch {
            entries[instance.id] = nil
            throw error
        }
        if let healthCheck, let machine {
            let id = instance.id
            entries[id]?.healthTask = Task { await self.healthLoop(id: id, check: healthCheck, machine: machine) }
        }
        return registration(instance.id)!
    }

    /// Replaces the registered data of `instance.id` (setData). With a health check, `enabled` keeps following
    /// the check.
    public func update(_ instance: ServiceInstance) async throws {
        guard var entry = entries[instance.id] else { throw ServiceRegistryError.notRegistered(id: instance.id) }
        guard entry.instance.name == instance.name else {
            throw ServiceRegistryError.invalidArgument("an update cannot change the service name")
        }
        var instance = instance
        instance.serviceType = entry.instance.serviceType
        if let health = entry.health { instance.enabled = health == .passing }
        entry.instance = instance
        entries[instance.id] = entry
        try await reconcileUntilSettled(instance.id)
    }

    /// Deletes the instance's znode and forgets it. While disconnected it waits for the connection (the node
    /// must not outlive the deregistration in a session that comes back); after a session expiry the node is
    /// already gone.
    public func deregister(id: String) async throws {
        guard entries[id] != nil else { throw ServiceRegistryError.notRegistered(id: id) }
        entries[id]?.healthTask?.cancel()
        entries[id]?.wanted = false
        defer { entries[id] = nil }
        let ephemeral = entries[id]!.instance.serviceType.isEphemeral
        switch client.currentState {
        case .expired? where ephemeral, .closed? where ephemeral:
            return
        default:
            try await client.connect()
        }
        try await reconcile(id, reason: "deregistered")
    }

    /// Deregisters everything (errors are logged).
    public func deregisterAll() async {
        let ids = Array(entries.keys)
        await withTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask {
                    do {
                        try await self.deregister(id: id)
                    } catch {
                        self.logger.warning(
                            "Could not deregister an instance", metadata: ["instance.id": "\(id)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// The current registrations.
    public var registrations: [Registration] {
        entries.keys.sorted().compactMap { registration($0) }
    }

    public func registration(_ id: String) -> Registration? {
        guard let entry = entries[id] else { return nil }
        return Registration(instance: entry.instance, path: entry.wanted ? entry.path : nil, health: entry.health)
    }

    /// `Service.run()`: keeps the registrations until graceful shutdown (or cancellation), then deregisters
    /// them.
    public func run() async throws {
        startMaintenance()
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Deregisters everything (bounded by `shutdownTimeout`) and stops. Idempotent.
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        for id in entries.keys { entries[id]?.healthTask?.cancel() }
        let timeout = configuration.shutdownTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.deregisterAll() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        maintenance?.cancel()
        maintenance = nil
        eventSink.finish()
    }

    // MARK: Keeping registrations

    private func startMaintenance() {
        guard maintenance == nil, !isShutDown else { return }
        let states = client.states
        maintenance = Task { await self.maintain(states) }
    }

    private func maintain(_ states: AsyncStream<ConnectionState>) async {
        for await state in states {
            if Task.isCancelled { return }
            switch state {
            case .expired:
                logger.warning("ZooKeeper session expired; registering again in a new session")
                do {
                    try await client.reconnectWithNewSession()
                } catch {
                    logger.debug("Starting a new session failed", metadata: ["error": "\(error)"])
                }
            case .connected:
                await reconcileAll(verify: false)
            case .reconnected, .readOnly:
                await reconcileAll(verify: true)
            case .closed:
                return
            case .suspended:
                break
            }
        }
    }

    /// Brings every registration in line with the current session, retrying while connected.
    private func reconcileAll(verify: Bool) async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled, !isShutDown, client.currentState?.isConnected == true {
            let ids = Array(entries.keys)
            let failures = await withTaskGroup(of: Bool.self) { group in
                for id in ids {
                    group.addTask {
                        do {
                            try await self.reconcile(id, verify: verify)
                            return false
                        } catch {
                            await self.reportFailure(id, error)
                            return true
                        }
                    }
                }
                var failures = 0
                for await failed in group where failed { failures += 1 }
                return failures
            }
            if failures == 0 { return }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    private func reportFailure(_ id: String, _ error: any Error) {
        logger.warning("Could not keep an instance registered", metadata: ["instance.id": "\(id)", "error": "\(error)"])
        eventSink.yield(.failed(id: id, error: "\(error)"))
    }

    /// Reconciles until the registration is settled in a live session (used by register and update, which
    /// return only then): waits for a session when there is none, starts a new one after expiry.
    private func reconcileUntilSettled(_ id: String) async throws {
        while true {
            guard !isShutDown else { throw ServiceRegistryError.shutDown }
            try await client.ensureSession()
            do {
                try await reconcile(id)
            } catch let error as ZooKeeperError
                where [.sessionExpired, .connectionLoss, .operationTimeout].contains(error.code) && !isShutDown
                && client.currentState != .closed
            {
                continue
            }
            guard let entry = entries[id] else { return }
            if let session = client.sessionID, client.currentState?.isConnected == true,
                !entry.wanted || (entry.path != nil && entry.written == entry.instance
                    && (!entry.instance.serviceType.isEphemeral || entry.session == session))
            {
                return
            }
        }
    }

    /// Makes the znode of one registration match what is wanted, in the current session. One reconciliation
    /// per registration at a time. Returns early when not connected (the next connection state reconciles).
    private func reconcile(_ id: String, verify: Bool = false, reason: String = "deregistered") async throws {
        await lock(id)
        defer { unlock(id) }
        var verify = verify
        for _ in 0..<16 {
            guard let entry = entries[id] else { return }
            guard let session = client.sessionID, client.currentState?.isConnected == true else { return }
            let ephemeral = entry.instance.serviceType.isEphemeral
            if !entry.wanted {
                if let path = entry.path {
                    if !ephemeral || entry.session == session {
                        do {
                            try await client.delete(path)
                        } catch let error as ZooKeeperError where error.code == .noNode {}
                    }
                    entries[id]?.path = nil
                    entries[id]?.written = nil
                    logger.info("Deregistered", metadata: ["instance.id": "\(id)", "path": "\(path)", "reason": "\(reason)"])
                    eventSink.yield(.deregistered(id: id, path: path, reason: reason))
                }
                return
            }
            if entry.path == nil || (ephemeral && entry.session != session) {
                let instance = entry.instance
                let path = try await createNode(instance, session: session)
                guard entries[id] != nil else { return }
                entries[id]?.path = path
                entries[id]?.session = session
                entries[id]?.written = instance
                let again = entries[id]!.everRegistered
                entries[id]?.everRegistered = true
                logger.info(
                    again ? "Re-registered" : "Registered",
                    metadata: ["instance.id": "\(id)", "path": "\(path)", "zk.session.id": "0x\(String(session, radix: 16))"])
                eventSink.yield(again ? .reregistered(id: id, path: path) : .registered(id: id, path: path))
                verify = false
                continue
            }
            let path = entry.path!
            if verify {
                verify = false
                let stat = try await client.exists(path)
                if stat == nil || (ephemeral && stat?.ephemeralOwner != session) {
                    entries[id]?.path = nil
                    continue
                }
            }
            if entry.written != entry.instance {
                let instance = entry.instance
                do {
                    try await client.setData(path, data: instance.encoded())
                } catch let error as ZooKeeperError where error.code == .noNode {
                    entries[id]?.path = nil
                    continue
                }
                entries[id]?.written = instance
                eventSink.yield(.updated(id: id, path: path))
                continue
            }
            return
        }
    }

    private func lock(_ id: String) async {
        while busy.contains(id) {
            await withCheckedContinuation { lockWaiters[id, default: []].append($0) }
        }
        busy.insert(id)
    }

    private func unlock(_ id: String) {
        busy.remove(id)
        if var waiters = lockWaiters[id], !waiters.isEmpty {
            let next = waiters.removeFirst()
            lockWaiters[id] = waiters.isEmpty ? nil : waiters
            next.resume()
        }
    }

    /// Runs the `ProtectedCreate` procedure: the only place that creates instance znodes.
    private func createNode(_ instance: ServiceInstance, session: Int64) async throws -> String {
        var machine = ProtectedCreate(
            parent: layout.servicePath(instance.name), id: instance.id, serviceType: instance.serviceType,
            guid: UUID().uuidString.lowercased(), sessionID: session)
        let data = instance.encoded()
        var step = machine.start()
        while true {
            let current = step
            do {
                switch current {
                case .create(let path, let mode):
                    let created = try await client.create(path, data: data, acl: configuration.acl, mode: mode)
                    step = machine.created(path: created)
                case .createParents(let path):
                    try await createParents(of: path)
                    step = machine.parentsCreated()
                case .list(let parent):
                    step = machine.listed(try await client.getChildren(parent))
                case .check(let path):
                    step = machine.checked(try await client.exists(path))
                case .delete(let path, let version):
                    try await client.delete(path, version: version)
                    step = machine.deleted()
                case .waitForConnection:
                    try await client.connect()
                    guard client.sessionID == session else { throw ZooKeeperError.sessionExpired }
                    step = machine.connectionRestored()
                case .done(let path, let adopted):
                    if adopted {
                        logger.info("Adopted an instance node whose create reply was lost", metadata: ["path": "\(path)"])
                        try await client.setData(path, data: data)
                    }
                    return path
                case .fail(let error):
                    throw error
                }
            } catch let error as ZooKeeperError {
                switch current {
                case .create: step = machine.createFailed(error.code)
                case .done, .fail, .waitForConnection: throw error
                default: step = machine.failed(error.code, during: current)
                }
            }
        }
    }

    /// Creates the base path's ancestors and the service node as containers, when missing.
    private func createParents(of path: String) async throws {
        var ancestors: [String] = []
        var current = ""
        for segment in path.dropFirst().split(separator: "/").dropLast() {
            current += "/" + segment
            ancestors.append(current)
        }
        for ancestor in ancestors {
            if try await client.exists(ancestor) != nil { continue }
            do {
                try await client.create(ancestor, acl: configuration.acl, mode: .container)
            } catch let error as ZooKeeperError where error.code == .nodeExists {}
        }
    }

    // MARK: Health

    private func healthLoop(id: String, check: HealthCheck, machine: HealthStateMachine<ContinuousClock.Instant>) async {
        var machine = machine
        let policy = machine.policy
        var next = ContinuousClock.now + policy.interval
        // A reconcile after a health change that failed (for example a create racing the reaping of its container
        // parent) is tried again at every check until it succeeds, not only at the next change.
        var reconcilePending = false
        while !Task.isCancelled {
            do {
                try await Task.sleep(until: next)
            } catch {
                return
            }
            next = next + policy.interval
            let result = await check.run(timeout: policy.timeout)
            if Task.isCancelled { return }
            let before = machine.status
            let directives = machine.record(result, now: .now)
            if machine.status != before || !directives.isEmpty {
                eventSink.yield(.health(id: id, status: machine.status, result: result))
            }
            if ContinuousClock.now > next { next = ContinuousClock.now + policy.interval }
            guard !directives.isEmpty || reconcilePending, entries[id] != nil else { continue }
            for directive in directives {
                switch directive {
                case .markPassing:
                    logger.info("Health check passing", metadata: ["instance.id": "\(id)"])
                    entries[id]?.instance.enabled = true
                case .markCritical:
                    logger.warning("Health check critical", metadata: ["instance.id": "\(id)", "result": "\(result)"])
                    entries[id]?.instance.enabled = false
                case .deregister:
                    logger.warning("Critical past the deadline, deregistering", metadata: ["instance.id": "\(id)"])
                    entries[id]?.wanted = false
                case .reregister:
                    logger.info("Health check passing again, registering", metadata: ["instance.id": "\(id)"])
                    entries[id]?.wanted = true
                    entries[id]?.instance.enabled = true
                }
            }
            entries[id]?.health = machine.status
            do {
                try await reconcile(id, reason: "critical past the deadline")
                reconcilePending = false
            } catch {
                reconcilePending = true
                reportFailure(id, error)
            }
        }
    }
}
