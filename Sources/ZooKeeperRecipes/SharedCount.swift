import Foundation
import ZooKeeperClient

/// A value with the znode version it was read at, for compare-and-set.
public struct VersionedCount: Sendable, Hashable, CustomStringConvertible {
    public var value: Int32
    /// The node's data version (Stat.version) when `value` was read.
    public var version: Int32

    public init(value: Int32, version: Int32) {
        self.value = value
        self.version = version
    }

    public var description: String { "\(value) (version \(version))" }
}

/// Curator's SharedCount encoding: an Int32 as 4 bytes, big-endian (kazoo's `Counter(support_curator=True)`).
public enum SharedCountCodec {
    public static func encode(_ value: Int32) -> Data {
        let bits = UInt32(bitPattern: value)
        return Data([UInt8(bits >> 24), UInt8((bits >> 16) & 0xff), UInt8((bits >> 8) & 0xff), UInt8(bits & 0xff)])
    }

    /// The value of 4 or more bytes (the first 4; Curator reads the same way); throws for fewer.
    public static func decode(_ data: Data) throws -> Int32 {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw SharedCountError.tooShort(bytes.count) }
        let bits = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        return Int32(bitPattern: bits)
    }

    public static var decoder: NodeValueDecoder<Int32> { NodeValueDecoder { try decode($0) } }
}

public enum SharedCountError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The node holds fewer than 4 bytes (kazoo's `ensure_path` leaves it empty).
    case tooShort(Int)
    /// The node does not exist (`start()` creates it).
    case missing(String)

    public var description: String {
        switch self {
        case .tooShort(let count): return "a shared count needs 4 bytes, the node has \(count)"
        case .missing(let path): return "the shared count node \(path) does not exist"
        }
    }
}

/// A shared Int32 in one znode, in Curator's SharedCount layout (4 bytes big-endian), with versioned
/// compare-and-set and a stream of changes.
///
/// ```swift
/// let count = SharedCount(client: zk, path: "/app/workers", seed: 0)
/// try await count.start()                      // creates the node with the seed if missing
/// var current = try await count.versionedValue()
/// while try await !count.trySetCount(current.value + 1, expectedVersion: current.version) {
///     current = try await count.versionedValue()
/// }
/// for await change in count.changes() { print(change.value) }
/// ```
public final class SharedCount: Sendable {
    public let client: ZooKeeperClient
    public let path: String
    public let seed: Int32

    public init(client: ZooKeeperClient, path: String, seed: Int32) {
        self.client = client
        self.path = path
        self.seed = seed
    }

    /// Creates the node with the seed if it does not exist (parents as containers, as Curator does).
    public func start() async throws {
        try await client.createIfMissing(path, data: SharedCountCodec.encode(seed))
    }

    /// The current value and version, read from ZooKeeper.
    public func versionedValue() async throws -> VersionedCount {
        do {
            let (data, stat) = try await client.getData(path)
            return VersionedCount(value: try SharedCountCodec.decode(data), version: stat.version)
        } catch let error as ZooKeeperError where error.code == .noNode {
            throw SharedCountError.missing(path)
        }
    }

    /// The current value.
    public var count: Int32 {
        get async throws { try await versionedValue().value }
    }

    /// Sets the value whatever the version.
    public func setCount(_ value: Int32) async throws {
        try await client.setData(path, data: SharedCountCodec.encode(value))
    }

    /// Sets the value only if the node is still at `expectedVersion` (compare-and-set). Returns false, writing
    /// nothing, if someone else wrote since.
    public func trySetCount(_ value: Int32, expectedVersion: Int32) async throws -> Bool {
        do {
            try await client.setData(path, data: SharedCountCodec.encode(value), version: expectedVersion)
            return true
        } catch let error as ZooKeeperError where error.code == .badVersion {
            return false
        }
    }

    /// The value now and after every change (a watched value; see `WatchedValueSequence`). Elements whose data is
    /// not 4 bytes, and the node's absence, are skipped.
    public func changes() -> AsyncStream<VersionedCount> {
        let updates = client.watchedValue(at: path, decoder: SharedCountCodec.decoder)
        let (stream, continuation) = AsyncStream<VersionedCount>.makeStream()
        let task = Task {
            for await update in updates {
                if case .value(let value, let stat) = update {
                    continuation.yield(VersionedCount(value: value, version: stat.version))
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

