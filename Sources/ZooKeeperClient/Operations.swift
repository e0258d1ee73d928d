#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ZooKeeperWire

/// One write of a `multi` (ZooKeeper's `Op`): applied atomically with the others, or not at all.
public enum ZooKeeperOperation: Sendable, Hashable {
    /// Creates a node. A `ttl` makes it a TTL node (mode `.persistentWithTTL` or
    /// `.persistentSequentialWithTTL`); mode `.container` creates a container.
    case create(String, data: Data = Data(), acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent, ttl: Duration? = nil)
    /// Deletes a node; version -1 matches any version.
    case delete(String, version: Int32 = -1)
    /// Sets a node's data; version -1 matches any version.
    case setData(String, data: Data, version: Int32 = -1)
    /// Fails the multi unless the node has this version.
    case check(String, version: Int32)

    /// The path (relative to the chroot).
    public var path: String {
        switch self {
        case .create(let path, _, _, _, _), .delete(let path, _), .setData(let path, _, _), .check(let path, _):
            return path
        }
    }
}

/// The result of one operation of a successful `multi`, or, inside the error of a failed one, its code.
public enum OperationResult: Sendable, Hashable {
    /// The created path (relative to the chroot, with its sequence suffix) and, when the server sent it, its Stat.
    case created(path: String, stat: Stat?)
    case deleted
    case dataSet(Stat)
    case checked
    /// In a failed multi: `.ok` for the operations before the failing one, its code, then
    /// `.runtimeInconsistency`.
    case error(ErrorCode)
}

/// One read of a `multiRead`.
public enum ReadOperation: Sendable, Hashable {
    case getData(String)
    case getChildren(String)

    public var path: String {
        switch self {
        case .getData(let path), .getChildren(let path): return path
        }
    }
}

/// The result of one read of a `multiRead`; each read succeeds or fails on its own.
public enum ReadResult: Sendable, Hashable {
    case data(Data, Stat)
    case children([String])
    case error(ErrorCode)
}

/// Builds the operations of a `multi`:
/// ```swift
/// try await client.multi {
///     ZooKeeperOperation.check("/config", version: 3)
///     ZooKeeperOperation.setData("/config", data: newConfig)
///     if let old { ZooKeeperOperation.delete(old) }
///     for name in names { ZooKeeperOperation.create("/jobs/\(name)") }
/// }
/// ```
@resultBuilder
public enum MultiBuilder {
    public static func buildExpression(_ operation: ZooKeeperOperation) -> [ZooKeeperOperation] { [operation] }
    public static func buildExpression(_ operations: [ZooKeeperOperation]) -> [ZooKeeperOperation] { operations }
    public static func buildBlock(_ parts: [ZooKeeperOperation]...) -> [ZooKeeperOperation] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [ZooKeeperOperation]?) -> [ZooKeeperOperation] { part ?? [] }
    public static func buildEither(first part: [ZooKeeperOperation]) -> [ZooKeeperOperation] { part }
    public static func buildEither(second part: [ZooKeeperOperation]) -> [ZooKeeperOperation] { part }
    public static func buildArray(_ parts: [[ZooKeeperOperation]]) -> [ZooKeeperOperation] { parts.flatMap { $0 } }
    public static func buildLimitedAvailability(_ part: [ZooKeeperOperation]) -> [ZooKeeperOperation] { part }
}
