extension Stat {
    /// A Stat of all zeros.
    public static let zero = Stat(
        czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0,
        dataLength: 0, numChildren: 0, pzxid: 0)

    /// The encoded size of a Stat.
    public static let encodedSize = 68
}

extension Id {
    /// `world:anyone`: everybody.
    public static let anyoneUnsafe = Id(scheme: "world", id: "anyone")
    /// `auth:`: in a create or setACL, the identities the session authenticated with.
    public static let authIds = Id(scheme: "auth", id: "")
}

extension ACL {
    @inlinable
    public init(perms: Perms, id: Id) {
        self.init(perms: perms.rawValue, id: id)
    }

    /// The permissions as an option set.
    @inlinable
    public var permissions: Perms {
        get { Perms(rawValue: perms) }
        set { perms = newValue.rawValue }
    }

    /// Everything for everybody (ZooDefs.Ids.OPEN_ACL_UNSAFE).
    public static let openUnsafe: [ACL] = [ACL(perms: Perms.all.rawValue, id: .anyoneUnsafe)]
    /// Everything for the creator's authenticated identities (ZooDefs.Ids.CREATOR_ALL_ACL).
    public static let creatorAll: [ACL] = [ACL(perms: Perms.all.rawValue, id: .authIds)]
    /// Read for everybody (ZooDefs.Ids.READ_ACL_UNSAFE).
    public static let readUnsafe: [ACL] = [ACL(perms: Perms.read.rawValue, id: .anyoneUnsafe)]
}

extension RequestHeader {
    /// The operation code as an enum, nil when unknown.
    @inlinable
    public var opCode: OpCode? { OpCode(rawValue: type) }
}

extension ReplyHeader {
    /// The error code as an enum, nil when unknown.
    @inlinable
    public var errorCode: ErrorCode? { ErrorCode(rawValue: err) }
}

extension WatcherEvent {
    @inlinable
    public init(type: EventType, state: KeeperState, path: String) {
        self.init(type: type.rawValue, state: state.rawValue, path: path)
    }

    /// The event type as an enum, nil when unknown.
    @inlinable
    public var eventType: EventType? { EventType(rawValue: type) }

    /// The keeper state as an enum, nil when unknown.
    @inlinable
    public var keeperState: KeeperState? { KeeperState(rawValue: state) }
}
