import ZooKeeperWire

/// An operation failed: ZooKeeper's error code (KeeperException.Code), and the path it concerned.
///
/// Catch a particular code with a `where` clause or by pattern, which compares codes only:
/// ```swift
/// do { try await client.delete("/a") }
/// catch let error as ZooKeeperError where error.code == .noNode { ... }
/// catch ZooKeeperError.notEmpty { ... }
/// ```
///
/// Like ZooKeeper's Java client, a request in flight when the connection drops fails with `connectionLoss` (its
/// outcome is unknown), every request fails with `sessionExpired` once the session has expired, and with
/// `sessionExpired` after the client was closed.
public struct ZooKeeperError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error code, as the server sent it or as the client decided (connectionLoss, sessionExpired, ...).
    public var code: ErrorCode
    /// The path of the operation (relative to the chroot), when it concerned one.
    public var path: String?
    /// More detail from the client, when there is some.
    public var message: String?
    /// For a failed multi: the index of the operation that failed.
    public var failedOperationIndex: Int?
    /// For a failed multi: what the server answered for each operation (`.error(.ok)` for the ones before the
    /// failing one, `.error(.runtimeInconsistency)` after it).
    public var results: [OperationResult]?

    public init(
        code: ErrorCode, path: String? = nil, message: String? = nil, failedOperationIndex: Int? = nil,
        results: [OperationResult]? = nil
    ) {
        self.code = code
        self.path = path
        self.message = message
        self.failedOperationIndex = failedOperationIndex
        self.results = results
    }

    public var description: String {
        var text = "ZooKeeperError(\(code.javaName)"
        if let path { text += ", path: \(path)" }
        if let message { text += ", \(message)" }
        if let failedOperationIndex { text += ", failed operation: \(failedOperationIndex)" }
        return text + ")"
    }

    /// Matches an error with the same code, whatever the path: `catch ZooKeeperError.noNode { ... }`.
    public static func ~= (pattern: ZooKeeperError, value: any Error) -> Bool {
        (value as? ZooKeeperError)?.code == pattern.code
    }

    public static let systemError = ZooKeeperError(code: .systemError)
    public static let runtimeInconsistency = ZooKeeperError(code: .runtimeInconsistency)
    public static let dataInconsistency = ZooKeeperError(code: .dataInconsistency)
    public static let connectionLoss = ZooKeeperError(code: .connectionLoss)
    public static let marshallingError = ZooKeeperError(code: .marshallingError)
    public static let unimplemented = ZooKeeperError(code: .unimplemented)
    public static let operationTimeout = ZooKeeperError(code: .operationTimeout)
    public static let badArguments = ZooKeeperError(code: .badArguments)
    public static let unknownSession = ZooKeeperError(code: .unknownSession)
    public static let apiError = ZooKeeperError(code: .apiError)
    public static let noNode = ZooKeeperError(code: .noNode)
    public static let noAuth = ZooKeeperError(code: .noAuth)
    public static let badVersion = ZooKeeperError(code: .badVersion)
    public static let noChildrenForEphemerals = ZooKeeperError(code: .noChildrenForEphemerals)
    public static let nodeExists = ZooKeeperError(code: .nodeExists)
    public static let notEmpty = ZooKeeperError(code: .notEmpty)
    public static let sessionExpired = ZooKeeperError(code: .sessionExpired)
    public static let invalidCallback = ZooKeeperError(code: .invalidCallback)
    public static let invalidACL = ZooKeeperError(code: .invalidACL)
    public static let authFailed = ZooKeeperError(code: .authFailed)
    public static let sessionMoved = ZooKeeperError(code: .sessionMoved)
    public static let notReadOnly = ZooKeeperError(code: .notReadOnly)
    public static let noWatcher = ZooKeeperError(code: .noWatcher)
    public static let requestTimeout = ZooKeeperError(code: .requestTimeout)
    public static let reconfigDisabled = ZooKeeperError(code: .reconfigDisabled)
    public static let quotaExceeded = ZooKeeperError(code: .quotaExceeded)
    public static let throttledOp = ZooKeeperError(code: .throttledOp)

    /// What requests get after `close()`: ZooKeeper's Java client answers SESSIONEXPIRED once closed.
    static let clientClosed = ZooKeeperError(code: .sessionExpired, message: "the client is closed")
}
