import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import ZooKeeperClient

/// A local, watch-fed mirror of a subtree (Curator's CuratorCache; TreeCache on servers without addWatch).
///
/// ```swift
/// let cache = TreeCache(client: zk, path: "/app/config", logger: logger)
/// cache.start()
/// for await event in cache.events() {
///     switch event {
///     case .initialized: print("loaded \(cache.snapshot.count) nodes")
///     case .added(let path, _), .changed(let path, _), .removed(let path, _): print(event, path)
///     }
/// }
/// ```
///
/// - Watches: one persistent recursive watch on the root (ZooKeeper 3.6+); when the server answers addWatch with
///   UNIMPLEMENTED it falls back to one-shot data and child watches on every node. `mode` says which is in use.
/// - Reconnect: the whole subtree is read again (resync), since watches do not replay what was missed. Session
///   expiry: a new session is started (`ensureSession()`), the watch set again and the subtree rebuilt; nodes that
///   vanished meanwhile are reported `removed`.
/// - The root is part of the cache. A missing root is an empty cache that fills when the root appears.
/// - It is a swift-service-lifecycle `Service`; `close()` stops it (the client stays open).
public final class TreeCache: Service, Sendable {
    public let client: ZooKeeperClient
    public let path: String
    /// Whether the cache was asked to use one-shot watches whatever the server supports.
    public let forcesOneShotWatches: Bool
    let logger: Logger

    private struct State {
        var nodes: [String: TreeCacheNode] = [:]
        var mode: TreeCacheMode?
        var initialized = false
        var closed = false
        var worker: Task<Void, Never>?
        var nextID: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<TreeCacheEvent>.Continuation] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// - Parameter oneShotWatches: use one-shot watches even on a server with addWatch (as Curator's
    ///   `curator-cache-bridge-force-tree-cache`); default false: persistent recursive when the server has it.
    public init(client: ZooKeeperClient, path: String, oneShotWatches: Bool = false, logger: Logger) {
        self.client = client
        self.path = path
        self.forcesOneShotWatches = oneShotWatches
        self.logger = logger
    }

    deinit {
        state.withLockedValue { $0.worker?.cancel() }
    }

    // MARK: Reading the cache

    /// Every cached node by path.
    public var snapshot: [String: TreeCacheNode] { state.withLockedValue { $0.nodes } }

    /// One cached node.
    public func node(at path: String) -> TreeCacheNode? { state.withLockedValue { $0.nodes[path] } }

    /// The cached children's names of `path`, sorted.
    public func children(of path: String) -> [String] {
        state.withLockedValue { state in
            state.nodes.keys.filter { $0 != path && RecipePath.parent(of: $0) == path }.map { RecipePath.name(of: $0) }
                .sorted()
        }
    }

    /// Which watches feed the cache; nil before the first attempt.
    public var mode: TreeCacheMode? { state.withLockedValue { $0.mode } }

    /// Whether the first full load is done.
    public var isInitialized: Bool { state.withLockedValue { $0.initialized } }

    /// The events from now on. A late subscriber first gets the cached nodes as `.added` (and `.initialized` if
    /// the first load is done), so it can build its own view from the stream alone. Ends when the cache closes.
    public func events() -> AsyncStream<TreeCacheEvent> {
        let (stream, continuation) = AsyncStream<TreeCacheEvent>.makeStream(bufferingPolicy: .unbounded)
        let id: UInt64? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            for path in state.nodes.keys.sorted() { continuation.yield(.added(path: path, node: state.nodes[path]!)) }
            if state.initialized { continuation.yield(.initialized) }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
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

    // MARK: Lifecycle

    /// Starts loading and watching (idempotent).
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

    /// Stops watching; `events()` streams end; the cache stays readable. Idempotent.
    public func close() {
        let (worker, subscribers) = state.withLockedValue { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return (state.worker, Array(state.subscribers.values))
        }
        worker?.cancel()
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Brings the readable cache up to the machine's, then sends the events (take the events before calling:
    /// arguments are evaluated left to right, so `publish(machine, machine.loaded(...))` would read the machine too
    /// early). `touched` nil copies every node (after a full load); otherwise only the events' paths and `touched`
    /// are copied, so that an event costs O(1) and not a copy of the whole cache (a burst of 10,000 events on a
    /// 10,000-node cache took 25 s that way).
    private func publish(_ machine: TreeCacheStateMachine, _ events: [TreeCacheEvent], touched: [String]? = []) {
        let subscribers = state.withLockedValue { state in
            if let touched {
                for path in touched { state.nodes[path] = machine.nodes[path] }
                for event in events {
                    if let path = event.path { state.nodes[path] = machine.nodes[path] }
                }
            } else {
                state.nodes = machine.nodes
            }
            state.mode = machine.mode
            state.initialized = machine.initialized
            return Array(state.subscribers.values)
        }
        for event in events {
            for subscriber in subscribers { subscriber.yield(event) }
        }
    }

    // MARK: The worker

    private typealias Message = TreeCacheStateMachine.Message

    private func maintain() async {
        let (messages, inbox) = AsyncStream<Message>.makeStream(bufferingPolicy: .unbounded)
        let states = client.states
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await connectionState in states { inbox.yield(.connection(connectionState)) }
            }
            await workLoop(group: &group, messages: messages, inbox: inbox)
            group.cancelAll()
        }
        close()
    }

    private func workLoop(
        group: inout TaskGroup<Void>, messages: AsyncStream<Message>, inbox: AsyncStream<Message>.Continuation
    ) async {
        var machine = TreeCacheStateMachine(root: path, oneShotWatches: forcesOneShotWatches)
        // The messages go through a buffer so that a wake-up takes every message that is waiting: a burst of
        // watch events then becomes one batch of reads (pipelined) instead of one read per event.
        let buffer = NIOLockedValueBox<[Message]>([])
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        group.addTask {
            for await message in messages {
                buffer.withLockedValue { $0.append(message) }
                wake.yield()
            }
            wake.finish()
        }
        var iterator = wakes.makeAsyncIterator()
        let client = self.client
        let root = self.path

        func retry(_ delay: Duration?) {
            guard let delay else { return }
            group.addTask {
                try? await Task.sleep(for: delay)
                inbox.yield(.retry)
            }
        }
        func stopping() -> Bool { Task.isCancelled || client.currentState == .closed }

        while !Task.isCancelled {
            switch machine.next() {
            case .stop:
                return
            case .renewSession:
                do {
                    try await client.ensureSession()
                    machine.sessionRenewed()
                } catch {
                    if stopping() { return }
                    retry(machine.sessionRenewFailed())
                }
            case .setWatch(let generation):
                do {
                    let stream = try await client.addWatch(root, mode: .persistentRecursive)
                    group.addTask {
                        do {
                            for try await event in stream { inbox.yield(.event(event)) }
                            inbox.yield(.watchEnded(generation: generation, expired: false))
                        } catch {
                            let expired = (error as? ZooKeeperError)?.code == .sessionExpired
                            inbox.yield(.watchEnded(generation: generation, expired: expired))
                        }
                    }
                    machine.watchSet(generation: generation)
                } catch let error as ZooKeeperError where error.code == .unimplemented {
                    logger.info(
                        "TreeCache falls back to one-shot watches (no addWatch on the server)",
                        metadata: ["path": "\(root)"])
                    machine.watchUnsupported()
                } catch {
                    if stopping() { return }
                    logger.debug("TreeCache could not set its watch", metadata: ["error": "\(error)"])
                    retry(machine.watchFailed((error as? ZooKeeperError)?.code))
                }
                publish(machine, [])
            case .fullLoad(let mode):
                do {
                    let snapshot = try await Self.load(client: client, root: root, mode: mode, inbox: inbox)
                    let events = machine.loaded(snapshot)
                    publish(machine, events, touched: nil)
                } catch {
                    if stopping() { return }
                    logger.debug("TreeCache could not load", metadata: ["error": "\(error)"])
                    retry(machine.loadFailed((error as? ZooKeeperError)?.code))
                }
            case .read(let paths, let mode):
                // Read at once (pipelined), applied in order; from the first failure on, tried again.
                let outcomes = await Self.readAll(client: client, paths: paths, root: root, mode: mode, inbox: inbox)
                for (index, outcome) in outcomes.enumerated() {
                    switch outcome {
                    case .success(let result):
                        let events = machine.readCompleted(paths[index], result)
                        publish(machine, events, touched: [paths[index]])
                        continue
                    case .failure(let error):
                        if stopping() { return }
                        retry(machine.readFailed(Array(paths[index...]), (error as? ZooKeeperError)?.code))
                    }
                    break
                }
            case .wait:
                guard await iterator.next() != nil else { return }
                let batch = buffer.withLockedValue { buffered in
                    defer { buffered = [] }
                    return buffered
                }
                var events: [TreeCacheEvent] = []
                for message in batch { events += machine.receive(message) }
                publish(machine, events)
            }
        }
    }

    /// A one-shot watch callback: events to the inbox; the end of the session as `watchEnded`.
    private static func watcher(_ inbox: AsyncStream<Message>.Continuation) -> @Sendable (WatchEvent) -> Void {
        { event in
            if event.type == .none {
                inbox.yield(.watchEnded(generation: nil, expired: event.state == .expired))
            } else {
                inbox.yield(.event(event))
            }
        }
    }

    /// Reads one node: data (and in one-shot mode its children, both with watches). Absent is `.absent`; a
    /// missing root gets an exists watch in one-shot mode, to see it appear.
    private static func read(
        client: ZooKeeperClient, path: String, root: String, mode: TreeCacheMode,
        inbox: AsyncStream<Message>.Continuation
    ) async throws -> TreeCacheStateMachine.ReadResult {
        do {
            switch mode {
            case .persistentRecursive:
                let (data, stat) = try await client.getData(path)
                return .present(TreeCacheNode(data: data, stat: stat), children: nil)
            case .oneShot:
                let (data, stat) = try await client.getData(path, watcher: watcher(inbox))
                let (children, _) = try await client.getChildren(path, watcher: watcher(inbox))
                return .present(TreeCacheNode(data: data, stat: stat), children: children)
            }
        } catch let error as ZooKeeperError where error.code == .noNode {
            if mode == .oneShot && path == root {
                if try await client.exists(root, watcher: watcher(inbox)) != nil {
                    inbox.yield(.event(WatchEvent(type: .nodeCreated, path: root)))
                }
            }
            return .absent
        }
    }

    /// Reads the whole subtree, level by level, up to `loadConcurrency` reads in flight (pipelined on the one
    /// session): one read after the other, 10,000 nodes took 10 s on loopback. A node whose Stat says it has no
    /// children is not listed (in persistent mode the recursive watch, set before the load, reports any child
    /// created after that read).
    private static func load(
        client: ZooKeeperClient, root: String, mode: TreeCacheMode, inbox: AsyncStream<Message>.Continuation
    ) async throws -> [String: TreeCacheNode] {
        var snapshot: [String: TreeCacheNode] = [:]
        var level = [root]
        while !level.isEmpty {
            var next: [String] = []
            try await withThrowingTaskGroup(of: (String, TreeCacheNode?, [String]).self) { group in
                var index = 0
                while index < level.count && index < loadConcurrency {
                    let path = level[index]
                    group.addTask { try await loadOne(client: client, path: path, root: root, mode: mode, inbox: inbox) }
                    index += 1
                }
                while let (path, node, children) = try await group.next() {
                    if let node {
                        snapshot[path] = node
                        next += children.sorted().map { RecipePath.join(path, $0) }
                    }
                    if index < level.count {
                        let path = level[index]
                        group.addTask { try await loadOne(client: client, path: path, root: root, mode: mode, inbox: inbox) }
                        index += 1
                    }
                }
            }
            level = next
        }
        return snapshot
    }

    static let loadConcurrency = 256

    /// Reads `paths`, up to `loadConcurrency` at a time; the outcomes in the order of `paths`.
    private static func readAll(
        client: ZooKeeperClient, paths: [String], root: String, mode: TreeCacheMode,
        inbox: AsyncStream<Message>.Continuation
    ) async -> [Result<TreeCacheStateMachine.ReadResult, any Error>] {
        var outcomes = [Result<TreeCacheStateMachine.ReadResult, any Error>?](repeating: nil, count: paths.count)
        await withTaskGroup(of: (Int, Result<TreeCacheStateMachine.ReadResult, any Error>).self) { group in
            var index = 0
            func add(_ i: Int) {
                let path = paths[i]
                group.addTask {
                    do {
                        return (i, .success(try await read(client: client, path: path, root: root, mode: mode, inbox: inbox)))
                    } catch {
                        return (i, .failure(error))
                    }
                }
            }
            while index < paths.count && index < loadConcurrency {
                add(index)
                index += 1
            }
            while let (i, outcome) = await group.next() {
                outcomes[i] = outcome
                if index < paths.count {
                    add(index)
                    index += 1
                }
            }
        }
        return outcomes.map { $0 ?? .failure(CancellationError()) }
    }

    /// One node of a load: its state and its children's names (nil node: it is gone).
    private static func loadOne(
        client: ZooKeeperClient, path: String, root: String, mode: TreeCacheMode,
        inbox: AsyncStream<Message>.Continuation
    ) async throws -> (String, TreeCacheNode?, [String]) {
        let result = try await read(client: client, path: path, root: root, mode: mode, inbox: inbox)
        guard case .present(let node, let listed) = result else { return (path, nil, []) }
        if let listed { return (path, node, listed) }
        if node.stat.numChildren == 0 { return (path, node, []) }
        do {
            return (path, node, try await client.getChildren(path))
        } catch let error as ZooKeeperError where error.code == .noNode {
            return (path, nil, [])
        }
    }
}
