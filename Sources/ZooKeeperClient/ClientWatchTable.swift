import ZooKeeperWire

/// Identifies one local watcher: a one-shot watch, a callback or a persistent watch stream.
struct WatcherID: Hashable, Comparable, Sendable, CustomStringConvertible {
    var rawValue: UInt64
    static func < (a: WatcherID, b: WatcherID) -> Bool { a.rawValue < b.rawValue }
    var description: String { "w\(rawValue)" }
}

/// What a request asks to watch, registered locally when its reply says the server set the watch.
enum WatchRegistration: Hashable, Sendable {
    /// getData: a data watch.
    case data(WatcherID)
    /// exists: a data watch if the node exists, an exist watch if the reply is NONODE.
    case exists(WatcherID)
    /// getChildren / getChildren2: a child watch.
    case children(WatcherID)
    /// addWatch, persistent mode.
    case persistent(WatcherID)
    /// addWatch, persistent recursive mode.
    case persistentRecursive(WatcherID)

    var watcher: WatcherID {
        switch self {
        case .data(let w), .exists(let w), .children(let w), .persistent(let w), .persistentRecursive(let w): return w
        }
    }
}

/// The client's side of the watches of its session, by server path (ZooKeeper's ZKWatchManager): the tables
/// that decide who receives a notification, and what setWatches re-registers after a reconnect.
struct ClientWatchTable: Sendable {
    enum Kind: Hashable, Sendable, CaseIterable {
        case data, exist, child, persistent, persistentRecursive
    }

    private(set) var tables: [Kind: [String: Set<WatcherID>]] = [:]
    private var registrations: [WatcherID: (kind: Kind, path: String)] = [:]

    var isEmpty: Bool { registrations.isEmpty }
    var allWatchers: [WatcherID] { registrations.keys.sorted() }

    /// The server paths watched with `kind`, sorted.
    func paths(_ kind: Kind) -> [String] { (tables[kind] ?? [:]).keys.sorted() }

    func kind(of watcher: WatcherID) -> (kind: Kind, path: String)? { registrations[watcher] }

    mutating func add(_ watcher: WatcherID, kind: Kind, path: String) {
        tables[kind, default: [:]][path, default: []].insert(watcher)
        registrations[watcher] = (kind, path)
    }

    @discardableResult
    mutating func remove(_ watcher: WatcherID) -> (kind: Kind, path: String)? {
        guard let (kind, path) = registrations.removeValue(forKey: watcher) else { return nil }
        tables[kind]?[path]?.remove(watcher)
        if tables[kind]?[path]?.isEmpty == true { tables[kind]?[path] = nil }
        return (kind, path)
    }

    /// Whether any local watcher of any kind watches exactly `path`.
    func hasWatchers(at path: String) -> Bool {
        Kind.allCases.contains { tables[$0]?[path]?.isEmpty == false }
    }

    /// Removes and returns the watchers of `kinds` at `path`.
    mutating func removeAll(at path: String, kinds: [Kind]) -> [WatcherID] {
        var out: [WatcherID] = []
        for kind in kinds {
            guard let set = tables[kind]?.removeValue(forKey: path) else { continue }
            for w in set { registrations[w] = nil }
            out.append(contentsOf: set)
        }
        return out.sorted()
    }

    /// The watchers a notification goes to, consuming the one-shot ones (ZKWatchManager.materialize).
    /// Persistent recursive watches of the path and its ancestors see every event but NodeChildrenChanged.
    mutating func materialize(_ type: EventType, path: String) -> [WatcherID] {
        var result: Set<WatcherID> = []
        func take(_ kind: Kind) {
            guard let set = tables[kind]?.removeValue(forKey: path) else { return }
            for w in set { registrations[w] = nil }
            result.formUnion(set)
        }
        func persistentOnes(recursive: Bool) {
            result.formUnion(tables[.persistent]?[path] ?? [])
            if recursive, let table = tables[.persistentRecursive], !table.isEmpty {
                for p in ZNodePath.selfAndAncestors(path) { result.formUnion(table[p] ?? []) }
            }
        }
        switch type {
        case .nodeCreated, .nodeDataChanged:
            take(.data)
            take(.exist)
            persistentOnes(recursive: true)
        case .nodeDeleted:
            take(.data)
            take(.exist)
            take(.child)
            persistentOnes(recursive: true)
        case .nodeChildrenChanged:
            take(.child)
            persistentOnes(recursive: false)
        case .none, .dataWatchRemoved, .childWatchRemoved, .persistentWatchRemoved:
            break
        }
        return result.sorted()
    }

    mutating func removeAll() -> [WatcherID] {
        let all = allWatchers
        tables = [:]
        registrations = [:]
        return all
    }
}
