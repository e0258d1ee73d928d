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
    /// The connection each session was attached through when the snapshot this state was read from was taken
    /// (empty otherwise; `apply` does not maintain it: `CoordinationStateMachine` tracks connections). An ensemble
    /// replica restarted from a snapshot restores it, so that it fences a moved session's stale requests
    /// (SESSIONMOVED) as the replicas that never stopped do; a standalone server ignores it.
    public internal(set) var connectionOwners: [Int64: UInt64]

    public init() {
        tree = DataTree()
        sessions = [:]
        lastZxid = 0
        connectionOwners = [:]
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
            guard let stat = tree.create(
                path: path, data: data, acl: acl, ephemeralOwner: owner, zxid: h.zxid, time: h.time,
                triggers: &triggers)
            else { return .none }
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
    /// Version 2 added each session's owning connection; version 1 snapshots are still read (no owners).
    static let snapshotVersion: Int32 = 2

    /// What a snapshot writer needs, taken in O(pages): the sessions, the ACL lists and the node pages. Later
    /// changes to this state copy only what they touch, so the image can be encoded on another thread while the
    /// live state moves on.
    public func snapshotImage(connectionOwners: [Int64: UInt64] = [:]) -> SnapshotImage {
        SnapshotImage(
            lastZxid: lastZxid, sessions: sessions, connectionOwners: connectionOwners, aclLists: tree.acls.lists,
            pages: tree.pages, nodeCount: tree.nodeCount)
    }

    /// Serializes the whole state.
    public func encodeSnapshot(into b: inout ByteBuffer) {
        snapshotImage().encode(into: &b)
    }

    public init(snapshot b: inout ByteBuffer) throws(SnapshotError) {
        do {
            guard try b.readJuteInt() == Self.snapshotMagic else { throw SnapshotError.malformed("bad magic") }
            let version = try b.readJuteInt()
            guard version == 1 || version == Self.snapshotVersion else {
                throw SnapshotError.malformed("unknown version \(version)")
            }
            lastZxid = try b.readJuteLong()
            let sessionCount = try b.readJuteInt()
            guard sessionCount >= 0 else { throw SnapshotError.malformed("session count") }
            sessions = [:]
            connectionOwners = [:]
            for _ in 0..<sessionCount {
                let id = try b.readJuteLong()
                let timeout = try b.readJuteInt()
                let password = try b.readJuteBuffer() ?? []
                sessions[id] = SessionRecord(timeout: timeout, password: password)
                if version >= 2, try b.readJuteBool() { connectionOwners[id] = UInt64(bitPattern: try b.readJuteLong()) }
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
            // Each node takes at least its path's 4-byte length: a larger count is damage, and would size the
            // path index for it before the nodes are read (a corrupt count asked for gigabytes; found by fuzzing).
            guard Int(nodeCount) <= b.readableBytes / 4 else {
                throw SnapshotError.malformed("node count \(nodeCount) exceeds what \(b.readableBytes) bytes can hold")
            }
            tree = try DataTree(restoring: &b, count: Int(nodeCount), acls: table)
            if b.readableBytes != 0 { throw SnapshotError.malformed("\(b.readableBytes) trailing bytes") }
        } catch let e as SnapshotError {
            throw e
        } catch {
            throw SnapshotError.malformed("\(error)")
        }
    }
}

/// A consistent image of the state for a snapshot (see `CoordinationState.snapshotImage()`).
public struct SnapshotImage: Sendable {
    public let lastZxid: Int64
    let sessions: [Int64: SessionRecord]
    let connectionOwners: [Int64: UInt64]
    let aclLists: [[ACL]]
    let pages: NodePages
    let nodeCount: Int

    /// Serializes the image: header, sessions (id, timeout, password, owning connection if any), ACL lists, then
    /// every node (path, data, ACL reference, stat).
    public func encode(into b: inout ByteBuffer) {
        var nodeBytes = 0
        for p in pages.pages { nodeBytes += p.bytes.count - p.garbage }
        // A lower bound: the pages hold names, not full paths. Each node adds 72 fixed bytes (two lengths, the ACL
        // reference and the stat fields).
        b.reserveCapacity(b.writerIndex + 256 + sessions.count * 64 + nodeBytes + nodeCount * 72)
        encode(into: &b, flushingAt: .max) { _ in }
    }

    /// Serializes the image in pieces: whenever `b` holds `limit` bytes or more, it is handed to `flush`, which
    /// takes them out (a snapshot writer sends them to disk and clears it). What remains at the end is left in
    /// `b`. With a limit of 1 MiB a snapshot of any size needs about 1 MiB of buffer.
    public func encode(into b: inout ByteBuffer, flushingAt limit: Int, flush: (inout ByteBuffer) throws -> Void) rethrows {
        b.writeJuteInt(CoordinationState.snapshotMagic)
        b.writeJuteInt(CoordinationState.snapshotVersion)
        b.writeJuteLong(lastZxid)
        b.writeJuteInt(Int32(sessions.count))
        // In session id order, so that the same state always encodes to the same bytes (replicas compare them).
        for id in sessions.keys.sorted() {
            let s = sessions[id]!
            b.writeJuteLong(id)
            b.writeJuteInt(s.timeout)
            b.writeJuteBuffer(s.password)
            if let owner = connectionOwners[id] {
                b.writeJuteBool(true)
                b.writeJuteLong(Int64(bitPattern: owner))
            } else {
                b.writeJuteBool(false)
            }
        }
        b.writeJuteInt(Int32(aclLists.count))
        for l in aclLists { b.writeJuteVector(l) { $0.writeJuteRecord($1) } }
        b.writeJuteInt(Int32(nodeCount))
        try pages.forEachNode { _, path, data, n in
            if b.readableBytes >= limit { try flush(&b) }
            b.writeInteger(Int32(path.count))
            b.writeBytes(path)
            if let data {
                b.writeInteger(Int32(data.count))
                b.writeBytes(data)
            } else {
                b.writeInteger(Int32(-1))
            }
            b.writeInteger(n.aclRef)
            b.writeInteger(n.czxid)
            b.writeInteger(n.mzxid)
            b.writeInteger(n.ctime)
            b.writeInteger(n.mtime)
            b.writeInteger(n.version)
            b.writeInteger(n.storedCversion)
            b.writeInteger(n.aversion)
            b.writeInteger(n.ephemeralOwner)
            b.writeInteger(n.pzxid)
        }
    }
}
