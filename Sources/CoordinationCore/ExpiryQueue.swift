/// ZooKeeper's ExpiryQueue: deadlines are rounded up to the next multiple of `interval` (the tick), so a touch is
/// O(1) and expiry takes a whole bucket at once. Pure: the caller passes the time.
public struct ExpiryQueue<Key: Hashable & Sendable>: Sendable {
    public let interval: Int64
    private var deadlines: [Key: Int64] = [:]
    private var bucketsStorage: [Int64: Set<Key>] = [:]
    /// The next bucket time at which something may expire.
    public private(set) var nextExpirationTime: Int64

    public init(interval: Int64, now: Int64) {
        precondition(interval > 0)
        self.interval = interval
        self.nextExpirationTime = (now / interval + 1) * interval
    }

    @inlinable
    func roundToNextInterval(_ time: Int64) -> Int64 { (time / interval + 1) * interval }

    public var count: Int { deadlines.count }

    public func deadline(of key: Key) -> Int64? { deadlines[key] }

    /// The buckets in time order, for diagnostics (ZooKeeper's `dump`).
    public var buckets: [(time: Int64, keys: [Key])] {
        bucketsStorage.keys.sorted().map { ($0, Array(bucketsStorage[$0]!)) }
    }

    /// Sets `key` to expire `timeout` after `now` (rounded up to the tick).
    public mutating func touch(_ key: Key, timeout: Int64, now: Int64) {
        let newDeadline = roundToNextInterval(now + timeout)
        let old = deadlines[key]
        if old == newDeadline { return }
        if let old {
            bucketsStorage[old]?.remove(key)
            if bucketsStorage[old]?.isEmpty == true { bucketsStorage[old] = nil }
        }
        deadlines[key] = newDeadline
        bucketsStorage[newDeadline, default: []].insert(key)
    }

    public mutating func remove(_ key: Key) {
        guard let old = deadlines.removeValue(forKey: key) else { return }
        bucketsStorage[old]?.remove(key)
        if bucketsStorage[old]?.isEmpty == true { bucketsStorage[old] = nil }
    }

    /// Removes and returns every key whose bucket time is at or before `now`.
    public mutating func expire(now: Int64) -> [Key] {
        var expired: [Key] = []
        while nextExpirationTime <= now {
            if let keys = bucketsStorage.removeValue(forKey: nextExpirationTime) {
                for k in keys { deadlines[k] = nil }
                expired.append(contentsOf: keys)
            }
            nextExpirationTime += interval
            if bucketsStorage.isEmpty {
                // Nothing left: jump to now's bucket instead of stepping through empty ones.
                nextExpirationTime = roundToNextInterval(now)
                break
            }
        }
        return expired
    }
}
