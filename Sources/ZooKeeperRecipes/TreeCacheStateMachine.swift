import Foundation
import ZooKeeperClient

/// How a tree cache learns about changes.
public enum TreeCacheMode: String, Sendable, Hashable, CustomStringConvertible {
    /// One persistent recursive watch on the root (addWatch, ZooKeeper 3.6+), as Curator's CuratorCache.
    case persistentRecursive
    /// One-shot data and child watches on every node, as Curator's older TreeCache (servers without addWatch).
    case oneShot

    public var description: String { rawValue }
}

/// A cached node: its data and Stat.
public struct TreeCacheNode: Sendable, Hashable {
    public var data: Data
    public var stat: Stat

    public init(data: Data, stat: Stat) {
        self.data = data
        self.stat = stat
    }
}

/// What a tree cache reports.
public enum TreeCacheEvent: Sendable, Hashable, CustomStringConvertible {
    case added(path: String, node: TreeCacheNode)
    /// The node's data changed (a new version, or it was deleted and re-created unseen).
    case changed(path: String, node: TreeCacheNode)
    /// The node is gone; `node` is its last cached state.
    case removed(path: String, node: TreeCacheNode)
    /// The first full load is done: the cache mirrored the tree once (sent once per cache).
    case initialized

    public var path: String? {
        switch self {
        case .added(let path, _), .changed(let path, _), .removed(let path, _): return path
        case .initialized: return nil
        }
    }

    public var description: String {
        switch self {
        case .added(let path, _): return "added \(path)"
        case .changed(let path, _): return "changed \(path)"
        case .removed(let path, _): return "removed \(path)"
        case .initialized: return "initialized"
        }
    }
}

/// The decisions of a tree cache (Curator's CuratorCache and TreeCache), as a pure value: the cached nodes, when to
/// set the persistent recursive watch or fall back to one-shot watches, when to load the whole tree (at start,
/// after a reconnect, after a new session), which nodes to read after watch events, and which events to report.
/// `TreeCache` runs the steps and reports their outcomes; tests drive it with no server and no clock.
public struct TreeCacheStateMachine: Sendable {
    public enum Step: Sendable, Hashable {
        /// Add the persistent recursive watch on the root; report `watchSet`, `watchUnsupported` or `watchFailed`.
        case setWatch(generation: Int)
        /// Read the whole subtree (in one-shot mode, with watches on every node); report `loaded` or `loadFailed`.
        case fullLoad(TreeCacheMode)
        /// Read these nodes (in one-shot mode, with watches, and their children lists); report each with
        /// `readCompleted` and failures with `readFailed`.
        case read([String], TreeCacheMode)
        /// The session expired: start a new one, then `sessionRenewed()` (or `sessionRenewFailed()`).
        case renewSession
        /// Wait for a message.
        case wait
        /// The cache is closed or the client is closed.
        case stop
    }

    /// What a read of one node saw.
    public enum ReadResult: Sendable, Hashable {
        /// The node, and in one-shot mode its children's names.
        case present(TreeCacheNode, children: [String]?)
        case absent
    }

    public enum Message: Sendable, Hashable {
        case event(WatchEvent)
        /// The persistent watch of `generation` ended (nil: a one-shot watch ended without an event).
        case watchEnded(generation: Int?, expired: Bool)
        case connection(ConnectionState)
        case retry
    }

    public let root: String
    public private(set) var nodes: [String: TreeCacheNode] = [:]
    public private(set) var mode: TreeCacheMode?
    public private(set) var initialized = false
    public private(set) var stopped = false
    public private(set) var generation = 0
    /// The generation of the persistent watch in place.
    public private(set) var watching: Int?
    private var needsLoad = true
    private var needsSession = false
    private var waitingForRetry = false
    private var pending: [String] = []
    /// `pending` as a set: a burst of events on a big tree queues thousands of paths, each checked once.
    private var pendingSet: Set<String> = []
    /// Each cached node's cached children (paths), so that a delete or a children list costs the subtree's size,
    /// not the cache's: with 10,000 nodes cached, a scan of every key per event made a burst quadratic.
    private var childIndex: [String: Set<String>] = [:]
    private var backoff = RecipeBackoff()

    /// - Parameter oneShotWatches: use one-shot watches from the start, never trying addWatch.
    public init(root: String, oneShotWatches: Bool = false) {
        self.root = root
        if oneShotWatches { mode = .oneShot }
    }

    public mutating func next() -> Step {
        if stopped { return .stop }
        if waitingForRetry { return .wait }
        if needsSession { return .renewSession }
        if mode != .oneShot && watching == nil {
            generation += 1
            return .setWatch(generation: generation)
        }
        let mode = self.mode ?? .persistentRecursive
        if needsLoad {
            pending = []
            pendingSet = []
            return .fullLoad(mode)
        }
        if !pending.isEmpty {
            defer {
                pending = []
                pendingSet = []
            }
            return .read(pending, mode)
        }
        return .wait
    }

    // MARK: Outcomes

    public mutating func watchSet(generation: Int) {
        guard generation == self.generation else { return }
        mode = .persistentRecursive
        watching = generation
        needsLoad = true
    }

    /// The server has no addWatch (UNIMPLEMENTED): use one-shot watches from now on.
    public mutating func watchUnsupported() {
        mode = .oneShot
        watching = nil
        needsLoad = true
    }

    /// Returns the delay of a retry timer to start (then send `.retry`), or nil.
    public mutating func watchFailed(_ code: ErrorCode?) -> Duration? {
        failed(code)
    }

    /// The full load read `snapshot` (every node of the subtree; empty if the root does not exist).
    public mutating func loaded(_ snapshot: [String: TreeCacheNode]) -> [TreeCacheEvent] {
        needsLoad = false
        backoff.reset()
        var events: [TreeCacheEvent] = []
        for path in nodes.keys.sorted(by: Self.deepestFirst) where snapshot[path] == nil {
            events.append(.removed(path: path, node: nodes[path]!))
        }
        for path in snapshot.keys.sorted() {
            let new = snapshot[path]!
            if let old = nodes[path] {
                if Self.differs(old, new) { events.append(.changed(path: path, node: new)) }
            } else {
                events.append(.added(path: path, node: new))
            }
        }
        nodes = snapshot
        childIndex = [:]
        for path in nodes.keys { link(path) }
        if !initialized {
            initialized = true
            events.append(.initialized)
        }
        return events
    }

    public mutating func loadFailed(_ code: ErrorCode?) -> Duration? {
        needsLoad = true
        return failed(code)
    }

    /// One read of `read([...])` completed.
    public mutating func readCompleted(_ path: String, _ result: ReadResult) -> [TreeCacheEvent] {
        guard RecipePath.isWithin(path, root: root) else { return [] }
        switch result {
        case .absent:
            return removeSubtree(path)
        case .present(let node, let children):
            var events: [TreeCacheEvent] = []
            if let old = nodes[path] {
                if Self.differs(old, node) { events.append(.changed(path: path, node: node)) }
            } else {
                events.append(.added(path: path, node: node))
            }
            if nodes.updateValue(node, forKey: path) == nil { link(path) }
            if let children {
                let listed = Set(children.map { RecipePath.join(path, $0) })
                for child in listed.sorted() where nodes[child] == nil { enqueue(child) }
                for child in directChildren(of: path) where !listed.contains(child) {
                    events += removeSubtree(child)
                }
            }
            return events
        }
    }

    /// The reads of `paths` could not be done (the first failed): they are tried again.
    public mutating func readFailed(_ paths: [String], _ code: ErrorCode?) -> Duration? {
        for path in paths { enqueue(path) }
        return failed(code)
    }

    public mutating func sessionRenewed() {
        needsSession = false
        needsLoad = true
        if mode != .oneShot { watching = nil }
    }

    public mutating func sessionRenewFailed() -> Duration {
        waitingForRetry = true
        return backoff.next()
    }

    public mutating func stop() { stopped = true }

    // MARK: Messages

    /// A message from the watches, the connection or a timer; returns the events it settles at once (deletes).
    public mutating func receive(_ message: Message) -> [TreeCacheEvent] {
        switch message {
        case .event(let event):
            guard RecipePath.isWithin(event.path, root: root) else { return [] }
            switch event.type {
            case .nodeDeleted:
                return removeSubtree(event.path)
            case .nodeCreated, .nodeDataChanged, .nodeChildrenChanged:
                enqueue(event.path)
            case .none:
                if event.state == .expired { expire() }
            case .dataWatchRemoved, .childWatchRemoved, .persistentWatchRemoved:
                break
            }
        case .watchEnded(let generation, let expired):
            if let generation, generation == watching { watching = nil }
            if expired { expire() }
        case .connection(let state):
            switch state {
            case .connected:
                // A new session: its watches are gone.
                if mode != .oneShot { watching = nil }
                needsLoad = true
            case .reconnected, .readOnly:
                // Same session, watches kept, but what happened while disconnected is not replayed: resync.
                needsLoad = true
            case .expired:
                expire()
            case .closed:
                stopped = true
            case .suspended:
                break
            }
        case .retry:
            waitingForRetry = false
        }
        return []
    }

    // MARK: Helpers

    private mutating func expire() {
        needsSession = true
        needsLoad = true
        if mode != .oneShot { watching = nil }
    }

    private mutating func failed(_ code: ErrorCode?) -> Duration? {
        if code == .sessionExpired {
            expire()
            return nil
        }
        waitingForRetry = true
        return backoff.next()
    }

    private mutating func enqueue(_ path: String) {
        if pendingSet.insert(path).inserted { pending.append(path) }
    }

    private func directChildren(of path: String) -> [String] {
        (childIndex[path] ?? []).sorted()
    }

    /// Puts `path` in its parent's children, and the parent in its own parent's when it was not there yet (an
    /// ancestor that is not cached still links its cached descendants to the root).
    private mutating func link(_ path: String) {
        var child = path
        while child != root, let parent = RecipePath.parent(of: child) {
            let isNewParent = childIndex[parent] == nil
            childIndex[parent, default: []].insert(child)
            guard isNewParent else { return }
            child = parent
        }
    }

    /// Takes `path` out of its parent's children, and a parent left with none and not cached out of its own.
    private mutating func unlink(_ path: String) {
        var child = path
        while child != root, let parent = RecipePath.parent(of: child) {
            childIndex[parent]?.remove(child)
            guard childIndex[parent]?.isEmpty == true else { return }
            childIndex[parent] = nil
            guard nodes[parent] == nil else { return }
            child = parent
        }
    }

    private mutating func removeSubtree(_ path: String) -> [TreeCacheEvent] {
        var doomed: [String] = []
        var stack = [path]
        while let next = stack.popLast() {
            if nodes[next] != nil { doomed.append(next) }
            if let children = childIndex.removeValue(forKey: next) { stack += children }
        }
        doomed.sort(by: Self.deepestFirst)
        var events: [TreeCacheEvent] = []
        for victim in doomed {
            if let node = nodes.removeValue(forKey: victim) { events.append(.removed(path: victim, node: node)) }
        }
        unlink(path)
        return events
    }

    /// Children before their parents, then by name.
    static func deepestFirst(_ a: String, _ b: String) -> Bool {
        let da = a.count(where: { $0 == "/" })
        let db = b.count(where: { $0 == "/" })
        return da != db ? da > db : a < b
    }

    static func differs(_ old: TreeCacheNode, _ new: TreeCacheNode) -> Bool {
        old.stat.czxid != new.stat.czxid || old.stat.mzxid != new.stat.mzxid || old.data != new.data
    }
}
