import ZooKeeperWire

/// A znode's metadata as read from the tree (a value copy; the tree stores nodes compactly, see `DataTree`).
/// `storedCversion` counts child creates (ZooKeeper's StatPersisted); clients see
/// `storedCversion * 2 - numChildren`. The data and the child names are read with `DataTree.data(of:)` and
/// `DataTree.children(of:)`.
public struct ZNode: Sendable, Equatable {
    public var aclRef: Int32
    public var czxid: Int64
    public var mzxid: Int64
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32
    public var storedCversion: Int32
    public var aversion: Int32
    /// The raw owner: a session id, or a container / TTL marker (see `EphemeralKind`).
    public var ephemeralOwner: Int64
    public var pzxid: Int64
    /// Number of children.
    public var childCount: Int32
    /// Length of the data; -1 when the data is null.
    public var dataLength: Int32
    /// Where the tree keeps the node (valid until the next change of the tree).
    @usableFromInline let slot: Int32

    @inlinable
    init(_ r: NodeRecord, slot: Int32) {
        aclRef = r.aclRef
        czxid = r.czxid
        mzxid = r.mzxid
        ctime = r.ctime
        mtime = r.mtime
        version = r.version
        storedCversion = r.storedCversion
        aversion = r.aversion
        ephemeralOwner = r.ephemeralOwner
        pzxid = r.pzxid
        childCount = r.childCount
        dataLength = r.dataLength
        self.slot = slot
    }

    public var kind: EphemeralKind { EphemeralKind(owner: ephemeralOwner) }

    /// Whether the node has no children.
    @inlinable
    public var hasNoChildren: Bool { childCount == 0 }

    /// The Stat a client sees.
    @inlinable
    public var stat: Stat {
        let n = childCount
        return Stat(
            czxid: czxid, mzxid: mzxid, ctime: ctime, mtime: mtime, version: version,
            cversion: storedCversion &* 2 &- n, aversion: aversion,
            ephemeralOwner: kind.clientVisibleOwner, dataLength: max(dataLength, 0), numChildren: n,
            pzxid: pzxid)
    }
}

/// What ZooKeeper's EphemeralType encodes in ephemeralOwner.
public enum EphemeralKind: Sendable, Equatable {
    case persistent
    case session(Int64)
    case container
    case ttl(milliseconds: Int64)

    /// Long.MIN_VALUE marks a container.
    public static let containerOwner = Int64.min
    /// TTL owners have 0xFF in the top byte and the TTL in the low 40 bits (ZooKeeper's extended types).
    public static let ttlMarker: Int64 = Int64(bitPattern: 0xFF00_0000_0000_0000)
    public static let maxTTL: Int64 = 0x00FF_FFFF_FFFF  // 2^40 - 1 ms

    public init(owner: Int64) {
        if owner == 0 { self = .persistent }
        else if owner == EphemeralKind.containerOwner { self = .container }
        else if owner & EphemeralKind.ttlMarker == EphemeralKind.ttlMarker && owner < 0 {
            self = .ttl(milliseconds: owner & EphemeralKind.maxTTL)
        } else { self = .session(owner) }
    }

    public var owner: Int64 {
        switch self {
        case .persistent: return 0
        case .session(let s): return s
        case .container: return EphemeralKind.containerOwner
        case .ttl(let ms): return EphemeralKind.ttlMarker | (ms & EphemeralKind.maxTTL)
        }
    }

    /// Containers and TTL nodes show 0 to clients.
    @inlinable
    public var clientVisibleOwner: Int64 {
        if case .session(let s) = self { return s }
        return 0
    }
}
