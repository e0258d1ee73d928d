import NIOCore
import ZooKeeperWire

/// What a change to the tree means to watchers (ZooKeeper's DataTree triggers, before watch lookup). Each
/// carries the ACL a watcher needs READ on to be told (ZooKeeper 3.8.4/3.9.2, CVE-2024-23944): the node's own
/// ACL for created, deleted and dataChanged; the parent's for childrenChanged (whose path is the parent's), as
/// they were when the change was applied. An empty list lets everyone be told.
public enum WatchTrigger: Sendable, Equatable {
    case created(String, acl: [ACL] = [])
    case deleted(String, acl: [ACL] = [])
    case dataChanged(String, acl: [ACL] = [])
    case childrenChanged(String, acl: [ACL] = [])
}

/// The znode tree, stored compactly (see `NodePages`): records and bytes in pages, a path → slot index, child
/// lists per parent, plus the indexes ZooKeeper keeps (session → ephemeral paths, containers, TTL nodes).
/// Mutations assume they were validated by request preparation; they never fail.
public struct DataTree: Sendable {
    @usableFromInline var store = NodePages()
    @usableFromInline var pathIndex = PathIndex()
    /// Parent slot → child slots (unordered; a removal moves the last child into the hole).
    @usableFromInline var childLists: [Int32: [Int32]] = [:]
    var freeSlots: [Int32] = []
    var slotCount: Int32 = 0
    public private(set) var nodeCount: Int = 0
    public private(set) var ephemerals: [Int64: Set<String>] = [:]
    public private(set) var containers: Set<String> = []
    public private(set) var ttls: Set<String> = []
    public private(set) var acls = ACLTable()
    /// Sum of path and data lengths, as ZooKeeper's approximateDataSize.
    public private(set) var approximateDataSize: Int = 0

    public static let systemPaths = ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"]

    /// A tree with ZooKeeper's initial nodes: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`.
    public init() {
        let open = acls.intern(ACLs.openUnsafe)
        let blank = Self.record(aclRef: open, zxid: 0, time: 0, ephemeralOwner: 0)
        _ = Self.withBytes("/") { insertNode(path: $0, data: UnsafeRawBufferPointer(start: nil, count: 0), blank, parent: -1) }
        approximateDataSize = 1  // the root's path, counted as a restored tree counts it
        for path in DataTree.systemPaths {
            let parent = slot(of: ZNodePath.parent(of: path)!)!
            _ = Self.withBytes(path) { insertNode(path: $0, data: UnsafeRawBufferPointer(start: nil, count: 0), blank, parent: parent) }
            approximateDataSize += path.utf8.count
        }
        // ZooKeeper's /zookeeper/config is readable by everyone but writable by no one but super. DataTree sets it
        // with setACL(path, READ_ACL_UNSAFE, -1), which stores -1 as the aversion.
        let config = slot(of: "/zookeeper/config")!
        let read = acls.intern(ACLs.readUnsafe)
        modify(config) {
            $0.aclRef = read
            $0.aversion = -1
        }
    }

    /// Restores a tree from the node section of a snapshot (`count` nodes: path, data, ACL reference, stat
    /// fields), read straight into the pages; children and indexes are rebuilt from the paths. Nodes listed before
    /// their parents (snapshots list slots, and deletes free slots for reuse) are placed afterwards, shallowest first.
    init(restoring b: inout ByteBuffer, count: Int, acls: ACLTable) throws(SnapshotError) {
        self.acls = acls
        let aclCount = Int32(acls.lists.count)
        growPathIndex(toHold: count)
        var failure: SnapshotError?
        var consumed = 0
        b.withUnsafeReadableBytes { raw in
            struct Parsed {
                var path: UnsafeRawBufferPointer
                var data: UnsafeRawBufferPointer?
                var record: NodeRecord
            }
            /// Reads the node at `pos` and moves past it; nil (and `failure`) when it is malformed.
            func parse(_ pos: inout Int) -> Parsed? {
                func int32() -> Int32? {
                    guard pos + 4 <= raw.count else { return nil }
                    defer { pos += 4 }
                    return Int32(bigEndian: raw.loadUnaligned(fromByteOffset: pos, as: Int32.self))
                }
                func int64() -> Int64? {
                    guard pos + 8 <= raw.count else { return nil }
                    defer { pos += 8 }
                    return Int64(bigEndian: raw.loadUnaligned(fromByteOffset: pos, as: Int64.self))
                }
                func bytes(_ what: String) -> (UnsafeRawBufferPointer?, ok: Bool) {
                    guard let n = int32(), n >= -1 else { failure = .malformed("\(what) length"); return (nil, false) }
                    if n == -1 { return (nil, true) }
                    guard pos + Int(n) <= raw.count else { failure = .malformed("truncated \(what)"); return (nil, false) }
                    defer { pos += Int(n) }
                    return (UnsafeRawBufferPointer(rebasing: raw[pos..<pos + Int(n)]), true)
                }
                let (pathOrNil, pathOK) = bytes("path")
                guard pathOK else { return nil }
                let path = pathOrNil ?? UnsafeRawBufferPointer(start: nil, count: 0)
                let (data, dataOK) = bytes("data")
                guard dataOK else { return nil }
                guard let aclRef = int32() else { failure = .malformed("truncated node"); return nil }
                guard aclRef >= 0 && aclRef < aclCount else {
                    failure = .malformed("acl ref of \(String(decoding: path, as: UTF8.self))")
                    return nil
                }
                guard let czxid = int64(), let mzxid = int64(), let ctime = int64(), let mtime = int64(),
                    let version = int32(), let storedCversion = int32(), let aversion = int32(),
                    let owner = int64(), let pzxid = int64()
                else { failure = .malformed("truncated node"); return nil }
                var r = Self.record(aclRef: aclRef, zxid: czxid, time: ctime, ephemeralOwner: owner)
                r.mzxid = mzxid
                r.mtime = mtime
                r.pzxid = pzxid
                r.version = version
                r.storedCversion = storedCversion
                r.aversion = aversion
                return Parsed(path: path, data: data, record: r)
            }
            // Siblings tend to follow each other: remember the last parent.
            var lastParentPath = UnsafeRawBufferPointer(start: nil, count: 0)
            var lastParent: Int32 = -1
            /// Stores a parsed node; false when its parent is not in yet.
            func place(_ n: Parsed) -> Bool {
                let parent: Int32
                if n.path.count == 1 && n.path[0] == UInt8(ascii: "/") {
                    parent = -1
                } else if let pb = Self.parentBytes(n.path) {
                    if lastParent >= 0 && NodePages.equal(pb, lastParentPath) {
                        parent = lastParent
                    } else {
                        guard let found = slot(ofBytes: pb) else { return false }
                        parent = found
                        lastParent = found
                        lastParentPath = pb
                    }
                } else {
                    failure = .orphan(String(decoding: n.path, as: UTF8.self))
                    return true
                }
                let hash = PathHash.hash(n.path)
                if slot(ofBytes: n.path, hash: hash) != nil {
                    failure = .malformed("duplicate node \(String(decoding: n.path, as: UTF8.self))")
                    return true
                }
                insertNode(path: n.path, data: n.data, n.record, parent: parent, hash: hash)
                approximateDataSize += n.path.count + (n.data?.count ?? 0)
                if n.record.ephemeralOwner != 0 {
                    index(path: String(decoding: n.path, as: UTF8.self), kind: EphemeralKind(owner: n.record.ephemeralOwner))
                }
                return true
            }
            var pos = 0
            var waiting: [(depth: Int, start: Int)] = []
            for _ in 0..<count {
                let start = pos
                guard let n = parse(&pos) else { return }
                if !place(n) { waiting.append((n.path.reduce(0) { $1 == UInt8(ascii: "/") ? $0 + 1 : $0 }, start)) }
                if failure != nil { return }
            }
            consumed = pos
            // Shallowest first: every parent that exists is then placed before its children, in one pass.
            waiting.sort { $0.depth < $1.depth }
            for (_, start) in waiting {
                var at = start
                guard let n = parse(&at) else { return }
                if !place(n) {
                    failure = slot(of: "/") == nil ? .missingRoot : .orphan(String(decoding: n.path, as: UTF8.self))
                    return
                }
                if failure != nil { return }
            }
        }
        if let failure { throw failure }
        b.moveReaderIndex(forwardBy: consumed)
        guard slot(of: "/") != nil else { throw .missingRoot }
    }

    static func record(aclRef: Int32, zxid: Int64, time: Int64, ephemeralOwner: Int64) -> NodeRecord {
        NodeRecord(
            czxid: zxid, mzxid: zxid, ctime: time, mtime: time, pzxid: zxid, ephemeralOwner: ephemeralOwner,
            version: 0, storedCversion: 0, aversion: 0, aclRef: aclRef, parent: -1, indexInParent: 0, childCount: 0,
            offset: 0, nameLength: 0, dataLength: -1)
    }

    // MARK: Bytes of strings

    @inlinable
    static func withBytes<R>(_ s: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let r = try s.utf8.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) { return r }
        var copy = s
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    /// The parent part of a path's bytes ("/" for "/a"); nil for the root or a path without '/'.
    @inlinable
    static func parentBytes(_ p: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard p.count > 1, let slash = p.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return UnsafeRawBufferPointer(rebasing: p[0..<max(slash, 1)])
    }

    /// The last segment of a path's bytes.
    @inlinable
    static func nameBytes(_ p: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let slash = p.lastIndex(of: UInt8(ascii: "/")) else { return p }
        return UnsafeRawBufferPointer(rebasing: p[(slash + 1)...])
    }

    // MARK: Slots

    @inlinable
    func slot(ofBytes p: UnsafeRawBufferPointer, hash: UInt32) -> Int32? {
        pathIndex.find(hash: hash) { s in store.isPath(p, of: s) }
    }

    @inlinable
    func slot(ofBytes p: UnsafeRawBufferPointer) -> Int32? { slot(ofBytes: p, hash: PathHash.hash(p)) }

    @inlinable
    func slot(of path: String) -> Int32? { Self.withBytes(path) { slot(ofBytes: $0) } }

    @inlinable
    mutating func modify(_ slot: Int32, _ body: (inout NodeRecord) -> Void) {
        body(&store.pages[Int(slot) >> NodePages.pageShift].records[Int(slot) & NodePages.pageMask])
    }

    private mutating func allocateSlot() -> Int32 {
        if let s = freeSlots.popLast() { return s }
        let s = slotCount
        slotCount += 1
        let page = Int(s) >> NodePages.pageShift
        if page == store.pages.count {
            var fresh = NodePage()
            fresh.records.reserveCapacity(NodePages.pageSize)
            // Pages fill alike: start with the room the previous one needed (no regrowing while restoring).
            if let previous = store.pages.last { fresh.bytes.reserveCapacity(previous.bytes.count - previous.garbage) }
            store.pages.append(fresh)
        }
        store.pages[page].records.append(Self.record(aclRef: 0, zxid: 0, time: 0, ephemeralOwner: 0))
        return s
    }

    /// Stores a node (its parent must exist, its path must not) and links it into its parent's children (parent
    /// -1: the root). Only the path's last segment is stored. `hash`: the path's `PathHash.hash`, when the caller
    /// has it already.
    @discardableResult
    mutating func insertNode(
        path: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer?, _ template: NodeRecord, parent: Int32, hash: UInt32? = nil
    ) -> Int32 {
        growPathIndex(toHold: pathIndex.count + 1)
        let s = allocateSlot()
        let page = Int(s) >> NodePages.pageShift
        var r = template
        r.parent = parent
        r.childCount = 0
        let name = Self.nameBytes(path)  // empty for the root
        r.nameLength = Int32(name.count)
        r.dataLength = data.map { Int32($0.count) } ?? -1
        r.offset = Int32(store.pages[page].bytes.count)
        store.pages[page].bytes.append(contentsOf: name)
        if let data { store.pages[page].bytes.append(contentsOf: data) }
        if parent >= 0 {
            r.indexInParent = Int32(childLists[parent]?.count ?? 0)
            childLists[parent, default: []].append(s)
            modify(parent) { $0.childCount += 1 }
        }
        store.pages[page].records[Int(s) & NodePages.pageMask] = r
        pathIndex.insert(hash: hash ?? PathHash.hash(path), slot: s)
        nodeCount += 1
        return s
    }

    /// Grows the path index, if it must, to hold `n` nodes, rehashing every live node's path page by page (in
    /// memory order, unlike the index's own order). Call it before a new node's slot is taken.
    private mutating func growPathIndex(toHold n: Int) {
        let capacity = pathIndex.capacity(toHold: n)
        guard capacity > pathIndex.table.count else { return }
        let pages = store
        pathIndex.rebuild(capacity: capacity) { add in
            pages.forEachNode { slot, path, _, _ in add(slot, PathHash.hash(path)) }
        }
    }

    private mutating func releaseBytes(page: Int, _ count: Int) {
        store.pages[page].garbage += count
        let g = store.pages[page].garbage
        let count = store.pages[page].bytes.count
        // Compact when half the arena is garbage, or early when it nears the Int32 offsets' range (1024 nodes of
        // up to ~1 MB each stay below 2 GiB).
        if g > 4096 && (g * 2 > count || count > 1 << 30) { store.pages[page].compact() }
    }

    // MARK: Reading

    @inlinable
    public func node(at path: String) -> ZNode? {
        guard let s = slot(of: path) else { return nil }
        return ZNode(store.record(s), slot: s)
    }

    /// Whether a node exists at `path`.
    @inlinable
    public func contains(_ path: String) -> Bool { slot(of: path) != nil }

    /// The data of a node just read from this tree.
    @inlinable
    public func data(of node: ZNode) -> [UInt8]? {
        store.withBytes(node.slot) { _, data in data.map { Array($0) } }
    }

    /// The data at `path` (nil when the node is missing or its data is null).
    public func data(at path: String) -> [UInt8]? { node(at: path).flatMap { data(of: $0) } }

    /// The child names of a node just read from this tree, in no particular order (as ZooKeeper's HashSet).
    public func children(of node: ZNode) -> [String] {
        guard let list = childLists[node.slot] else { return [] }
        return list.map { c in store.withBytes(c) { name, _ in String(decoding: name, as: UTF8.self) } }
    }

    /// The child names at `path` ([] when the node is missing).
    public func children(at path: String) -> [String] { node(at: path).map { children(of: $0) } ?? [] }

    /// Every path of the tree, in no particular order.
    public var paths: [String] {
        var out: [String] = []
        out.reserveCapacity(nodeCount)
        store.forEachNode { _, path, _, _ in out.append(String(decoding: path, as: UTF8.self)) }
        return out
    }

    public func acl(of node: ZNode) -> [ACL] { acls.list(node.aclRef) }

    /// Every path in the subtree below `path` (excluding it).
    public func descendantCount(of path: String) -> Int {
        guard let s = slot(of: path) else { return 0 }
        var count = 0
        var stack: [Int32] = [s]
        while let p = stack.popLast() {
            guard let list = childLists[p] else { continue }
            count += list.count
            for c in list where store.record(c).childCount > 0 { stack.append(c) }
        }
        return count
    }

    /// What a snapshot writer needs, shared in O(pages): later changes to the tree copy only the pages they touch.
    var pages: NodePages { store }

    private mutating func index(path: String, kind: EphemeralKind) {
        switch kind {
        case .session(let s): ephemerals[s, default: []].insert(path)
        case .container: containers.insert(path)
        case .ttl: ttls.insert(path)
        case .persistent: break
        }
    }

    private mutating func unindex(path: String, kind: EphemeralKind) {
        switch kind {
        case .session(let s):
            ephemerals[s]?.remove(path)
            if ephemerals[s]?.isEmpty == true { ephemerals[s] = nil }
        case .container: containers.remove(path)
        case .ttl: ttls.remove(path)
        case .persistent: break
        }
    }

    // MARK: Mutations, applied from transactions

    /// Creates a node; nil (and no change) when the path exists or its parent does not.
    mutating func create(
        path: String, data: [UInt8]?, acl: [ACL], ephemeralOwner: Int64, zxid: Int64, time: Int64,
        triggers: inout [WatchTrigger]
    ) -> Stat? {
        let created: Int32? = Self.withBytes(path) { p in
            guard let pb = Self.parentBytes(p), let parent = slot(ofBytes: pb), slot(ofBytes: p) == nil else { return nil }
            let template = Self.record(aclRef: acls.intern(acl), zxid: zxid, time: time, ephemeralOwner: ephemeralOwner)
            modify(parent) {
                $0.storedCversion &+= 1
                if zxid > $0.pzxid { $0.pzxid = zxid }
            }
            if let data {
                return data.withUnsafeBytes { insertNode(path: p, data: $0, template, parent: parent) }
            }
            return insertNode(path: p, data: nil, template, parent: parent)
        }
        guard let s = created else { return nil }
        approximateDataSize += path.utf8.count + (data?.count ?? 0)
        index(path: path, kind: EphemeralKind(owner: ephemeralOwner))
        let record = store.record(s)
        triggers.append(.created(path, acl: acls.list(record.aclRef)))
        triggers.append(.childrenChanged(ZNodePath.parent(of: path)!, acl: acls.list(store.record(record.parent).aclRef)))
        return ZNode(record, slot: s).stat
    }

    mutating func delete(path: String, zxid: Int64, triggers: inout [WatchTrigger]) {
        guard let parentPath = ZNodePath.parent(of: path) else { return }
        let found: Int32? = Self.withBytes(path) { p in
            let h = PathHash.hash(p)
            guard let s = slot(ofBytes: p, hash: h) else { return nil }
            let pages = store
            pathIndex.remove(hash: h, slot: s, hashOf: pages.pathHash)
            return s
        }
        guard let s = found else { return }
        let r = store.record(s)
        let parent = r.parent
        let last = childLists[parent]!.removeLast()
        if last != s {
            childLists[parent]![Int(r.indexInParent)] = last
            modify(last) { $0.indexInParent = r.indexInParent }
        }
        if childLists[parent]!.isEmpty { childLists[parent] = nil }
        childLists[s] = nil
        modify(parent) {
            $0.childCount -= 1
            if zxid > $0.pzxid { $0.pzxid = zxid }
        }
        modify(s) { $0.parent = NodeRecord.free }
        releaseBytes(page: Int(s) >> NodePages.pageShift, r.byteCount)
        freeSlots.append(s)
        nodeCount -= 1
        approximateDataSize -= path.utf8.count + max(Int(r.dataLength), 0)
        unindex(path: path, kind: EphemeralKind(owner: r.ephemeralOwner))
        triggers.append(.deleted(path, acl: acls.list(r.aclRef)))
        triggers.append(.childrenChanged(parentPath, acl: acls.list(store.record(parent).aclRef)))
    }

    mutating func setData(
        path: String, data: [UInt8]?, version: Int32, zxid: Int64, time: Int64, triggers: inout [WatchTrigger]
    ) -> Stat {
        guard let s = slot(of: path) else { return .zero }
        let page = Int(s) >> NodePages.pageShift
        let old = store.record(s)
        let newLength = data.map { Int32($0.count) } ?? -1
        approximateDataSize += Int(max(newLength, 0)) - Int(max(old.dataLength, 0))
        var offset = old.offset
        let released: Int
        if max(newLength, 0) <= max(old.dataLength, 0) {
            if let data, !data.isEmpty {
                let at = Int(old.offset + old.nameLength)
                store.pages[page].bytes.withUnsafeMutableBytes { all in
                    data.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: all[at..<at + $0.count]).copyMemory(from: $0) }
                }
            }
            released = Int(max(old.dataLength, 0) - max(newLength, 0))
        } else {
            offset = Int32(store.pages[page].bytes.count)
            Self.withBytes(path) { store.pages[page].bytes.append(contentsOf: Self.nameBytes($0)) }
            if let data { store.pages[page].bytes.append(contentsOf: data) }
            released = old.byteCount
        }
        modify(s) {
            $0.offset = offset
            $0.dataLength = newLength
            $0.version = version
            $0.mzxid = zxid
            $0.mtime = time
        }
        releaseBytes(page: page, released)
        let record = store.record(s)
        triggers.append(.dataChanged(path, acl: acls.list(record.aclRef)))
        return ZNode(record, slot: s).stat
    }

    mutating func setACL(path: String, acl: [ACL], aversion: Int32) -> Stat {
        guard let s = slot(of: path) else { return .zero }
        let ref = acls.intern(acl)
        modify(s) {
            $0.aclRef = ref
            $0.aversion = aversion
        }
        return ZNode(store.record(s), slot: s).stat
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
