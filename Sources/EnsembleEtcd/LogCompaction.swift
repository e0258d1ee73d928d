/// Which batch keys a compaction pass deletes, as few etcd range deletes as possible.
///
/// Batch keys (`LogLayout.batchKey`) are `<replica>-<incarnation>-<sequence>` in fixed-width hex, so within one
/// replica incarnation key order is sequence order, and sequence order is log order (an incarnation's batches
/// land one after another). The keys at or below the floor therefore form runs of neighbours in key order. Each
/// run becomes range deletes of at most `maxKeysPerRange` keys, from its first key to just past its last, so a
/// pass of thousands of batches is a handful of small etcd requests instead of thousands of single deletes.
/// A key newer than the floor is never inside a range: runs stop at it, and a batch that lands later sorts after
/// every key of its incarnation.
public enum LogCompaction {
    public struct Key: Sendable, Equatable {
        public var key: [UInt8]
        public var modRevision: Int64
        public init(key: [UInt8], modRevision: Int64) {
            self.key = key
            self.modRevision = modRevision
        }
    }

    /// A range delete `[start, end)` and how many keys it covers.
    public struct Range: Sendable, Equatable {
        public var start: [UInt8]
        public var end: [UInt8]
        public var keys: Int
    }

    /// - Parameter keys: the log's batch keys as etcd lists them (sorted by key).
    public static func deleteRanges(keys: [Key], upTo floor: Int64, maxKeysPerRange: Int = 512) -> [Range] {
        var ranges: [Range] = []
        var runStart: Int?
        func close(_ start: Int, _ endInclusive: Int) {
            var i = start
            while i <= endInclusive {
                let last = min(endInclusive, i + maxKeysPerRange - 1)
                ranges.append(Range(start: keys[i].key, end: keys[last].key + [0], keys: last - i + 1))
                i = last + 1
            }
        }
        for (i, k) in keys.enumerated() {
            if k.modRevision <= floor {
                if runStart == nil { runStart = i }
            } else if let s = runStart {
                close(s, i - 1)
                runStart = nil
            }
        }
        if let s = runStart { close(s, keys.count - 1) }
        return ranges
    }
}
