// Node naming and ordering of Curator's lock-style recipes (InterProcessMutex, InterProcessReadWriteLock,
// InterProcessSemaphoreV2 leases, LeaderLatch, LeaderSelector), so that Swift and Java processes queue in the
// same line. Pure functions, no I/O.

/// Curator's protected names: `_c_<uuid>-<name>`; ZooKeeper appends the 10-digit sequence to sequential ones.
public enum LockProtectedName {
    public static let prefix = "_c_"

    /// `_c_<guid>-<name>`; the guid is lowercased, as Java's `UUID.toString()` writes it.
    public static func make(guid: String, name: String) -> String {
        "\(prefix)\(guid.lowercased())-\(name)"
    }

    /// Whether a child's name was created by the protected create with this guid.
    public static func matches(_ child: String, guid: String) -> Bool {
        child.hasPrefix("\(prefix)\(guid.lowercased())-")
    }
}

/// What a recipe's nodes are called and when a node's owner holds the lock.
public struct LockSchema: Sendable, Hashable {
    /// Who gets the lock, given the sorted children.
    public enum GrantRule: Sendable, Hashable {
        /// The first `n` nodes hold it; a waiter watches the node `n` places before its own (for n = 1 its
        /// predecessor: no herd effect). Curator's StandardLockInternalsDriver.
        case maxLeases(Int)
        /// A read lock: held unless a node whose name contains `writeMarker` comes first; a waiter watches the
        /// first such node. Curator's ReadLock driver.
        case reader(writeMarker: String)
        /// Semaphore leases: held once at most `n` children exist; a waiter watches the children of the
        /// parent. Curator's InterProcessSemaphoreV2 lease loop.
        case leaseCount(Int)
    }

    /// The name given to the create (before the protection prefix and the sequence): `lock-`, `__READ__`, ...
    public var nodeName: String
    /// The markers stripped (in this order, each up to its last occurrence) to get a node's sort key.
    public var sortMarkers: [String]
    public var rule: GrantRule

    public init(nodeName: String, sortMarkers: [String], rule: GrantRule) {
        self.nodeName = nodeName
        self.sortMarkers = sortMarkers
        self.rule = rule
    }

    /// InterProcessMutex (and LeaderSelector): `_c_<uuid>-lock-<seq>`.
    public static let mutex = LockSchema(nodeName: "lock-", sortMarkers: ["lock-"], rule: .maxLeases(1))
    /// InterProcessReadWriteLock markers (equal length, as Curator requires).
    public static let readMarker = "__READ__"
    public static let writeMarker = "__WRIT__"
    public static let readLock = LockSchema(
        nodeName: readMarker, sortMarkers: [readMarker, writeMarker], rule: .reader(writeMarker: writeMarker))
    public static let writeLock = LockSchema(
        nodeName: writeMarker, sortMarkers: [readMarker, writeMarker], rule: .maxLeases(1))
    /// LeaderLatch: `_c_<uuid>-latch-<seq>`.
    public static let latch = LockSchema(nodeName: "latch-", sortMarkers: ["latch-"], rule: .maxLeases(1))
    /// InterProcessSemaphoreV2 leases: `<path>/leases/_c_<uuid>-lease-<seq>`.
    public static func leases(max: Int) -> LockSchema {
        LockSchema(nodeName: "lease-", sortMarkers: ["lease-"], rule: .leaseCount(max))
    }

    /// Curator's `fixForSorting`: for each marker, the text after its last occurrence (the whole name if absent).
    /// Strings compare like Java's `String.compareTo` here (the sequence is zero-padded).
    public func sortKey(_ name: String) -> String {
        var key = Substring(name)
        for marker in sortMarkers {
            if let range = key.range(of: marker, options: .backwards) {
                key = key[range.upperBound...]
            }
        }
        return String(key)
    }

    /// The children in lock order.
    public func sorted(_ children: [String]) -> [String] {
        children.map { (sortKey($0), $0) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : Array($0.0.utf16).lexicographicallyPrecedes(Array($1.0.utf16)) }
            .map(\.1)
    }

    /// Whether our node holds the lock, and if not, what to watch.
    public enum Evaluation: Sendable, Hashable {
        case granted
        /// Watch this child (a name in the same parent) and look again when it changes or goes.
        case watchNode(String)
        /// Watch the parent's children and look again when they change.
        case watchChildren
        /// Our node is not among the children.
        case missing
    }

    public func evaluate(children: [String], ours: String) -> Evaluation {
        let sorted = sorted(children)
        guard let index = sorted.firstIndex(of: ours) else { return .missing }
        switch rule {
        case .maxLeases(let n):
            return index < n ? .granted : .watchNode(sorted[index - n])
        case .reader(let writeMarker):
            if let firstWriter = sorted[..<index].first(where: { $0.contains(writeMarker) }) {
                return .watchNode(firstWriter)
            }
            return .granted
        case .leaseCount(let n):
            return children.count <= n ? .granted : .watchChildren
        }
    }
}
