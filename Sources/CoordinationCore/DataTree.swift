import ZooKeeperWire

/// What a change to the tree means to watchers (ZooKeeper's DataTree triggers, before watch lookup).
public enum WatchTrigger: Sendable, Equatable {
    case created(String)
    case deleted(String)
    case dataChanged(String)
    case childrenChanged(String)
}

/// The znode tree: a path → node map with children kept as names, plus the indexes ZooKeeper keeps
/// (session → ephemeral paths, containers, TTL nodes). Mutations assume they were validated by request
/// preparation; they never fail.
public struct DataTree: Sendable {
    public private(set) var nodes: [String: ZNode]
    public private(set) var ephemerals: [Int64: Set<String>] = [:]
    public private(set) var containers: Set<String> = []
    public private(set) var ttls: Set<String> = []
    public private(set) var acls = ACLTable()
    /// Sum of path and data lengths, as ZooKeeper's approximateDataSize.
    public private(set) var approximateDataSize: Int = 0

    public static let systemPaths = ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"]

    /// A tree with ZooKeeper's initial nodes: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`.
    public init() {
        nodes = [:]
        let open = acls.intern(ACLs.openUnsafe)
        nodes["/"] = ZNode(data: [], aclRef: open, zxid: 0, time: 0, ephemeralOwner: 0)
        approximateDataSize = 1  // the root's path, counted as a restored tree counts it
        for path in DataTree.systemPaths {
            insert(path: path, node: ZNode(data: [], aclRef: open, zxid: 0, time: 0, ephemeralOwner: 0), countCreate: false)
        }
        // ZooKeeper's /zookeeper/config is readable by everyone but writable by no one but super. DataTree sets it
        // with setACL(path, READ_ACL_UNSAFE, -1), which stores -1 as the aversion.
        if let config = nodes["/zookeeper/config"] {
            var c = config
            c.aclRef = acls.intern(ACLs.readUnsafe)
            c.aversion = -1
            nodes["/zookeeper/config"] = c
        }
    }

    /// Restores a tree from snapshot contents; children and indexes are rebuilt from the paths.
    init(restoring restored: [(String, ZNode)], acls: ACLTable) throws(SnapshotError) {
        self.nodes = [:]
        self.acls = acls
        nodes.reserveCapacity(restored.count)
        for (path, var node) in restored {
            node.children = []
            nodes[path] = node
        }
        guard nodes["/"] != nil else { throw .missingRoot }
        for (path, node) in nodes where path != "/" {
            guard let parent = ZNodePath.parent(of: path), nodes[parent] != nil else { throw .orphan(path) }
            nodes[parent]!.children.insert(ZNodePath.name(of: path))
            index(path: path, node: node)
        }
        for (path, node) in nodes { approximateDataSize += path.utf8.count + (node.data?.count ?? 0) }
    }

    public var nodeCount: Int { nodes.count }

    @inlinable
    public func node(at path: String) -> ZNode? { nodes[path] }

    public func acl(of node: ZNode) -> [ACL] { acls.list(node.aclRef) }

    /// Every path in the subtree below `path` (excluding it).
    public func descendantCount(of path: String) -> Int {
        guard let node = nodes[path] else { return 0 }
        var count = 0
        var stack = node.children.map { ZNodePath.child(path, $0) }
        while let p = stack.popLast() {
            count += 1
            if let n = nodes[p], !n.children.isEmpty { stack.append(contentsOf: n.children.map { ZNodePath.child(p, $0) }) }
        }
        return count
    }

    private mutating func index(path: String, node: ZNode) {
        switch node.kind {
        case .session(let s): ephemerals[s, default: []].insert(path)
        case .container: containers.insert(path)
        case .ttl: ttls.insert(path)
        case .persistent: break
        }
    }

    private mutating func unindex(path: String, node: ZNode) {
        switch node.kind {
        case .session(let s):
            ephemerals[s]?.remove(path)
            if ephemerals[s]?.isEmpty == true { ephemerals[s] = nil }
        case .container: containers.remove(path)
        case .ttl: ttls.remove(path)
        case .persistent: break
        }
    }

    private mutating func insert(path: String, node: ZNode, countCreate: Bool) {
        let parent = ZNodePath.parent(of: path)!
        let name = ZNodePath.name(of: path)
        nodes[path] = node
        nodes[parent]!.children.insert(name)
        if countCreate {
            nodes[parent]!.storedCversion &+= 1
            if node.czxid > nodes[parent]!.pzxid { nodes[parent]!.pzxid = node.czxid }
        }
        approximateDataSize += path.utf8.count + (node.data?.count ?? 0)
        index(path: path, node: node)
    }

    // MARK: Mutations, applied from transactions

    mutating func create(
        path: String, data: [UInt8]?, acl: [ACL], ephemeralOwner: Int64, zxid: Int64, time: Int64,
        triggers: inout [WatchTrigger]
    ) -> Stat {
        let ref = acls.intern(acl)
        let node = ZNode(data: data, aclRef: ref, zxid: zxid, time: time, ephemeralOwner: ephemeralOwner)
        insert(path: path, node: node, countCreate: true)
        let parent = ZNodePath.parent(of: path)!
        triggers.append(.created(path))
        triggers.append(.childrenChanged(parent))
        return node.stat
    }

    mutating func delete(path: String, zxid: Int64, triggers: inout [WatchTrigger]) {
        guard let node = nodes.removeValue(forKey: path), let parent = ZNodePath.parent(of: path) else { return }
        nodes[parent]?.children.remove(ZNodePath.name(of: path))
        if zxid > (nodes[parent]?.pzxid ?? .max) { nodes[parent]!.pzxid = zxid }
        approximateDataSize -= path.utf8.count + (node.data?.count ?? 0)
        unindex(path: path, node: node)
        triggers.append(.deleted(path))
        triggers.append(.childrenChanged(parent))
    }

    mutating func setData(
        path: String, data: [UInt8]?, version: Int32, zxid: Int64, time: Int64, triggers: inout [WatchTrigger]
    ) -> Stat {
        guard var node = nodes[path] else { return .zero }
        approximateDataSize += (data?.count ?? 0) - (node.data?.count ?? 0)
        node.data = data
        node.version = version
        node.mzxid = zxid
        node.mtime = time
        nodes[path] = node
        triggers.append(.dataChanged(path))
        return node.stat
    }

    mutating func setACL(path: String, acl: [ACL], aversion: Int32) -> Stat {
        guard nodes[path] != nil else { return .zero }
        let ref = acls.intern(acl)
        nodes[path]!.aclRef = ref
        nodes[path]!.aversion = aversion
        return nodes[path]!.stat
    }
}

public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingRoot
    case orphan(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .missingRoot: return "snapshot has no root node"
        case .orphan(let p): return "snapshot node \(p) has no parent"
        case .malformed(let why): return "malformed snapshot: \(why)"
        }
    }
}
