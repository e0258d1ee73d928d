import Jute
import NIOCore
import ZooKeeperWire

/// A session as the replicated state knows it (what ZooKeeper keeps in its snapshot's session map).
public struct SessionRecord: Sendable, Equatable {
    public var timeout: Int32
    public var password: [UInt8]

    public init(timeout: Int32, password: [UInt8]) {
        self.timeout = timeout
        self.password = password
    }
}

/// What applying one transaction produced, for the reply.
public enum ApplyResult: Sendable, Equatable {
    case none
    case created(path: String, stat: Stat)
    case stat(Stat)
    case multi([ApplyResult])
}

/// The durable state: the tree, the live sessions and the last applied zxid. Every change goes through
/// `apply`, for live writes and for log replay alike.
public struct CoordinationState: Sendable {
    public internal(set) var tree: DataTree
    public internal(set) var sessions: [Int64: SessionRecord]
    public internal(set) var lastZxid: Int64

    public init() {
        tree = DataTree()
        sessions = [:]
        lastZxid = 0
    }

    /// Applies a transaction. Watch triggers are appended to `triggers`.
    @discardableResult
    public mutating func apply(_ logged: LoggedTransaction, triggers: inout [WatchTrigger]) -> ApplyResult {
        let h = logged.header
        if h.zxid > lastZxid { lastZxid = h.zxid }
        return apply(logged.transaction, header: h, triggers: &triggers)
    }

    private mutating func apply(_ t: Transaction, header h: TransactionHeader, triggers: inout [WatchTrigger]) -> ApplyResult {
        switch t {
        case .createSession(let id, let timeout, let password):
            sessions[id] = SessionRecord(timeout: timeout, password: password)
            return .none
        case .closeSession(let id):
            if let paths = tree.ephemerals[id] {
                for path in paths.sorted(by: >) {  // children sort after parents: delete deepest first
                    tree.delete(path: path, zxid: h.zxid, triggers: &triggers)
                }
            }
            sessions[id] = nil
            return .none
        case .create(let path, let data, let acl, let owner):
            guard tree.node(at: path) == nil, let parent = ZNodePath.parent(of: path), tree.node(at: parent) != nil
            else { return .none }
            let stat = tree.create(
                path: path, data: data, acl: acl, ephemeralOwner: owner, zxid: h.zxid, time: h.time,
                triggers: &triggers)
            return .created(path: path, stat: stat)
        case .delete(let path):
            tree.delete(path: path, zxid: h.zxid, triggers: &triggers)
            return .none
        case .setData(let path, let data, let version):
            return .stat(tree.setData(path: path, data: data, version: version, zxid: h.zxid, time: h.time, triggers: &triggers))
        case .setACL(let path, let acl, let aversion):
            return .stat(tree.setACL(path: path, acl: acl, aversion: aversion))
        case .check, .error:
            return .none
        case .multi(let txns):
            return .multi(txns.map { apply($0, header: h, triggers: &triggers) })
        }
    }

    // MARK: Snapshots

    static let snapshotMagic: Int32 = 0x5A52_534E  // "ZRSN"
    static let snapshotVersion: Int32 = 1

    /// Serializes the whole state. Call it on a copy: the copy is consistent (value semantics), so it can be
    /// written from another thread while the live state moves on.
    public func encodeSnapshot(into b: inout ByteBuffer) {
        b.writeJuteInt(Self.snapshotMagic)
        b.writeJuteInt(Self.snapshotVersion)
        b.writeJuteLong(lastZxid)
        b.writeJuteInt(Int32(sessions.count))
        for (id, s) in sessions {
            b.writeJuteLong(id)
            b.writeJuteInt(s.timeout)
            b.writeJuteBuffer(s.password)
        }
        let lists = tree.acls.lists
        b.writeJuteInt(Int32(lists.count))
        for l in lists { b.writeJuteVector(l) { $0.writeJuteRecord($1) } }
        b.writeJuteInt(Int32(tree.nodes.count))
        for (path, n) in tree.nodes {
            b.writeJuteString(path)
            b.writeJuteBuffer(n.data)
            b.writeJuteInt(n.aclRef)
            b.writeJuteLong(n.czxid)
            b.writeJuteLong(n.mzxid)
            b.writeJuteLong(n.ctime)
            b.writeJuteLong(n.mtime)
            b.writeJuteInt(n.version)
            b.writeJuteInt(n.storedCversion)
            b.writeJuteInt(n.aversion)
            b.writeJuteLong(n.ephemeralOwner)
            b.writeJuteLong(n.pzxid)
        }
    }

    public init(snapshot b: inout ByteBuffer) throws(SnapshotError) {
        do {
            guard try b.readJuteInt() == Self.snapshotMagic else { throw SnapshotError.malformed("bad magic") }
            let version = try b.readJuteInt()
            guard version == Self.snapshotVersion else { throw SnapshotError.malformed("unknown version \(version)") }
            lastZxid = try b.readJuteLong()
            let sessionCount = try b.readJuteInt()
            guard sessionCount >= 0 else { throw SnapshotError.malformed("session count") }
            sessions = [:]
            for _ in 0..<sessionCount {
                let id = try b.readJuteLong()
                let timeout = try b.readJuteInt()
                let password = try b.readJuteBuffer() ?? []
                sessions[id] = SessionRecord(timeout: timeout, password: password)
            }
            var table = ACLTable()
            let listCount = try b.readJuteInt()
            guard listCount >= 0 else { throw SnapshotError.malformed("acl count") }
            for i in 0..<listCount {
                let l = try b.readJuteVector { (b: inout ByteBuffer) throws(JuteError) in try b.readJuteRecord(ACL.self) } ?? []
                guard table.intern(l) == i else { throw SnapshotError.malformed("duplicate acl list") }
            }
            let nodeCount = try b.readJuteInt()
            guard nodeCount >= 0 else { throw SnapshotError.malformed("node count") }
            var restored: [(String, ZNode)] = []
            restored.reserveCapacity(Int(nodeCount))
            for _ in 0..<nodeCount {
                let path = try b.readJuteString() ?? ""
                let data = try b.readJuteBuffer()
                let aclRef = try b.readJuteInt()
                guard aclRef >= 0 && aclRef < listCount else { throw SnapshotError.malformed("acl ref of \(path)") }
                var n = ZNode(data: data, aclRef: aclRef, zxid: 0, time: 0, ephemeralOwner: 0)
                n.czxid = try b.readJuteLong()
                n.mzxid = try b.readJuteLong()
                n.ctime = try b.readJuteLong()
                n.mtime = try b.readJuteLong()
                n.version = try b.readJuteInt()
                n.storedCversion = try b.readJuteInt()
                n.aversion = try b.readJuteInt()
                n.ephemeralOwner = try b.readJuteLong()
                n.pzxid = try b.readJuteLong()
                restored.append((path, n))
            }
            if b.readableBytes != 0 { throw SnapshotError.malformed("\(b.readableBytes) trailing bytes") }
            tree = try DataTree(restoring: restored, acls: table)
        } catch let e as SnapshotError {
            throw e
        } catch {
            throw SnapshotError.malformed("\(error)")
        }
    }
}
