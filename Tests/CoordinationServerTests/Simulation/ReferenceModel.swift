import ZooKeeperWire

/// A deliberately simple model of ZooKeeper's semantics, written apart from the server's core and small enough
/// to read in one sitting: a dictionary of nodes, the sessions, and one-shot watches. The simulator applies each
/// request to it in the order the server processes them and compares the two after every step.
///
/// What it models: data, version, cversion, ephemeral owners, sequential names (the parent's count of child
/// creates, ten digits), children, sessions and their ephemerals, data/exists/child watches that fire once each, in order,
/// and a multi that applies all or nothing. Not modelled: ACLs (everything is world:anyone), zxids and times
/// (the simulator checks those against durability separately), containers, TTLs.
struct ReferenceModel: Equatable {
    struct Node: Equatable {
        var data: [UInt8]
        var version: Int32 = 0
        /// Children ever created here. ZooKeeper keeps this count (StatPersisted.cversion), names sequential
        /// children after it, and shows clients `creates * 2 - numChildren` as cversion (DataNode.copyStat), which
        /// is the number of child creates plus deletes.
        var creates: Int32 = 0
        var ephemeralOwner: Int64 = 0
        var children: Set<String> = []
        var cversion: Int32 { creates * 2 - Int32(children.count) }
    }

    struct Event: Equatable, CustomStringConvertible {
        var type: EventType
        var path: String
        var description: String { "\(type) \(path)" }
    }

    /// What a request should get back.
    enum Outcome: Equatable {
        case error(ErrorCode)
        case created(String)
        case stat(version: Int32, cversion: Int32, ephemeralOwner: Int64, numChildren: Int32)
        case data([UInt8], version: Int32)
        case children([String])
        case done
        case multi([ErrorCode], created: [String])
    }

    /// ZooKeeper's tree at start: `/`, `/zookeeper`, `/zookeeper/config` and `/zookeeper/quota`.
    var nodes: [String: Node] = [
        "/": Node(data: []), "/zookeeper": Node(data: []), "/zookeeper/config": Node(data: []), "/zookeeper/quota": Node(data: []),
    ]
    var sessions: Set<Int64> = []
    // One-shot watches: path → sessions.
    var dataWatches: [String: Set<Int64>] = [:]
    var childWatches: [String: Set<Int64>] = [:]
    /// Events owed to each session, in order (the simulator pops them as they arrive).
    var owed: [Int64: [Event]] = [:]

    init() {
        nodes["/"]!.children = ["zookeeper"]
        nodes["/zookeeper"]!.children = ["config", "quota"]  // built without creates: cversions -1 and -2
    }

    static func parent(of path: String) -> String {
        let i = path.lastIndex(of: "/")!
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    static func name(of path: String) -> String { String(path[path.index(after: path.lastIndex(of: "/")!)...]) }

    // MARK: Watches

    private mutating func fire(_ type: EventType, _ path: String, from table: WritableKeyPath<ReferenceModel, [String: Set<Int64>]>, except: Set<Int64> = []) -> Set<Int64> {
        let watchers = self[keyPath: table][path] ?? []
        self[keyPath: table][path] = nil
        for s in watchers.sorted() where !except.contains(s) { owed[s, default: []].append(Event(type: type, path: path)) }
        return watchers
    }

    /// A session's connection went away: its watches go with it (ZooKeeper keeps watches per connection).
    mutating func dropWatches(of session: Int64) {
        for (p, s) in dataWatches { dataWatches[p] = s.subtracting([session]).nilIfEmpty }
        for (p, s) in childWatches { childWatches[p] = s.subtracting([session]).nilIfEmpty }
        owed[session] = nil
    }

    mutating func dropAllWatches() {
        dataWatches = [:]
        childWatches = [:]
        owed = [:]
    }

    // MARK: Writes

    mutating func create(_ requested: String, data: [UInt8], ephemeralOwner: Int64, sequential: Bool) -> Outcome {
        let parent = Self.parent(of: requested)
        guard let p = nodes[parent] else { return .error(.noNode) }
        if p.ephemeralOwner != 0 { return .error(.noChildrenForEphemerals) }
        let path = sequential ? requested + sequentialSuffix(p.creates) : requested
        if nodes[path] != nil { return .error(.nodeExists) }
        nodes[path] = Node(data: data, ephemeralOwner: ephemeralOwner)
        nodes[parent]!.children.insert(Self.name(of: path))
        nodes[parent]!.creates += 1
        _ = fire(.nodeCreated, path, from: \.dataWatches)
        _ = fire(.nodeChildrenChanged, parent, from: \.childWatches)
        return .created(path)
    }

    mutating func delete(_ path: String, version: Int32) -> Outcome {
        guard let n = nodes[path], path != "/" else { return .error(path == "/" ? .badArguments : .noNode) }
        if version != -1 && version != n.version { return .error(.badVersion) }
        if !n.children.isEmpty { return .error(.notEmpty) }
        remove(path)
        return .done
    }

    private mutating func remove(_ path: String) {
        let parent = Self.parent(of: path)
        nodes[path] = nil
        nodes[parent]?.children.remove(Self.name(of: path))
        let told = fire(.nodeDeleted, path, from: \.dataWatches)
        _ = fire(.nodeDeleted, path, from: \.childWatches, except: told)
        _ = fire(.nodeChildrenChanged, parent, from: \.childWatches)
    }

    mutating func setData(_ path: String, data: [UInt8], version: Int32) -> Outcome {
        guard let n = nodes[path] else { return .error(.noNode) }
        if version != -1 && version != n.version { return .error(.badVersion) }
        nodes[path]!.data = data
        nodes[path]!.version += 1
        _ = fire(.nodeDataChanged, path, from: \.dataWatches)
        return stat(path)
    }

    /// A multi of check/create/setData/delete: all or nothing. On failure every result is an error: ok before the
    /// failing op, its code, runtimeInconsistency after (ZooKeeper's MultiResponse).
    enum Op {
        case check(String, version: Int32)
        case create(String, data: [UInt8], ephemeralOwner: Int64, sequential: Bool)
        case setData(String, data: [UInt8], version: Int32)
        case delete(String, version: Int32)
    }

    mutating func multi(_ ops: [Op]) -> Outcome {
        var trial = self
        trial.owed = [:]
        var created: [String] = []
        for (i, op) in ops.enumerated() {
            let outcome: Outcome
            switch op {
            case .check(let path, let version):
                if let n = trial.nodes[path] { outcome = version == -1 || version == n.version ? .done : .error(.badVersion) } else { outcome = .error(.noNode) }
            case .create(let path, let data, let owner, let seq): outcome = trial.create(path, data: data, ephemeralOwner: owner, sequential: seq)
            case .setData(let path, let data, let version): outcome = trial.setData(path, data: data, version: version)
            case .delete(let path, let version): outcome = trial.delete(path, version: version)
            }
            if case .error(let code) = outcome {
                let codes = ops.indices.map { $0 < i ? ErrorCode.ok : $0 == i ? code : .runtimeInconsistency }
                return .multi(codes, created: [])
            }
            if case .created(let p) = outcome { created.append(p) }
        }
        // Success: the trial's tree, and its events in order after those already owed.
        let events = trial.owed
        trial.owed = owed
        for (s, list) in events.sorted(by: { $0.key < $1.key }) { trial.owed[s, default: []].append(contentsOf: list) }
        self = trial
        return .multi(Array(repeating: .ok, count: ops.count), created: created)
    }

    // MARK: Sessions

    mutating func openSession(_ id: Int64) { sessions.insert(id) }

    /// Close or expiry: the session's ephemerals go, deepest first, in one step.
    mutating func closeSession(_ id: Int64) {
        for path in nodes.filter({ $0.value.ephemeralOwner == id }).keys.sorted(by: >) { remove(path) }
        sessions.remove(id)
        dropWatches(of: id)
    }

    // MARK: Reads

    func stat(_ path: String) -> Outcome {
        let n = nodes[path]!
        return .stat(version: n.version, cversion: n.cversion, ephemeralOwner: n.ephemeralOwner, numChildren: Int32(n.children.count))
    }

    mutating func getData(_ path: String, watcher: Int64?) -> Outcome {
        guard let n = nodes[path] else { return .error(.noNode) }
        if let w = watcher { dataWatches[path, default: []].insert(w) }
        return .data(n.data, version: n.version)
    }

    mutating func exists(_ path: String, watcher: Int64?) -> Outcome {
        if let w = watcher { dataWatches[path, default: []].insert(w) }  // also on a missing node: NodeCreated
        return nodes[path] == nil ? .error(.noNode) : stat(path)
    }

    mutating func getChildren(_ path: String, watcher: Int64?) -> Outcome {
        guard let n = nodes[path] else { return .error(.noNode) }
        if let w = watcher { childWatches[path, default: []].insert(w) }
        return .children(n.children.sorted())
    }

    func ephemerals(of session: Int64) -> [String] {
        nodes.filter { $0.value.ephemeralOwner == session }.keys.sorted()
    }
}

extension Set {
    var nilIfEmpty: Set? { isEmpty ? nil : self }
}

/// `%010d`, ZooKeeper's sequential suffix.
func sequentialSuffix(_ n: Int32) -> String {
    let digits = "\(n)"
    return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
}
