import CoordinationCore
import DequeModule

/// Decides when an output may leave: a reply must never reveal state that is not yet durable, and each
/// connection's outputs leave in the order the core produced them.
///
/// An output that depends on zxid `after` goes out at once when `after` is durable and its connection has nothing
/// held; otherwise it waits in one queue sorted by the zxid it waits for (an item queued behind another of its
/// connection waits for at least that one's zxid, so popping the queue's head keeps every connection's order).
/// Pure bookkeeping, no I/O: the engine writes what `admit` lets through and, after `markDurable(upTo:)`, what
/// `nextReleased()` hands out.
struct DurabilityGate<Item> {
    private(set) var durableZxid: Int64
    private var queue = Deque<(zxid: Int64, connection: ConnectionID, item: Item)>()
    private var heldPerConnection: [ConnectionID: Int] = [:]

    init(durableZxid: Int64) {
        self.durableZxid = durableZxid
    }

    var count: Int { queue.count }
    var isEmpty: Bool { queue.isEmpty }

    /// How many outputs of `connection` are held.
    func heldCount(of connection: ConnectionID) -> Int { heldPerConnection[connection] ?? 0 }

    /// Returns true when `item` may be written now; otherwise keeps it until `after` is durable and everything
    /// held for its connection before it has been released.
    mutating func admit(_ item: Item, to connection: ConnectionID, after zxid: Int64) -> Bool {
        if zxid <= durableZxid && (queue.isEmpty || heldPerConnection[connection] == nil) { return true }
        hold(item, to: connection, until: zxid)
        return false
    }

    /// Keeps `item` until `zxid` (raised to the queue's tail, so the queue stays sorted) is durable.
    mutating func hold(_ item: Item, to connection: ConnectionID, until zxid: Int64) {
        let key = max(zxid, queue.last?.zxid ?? zxid)
        queue.append((key, connection, item))
        heldPerConnection[connection, default: 0] += 1
    }

    /// The log has made everything up to `zxid` durable; `nextReleased()` then hands out what may leave.
    mutating func markDurable(upTo zxid: Int64) {
        if zxid > durableZxid { durableZxid = zxid }
    }

    /// The next held output that no longer has to wait, in the order they were held (the caller writes it; a loop
    /// rather than a callback, so that the caller may read the gate while writing).
    mutating func nextReleased() -> (connection: ConnectionID, item: Item)? {
        guard let head = queue.first, head.zxid <= durableZxid else { return nil }
        queue.removeFirst()
        if let n = heldPerConnection[head.connection], n > 1 {
            heldPerConnection[head.connection] = n - 1
        } else {
            heldPerConnection[head.connection] = nil
        }
        return (head.connection, head.item)
    }

    /// Drops everything held (the log failed: nothing held may be sent).
    mutating func removeAll() {
        queue.removeAll()
        heldPerConnection.removeAll()
    }
}
