/// The compact storage of the znode tree.
///
/// A node lives in a *slot*: a fixed-size `NodeRecord` (stat fields, parent, child count, where its bytes are)
/// in a page of `NodeStore.pageSize` records, and its name (the last segment of its path) and data bytes, back to
/// back, in that page's byte arena. A full path is its ancestors' names: built when needed (snapshots, index
/// growth), and checked segment by segment against a looked-up path. Pages are values in an array of values: handing the pages to a snapshot writer copies an array of
/// a few thousand references, and a later write copies only the one page it touches (copy on write). The path
/// → slot index is an open-addressing table of 32-bit slots with 8-bit hash tags, and child lists are arrays of
/// slots per parent, so a znode of 100 B costs 88 B of record, its name and data bytes, 7-13 B of index and 4-8 B
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
    /// Offset of the name bytes in the page's arena; the data follows them.
    @usableFromInline var offset: Int32
    /// Length of the name (the path's last segment; 0 for the root).
    @usableFromInline var nameLength: Int32
    /// -1 for null data.
    @usableFromInline var dataLength: Int32

    static let free: Int32 = Int32.min

    @usableFromInline var byteCount: Int { Int(nameLength) + max(Int(dataLength), 0) }
}

/// `NodeStore.pageSize` records and the bytes of their names and data.
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

    /// The name and data bytes of record `r` in its page's arena `all`.
    @inlinable
    static func bytes(of r: NodeRecord, in all: UnsafeRawBufferPointer) -> (name: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer?) {
        let start = Int(r.offset)
        let dataStart = start + Int(r.nameLength)
        let name = UnsafeRawBufferPointer(rebasing: all[start..<dataStart])
        let data = r.dataLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: all[dataStart..<dataStart + Int(r.dataLength)])
        return (name, data)
    }

    /// Calls `body` with the name and data bytes of the node in `slot`.
    @inlinable
    func withBytes<R>(_ slot: Int32, _ body: (_ name: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let page = Int(slot) >> Self.pageShift
        let r = pages[page].records[Int(slot) & Self.pageMask]
        return try pages[page].bytes.withUnsafeBytes { all in
            let (name, data) = Self.bytes(of: r, in: all)
            return try body(name, data)
        }
    }

    /// Whether `p` is the full path of the node in `slot`: its name ends `p`, its parent's name comes before that,
    /// and so on up to the root.
    @inlinable
    func isPath(_ p: UnsafeRawBufferPointer, of slot: Int32) -> Bool {
        let slash = UInt8(ascii: "/")
        var r = record(slot)
        if r.parent < 0 { return p.count == 1 && p[0] == slash }
        var end = p.count
        var cur = slot
        while r.parent >= 0 {
            let matched = pages[Int(cur) >> Self.pageShift].bytes.withUnsafeBytes { all -> Bool in
                let start = end - Int(r.nameLength)
                guard start >= 1, p[start - 1] == slash else { return false }
                let name = UnsafeRawBufferPointer(rebasing: all[Int(r.offset)..<Int(r.offset) + Int(r.nameLength)])
                guard Self.equal(UnsafeRawBufferPointer(rebasing: p[start..<end]), name) else { return false }
                end = start - 1
                return true
            }
            guard matched else { return false }
            cur = r.parent
            r = record(cur)
        }
        return end == 0
    }

    /// The length of the full path of the node in `slot`.
    func pathLength(_ slot: Int32) -> Int {
        var n = 0
        var r = record(slot)
        while r.parent >= 0 {
            n += 1 + Int(r.nameLength)
            r = record(r.parent)
        }
        return max(n, 1)
    }

    /// Calls `body` with the full path of the node in `slot`, built from the names up to the root in temporary
    /// storage.
    func withPath<R>(_ slot: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let n = pathLength(slot)
        return try withUnsafeTemporaryAllocation(byteCount: n, alignment: 1) { buffer in
            buffer[0] = UInt8(ascii: "/")
            var end = n
            var cur = slot
            var r = record(cur)
            while r.parent >= 0 {
                pages[Int(cur) >> Self.pageShift].bytes.withUnsafeBytes { all in
                    let start = end - Int(r.nameLength)
                    UnsafeMutableRawBufferPointer(rebasing: buffer[start..<end])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: all[Int(r.offset)..<Int(r.offset) + Int(r.nameLength)]))
                    buffer[start - 1] = UInt8(ascii: "/")
                    end = start - 1
                }
                cur = r.parent
                r = record(cur)
            }
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    /// `PathHash.hash` of the full path of the node in `slot`.
    func pathHash(_ slot: Int32) -> UInt32 {
        withPath(slot) { PathHash.hash($0) }
    }

    /// Every live node, in slot order, with its full path. Siblings in a row share the building of their parent's
    /// path.
    func forEachNode(
        _ body: (_ slot: Int32, _ path: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer?, _ record: NodeRecord) throws -> Void
    ) rethrows {
        var path: [UInt8] = []
        var pathParent: Int32 = -2
        var parentLength = 0
        for (p, page) in pages.enumerated() {
            try page.bytes.withUnsafeBytes { all in
                for (i, r) in page.records.enumerated() where r.parent != NodeRecord.free {
                    let slot = Int32(p << Self.pageShift | i)
                    let (name, data) = Self.bytes(of: r, in: all)
                    if r.parent < 0 {
                        try Self.withRootPath { try body(slot, $0, data, r) }
                        continue
                    }
                    if r.parent != pathParent {
                        path.removeAll(keepingCapacity: true)
                        if record(r.parent).parent >= 0 { withPath(r.parent) { path.append(contentsOf: $0) } }
                        pathParent = r.parent
                        parentLength = path.count
                    }
                    path.removeSubrange(parentLength...)
                    path.append(UInt8(ascii: "/"))
                    path.append(contentsOf: name)
                    try path.withUnsafeBytes { try body(slot, $0, data, r) }
                }
            }
        }
    }

    static func withRootPath<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: UInt8(ascii: "/")) { try body($0) }
    }

    @inlinable
    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = a.count
        guard n == b.count else { return false }
        var i = 0
        while i + 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
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
