import ZooKeeperWire

/// A watch registered by a watcher (a session's current connection) on a path.
public struct WatchModes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// One-shot: removed when it fires.
    public static let standard = WatchModes(rawValue: 1)
    /// Stays after firing; exact path only.
    public static let persistent = WatchModes(rawValue: 2)
    /// Stays after firing; the path and every descendant (data events only, as in ZooKeeper).
    public static let persistentRecursive = WatchModes(rawValue: 4)
}

/// One notification to deliver, to a watcher that has READ permission under `acl` (see `WatchTrigger`).
public struct WatchDelivery: Sendable, Equatable {
    public var watcher: Int64
    public var type: EventType
    public var path: String
    /// The ACL the watcher's connection needs READ on when the event is sent; empty: no check.
    public var acl: [ACL]

    public init(watcher: Int64, type: EventType, path: String, acl: [ACL] = []) {
        self.watcher = watcher
        self.type = type
        self.path = path
        self.acl = acl
    }
}

/// ZooKeeper's two watch managers (data and child) with standard, persistent and persistent-recursive modes.
/// Pure: it returns who must be told, the caller sends.
public struct WatchRegistry: Sendable {
    public enum Table: Sendable { case data, child }

    private var data: [String: [Int64: WatchModes]] = [:]
    private var child: [String: [Int64: WatchModes]] = [:]
    private var byWatcher: [Int64: Set<String>] = [:]
    private var recursiveCount = 0

    public init() {}

    /// Number of (path, watcher) registrations across both tables.
    public var count: Int { data.values.reduce(0) { $0 + $1.count } + child.values.reduce(0) { $0 + $1.count } }

    /// Data watches only (what ZooKeeper's wchs counts): watchers with one, paths with one, and (path, watcher)
    /// pairs. O(data watches), no sorting.
    public func dataWatchSummary() -> (watchers: Int, paths: Int, total: Int) {
        var watchers: Set<Int64> = []
        var total = 0
        for ws in data.values {
            total += ws.count
            for w in ws.keys { watchers.insert(w) }
        }
        return (watchers.count, data.count, total)
    }

    public var watchedPathCount: Int { Set(data.keys).union(child.keys).count }

    public var watcherCount: Int { byWatcher.count }

    /// Paths watched per watcher (for `wchc`), and watchers per path (for `wchp`).
    public func pathsByWatcher() -> [Int64: [String]] { byWatcher.mapValues { $0.sorted() } }

    public func watchersByPath() -> [String: [Int64]] {
        var out: [String: Set<Int64>] = [:]
        for (p, ws) in data { out[p, default: []].formUnion(ws.keys) }
        for (p, ws) in child { out[p, default: []].formUnion(ws.keys) }
        return out.mapValues { $0.sorted() }
    }

    /// Every (watcher, path) of the data table (what ZooKeeper's wchs/wchc/wchp list), sorted.
    public func dataWatchList() -> [(watcher: Int64, path: String)] {
        var out: [(watcher: Int64, path: String)] = []
        for (path, ws) in data { for w in ws.keys { out.append((w, path)) } }
        return out.sorted { $0.path == $1.path ? $0.watcher < $1.watcher : $0.path < $1.path }
    }

    public mutating func add(_ table: Table, path: String, watcher: Int64, mode: WatchModes = .standard) {
        switch table {
        case .data: Self.insert(&data, path: path, watcher: watcher, mode: mode)
        case .child: Self.insert(&child, path: path, watcher: watcher, mode: mode)
        }
        if mode.contains(.persistentRecursive) { recursiveCount += 1 }
        byWatcher[watcher, default: []].insert(path)
    }

    /// addWatch: persistent goes in both tables, persistent-recursive in the data table only.
    public mutating func addPersistent(path: String, watcher: Int64, recursive: Bool) {
        if recursive {
            if data[path]?[watcher]?.contains(.persistentRecursive) == true { return }
            add(.data, path: path, watcher: watcher, mode: .persistentRecursive)
        } else {
            add(.data, path: path, watcher: watcher, mode: .persistent)
            add(.child, path: path, watcher: watcher, mode: .persistent)
        }
    }

    private static func insert(_ t: inout [String: [Int64: WatchModes]], path: String, watcher: Int64, mode: WatchModes) {
        t[path, default: [:]][watcher, default: []].formUnion(mode)
    }

    /// Forgets every watch of a watcher (its connection closed).
    public mutating func removeAll(watcher: Int64) {
        guard let paths = byWatcher.removeValue(forKey: watcher) else { return }
        for p in paths {
            if let m = data[p]?.removeValue(forKey: watcher), m.contains(.persistentRecursive) { recursiveCount -= 1 }
            if data[p]?.isEmpty == true { data[p] = nil }
            child[p]?.removeValue(forKey: watcher)
            if child[p]?.isEmpty == true { child[p] = nil }
        }
    }

    /// checkWatches.
    public func contains(path: String, watcher: Int64, type: WatcherType) -> Bool {
        let d = data[path]?[watcher] ?? []
        let c = child[path]?[watcher] ?? []
        switch type {
        case .children: return !c.isEmpty
        case .data: return !d.isEmpty
        case .any: return !c.isEmpty || !d.isEmpty
        case .persistent: return d.contains(.persistent) || c.contains(.persistent)
        case .persistentRecursive: return d.contains(.persistentRecursive)
        }
    }

    /// removeWatches. Returns whether anything was removed.
    public mutating func remove(path: String, watcher: Int64, type: WatcherType) -> Bool {
        var removed = false
        func strip(_ t: inout [String: [Int64: WatchModes]], _ modes: WatchModes, _ recursiveCount: inout Int) {
            guard let m = t[path]?[watcher], !m.intersection(modes).isEmpty else { return }
            removed = true
            if m.intersection(modes).contains(.persistentRecursive) { recursiveCount -= 1 }
            let left = m.subtracting(modes)
            if left.isEmpty { t[path]![watcher] = nil } else { t[path]![watcher] = left }
            if t[path]!.isEmpty { t[path] = nil }
        }
        let all: WatchModes = [.standard, .persistent, .persistentRecursive]
        switch type {
        case .children: strip(&child, [.standard], &recursiveCount)
        case .data: strip(&data, [.standard], &recursiveCount)
        case .any:
            strip(&child, all, &recursiveCount)
            strip(&data, all, &recursiveCount)
        case .persistent:
            strip(&child, [.persistent], &recursiveCount)
            strip(&data, [.persistent], &recursiveCount)
        case .persistentRecursive: strip(&data, [.persistentRecursive], &recursiveCount)
        }
        if removed, data[path]?[watcher] == nil, child[path]?[watcher] == nil {
            byWatcher[watcher]?.remove(path)
            if byWatcher[watcher]?.isEmpty == true { byWatcher[watcher] = nil }
        }
        return removed
    }

    /// Turns a tree change into deliveries, consuming one-shot watches (ZooKeeper's triggerWatch). Whether each
    /// watcher may read the node is decided at delivery, with its connection's auth; a one-shot watch whose
    /// event is then withheld is consumed all the same, as in ZooKeeper.
    public mutating func fire(_ trigger: WatchTrigger, into out: inout [WatchDelivery]) {
        switch trigger {
        case .created(let p, let acl):
            for w in fire(.data, path: p) { out.append(WatchDelivery(watcher: w, type: .nodeCreated, path: p, acl: acl)) }
        case .dataChanged(let p, let acl):
            for w in fire(.data, path: p) { out.append(WatchDelivery(watcher: w, type: .nodeDataChanged, path: p, acl: acl)) }
        case .childrenChanged(let p, let acl):
            for w in fire(.child, path: p) {
                out.append(WatchDelivery(watcher: w, type: .nodeChildrenChanged, path: p, acl: acl))
            }
        case .deleted(let p, let acl):
            let first = fire(.data, path: p)
            for w in first { out.append(WatchDelivery(watcher: w, type: .nodeDeleted, path: p, acl: acl)) }
            for w in fire(.child, path: p) where !first.contains(w) {
                out.append(WatchDelivery(watcher: w, type: .nodeDeleted, path: p, acl: acl))
            }
        }
    }

    private mutating func fire(_ table: Table, path: String) -> [Int64] {
        var hit: [Int64] = []
        func consume(_ t: inout [String: [Int64: WatchModes]], byWatcher: inout [Int64: Set<String>], other: [String: [Int64: WatchModes]]) {
            guard var ws = t[path] else { return }
            for (w, m) in ws {
                hit.append(w)
                if m.contains(.standard) {
                    let left = m.subtracting(.standard)
                    ws[w] = left.isEmpty ? nil : left
                    if left.isEmpty, other[path]?[w] == nil {
                        byWatcher[w]?.remove(path)
                        if byWatcher[w]?.isEmpty == true { byWatcher[w] = nil }
                    }
                }
            }
            t[path] = ws.isEmpty ? nil : ws
        }
        switch table {
        case .data: consume(&data, byWatcher: &byWatcher, other: child)
        case .child: consume(&child, byWatcher: &byWatcher, other: data)
        }
        if table == .data && recursiveCount > 0 {
            var p = ZNodePath.parent(of: path)
            while let ancestor = p {
                if let ws = data[ancestor] {
                    for (w, m) in ws where m.contains(.persistentRecursive) && !hit.contains(w) { hit.append(w) }
                }
                p = ZNodePath.parent(of: ancestor)
            }
        }
        return hit
    }
}
