/// ZooKeeper's error codes (KeeperException.Code): the `err` of a `ReplyHeader`, `MultiHeader` or `ErrorResponse`.
public enum ErrorCode: Int32, Error, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case systemError = -1
    case runtimeInconsistency = -2
    case dataInconsistency = -3
    case connectionLoss = -4
    case marshallingError = -5
    case unimplemented = -6
    case operationTimeout = -7
    case badArguments = -8
    case unknownSession = -12
    case newConfigNoQuorum = -13
    case reconfigInProgress = -14
    case apiError = -100
    case noNode = -101
    case noAuth = -102
    case badVersion = -103
    case noChildrenForEphemerals = -108
    case nodeExists = -110
    case notEmpty = -111
    case sessionExpired = -112
    case invalidCallback = -113
    case invalidACL = -114
    case authFailed = -115
    case sessionMoved = -118
    case notReadOnly = -119
    case ephemeralOnLocalSession = -120
    case noWatcher = -121
    case requestTimeout = -122
    case reconfigDisabled = -123
    case sessionClosedRequireSASLAuth = -124
    case quotaExceeded = -125
    case throttledOp = -127

    /// The name ZooKeeper's Java client uses (KeeperException.Code), e.g. `NONODE`.
    public var javaName: String {
        switch self {
        case .ok: return "OK"
        case .systemError: return "SYSTEMERROR"
        case .runtimeInconsistency: return "RUNTIMEINCONSISTENCY"
        case .dataInconsistency: return "DATAINCONSISTENCY"
        case .connectionLoss: return "CONNECTIONLOSS"
        case .marshallingError: return "MARSHALLINGERROR"
        case .unimplemented: return "UNIMPLEMENTED"
        case .operationTimeout: return "OPERATIONTIMEOUT"
        case .badArguments: return "BADARGUMENTS"
        case .unknownSession: return "UNKNOWNSESSION"
        case .newConfigNoQuorum: return "NEWCONFIGNOQUORUM"
        case .reconfigInProgress: return "RECONFIGINPROGRESS"
        case .apiError: return "APIERROR"
        case .noNode: return "NONODE"
        case .noAuth: return "NOAUTH"
        case .badVersion: return "BADVERSION"
        case .noChildrenForEphemerals: return "NOCHILDRENFOREPHEMERALS"
        case .nodeExists: return "NODEEXISTS"
        case .notEmpty: return "NOTEMPTY"
        case .sessionExpired: return "SESSIONEXPIRED"
        case .invalidCallback: return "INVALIDCALLBACK"
        case .invalidACL: return "INVALIDACL"
        case .authFailed: return "AUTHFAILED"
        case .sessionMoved: return "SESSIONMOVED"
        case .notReadOnly: return "NOTREADONLY"
        case .ephemeralOnLocalSession: return "EPHEMERALONLOCALSESSION"
        case .noWatcher: return "NOWATCHER"
        case .requestTimeout: return "REQUESTTIMEOUT"
        case .reconfigDisabled: return "RECONFIGDISABLED"
        case .sessionClosedRequireSASLAuth: return "SESSIONCLOSEDREQUIRESASLAUTH"
        case .quotaExceeded: return "QUOTAEXCEEDED"
        case .throttledOp: return "THROTTLEDOP"
        }
    }

    public var description: String { "\(javaName) (\(rawValue))" }
}
