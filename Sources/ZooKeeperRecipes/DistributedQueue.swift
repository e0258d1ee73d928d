import Foundation
import ZooKeeperClient

/// The ordering rules of a distributed queue, as pure functions: which children are items, in which order.
public enum DistributedQueueOrdering {
    /// Curator SimpleDistributedQueue's item prefix; ZooKeeper appends a 10-digit sequence.
    public static let itemPrefix = "qn-"

    /// The items among `children`, oldest first: names starting `qn-`, sorted as strings (the zero-padded
    /// sequence makes string order the creation order).
    public static func items(_ children: [String]) -> [String] {
        children.filter { $0.hasPrefix(itemPrefix) }.sorted()
    }
}

/// A FIFO queue in one znode (Curator's SimpleDistributedQueue layout, close to kazoo's Queue): items are
/// PERSISTENT_SEQUENTIAL children `qn-<seq>` holding raw bytes; a consumer takes the lowest by deleting it, so
/// two consumers never take the same item.
///
/// ```swift
/// let queue = DistributedQueue(client: zk, path: "/app/jobs")
/// try await queue.offer(Data("job-1".utf8))
/// if let job = try await queue.take(timeout: .seconds(5)) { … }
/// ```
///
/// An item is removed before it is returned: if the consumer dies while handling it, the item is lost
/// (at-most-once, as Curator's SimpleDistributedQueue).
public struct DistributedQueue: Sendable {
    public let client: ZooKeeperClient
    public let path: String

    public init(client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// Adds an item at the tail; creates the queue node (and parents) if missing. Returns the item's path.
    @discardableResult
    public func offer(_ data: Data) async throws -> String {
        let itemPath = RecipePath.join(path, DistributedQueueOrdering.itemPrefix)
        do {
            return try await client.create(itemPath, data: data, mode: .persistentSequential)
        } catch let error as ZooKeeperError where error.code == .noNode {
            try await client.createIfMissing(path, parentMode: .persistent)
            return try await client.create(itemPath, data: data, mode: .persistentSequential)
        }
    }

    /// The head item without removing it, nil when the queue is empty.
    public func peek() async throws -> Data? {
        for name in try await items() {
            do {
                return try await client.getData(RecipePath.join(path, name)).data
            } catch let error as ZooKeeperError where error.code == .noNode {
                continue
            }
        }
        return nil
    }

    /// Removes and returns the head item, nil when the queue is empty.
    public func poll() async throws -> Data? {
        try await takeHead(try await items())
    }

    /// Removes and returns the head item, waiting for one up to `timeout` (nil: no limit). Returns nil on timeout.
    public func take(timeout: Duration? = nil) async throws -> Data? {
        let limit = deadline(after: timeout)
        while true {
            let watch: OneShotWatch
            let children: [String]
            do {
                (children, _, watch) = try await client.getChildrenAndWatch(path)
            } catch let error as ZooKeeperError where error.code == .noNode {
                // No queue yet: wait for its creation.
                let (stat, existsWatch) = try await client.existsAndWatch(path)
                if stat == nil, try await !waitForWatch(existsWatch, until: limit) { return nil }
                continue
            }
            if let data = try await takeHead(DistributedQueueOrdering.items(children)) { return data }
            if try await !waitForWatch(watch, until: limit) { return nil }
        }
    }

    /// How many items are queued now.
    public func count() async throws -> Int {
        try await items().count
    }

    private func items() async throws -> [String] {
        do {
            return DistributedQueueOrdering.items(try await client.getChildren(path))
        } catch let error as ZooKeeperError where error.code == .noNode {
            return []
        }
    }

    /// Tries the items in order: read, then delete to claim; an item someone else deleted first is skipped.
    private func takeHead(_ names: [String]) async throws -> Data? {
        for name in names {
            let itemPath = RecipePath.join(path, name)
            do {
                let data = try await client.getData(itemPath).data
                try await client.delete(itemPath)
                return data
            } catch let error as ZooKeeperError where error.code == .noNode {
                continue
            }
        }
        return nil
    }
}
