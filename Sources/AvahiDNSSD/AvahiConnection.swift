import CAvahiClient
import Dispatch
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A connection to the system's avahi-daemon through libavahi-client: it publishes entries and browses the LAN,
/// and keeps doing so across daemon restarts.
///
/// **Threads.** It runs on Avahi's threaded poll (`AvahiThreadedPoll`), not on a NIO event loop: every
/// libavahi-client call is a blocking D-Bus round trip, which must not run on an event loop, and the threaded
/// poll is Avahi's own, documented way to serialise callbacks and calls (its mutex). Callbacks run on Avahi's
/// thread with that mutex held; every call from outside runs on one serial dispatch queue that takes the mutex
/// (`perform`), so no Swift concurrency thread ever blocks on D-Bus. Swift-side state is in a lock of its own,
/// always taken *after* Avahi's mutex and never held across an Avahi call, so the two cannot deadlock.
///
/// **Lifetime.** Callbacks get this object as unretained user data. While started, the connection keeps a strong
/// reference to itself, released by `close()` only after Avahi's thread has stopped and every Avahi object has
/// been freed: no callback outlives it. Every Avahi object (client, entry groups, browsers, resolvers, string
/// lists) is freed exactly once, by its owner's bookkeeping here; freeing the client frees what it still owns,
/// and the bookkeeping forgets those handles at the same time.
///
/// **No daemon.** When there is no D-Bus or no avahi-daemon, it logs one warning and keeps retrying in the
/// background: with the bus up, libavahi-client waits for the daemon to appear (`AVAHI_CLIENT_NO_FAIL`); without
/// a bus, it retries every `retryDelay` (doubling up to `maxRetryDelay`). When the daemon goes away
/// (`AVAHI_CLIENT_FAILURE`), it frees the client and connects again, and republishes and re-browses everything
/// once the daemon runs, with no user action.
public final class AvahiConnection: Service, Sendable {
    public struct Configuration: Sendable {
        /// The first delay between connection attempts when there is no D-Bus system bus. Default 250 ms.
        public var retryDelay: Duration = .milliseconds(250)
        /// The longest delay between attempts. Default 2 s.
        public var maxRetryDelay: Duration = .seconds(2)

        public init(retryDelay: Duration = .milliseconds(250), maxRetryDelay: Duration = .seconds(2)) {
            self.retryDelay = retryDelay
            self.maxRetryDelay = maxRetryDelay
        }
    }

    /// Where the connection stands.
    public enum Status: Sendable, Hashable, CustomStringConvertible {
        case notStarted
        /// No D-Bus system bus, or no daemon on it (retrying).
        case noDaemon(String)
        /// Waiting for the daemon (it is not running yet, or restarting).
        case connecting
        /// The daemon is establishing its host name.
        case registering
        case running
        case closed

        public var description: String {
            switch self {
            case .notStarted: return "not started"
            case .noDaemon(let reason): return "no daemon (\(reason))"
            case .connecting: return "connecting"
            case .registering: return "registering"
            case .running: return "running"
            case .closed: return "closed"
            }
        }
    }

    public let configuration: Configuration
    let logger: Logger
    /// The `AvahiThreadedPoll*`, created with the connection and freed by `close()` (or deinit, never started).
    private let poll: AvahiHandle
    private let queue = DispatchQueue(label: "zooreg.avahi")
    private let state = NIOLockedValueBox(State())

    private struct Browse: Sendable {
        enum Kind: Sendable {
            case types
            case services(type: String)
        }

        var kind: Kind
        var domain: String?
        var interface: DNSSDInterface
        var ipProtocol: DNSSDIPProtocol
        var continuation: AsyncStream<DNSSDBrowseEvent>.Continuation
        var browser: AvahiHandle?
        var resolvers: [BrowseAggregator.RawKey: AvahiHandle] = [:]
        var services: BrowseAggregator
        var types = TypeBrowseAggregator()
    }

    private enum Owner: Sendable, Hashable {
        case typeBrowser(UInt64)
        case serviceBrowser(UInt64)
        case resolver(UInt64, BrowseAggregator.RawKey)
    }

    private struct State: Sendable {
        var status: Status = .notStarted
        var client: AvahiHandle?
        var machine = PublicationStateMachine()
        var groups: [String: AvahiHandle] = [:]
        var groupIDs: [AvahiHandle: String] = [:]
        var browses: [UInt64: Browse] = [:]
        var owners: [AvahiHandle: Owner] = [:]
        var subscribers: [UInt64: AsyncStream<DNSSDPublicationEvent>.Continuation] = [:]
        var nextID: UInt64 = 0
        var started = false
        var closed = false
        var warnedNoDaemon = false
        var wasRunning = false
        var reconnect: AsyncStream<Void>.Continuation?
        var supervisor: Task<Void, Never>?
        var selfReference: Unmanaged<AvahiConnection>?
        var runningWaiters: [CheckedContinuation<Bool, Never>] = []
    }

    public init(configuration: Configuration = Configuration(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        guard let poll = avahi_threaded_poll_new() else {
            // Only fails when out of memory.
            fatalError("avahi_threaded_poll_new failed")
        }
        self.poll = AvahiHandle(poll)
    }

    deinit {
        // Reached only when never started, or after close(): close() already freed everything but the poll.
        let client = state.withLockedValue { $0.client }
        if let client { avahi_client_free(client.pointer) }
        avahi_threaded_poll_free(poll.pointer)
    }

    /// The current status.
    public var status: Status { state.withLockedValue { $0.status } }

    /// Waits until the daemon runs (true at once if it does), or the connection closes (false).
    public func waitUntilRunning() async -> Bool {
        start()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer: Bool? = state.withLockedValue { state in
                if state.status == .running { return true }
                if state.closed { return false }
                state.runningWaiters.append(continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    private var userdata: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    // MARK: Lifecycle

    /// Starts Avahi's thread and connects in the background (idempotent). Publishing and browsing work before
    /// the daemon is reached: they take effect once it runs.
    public func start() {
        let (reconnects, reconnect) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let starting = state.withLockedValue { state -> Bool in
            guard !state.started, !state.closed else { return false }
            state.started = true
            state.reconnect = reconnect
            state.selfReference = Unmanaged.passRetained(self)
            return true
        }
        guard starting else { return }
        if avahi_threaded_poll_start(poll.pointer) < 0 {
            logger.error("Could not start Avahi's event thread")
        }
        let task = Task { await self.supervise(reconnects) }
        state.withLockedValue { $0.supervisor = task }
    }

    /// `Service.run()`: starts, and on graceful shutdown withdraws everything and closes.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await closeAndWait()
    }

    /// Withdraws every entry (the daemon sends goodbye packets), ends every browse, stops Avahi's thread and frees
    /// every Avahi object. Idempotent; returns once done.
    public func closeAndWait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.closeOnQueue()
                continuation.resume()
            }
        }
    }

    /// `closeAndWait()` without waiting.
    public func close() {
        queue.async { self.closeOnQueue() }
    }

    private func closeOnQueue() {
        let (wasStarted, supervisor, reconnect, waiters) = state.withLockedValue { state in
            let result = (state.started && !state.closed, state.supervisor, state.reconnect, state.runningWaiters)
            state.closed = true
            state.status = .closed
            state.supervisor = nil
            state.reconnect = nil
            state.runningWaiters = []
            return result
        }
        for waiter in waiters { waiter.resume(returning: false) }
        supervisor?.cancel()
        reconnect?.finish()
        // No more callbacks after this: stop joins Avahi's thread (a connection never started has none).
        if wasStarted { avahi_threaded_poll_stop(poll.pointer) }
        let (groups, browsers, resolvers, client, browses, subscribers, selfReference) = state.withLockedValue {
            state in
            let groups = Array(state.groups.values)
            let browsers = state.browses.values.compactMap { browse in browse.browser.map { (browse.kind, $0) } }
            let resolvers = state.browses.values.flatMap { $0.resolvers.values }
            let result = (
                groups, browsers, resolvers, state.client, Array(state.browses.values),
                Array(state.subscribers.values), state.selfReference
            )
            state.groups = [:]
            state.groupIDs = [:]
            state.owners = [:]
            state.browses = [:]
            state.subscribers = [:]
            state.client = nil
            state.selfReference = nil
            return result
        }
        for resolver in resolvers { avahi_service_resolver_free(resolver.pointer) }
        for (kind, browser) in browsers { Self.freeBrowser(kind, browser) }
        for group in groups { avahi_entry_group_free(group.pointer) }
        if let client { avahi_client_free(client.pointer) }
        for browse in browses { browse.continuation.finish() }
        for subscriber in subscribers { subscriber.finish() }
        logger.debug("Avahi connection closed")
        selfReference?.release()
    }

    /// Runs `body` on the serial queue with Avahi's mutex held (when Avahi's thread runs).
    private func perform(_ body: @escaping @Sendable () -> Void) {
        queue.async {
            let (started, closed) = self.state.withLockedValue { ($0.started, $0.closed) }
            guard !closed else { return }
            if started { avahi_threaded_poll_lock(self.poll.pointer) }
            body()
            if started { avahi_threaded_poll_unlock(self.poll.pointer) }
        }
    }

    private func performAndWait<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            queue.async {
                let (started, closed) = self.state.withLockedValue { ($0.started, $0.closed) }
                guard !closed else { return continuation.resume(returning: nil) }
                if started { avahi_threaded_poll_lock(self.poll.pointer) }
                let result = body()
                if started { avahi_threaded_poll_unlock(self.poll.pointer) }
                continuation.resume(returning: result)
            }
        }
    }

    // MARK: Connecting

    private enum ConnectOutcome: Sendable {
        case connected
        case noDaemon(String)
    }

    private func supervise(_ reconnects: AsyncStream<Void>) async {
        var delay = configuration.retryDelay
        var signals = reconnects.makeAsyncIterator()
        while !Task.isCancelled {
            guard let outcome = await performAndWait({ self.connectOnQueue() }) else { return }
            switch outcome {
            case .connected:
                let connectedAt = ContinuousClock.now
                // Wait until the client fails (the daemon or the bus went away), then connect again: at once after
                // a connection that lasted, after a growing pause when it failed right away (no busy loop).
                guard await signals.next() != nil else { return }
                if ContinuousClock.now - connectedAt < .seconds(1) {
                    do {
                        try await Task.sleep(for: delay)
                    } catch {
                        return
                    }
                    delay = min(delay * 2, configuration.maxRetryDelay)
                } else {
                    delay = configuration.retryDelay
                }
            case .noDaemon(let reason):
                warnNoDaemon(reason)
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    return
                }
                delay = min(delay * 2, configuration.maxRetryDelay)
            }
        }
    }

    /// On the queue, with Avahi's mutex held: frees a failed client (and forgets the objects it owned), then
    /// creates a new one that waits for the daemon.
    private func connectOnQueue() -> ConnectOutcome {
        let old = state.withLockedValue { state -> AvahiHandle? in
            let old = state.client
            state.client = nil
            state.groups = [:]
            state.groupIDs = [:]
            state.owners = [:]
            for id in state.browses.keys {
                state.browses[id]?.browser = nil
                state.browses[id]?.resolvers = [:]
                state.browses[id]?.services.beginResync()
                state.browses[id]?.types.beginResync()
            }
            return old
        }
        if let old { avahi_client_free(old.pointer) }
        var error: Int32 = 0
        let flags = AvahiClientFlags(rawValue: AVAHI_CLIENT_NO_FAIL.rawValue)
        let client = avahi_client_new(
            avahi_threaded_poll_get(poll.pointer), flags,
            { client, clientState, userdata in
                guard let client, let userdata else { return }
                Unmanaged<AvahiConnection>.fromOpaque(userdata).takeUnretainedValue()
                    .clientStateChanged(AvahiHandle(client), clientState)
            }, userdata, &error)
        guard let client else {
            let reason = String(cString: avahi_strerror(error))
            state.withLockedValue { $0.status = .noDaemon(reason) }
            return .noDaemon(reason)
        }
        // The first state callback ran inside avahi_client_new and may have recorded the client already.
        state.withLockedValue { $0.client = AvahiHandle(client) }
        return .connected
    }

    private func warnNoDaemon(_ reason: String) {
        let first = state.withLockedValue { state -> Bool in
            defer { state.warnedNoDaemon = true }
            return !state.warnedNoDaemon
        }
        if first {
            logger.warning(
                "avahi-daemon is not reachable: LAN (mDNS) publishing and browsing are paused and retried in the background",
                metadata: ["reason": "\(reason)"])
        } else {
            logger.debug("avahi-daemon still not reachable", metadata: ["reason": "\(reason)"])
        }
    }

    /// Avahi's client callback (Avahi's thread with its mutex held, or inside `avahi_client_new`).
    private func clientStateChanged(_ client: AvahiHandle, _ clientState: AvahiClientState) {
        state.withLockedValue { state in
            if state.client == nil { state.client = client }
        }
        switch clientState {
        case AVAHI_CLIENT_S_RUNNING:
            let (wasRunning, waiters) = state.withLockedValue { state in
                defer {
                    state.status = .running
                    state.wasRunning = true
                    state.warnedNoDaemon = false
                    state.runningWaiters = []
                }
                return (state.wasRunning, state.runningWaiters)
            }
            for waiter in waiters { waiter.resume(returning: true) }
            logger.info(wasRunning ? "Reconnected to avahi-daemon" : "Connected to avahi-daemon")
            createBrowsers(client)
            let actions = state.withLockedValue { $0.machine.clientStateChanged(.running) }
            run(actions, client: client)
        case AVAHI_CLIENT_S_REGISTERING, AVAHI_CLIENT_S_COLLISION:
            let collision = clientState == AVAHI_CLIENT_S_COLLISION
            state.withLockedValue { $0.status = .registering }
            createBrowsers(client)
            let actions = state.withLockedValue {
                $0.machine.clientStateChanged(collision ? .collision : .registering)
            }
            run(actions, client: client)
        case AVAHI_CLIENT_CONNECTING:
            let warn = state.withLockedValue { state -> Bool in
                state.status = .connecting
                _ = state.machine.clientStateChanged(.connecting)
                defer { state.warnedNoDaemon = true }
                return !state.warnedNoDaemon
            }
            if warn {
                logger.warning(
                    "avahi-daemon is not running: LAN (mDNS) publishing and browsing start when it does")
            }
        case AVAHI_CLIENT_FAILURE:
            let error = avahi_client_errno(client.pointer)
            let reason = String(cString: avahi_strerror(error))
            let (reconnect, browses) = state.withLockedValue { state in
                state.status = .noDaemon(reason)
                _ = state.machine.clientStateChanged(.absent)
                return (state.reconnect, state.browses.values.map(\.continuation))
            }
            if error == Int32(AVAHI_ERR_DISCONNECTED) {
                logger.warning("Lost avahi-daemon; reconnecting", metadata: ["reason": "\(reason)"])
            } else {
                logger.error("The Avahi client failed; reconnecting", metadata: ["reason": "\(reason)"])
            }
            for browse in browses { browse.yield(.failure(reason)) }
            // The supervisor frees this client on the queue: never from inside its own callback.
            reconnect?.yield()
        default:
            break
        }
    }

    // MARK: Publishing

    /// Publishes `entry` under `id`, or changes what `id` publishes (a TXT-only change is made in place).
    /// It takes effect when the daemon runs; the outcome comes as `publicationEvents()`.
    public func publish(_ entry: DNSSDServiceEntry, id: String) {
        start()
        perform {
            let (actions, client) = self.state.withLockedValue { ($0.machine.publish(id: id, entry: entry), $0.client) }
            self.run(actions, client: client)
        }
    }

    /// Withdraws what `id` publishes (the daemon sends goodbye packets: TTL 0).
    public func withdraw(id: String) {
        perform {
            let (actions, client) = self.state.withLockedValue { ($0.machine.withdraw(id: id), $0.client) }
            self.run(actions, client: client)
        }
    }

    /// Waits until the requests made so far (publish, withdraw) have been handed to the daemon.
    public func flush() async {
        _ = await performAndWait { () }
    }

    /// What happens to published entries, from now on: established (with the final name), renamed after a
    /// collision, failed, withdrawn. The stream ends when the connection closes.
    public func publicationEvents() -> AsyncStream<DNSSDPublicationEvent> {
        let (stream, continuation) = AsyncStream<DNSSDPublicationEvent>.makeStream()
        let id = state.withLockedValue { state -> UInt64? in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Runs the publication machine's actions: with Avahi's mutex held.
    private func run(_ actions: [PublicationStateMachine.Action], client: AvahiHandle?) {
        var queue = actions[...]
        while let action = queue.popFirst() {
            switch action {
            case .addAndCommit(let id, let entry):
                guard let client else { continue }
                if let error = addAndCommit(id: id, entry: entry, client: client) {
                    let more = state.withLockedValue { $0.machine.addFailed(id: id, error) }
                    queue.append(contentsOf: more)
                }
            case .updateTXT(let id, let entry):
                guard let group = state.withLockedValue({ $0.groups[id] }) else { continue }
                let txt = Self.stringList(entry.txt)
                let result = entry.name.withCString { name in
                    entry.type.withCString { type in
                        withOptionalCString(entry.domain) { domain in
                            avahi_entry_group_update_service_txt_strlst(
                                group.pointer, entry.interface.avahiValue, entry.ipProtocol.avahiValue,
                                AvahiPublishFlags(0), name, type, domain, txt)
                        }
                    }
                }
                avahi_string_list_free(txt)
                if result < 0 {
                    logger.debug("Could not update TXT; publishing again", metadata: ["error": "\(Self.errorText(result))"])
                    if let client, let error = addAndCommit(id: id, entry: entry, client: client) {
                        queue.append(contentsOf: state.withLockedValue { $0.machine.addFailed(id: id, error) })
                    }
                }
            case .reset(let id):
                if let group = state.withLockedValue({ $0.groups[id] }) { avahi_entry_group_reset(group.pointer) }
            case .free(let id):
                let group = state.withLockedValue { state -> AvahiHandle? in
                    guard let group = state.groups.removeValue(forKey: id) else { return nil }
                    state.groupIDs[group] = nil
                    return group
                }
                if let group { avahi_entry_group_free(group.pointer) }
            case .report(let event):
                report(event)
            }
        }
    }

    /// Adds an entry to the publication's group (created, or reset first) and commits. nil on success.
    private func addAndCommit(id: String, entry: DNSSDServiceEntry, client: AvahiHandle) -> PublicationStateMachine
        .AddError?
    {
        var group = state.withLockedValue { $0.groups[id] }
        if let existing = group {
            avahi_entry_group_reset(existing.pointer)
        } else {
            guard
                let created = avahi_entry_group_new(
                    client.pointer,
                    { group, groupState, userdata in
                        guard let group, let userdata else { return }
                        Unmanaged<AvahiConnection>.fromOpaque(userdata).takeUnretainedValue()
                            .groupStateChanged(AvahiHandle(group), groupState)
                    }, userdata)
            else {
                return .other("could not create an entry group: \(Self.errorText(avahi_client_errno(client.pointer)))")
            }
            let handle = AvahiHandle(created)
            state.withLockedValue { state in
                state.groups[id] = handle
                state.groupIDs[handle] = id
            }
            group = handle
        }
        guard let group else { return .other("no entry group") }
        let txt = Self.stringList(entry.txt)
        defer { avahi_string_list_free(txt) }
        let interface = entry.interface.avahiValue
        let ipProtocol = entry.ipProtocol.avahiValue
        var result = entry.name.withCString { name in
            entry.type.withCString { type in
                withOptionalCString(entry.domain) { domain in
                    withOptionalCString(entry.host) { host in
                        avahi_entry_group_add_service_strlst(
                            group.pointer, interface, ipProtocol, AvahiPublishFlags(0), name, type, domain, host,
                            entry.port, txt)
                    }
                }
            }
        }
        if result == Int32(AVAHI_ERR_COLLISION) { return .collision }
        guard result >= 0 else { return .other("adding \(entry) failed: \(Self.errorText(result))") }
        for subtype in entry.subtypes {
            let full = "\(subtype)._sub.\(entry.type)"
            result = entry.name.withCString { name in
                entry.type.withCString { type in
                    withOptionalCString(entry.domain) { domain in
                        full.withCString { full in
                            avahi_entry_group_add_service_subtype(
                                group.pointer, interface, ipProtocol, AvahiPublishFlags(0), name, type, domain, full)
                        }
                    }
                }
            }
            guard result >= 0 else {
                avahi_entry_group_reset(group.pointer)
                return .other("adding subtype \(full) failed: \(Self.errorText(result))")
            }
        }
        result = avahi_entry_group_commit(group.pointer)
        guard result >= 0 else { return .other("commit failed: \(Self.errorText(result))") }
        return nil
    }

    /// Avahi's entry-group callback.
    private func groupStateChanged(_ group: AvahiHandle, _ groupState: AvahiEntryGroupState) {
        // The UNCOMMITED callback fires inside avahi_entry_group_new, before the group is recorded.
        guard let id = state.withLockedValue({ $0.groupIDs[group] }) else { return }
        let event: PublicationStateMachine.GroupEvent
        switch groupState {
        case AVAHI_ENTRY_GROUP_ESTABLISHED: event = .established
        case AVAHI_ENTRY_GROUP_COLLISION: event = .collision
        case AVAHI_ENTRY_GROUP_REGISTERING: event = .registering
        case AVAHI_ENTRY_GROUP_FAILURE:
            let client = avahi_entry_group_get_client(group.pointer)
            event = .failure(client.map { Self.errorText(avahi_client_errno($0)) } ?? "entry group failure")
        default: return
        }
        let (actions, client) = state.withLockedValue { ($0.machine.groupEvent(id: id, event), $0.client) }
        run(actions, client: client)
    }

    private func report(_ event: DNSSDPublicationEvent) {
        switch event {
        case .established(let id, let name, let type):
            logger.info("Published on the LAN", metadata: ["id": "\(id)", "name": "\(name)", "type": "\(type)"])
        case .renamed(let id, let from, let to):
            logger.notice("LAN name conflict; renamed", metadata: ["id": "\(id)", "from": "\(from)", "to": "\(to)"])
        case .failed(let id, let reason):
            logger.error("Could not publish on the LAN", metadata: ["id": "\(id)", "reason": "\(reason)"])
        case .withdrawn(let id, let name, _):
            logger.info("Withdrawn from the LAN", metadata: ["id": "\(id)", "name": "\(name)"])
        }
        let subscribers = state.withLockedValue { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(event) }
    }

    // MARK: Browsing

    /// The LAN's service types (`typeAdded`/`typeRemoved`, then `allForNow` once the first answers are in).
    public func browseTypes(domain: String? = nil, interface: DNSSDInterface = .any, ipProtocol: DNSSDIPProtocol = .any)
        -> AsyncStream<DNSSDBrowseEvent>
    {
        addBrowse(.types, domain: domain, interface: interface, ipProtocol: ipProtocol, resolve: false)
    }

    /// The services of a type (or a subtype such as `_printer._sub._ipp._tcp`), merged over interfaces and IP
    /// protocols; with `resolve`, each with host, addresses, port and TXT (and `updated` when those change).
    public func browse(
        type: String, domain: String? = nil, resolve: Bool = true, interface: DNSSDInterface = .any,
        ipProtocol: DNSSDIPProtocol = .any
    ) -> AsyncStream<DNSSDBrowseEvent> {
        addBrowse(.services(type: type), domain: domain, interface: interface, ipProtocol: ipProtocol, resolve: resolve)
    }

    private func addBrowse(
        _ kind: Browse.Kind, domain: String?, interface: DNSSDInterface, ipProtocol: DNSSDIPProtocol, resolve: Bool
    ) -> AsyncStream<DNSSDBrowseEvent> {
        start()
        let (stream, continuation) = AsyncStream<DNSSDBrowseEvent>.makeStream()
        let id = state.withLockedValue { state -> UInt64? in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.browses[state.nextID] = Browse(
                kind: kind, domain: domain, interface: interface, ipProtocol: ipProtocol, continuation: continuation,
                services: BrowseAggregator(resolving: resolve))
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in self?.removeBrowse(id) }
        perform {
            let (client, running) = self.state.withLockedValue { state -> (AvahiHandle?, Bool) in
                (state.client, state.status == .running || state.status == .registering)
            }
            if let client, running { self.createBrowsers(client) }
        }
        return stream
    }

    private func removeBrowse(_ id: UInt64) {
        perform {
            let browse = self.state.withLockedValue { state -> Browse? in
                guard let browse = state.browses.removeValue(forKey: id) else { return nil }
                if let browser = browse.browser { state.owners[browser] = nil }
                for resolver in browse.resolvers.values { state.owners[resolver] = nil }
                return browse
            }
            guard let browse else { return }
            for resolver in browse.resolvers.values { avahi_service_resolver_free(resolver.pointer) }
            if let browser = browse.browser { Self.freeBrowser(browse.kind, browser) }
        }
    }

    private static func freeBrowser(_ kind: Browse.Kind, _ browser: AvahiHandle) {
        switch kind {
        case .types: avahi_service_type_browser_free(browser.pointer)
        case .services: avahi_service_browser_free(browser.pointer)
        }
    }

    /// Creates the Avahi browsers that browses lack (first start, or after reconnecting); Avahi's mutex held.
    private func createBrowsers(_ client: AvahiHandle) {
        let pending = state.withLockedValue { state in
            state.browses.filter { $0.value.browser == nil }.map { ($0.key, $0.value) }
        }
        for (id, browse) in pending {
            let created: OpaquePointer?
            switch browse.kind {
            case .types:
                created = withOptionalCString(browse.domain) { domain in
                    avahi_service_type_browser_new(
                        client.pointer, browse.interface.avahiValue, browse.ipProtocol.avahiValue, domain,
                        AvahiLookupFlags(0),
                        { browser, interface, ipProtocol, event, type, domain, flags, userdata in
                            guard let browser, let userdata else { return }
                            Unmanaged<AvahiConnection>.fromOpaque(userdata).takeUnretainedValue().typeBrowserEvent(
                                AvahiHandle(browser), interface, ipProtocol, event, type.map { String(cString: $0) },
                                domain.map { String(cString: $0) })
                        }, userdata)
                }
            case .services(let type):
                created = type.withCString { type in
                    withOptionalCString(browse.domain) { domain in
                        avahi_service_browser_new(
                            client.pointer, browse.interface.avahiValue, browse.ipProtocol.avahiValue, type, domain,
                            AvahiLookupFlags(0),
                            { browser, interface, ipProtocol, event, name, type, domain, flags, userdata in
                                guard let browser, let userdata else { return }
                                Unmanaged<AvahiConnection>.fromOpaque(userdata).takeUnretainedValue()
                                    .serviceBrowserEvent(
                                        AvahiHandle(browser), interface, ipProtocol, event,
                                        name.map { String(cString: $0) }, type.map { String(cString: $0) },
                                        domain.map { String(cString: $0) },
                                        isLocal: flags.rawValue & AVAHI_LOOKUP_RESULT_LOCAL.rawValue != 0)
                            }, userdata)
                    }
                }
            }
            guard let created else {
                let reason = Self.errorText(avahi_client_errno(client.pointer))
                logger.warning("Could not start an mDNS browser", metadata: ["reason": "\(reason)"])
                browse.continuation.yield(.failure(reason))
                continue
            }
            let handle = AvahiHandle(created)
            let kept = state.withLockedValue { state -> Bool in
                guard state.browses[id] != nil else { return false }
                state.browses[id]?.browser = handle
                state.owners[handle] = {
                    if case .types = browse.kind { return .typeBrowser(id) }
                    return .serviceBrowser(id)
                }()
                return true
            }
            if !kept { Self.freeBrowser(browse.kind, handle) }
        }
    }

    private func typeBrowserEvent(
        _ browser: AvahiHandle, _ interface: AvahiIfIndex, _ ipProtocol: AvahiProtocol, _ event: AvahiBrowserEvent,
        _ type: String?, _ domain: String?
    ) {
        let (events, continuation) = state.withLockedValue { state -> ([DNSSDBrowseEvent], AsyncStream<DNSSDBrowseEvent>.Continuation?) in
            guard case .typeBrowser(let id)? = state.owners[browser], var browse = state.browses[id] else {
                return ([], nil)
            }
            defer { state.browses[id] = browse }
            let raw = type.map {
                TypeBrowseAggregator.RawKey(
                    interface: interface, ipProtocol: DNSSDIPProtocol(avahi: ipProtocol), type: $0,
                    domain: domain ?? "local")
            }
            switch event {
            case AVAHI_BROWSER_NEW: return (raw.map { browse.types.appeared($0) } ?? [], browse.continuation)
            case AVAHI_BROWSER_REMOVE: return (raw.map { browse.types.disappeared($0) } ?? [], browse.continuation)
            case AVAHI_BROWSER_ALL_FOR_NOW: return (browse.types.allForNow(), browse.continuation)
            default: return ([], nil)
            }
        }
        if event == AVAHI_BROWSER_FAILURE { failBrowse(browser) }
        for event in events { continuation?.yield(event) }
    }

    private func serviceBrowserEvent(
        _ browser: AvahiHandle, _ interface: AvahiIfIndex, _ ipProtocol: AvahiProtocol, _ event: AvahiBrowserEvent,
        _ name: String?, _ type: String?, _ domain: String?, isLocal: Bool
    ) {
        guard case .serviceBrowser(let id)? = state.withLockedValue({ $0.owners[browser] }) else { return }
        let raw: BrowseAggregator.RawKey? =
            if let name, let type {
                BrowseAggregator.RawKey(
                    interface: interface, ipProtocol: DNSSDIPProtocol(avahi: ipProtocol), name: name, type: type,
                    domain: domain ?? "local")
            } else { nil }
        switch event {
        case AVAHI_BROWSER_NEW:
            guard let raw else { return }
            let (events, continuation, resolving, client) = state.withLockedValue { state in
                let events = state.browses[id]?.services.appeared(raw, isLocal: isLocal) ?? []
                let resolving = state.browses[id].map { $0.services.resolving && $0.resolvers[raw] == nil } ?? false
                return (events, state.browses[id]?.continuation, resolving, state.client)
            }
            for event in events { continuation?.yield(event) }
            if resolving, let client { startResolver(id, raw, client) }
        case AVAHI_BROWSER_REMOVE:
            guard let raw else { return }
            let (events, continuation, resolver) = state.withLockedValue { state in
                let events = state.browses[id]?.services.disappeared(raw) ?? []
                let resolver = state.browses[id]?.resolvers.removeValue(forKey: raw)
                if let resolver { state.owners[resolver] = nil }
                return (events, state.browses[id]?.continuation, resolver)
            }
            if let resolver { avahi_service_resolver_free(resolver.pointer) }
            for event in events { continuation?.yield(event) }
        case AVAHI_BROWSER_ALL_FOR_NOW:
            let (events, continuation) = state.withLockedValue { state in
                (state.browses[id]?.services.allForNow() ?? [], state.browses[id]?.continuation)
            }
            for event in events { continuation?.yield(event) }
        case AVAHI_BROWSER_FAILURE:
            failBrowse(browser)
        default:
            break
        }
    }

    private func failBrowse(_ browser: AvahiHandle) {
        let client = state.withLockedValue { $0.client }
        let reason = client.map { Self.errorText(avahi_client_errno($0.pointer)) } ?? "browser failure"
        let continuation = state.withLockedValue { state -> AsyncStream<DNSSDBrowseEvent>.Continuation? in
            switch state.owners[browser] {
            case .typeBrowser(let id)?, .serviceBrowser(let id)?: return state.browses[id]?.continuation
            default: return nil
            }
        }
        continuation?.yield(.failure(reason))
    }

    private func startResolver(_ id: UInt64, _ raw: BrowseAggregator.RawKey, _ client: AvahiHandle) {
        let interface = raw.interface
        let ipProtocol = raw.ipProtocol.avahiValue
        let created = raw.name.withCString { name in
            raw.type.withCString { type in
                raw.domain.withCString { domain in
                    avahi_service_resolver_new(
                        client.pointer, interface, ipProtocol, name, type, domain, ipProtocol, AvahiLookupFlags(0),
                        { resolver, _, _, event, _, _, _, host, address, port, txt, _, userdata in
                            guard let resolver, let userdata else { return }
                            let found: BrowseAggregator.Resolution? =
                                event == AVAHI_RESOLVER_FOUND
                                ? BrowseAggregator.Resolution(
                                    host: host.map { String(cString: $0) } ?? "",
                                    address: address.flatMap(AvahiConnection.format), port: port,
                                    txt: AvahiConnection.items(txt))
                                : nil
                            Unmanaged<AvahiConnection>.fromOpaque(userdata).takeUnretainedValue()
                                .resolverEvent(AvahiHandle(resolver), found)
                        }, userdata)
                }
            }
        }
        guard let created else {
            let events = state.withLockedValue { $0.browses[id]?.services.resolveFailed(raw) ?? [] }
            let continuation = state.withLockedValue { $0.browses[id]?.continuation }
            for event in events { continuation?.yield(event) }
            return
        }
        let handle = AvahiHandle(created)
        let kept = state.withLockedValue { state -> Bool in
            guard state.browses[id] != nil else { return false }
            state.browses[id]?.resolvers[raw] = handle
            state.owners[handle] = .resolver(id, raw)
            return true
        }
        if !kept { avahi_service_resolver_free(created) }
    }

    /// A resolver's FOUND (with what it found) or FAILURE (nil). The resolver stays open after FOUND, so that
    /// changes arrive as updates; after a failure it is freed.
    private func resolverEvent(_ resolver: AvahiHandle, _ found: BrowseAggregator.Resolution?) {
        let (events, continuation, free) = state.withLockedValue { state in
            guard case .resolver(let id, let raw)? = state.owners[resolver], state.browses[id] != nil else {
                return ([DNSSDBrowseEvent](), AsyncStream<DNSSDBrowseEvent>.Continuation?.none, false)
            }
            if let found {
                return (state.browses[id]!.services.resolved(raw, found), state.browses[id]!.continuation, false)
            }
            state.owners[resolver] = nil
            state.browses[id]!.resolvers[raw] = nil
            return (state.browses[id]!.services.resolveFailed(raw), state.browses[id]!.continuation, true)
        }
        if free { avahi_service_resolver_free(resolver.pointer) }
        for event in events { continuation?.yield(event) }
    }

    /// Browses `type` and returns the services found once the first answers are in (Avahi's ALL_FOR_NOW, then
    /// up to `settle` for resolutions), or when `timeout` passes.
    public func services(
        ofType type: String, domain: String? = nil, timeout: Duration = .seconds(3), settle: Duration = .milliseconds(500)
    ) async -> [DNSSDService] {
        let events = browse(type: type, domain: domain, resolve: true)
        return await withTaskGroup(of: [DNSSDService]?.self) { group in
            group.addTask {
                var found: [String: DNSSDService] = [:]
                var deadline: ContinuousClock.Instant?
                var iterator = events.makeAsyncIterator()
                while let event = await iterator.next() {
                    switch event {
                    case .added(let service), .updated(let service): found[service.fullName] = service
                    case .removed(let service): found[service.fullName] = nil
                    case .allForNow: deadline = deadline ?? .now + settle
                    default: break
                    }
                    if let deadline, ContinuousClock.now >= deadline { break }
                    if deadline != nil, found.values.allSatisfy(\.isResolved) { break }
                }
                return found.values.sorted { $0.name < $1.name }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            return await group.next().flatMap { $0 } ?? []
        }
    }

    // MARK: Helpers

    static func errorText(_ code: Int32) -> String { String(cString: avahi_strerror(code)) }

    /// A TXT list built in order (avahi_string_list_add prepends; serialization reverses it back).
    static func stringList(_ items: [DNSSDTXTItem]) -> UnsafeMutablePointer<AvahiStringList>? {
        var list: UnsafeMutablePointer<AvahiStringList>?
        for item in items {
            let bytes = item.bytes
            list = bytes.withUnsafeBufferPointer { avahi_string_list_add_arbitrary(list, $0.baseAddress, $0.count) }
        }
        return list
    }

    /// The items of a TXT list, in wire order (copied: Avahi frees the list when the callback returns).
    static func items(_ list: UnsafeMutablePointer<AvahiStringList>?) -> [DNSSDTXTItem] {
        var items: [DNSSDTXTItem] = []
        var node = list
        while let current = node {
            let size = avahi_string_list_get_size(current)
            if let text = avahi_string_list_get_text(current) {
                let bytes = Array(UnsafeBufferPointer(start: text, count: size))
                if let item = DNSSDTXTItem(bytes: bytes) { items.append(item) }
            }
            node = avahi_string_list_get_next(current)
        }
        return items
    }

    static func format(_ address: UnsafePointer<AvahiAddress>) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(AVAHI_ADDRESS_STR_MAX))
        guard avahi_address_snprint(&buffer, buffer.count, address) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An Avahi object pointer as a Sendable, hashable value (its address). Only `AvahiConnection` turns it back
/// into a pointer, with Avahi's mutex held.
struct AvahiHandle: Sendable, Hashable {
    let address: UInt

    init(_ pointer: OpaquePointer) {
        address = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(pointer)))
    }

    var pointer: OpaquePointer { OpaquePointer(bitPattern: address)! }
}

extension DNSSDInterface {
    var avahiValue: AvahiIfIndex {
        switch self {
        case .any: return AvahiIfIndex(AVAHI_IF_UNSPEC)
        case .index(let index): return AvahiIfIndex(index)
        }
    }
}

extension DNSSDIPProtocol {
    var avahiValue: AvahiProtocol {
        switch self {
        case .any: return AvahiProtocol(AVAHI_PROTO_UNSPEC)
        case .ipv4: return AvahiProtocol(AVAHI_PROTO_INET)
        case .ipv6: return AvahiProtocol(AVAHI_PROTO_INET6)
        }
    }

    init(avahi: AvahiProtocol) {
        switch avahi {
        case AvahiProtocol(AVAHI_PROTO_INET): self = .ipv4
        case AvahiProtocol(AVAHI_PROTO_INET6): self = .ipv6
        default: self = .any
        }
    }
}

private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
