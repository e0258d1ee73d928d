/// The `flags` of a create request (CreateMode).
public enum CreateMode: Int32, Sendable, Hashable, CaseIterable {
    case persistent = 0
    case ephemeral = 1
    case persistentSequential = 2
    case ephemeralSequential = 3
    case container = 4
    case persistentWithTTL = 5
    case persistentSequentialWithTTL = 6

    @inlinable
    public var isEphemeral: Bool { self == .ephemeral || self == .ephemeralSequential }

    @inlinable
    public var isSequential: Bool {
        self == .persistentSequential || self == .ephemeralSequential || self == .persistentSequentialWithTTL
    }

    @inlinable
    public var isContainer: Bool { self == .container }

    @inlinable
    public var isTTL: Bool { self == .persistentWithTTL || self == .persistentSequentialWithTTL }
}

/// ACL permissions (ZooDefs.Perms).
public struct Perms: OptionSet, Sendable, Hashable {
    public var rawValue: Int32

    @inlinable
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let read = Perms(rawValue: 1 << 0)
    public static let write = Perms(rawValue: 1 << 1)
    public static let create = Perms(rawValue: 1 << 2)
    public static let delete = Perms(rawValue: 1 << 3)
    public static let admin = Perms(rawValue: 1 << 4)
    public static let all: Perms = [.read, .write, .create, .delete, .admin]
}
