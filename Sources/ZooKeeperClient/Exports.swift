// The wire types the client's API uses (ErrorCode, Stat, ACL, Id, CreateMode, EventType, KeeperState,
// WatcherType, AddWatchMode, ClientInfo, ...) come with `import ZooKeeperClient`.
@_exported import ZooKeeperWire
