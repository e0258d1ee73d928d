#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ZooKeeperWire

extension ZooKeeperClient {
    // MARK: Create

    /// Creates a node and returns its path (with the sequence suffix for sequential modes), relative to the
    /// chroot. Modes `.persistentWithTTL`/`.persistentSequentialWithTTL` need `ttl` (createTTL; the server
    /// must enable extended types); `.container` uses createContainer.
    @discardableResult
    public func create(
        _ path: String, data: Data = Data(), acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
        ttl: Duration? = nil
    ) async throws -> String {
        let request = try createRequest(path, data: data, acl: acl, mode: mode, ttl: ttl, withStat: false)
        switch try await call(request) {
        case .create(let r): return clientPath(r.path)
        case .create2(let r): return clientPath(r.path)
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    /// Creates a node like `create`, and returns its Stat too (create2).
    @discardableResult
    public func createWithStat(
        _ path: String, data: Data = Data(), acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
        ttl: Duration? = nil
    ) async throws -> (path: String, stat: Stat) {
        let request = try createRequest(path, data: data, acl: acl, mode: mode, ttl: ttl, withStat: true)
        switch try await call(request) {
        case .create2(let r): return (clientPath(r.path), r.stat)
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    func createRequest(
        _ path: String, data: Data, acl: [ACL], mode: CreateMode, ttl: Duration?, withStat: Bool
    ) throws -> ZooKeeperRequest {
        let serverPath = try self.serverPath(path, isSequential: mode.isSequential)
        guard !acl.isEmpty else { throw ZooKeeperError(code: .invalidACL, path: path, message: "empty ACL") }
        let bytes = [UInt8](data)
        if mode.isTTL {
            guard let ttl, ttl > .zero else {
                throw ZooKeeperError(code: .badArguments, path: path, message: "a TTL mode needs a positive ttl")
            }
            let ms = ttl.zkWholeMilliseconds
            return .createTTL(
                CreateTTLRequest(path: serverPath, data: bytes, acl: acl, flags: mode.rawValue, ttl: max(1, ms)))
        }
        guard ttl == nil else {
            throw ZooKeeperError(code: .badArguments, path: path, message: "ttl needs a TTL create mode")
        }
        let request = CreateRequest(path: serverPath, data: bytes, acl: acl, flags: mode.rawValue)
        if mode == .container { return .createContainer(request) }
        return withStat ? .create2(request) : .create(request)
    }

    // MARK: Delete, exists, data

    /// Deletes a node; version -1 (default) matches any version.
    public func delete(_ path: String, version: Int32 = -1) async throws {
        _ = try await call(.delete(DeleteRequest(path: try serverPath(path), version: version)))
    }

    /// The node's Stat, or nil if it does not exist.
    public func exists(_ path: String) async throws -> Stat? {
        try await exists(path, watch: nil)
    }

    /// The node's Stat (nil if absent), and a one-shot watch that fires when it is created, deleted or its data
    /// changes.
    public func existsAndWatch(_ path: String) async throws -> (stat: Stat?, watch: OneShotWatch) {
        let watch = OneShotWatch(path: path)
        let stat = try await exists(path, watch: .oneShot(watch))
        return (stat, watch)
    }

    /// The node's Stat (nil if absent), with a one-shot callback watch (run on the client's event loop; it gets
    /// a `.none` event with state `.expired`/`.closed` if the session ends first).
    public func exists(_ path: String, watcher: @escaping @Sendable (WatchEvent) -> Void) async throws -> Stat? {
        try await exists(path, watch: .callback(path: path, watcher))
    }

    private func exists(_ path: String, watch sink: WatcherSink?) async throws -> Stat? {
        let serverPath = try self.serverPath(path)
        let watch = sink.map { (WatchRegistration.exists(newWatcherID()), $0) }
        do {
            switch try await call(.exists(ExistsRequest(path: serverPath, watch: watch != nil)), watch: watch) {
            case .exists(let r): return r.stat
            case let other: throw unexpectedResponse(other, path: path)
            }
        } catch let error as ZooKeeperError where error.code == .noNode {
            return nil
        }
    }

    /// The node's data and Stat.
    public func getData(_ path: String) async throws -> (data: Data, stat: Stat) {
        try await getData(path, watch: nil)
    }

    /// The node's data and Stat, and a one-shot watch that fires when its data changes or it is deleted.
    public func getDataAndWatch(_ path: String) async throws -> (data: Data, stat: Stat, watch: OneShotWatch) {
        let watch = OneShotWatch(path: path)
        let (data, stat) = try await getData(path, watch: .oneShot(watch))
        return (data, stat, watch)
    }

    /// The node's data and Stat, with a one-shot callback watch (run on the client's event loop).
    public func getData(
        _ path: String, watcher: @escaping @Sendable (WatchEvent) -> Void
    ) async throws -> (data: Data, stat: Stat) {
        try await getData(path, watch: .callback(path: path, watcher))
    }

    private func getData(_ path: String, watch sink: WatcherSink?) async throws -> (data: Data, stat: Stat) {
        let serverPath = try self.serverPath(path)
        let watch = sink.map { (WatchRegistration.data(newWatcherID()), $0) }
        switch try await call(.getData(GetDataRequest(path: serverPath, watch: watch != nil)), watch: watch) {
        case .getData(let r): return (Data(r.data ?? []), r.stat)
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    /// Sets the node's data; version -1 (default) matches any version. Returns the new Stat.
    @discardableResult
    public func setData(_ path: String, data: Data, version: Int32 = -1) async throws -> Stat {
        let request = SetDataRequest(path: try serverPath(path), data: [UInt8](data), version: version)
        switch try await call(.setData(request)) {
        case .setData(let r): return r.stat
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    // MARK: Children

    /// The names of the node's children (unordered, as the server sends them).
    public func getChildren(_ path: String) async throws -> [String] {
        switch try await call(.getChildren(GetChildrenRequest(path: try serverPath(path), watch: false))) {
        case .getChildren(let r): return r.children
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    /// The children and the node's Stat (getChildren2).
    public func getChildrenWithStat(_ path: String) async throws -> (children: [String], stat: Stat) {
        try await getChildren2(path, watch: nil)
    }

    /// The children, the node's Stat, and a one-shot watch that fires when a child is added or removed or the
    /// node is deleted.
    public func getChildrenAndWatch(_ path: String) async throws -> (
        children: [String], stat: Stat, watch: OneShotWatch
    ) {
        let watch = OneShotWatch(path: path)
        let (children, stat) = try await getChildren2(path, watch: .oneShot(watch))
        return (children, stat, watch)
    }

    /// The children and Stat, with a one-shot callback watch (run on the client's event loop).
    public func getChildren(
        _ path: String, watcher: @escaping @Sendable (WatchEvent) -> Void
    ) async throws -> (children: [String], stat: Stat) {
        try await getChildren2(path, watch: .callback(path: path, watcher))
    }

    private func getChildren2(_ path: String, watch sink: WatcherSink?) async throws -> (children: [String], stat: Stat) {
        let serverPath = try self.serverPath(path)
        let watch = sink.map { (WatchRegistration.children(newWatcherID()), $0) }
        switch try await call(.getChildren2(GetChildren2Request(path: serverPath, watch: watch != nil)), watch: watch) {
        case .getChildren2(let r): return (r.children, r.stat)
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    /// The number of descendants of the node (getAllChildrenNumber).
    public func getAllChildrenNumber(_ path: String) async throws -> Int {
        switch try await call(.getAllChildrenNumber(GetAllChildrenNumberRequest(path: try serverPath(path)))) {
        case .getAllChildrenNumber(let r): return Int(r.totalNumber)
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    /// The session's ephemeral nodes whose path starts with `prefixPath` (relative to the chroot).
    public func getEphemerals(_ prefixPath: String = "/") async throws -> [String] {
        switch try await call(.getEphemerals(GetEphemeralsRequest(prefixPath: try serverPath(prefixPath)))) {
        case .getEphemerals(let r): return r.ephemerals.map(clientPath)
        case let other: throw unexpectedResponse(other, path: prefixPath)
        }
    }

    // MARK: ACL, auth, sync

    /// The node's ACL and Stat.
    public func getACL(_ path: String) async throws -> (acl: [ACL], stat: Stat) {
        switch try await call(.getACL(GetACLRequest(path: try serverPath(path)))) {
        case .getACL(let r): return (r.acl, r.stat)
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    /// Sets the node's ACL; version (the ACL version, aversion) -1 matches any. Returns the new Stat.
    @discardableResult
    public func setACL(_ path: String, acl: [ACL], version: Int32 = -1) async throws -> Stat {
        guard !acl.isEmpty else { throw ZooKeeperError(code: .invalidACL, path: path, message: "empty ACL") }
        switch try await call(.setACL(SetACLRequest(path: try serverPath(path), acl: acl, version: version))) {
        case .setACL(let r): return r.stat
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    /// Adds an identity to the session (e.g. `digest`, `user:password`). It is re-sent after every reconnect.
    /// Throws `authFailed` if the server refuses it (the server then drops the connection; the client
    /// reconnects without these credentials).
    public func addAuth(scheme: String, auth: Data) async throws {
        try await sendAuth(scheme: scheme, auth: [UInt8](auth))
    }

    /// `addAuth` with UTF-8 credentials, e.g. `addAuth(scheme: "digest", auth: "user:password")`.
    public func addAuth(scheme: String, auth: String) async throws {
        try await sendAuth(scheme: scheme, auth: Array(auth.utf8))
    }

    /// The identities of the session (whoAmI, ZooKeeper 3.7+).
    public func whoAmI() async throws -> [ClientInfo] {
        switch try await call(.whoAmI) {
        case .whoAmI(let r): return r.clientInfo
        case let other: throw unexpectedResponse(other, path: nil)
        }
    }

    /// Waits until the server this client is connected to has caught up with the leader (sync). Returns the
    /// path.
    @discardableResult
    public func sync(_ path: String) async throws -> String {
        switch try await call(.sync(SyncRequest(path: try serverPath(path)))) {
        case .sync(let r): return clientPath(r.path)
        case let other: throw unexpectedResponse(other, path: path)
        }
    }

    // MARK: Multi

    /// Applies the writes atomically. Throws a `ZooKeeperError` with the failing operation's code, path and
    /// index, and every operation's result, if any of them fails (then none is applied).
    @discardableResult
    public func multi(_ operations: [ZooKeeperOperation]) async throws -> [OperationResult] {
        var requests: [ZooKeeperRequest] = []
        requests.reserveCapacity(operations.count)
        for operation in operations {
            switch operation {
            case .create(let path, let data, let acl, let mode, let ttl):
                requests.append(try createRequest(path, data: data, acl: acl, mode: mode, ttl: ttl, withStat: true))
            case .delete(let path, let version):
                requests.append(.delete(DeleteRequest(path: try serverPath(path), version: version)))
            case .setData(let path, let data, let version):
                requests.append(
                    .setData(SetDataRequest(path: try serverPath(path), data: [UInt8](data), version: version)))
            case .check(let path, let version):
                requests.append(.check(CheckVersionRequest(path: try serverPath(path), version: version)))
            }
        }
        guard case .multi(let raw) = try await call(.multi(requests)) else {
            throw ZooKeeperError(code: .marshallingError, message: "unexpected multi response")
        }
        var results: [OperationResult] = []
        results.reserveCapacity(raw.count)
        for result in raw {
            switch result {
            case .success(_, .create(let r)): results.append(.created(path: clientPath(r.path), stat: nil))
            case .success(_, .create2(let r)): results.append(.created(path: clientPath(r.path), stat: r.stat))
            case .success(_, .setData(let r)): results.append(.dataSet(r.stat))
            case .success(.delete, _): results.append(.deleted)
            case .success(.check, _): results.append(.checked)
            case .success(let op, let response):
                throw ZooKeeperError(code: .marshallingError, message: "unexpected multi result \(op) \(response)")
            case .error(let code): results.append(.error(code))
            }
        }
        for (index, result) in results.enumerated() {
            if case .error(let code) = result, code != .ok {
                throw ZooKeeperError(
                    code: code, path: index < operations.count ? operations[index].path : nil,
                    failedOperationIndex: index, results: results)
            }
        }
        return results
    }

    /// Applies the writes built by the closure atomically; see `multi(_:)`.
    @discardableResult
    public func multi(@MultiBuilder _ operations: () throws -> [ZooKeeperOperation]) async throws -> [OperationResult] {
        try await multi(try operations())
    }

    /// Reads several nodes in one round trip (multiRead, ZooKeeper 3.6+). Each read succeeds or fails alone.
    public func multiRead(_ operations: [ReadOperation]) async throws -> [ReadResult] {
        var requests: [ZooKeeperRequest] = []
        for operation in operations {
            switch operation {
            case .getData(let path):
                requests.append(.getData(GetDataRequest(path: try serverPath(path), watch: false)))
            case .getChildren(let path):
                requests.append(.getChildren(GetChildrenRequest(path: try serverPath(path), watch: false)))
            }
        }
        guard case .multi(let raw) = try await call(.multiRead(requests)) else {
            throw ZooKeeperError(code: .marshallingError, message: "unexpected multiRead response")
        }
        return try raw.map { result -> ReadResult in
            switch result {
            case .success(_, .getData(let r)): return .data(Data(r.data ?? []), r.stat)
            case .success(_, .getChildren(let r)): return .children(r.children)
            case .error(let code): return .error(code)
            case .success(let op, let response):
                throw ZooKeeperError(code: .marshallingError, message: "unexpected multiRead result \(op) \(response)")
            }
        }
    }

    // MARK: Watches

    /// Adds a persistent (`.persistent`) or persistent recursive (`.persistentRecursive`) watch (ZooKeeper
    /// 3.6+) and returns its events. A persistent watch sees NodeCreated, NodeDeleted, NodeDataChanged and
    /// NodeChildrenChanged of the path; a recursive one sees NodeCreated, NodeDeleted and NodeDataChanged of
    /// the path and every descendant. See `WatchEventStream` for how it ends.
    public func addWatch(_ path: String, mode: AddWatchMode) async throws -> WatchEventStream {
        let serverPath = try self.serverPath(path)
        let watcher = newWatcherID()
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, any Error>.makeStream()
        continuation.onTermination = { [weak self] _ in self?.watcherTerminated(watcher) }
        let registration: WatchRegistration =
            mode == .persistent ? .persistent(watcher) : .persistentRecursive(watcher)
        _ = try await call(
            .addWatch(AddWatchRequest(path: serverPath, mode: mode.rawValue)),
            watch: (registration, .stream(continuation)))
        return WatchEventStream(path: path, mode: mode, base: stream)
    }

    /// Asks the server whether the session has a watch of `type` on the path (checkWatches); throws
    /// `noWatcher` if not.
    public func checkWatches(_ path: String, type: WatcherType) async throws {
        _ = try await call(.checkWatches(CheckWatchesRequest(path: try serverPath(path), type: type.rawValue)))
    }

    /// Removes the session's watches of `type` on the path, on the server (removeWatches) and locally: the
    /// removed one-shot watches fire with `dataWatchRemoved`/`childWatchRemoved`, removed persistent watch
    /// streams get `persistentWatchRemoved` and end. With `local: true` only the local watchers are dropped.
    /// Types `.persistent` and `.persistentRecursive` are always removed locally (ZooKeeper 3.8 refuses them in
    /// removeWatches); the server's watch then goes with a removeWatches of type any when nothing else
    /// watches the path. Throws `noWatcher` when there was nothing to remove.
    public func removeWatches(_ path: String, type: WatcherType, local: Bool = false) async throws {
        let serverPath = try self.serverPath(path)
        if local || type == .persistent || type == .persistentRecursive {
            guard await removeLocalWatches(serverPath: serverPath, type: type) else {
                throw ZooKeeperError(code: .noWatcher, path: path)
            }
            return
        }
        _ = try await call(
            .removeWatches(RemoveWatchesRequest(path: serverPath, type: type.rawValue)),
            effect: .removeWatches(path: serverPath, type: type))
    }
}
