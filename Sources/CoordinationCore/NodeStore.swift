/// The compact storage of the znode tree.
///
/// A node lives in a *slot*: a fixed-size `NodeRecord` (stat fields, parent, child count, where its bytes are)
/// in a page of `NodeStore.pageSize` records, and its path and data bytes, back to back, in that page's byte
/// arena. Pages are values in an array of values: handing the pages to a snapshot writer copies an array of
/// a few thousand references, and a later write copies only the one page it touches (copy on write). The path
/// → slot index is an open-addressing table of 32-bit slots with 8-bit hash tags, and child lists are arrays of
/// slots per parent, so a znode of 100 B costs 88 B of record, its path and data bytes, 7-13 B of index and 4-8 B
/// in its parent's child list.

/// One node's fixed-size part: 6 × 8 + 10 × 4 = 88 bytes, stride 88 (`NodeStoreTests` checks it). A path hash
/// here would make it 92 bytes, padded to a 96-byte stride; the index rehashes path bytes instead.
@usableFromInline
struct NodeRecord: Sendable {
    @usableFromInline var czxid: Int64
    @usableFromInline var mzxid: Int64
    @usableFromInline var ctime: Int64
    @usableFromInline var mtime: Int64
    @usableFromInline var pzxid: Int64
    @usableFromInline var ephemeralOwner: Int64
    @usableFromInline var version: Int32
    @usableFromInline var storedCversion: Int32
    @usableFromInline var aversion: Int32
    @usableFromInline var aclRef: Int32
    /// The parent's slot; -1 for the root; `NodeRecord.free` for an unused slot.
    @usableFromInline var parent: Int32
    /// Position in the parent's child list.
    @usableFromInline var indexInParent: Int32
    @usableFromInline var childCount: Int32
    /// Offset of the path bytes in the page's arena; the data follows them.
    @usableFromInline var offset: Int32
    @usableFromInline var pathLength: Int32
    /// -1 for null data.
    @usableFromInline var dataLength: Int32

    static let free: Int32 = Int32.min

    @usableFromInline var byteCount: Int { Int(pathLength) + max(Int(dataLength), 0) }
}

/// `NodeStore.pageSize` records and the bytes of their paths and data.
@usableFromInline
struct NodePage: Sendable {
    @usableFromInline var records: [NodeRecord] = []
    @usableFromInline var bytes: [UInt8] = []
    /// Bytes of the arena no live record points to.
    @usableFromInline var garbage: Int = 0

    /// Rewrites the arena with only the live bytes.
    mutating func compact() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(bytes.count - garbage)
        bytes.withUnsafeBufferPointer { old in
            for i in records.indices where records[i].parent != NodeRecord.free {
                let start = Int(records[i].offset)
                records[i].offset = Int32(fresh.count)
                fresh.append(contentsOf: old[start..<start + records[i].byteCount])
            }
        }
        bytes = fresh
        garbage = 0
    }
}

/// The pages of the tree, shared with snapshot writers (immutable once handed over).
public struct NodePages: Sendable {
    @usableFromInline var pages: [NodePage] = []

    @usableFromInline static let pageShift = 10
    @usableFromInline static let pageSize = 1 << pageShift
    @usableFromInline static let pageMask = pageSize - 1

    @inlinable
    func record(_ slot: Int32) -> NodeRecord {
        pages[Int(slot) >> Self.pageShift].records[Int(slot) & Self.pageMask]
    }

    /// The path and data bytes of record `r` in its page's arena `all`.
    @inlinable
    static func bytes(of r: NodeRecord, in all: UnsafeRawBufferPointer) -> (path: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer?) {
        let start = Int(r.offset)
        let dataStart = start + Int(r.pathLength)
        let path = UnsafeRawBufferPointer(rebasing: all[start..<dataStart])
        let data = r.dataLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: all[dataStart..<dataStart + Int(r.dataLength)])
        return (path, data)
    }

    /// Calls `body` with the path and data bytes of the node in `slot`.
    @inlinable
    func withBytes<R>(_ slot: Int32, _ body: (_ path: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let page = Int(slot) >> Self.pageShift
        let r = pages[page].records[Int(slot) & Self.pageMask]
        return try pages[page].bytes.withUnsafeBytes { all in
            let (path, data) = Self.bytes(of: r, in: all)
            return try body(path, data)
        }
    }

    /// `PathHash.hash` of the path of the node in `slot`.
    func pathHash(_ slot: Int32) -> UInt32 {
        withBytes(slot) { path, _ in PathHash.hash(path) }
    }

    /// Every live node, in slot order.
    func forEachNode(_ body: (_ path: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer?, _ record: NodeRecord) throws -> Void) rethrows {
        for page in pages {
            try page.bytes.withUnsafeBytes { all in
                for r in page.records where r.parent != NodeRecord.free {
                    let (path, data) = Self.bytes(of: r, in: all)
                    try body(path, data, r)
                }
            }
        }
    }
}

/// Hashing of path bytes for the index (not persisted; the same on every run).
@usableFromInline
enum PathHash {
    @inlinable
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: p.count)
        var i = 0
        let n = p.count
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
        }
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return UInt32(truncatingIfNeeded: h)
    }
}

/// Path → slot: open addressing with linear probing over 32-bit entries, `slot + 1` (0 when empty), and beside
/// each entry an 8-bit tag from its path's hash. A probe looks at the candidate's path only when the tags agree
/// (1 in 256 otherwise), so a lookup touches the one record it finds. Records keep no hash: the owner grows the
/// table by `rebuild` from its own list of entries, and shifting entries back after a removal rehashes their paths
/// (`hashOf`). At the load factor's range (3/8 to 3/4) that is 6.7-13.3 bytes per node.
@usableFromInline
struct PathIndex: Sendable {
    @usableFromInline var table: [UInt32] = Array(repeating: 0, count: 16)
    @usableFromInline var tags: [UInt8] = Array(repeating: 0, count: 16)
    @usableFromInline var count = 0

    @inlinable var mask: Int { table.count - 1 }

    @inlinable static func tag(_ hash: UInt32) -> UInt8 { UInt8(truncatingIfNeeded: hash >> 24) }

    /// Finds the slot whose path hashes to `hash` and that `matches` accepts.
    @inlinable
    func find(hash: UInt32, matches: (Int32) -> Bool) -> Int32? {
        let m = mask
        var pos = Int(hash) & m
        let tag = Self.tag(hash)
        return table.withUnsafeBufferPointer { t in
            tags.withUnsafeBufferPointer { g in
                while true {
                    let e = t[pos]
                    if e == 0 { return nil }
                    if g[pos] == tag {
                        let slot = Int32(bitPattern: e &- 1)
                        if matches(slot) { return slot }
                    }
                    pos = (pos + 1) & m
                }
            }
        }
    }

    /// Adds an entry. The path must not be present, and the table must have room for one more within the load
    /// factor (`capacity(toHold: count + 1)`, then `rebuild`: `DataTree` does it from its pages, in memory order).
    @usableFromInline
    mutating func insert(hash: UInt32, slot: Int32) {
        precondition((count + 1) * 4 <= table.count * 3, "PathIndex: rebuild before inserting into a full table")
        Self.place(&table, &tags, UInt32(bitPattern: slot) &+ 1, hash: hash)
        count += 1
    }

    @usableFromInline
    static func place(_ table: inout [UInt32], _ tags: inout [UInt8], _ entry: UInt32, hash: UInt32) {
        let m = table.count - 1
        var pos = Int(hash) & m
        table.withUnsafeMutableBufferPointer { t in
            while t[pos] != 0 { pos = (pos + 1) & m }
            t[pos] = entry
        }
        tags[pos] = tag(hash)
    }

    /// The capacity that holds `n` entries within the load factor (at least the current one).
    func capacity(toHold n: Int) -> Int {
        var cap = table.count
        while n * 4 > cap * 3 { cap *= 2 }
        return cap
    }

    /// Refills the table at `capacity` with what `entries` hands its argument: every (slot, hash).
    mutating func rebuild(capacity: Int, entries: ((Int32, UInt32) -> Void) -> Void) {
        var fresh = [UInt32](repeating: 0, count: capacity)
        var freshTags = [UInt8](repeating: 0, count: capacity)
        var n = 0
        entries { slot, hash in
            Self.place(&fresh, &freshTags, UInt32(bitPattern: slot) &+ 1, hash: hash)
            n += 1
        }
        table = fresh
        tags = freshTags
        count = n
    }

    /// Removes the entry of `slot` (hashing to `hash`), shifting later entries of its run back.
    @usableFromInline
    mutating func remove(hash: UInt32, slot: Int32, hashOf: (Int32) -> UInt32) {
        let m = mask
        let wanted = UInt32(bitPattern: slot) &+ 1
        table.withUnsafeMutableBufferPointer { t in
            tags.withUnsafeMutableBufferPointer { g in
                var i = Int(hash) & m
                while t[i] != wanted {
                    if t[i] == 0 { return }
                    i = (i + 1) & m
                }
                var j = i
                while true {
                    j = (j + 1) & m
                    let e = t[j]
                    if e == 0 { break }
                    let k = Int(hashOf(Int32(bitPattern: e &- 1))) & m
                    // Move e into the hole at i unless its home k lies cyclically in (i, j].
                    let inBetween = i <= j ? (k > i && k <= j) : (k > i || k <= j)
                    if !inBetween {
                        t[i] = e
                        g[i] = g[j]
                        i = j
                    }
                }
                t[i] = 0
            }
        }
        count -= 1
    }
}
