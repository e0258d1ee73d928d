/// Operation codes (ZooDefs.OpCode): the `type` of a `RequestHeader`, `MultiHeader` or `TxnHeader`.
public enum OpCode: Int32, Sendable, Hashable, CaseIterable {
    case notification = 0
    case create = 1
    case delete = 2
    case exists = 3
    case getData = 4
    case setData = 5
    case getACL = 6
    case setACL = 7
    case getChildren = 8
    case sync = 9
    case ping = 11
    case getChildren2 = 12
    case check = 13
    case multi = 14
    case create2 = 15
    case reconfig = 16
    case checkWatches = 17
    case removeWatches = 18
    case createContainer = 19
    case deleteContainer = 20
    case createTTL = 21
    case multiRead = 22
    case auth = 100
    case setWatches = 101
    case sasl = 102
    case getEphemerals = 103
    case getAllChildrenNumber = 104
    case setWatches2 = 105
    case addWatch = 106
    case whoAmI = 107
    case createSession = -10
    case closeSession = -11
    case error = -1
}

extension OpCode {
    /// ZooKeeper's abbreviation of the operation, as `cons` shows it in `lop` (Request.op2String in
    /// ZooKeeper's server); "NA" for the operations it has none for.
    public var shortName: String {
        switch self {
        case .ping: "PING"
        case .createSession: "SESS"
        case .multi: "MULT"
        case .multiRead: "MLTR"
        case .create, .create2, .createContainer, .createTTL: "CREA"
        case .delete, .deleteContainer: "DELE"
        case .setData: "SETD"
        case .reconfig: "RECO"
        case .setACL: "SETA"
        case .closeSession: "CLOS"
        case .sync: "SYNC"
        case .check: "CHEC"
        case .exists: "EXIS"
        case .getData: "GETD"
        case .setWatches: "SETW"
        case .setWatches2: "STW2"
        case .addWatch: "ADDW"
        case .getACL: "GETA"
        case .getChildren, .getChildren2: "GETC"
        case .getAllChildrenNumber: "GETACN"
        case .checkWatches: "CHKW"
        case .removeWatches: "REMW"
        case .whoAmI: "HOMI"
        case .getEphemerals: "GETE"
        case .notification, .auth, .sasl, .error: "NA"
        }
    }
}

/// The xids ZooKeeper reserves for requests and replies outside the normal sequence.
public enum SpecialXid {
    /// A watch notification from the server.
    public static let notification: Int32 = -1
    /// A ping and its reply.
    public static let ping: Int32 = -2
    /// An auth packet and its reply.
    public static let auth: Int32 = -4
    /// setWatches / setWatches2 and their reply.
    public static let setWatches: Int32 = -8
}
