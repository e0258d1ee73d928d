import ZooKeeperWire

/// The watches of a session, as a sub-machine of `ConnectionStateMachine` (ZooKeeper's ZKWatchManager and the
/// watch parts of ClientCnxn): it registers watches when their requests are answered, says who a notification
/// goes to, builds the setWatches requests that re-register them after a reconnect, and removes them. It holds
/// server paths and hands out events with client paths (the chroot removed).
///
/// It knows nothing of connections or requests in flight; the main machine decides when to ask it and turns its
/// results into actions.
struct WatchStateMachine: Sendable {
    enum Action: Hashable, Sendable {
        /// Deliver a watch event to these watchers. One-shot watchers are then gone.
        case deliver(WatchEvent, to: [WatcherID])
        /// These watchers will receive nothing more: the session expired (error) or the client was closed or
        /// the watch removed (nil).
        case endWatchers([WatcherID], ZooKeeperError?)
    }

    /// The chroot as the server sees it (no trailing slash), or nil.
    let chroot: String?
    private(set) var table = ClientWatchTable()

    init(chroot: String?) {
        self.chroot = chroot
    }

    // MARK: Queries

    var isEmpty: Bool { table.isEmpty }
    var allWatchers: [WatcherID] { table.allWatchers }
    /// The server paths watched with `kind`, sorted.
    func paths(_ kind: ClientWatchTable.Kind) -> [String] { table.paths(kind) }
    /// Whether a watcher is registered (its request succeeded and it has not fired or been removed).
    func isRegistered(_ watcher: WatcherID) -> Bool { table.kind(of: watcher) != nil }

    // MARK: Replies to watch-setting requests

    /// A request that asked for `registration` at `serverPath` succeeded: the server set the watch.
    mutating func requestSucceeded(_ registration: WatchRegistration, serverPath: String) {
        switch registration {
        case .data(let w), .exists(let w): table.add(w, kind: .data, path: serverPath)
        case .children(let w): table.add(w, kind: .child, path: serverPath)
        case .persistent(let w): table.add(w, kind: .persistent, path: serverPath)
        case .persistentRecursive(let w): table.add(w, kind: .persistentRecursive, path: serverPath)
        }
    }

    /// A request that asked for `registration` failed with `code`: only exists on a missing node sets a watch
    /// (an exist watch, which fires when the node is created).
    mutating func requestFailed(_ registration: WatchRegistration, serverPath: String, code: ErrorCode) {
        if code == .noNode, case .exists(let watcher) = registration {
            table.add(watcher, kind: .exist, path: serverPath)
        }
    }

    // MARK: Notifications

    /// A notification from the server: the event for the watchers it concerns (one-shot ones are consumed), or
    /// nil when it concerns none.
    mutating func notificationReceived(_ event: WatcherEvent) -> Action? {
        guard let type = EventType(rawValue: event.type), type != .none else { return nil }
        let targets = table.materialize(type, path: event.path)
        guard !targets.isEmpty else { return nil }
        let state = KeeperState(rawValue: event.state) ?? .syncConnected
        let path = ZNodePath.clientPath(event.path, chroot: chroot)
        return .deliver(WatchEvent(type: type, state: state, path: path), to: targets)
    }

    // MARK: Reconnect

    /// The requests that re-register every watch on a new connection of the session: setWatches (or setWatches2
    /// when persistent watches exist), relative to `relativeZxid`, in batches of at most `maxBytes` bytes of
    /// paths (ClientCnxn.SET_WATCHES_MAX_LENGTH). None when nothing is watched.
    func setWatchesRequests(relativeZxid: Int64, maxBytes: Int) -> [ZooKeeperRequest] {
        let lists: [[String]] = [
            table.paths(.data), table.paths(.exist), table.paths(.child), table.paths(.persistent),
            table.paths(.persistentRecursive),
        ]
        let usesPersistent = !lists[3].isEmpty || !lists[4].isEmpty
        var requests: [ZooKeeperRequest] = []
        var batch: [[String]] = Array(repeating: [], count: 5)
        var batchBytes = 0
        func flush() {
            if usesPersistent {
                requests.append(
                    .setWatches2(
                        SetWatches2(
                            relativeZxid: relativeZxid, dataWatches: batch[0], existWatches: batch[1],
                            childWatches: batch[2], persistentWatches: batch[3], persistentRecursiveWatches: batch[4])))
            } else {
                requests.append(
                    .setWatches(
                        SetWatches(
                            relativeZxid: relativeZxid, dataWatches: batch[0], existWatches: batch[1],
                            childWatches: batch[2])))
            }
            batch = Array(repeating: [], count: 5)
            batchBytes = 0
        }
        for (list, paths) in lists.enumerated() {
            for path in paths {
                if batchBytes > 0 && batchBytes + path.utf8.count > maxBytes { flush() }
                batch[list].append(path)
                batchBytes += path.utf8.count
            }
        }
        if batchBytes > 0 { flush() }
        return requests
    }

    // MARK: Removal

    /// removeWatches succeeded on the server: drops the local watchers of `type` at `serverPath` and tells them
    /// (a watch-removed event; persistent watchers are then ended).
    mutating func watchesRemoved(serverPath: String, type: WatcherType) -> [Action] {
        let groups: [(ClientWatchTable.Kind, EventType)]
        switch type {
        case .children: groups = [(.child, .childWatchRemoved)]
        case .data: groups = [(.data, .dataWatchRemoved), (.exist, .dataWatchRemoved)]
        case .any:
            groups = [
                (.data, .dataWatchRemoved), (.exist, .dataWatchRemoved), (.child, .childWatchRemoved),
                (.persistent, .persistentWatchRemoved), (.persistentRecursive, .persistentWatchRemoved),
            ]
        case .persistent: groups = [(.persistent, .persistentWatchRemoved)]
        case .persistentRecursive: groups = [(.persistentRecursive, .persistentWatchRemoved)]
        }
        var actions: [Action] = []
        let clientPath = ZNodePath.clientPath(serverPath, chroot: chroot)
        for (kind, eventType) in groups {
            let removed = table.removeAll(at: serverPath, kinds: [kind])
            guard !removed.isEmpty else { continue }
            actions.append(.deliver(WatchEvent(type: eventType, path: clientPath), to: removed))
            if kind == .persistent || kind == .persistentRecursive {
                actions.append(.endWatchers(removed, nil))
            }
        }
        return actions
    }

    /// removeWatches with local = true (or for persistent types, which ZooKeeper 3.8's removeWatches refuses):
    /// drops the local watchers as `watchesRemoved` does. `unusedServerWatch` is `serverPath` when the server's
    /// watch there may have to go too (a persistent type or any, and no local watcher left at the path).
    mutating func removeLocalWatches(serverPath: String, type: WatcherType) -> (
        actions: [Action], unusedServerWatch: String?
    ) {
        let actions = watchesRemoved(serverPath: serverPath, type: type)
        let mayBePersistent = type == .persistent || type == .persistentRecursive || type == .any
        return (actions, mayBePersistent && !table.hasWatchers(at: serverPath) ? serverPath : nil)
    }

    /// A local watcher went away. Returns the server path of its watch when it was the last local watcher of a
    /// persistent watch there (the server's watch may have to go), nil otherwise.
    mutating func removeWatcher(_ watcher: WatcherID) -> String? {
        guard let (kind, path) = table.remove(watcher) else { return nil }
        guard kind == .persistent || kind == .persistentRecursive, !table.hasWatchers(at: path) else { return nil }
        return path
    }

    /// The session ended: every watcher is ended, with `error` (expiry) or nil (close). Nil when there were none.
    mutating func endAll(_ error: ZooKeeperError?) -> Action? {
        let ended = table.removeAll()
        return ended.isEmpty ? nil : .endWatchers(ended, error)
    }
}
