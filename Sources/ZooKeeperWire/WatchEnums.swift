/// The type of a watch event (Watcher.Event.EventType).
public enum EventType: Int32, Sendable, Hashable, CaseIterable {
    case none = -1
    case nodeCreated = 1
    case nodeDeleted = 2
    case nodeDataChanged = 3
    case nodeChildrenChanged = 4
    case dataWatchRemoved = 5
    case childWatchRemoved = 6
    case persistentWatchRemoved = 7
}

/// The connection state carried by a watch event (Watcher.Event.KeeperState).
public enum KeeperState: Int32, Sendable, Hashable, CaseIterable {
    case disconnected = 0
    case syncConnected = 3
    case authFailed = 4
    case connectedReadOnly = 5
    case saslAuthenticated = 6
    case closed = 7
    case expired = -112
}

/// Which watches checkWatches and removeWatches address (Watcher.WatcherType).
public enum WatcherType: Int32, Sendable, Hashable, CaseIterable {
    case children = 1
    case data = 2
    case any = 3
    case persistent = 4
    case persistentRecursive = 5
}

/// The mode of addWatch (AddWatchMode).
public enum AddWatchMode: Int32, Sendable, Hashable, CaseIterable {
    case persistent = 0
    case persistentRecursive = 1
}
