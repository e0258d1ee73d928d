import ZooKeeperWire

/// The pure heart of the server: sessions, request processing, watches and reaping. The shell feeds it inputs
/// (a connection opened, a handshake, a request, a tick, a connection closed) with the time, and it appends
/// `CoreAction`s: transactions to log, frames to send, connections to close. It never reads a clock and never
/// does I/O, so tests drive it step by step with a manual clock.
public struct CoordinationStateMachine: Sendable {
    public private(set) var state: CoordinationState
    public let config: CoreConfiguration
    public private(set) var watches = WatchRegistry()

    struct ConnectionState: Sendable {
        var sessionId: Int64?
        var authInfo: [Id]
        var remoteAddress: String
        var sasl = SASLExchange()
    }

    struct LiveSession: Sendable {
        var connection: ConnectionID?
        var timeout: Int32
    }

    private var connections: [ConnectionID: ConnectionState] = [:]
    private var live: [Int64: LiveSession] = [:]
    private var expiry: ExpiryQueue<Int64>
    private var nextSessionId: Int64
    private var nextContainerCheck: Int64
    private var superId: String?
    /// The zxid of the newest transaction that changed an ACL (setACL, alone or in a multi). setACL moves no
    /// node zxid, so reads that reveal an ACL or aversion depend on this. Everything recovered is durable, so it
    /// starts at the recovered zxid.
    private var lastACLChangeZxid: Int64
    /// Sessions expired so far (for mntr's expired-session count).
    public private(set) var expiredSessionCount: Int64 = 0

    /// Starts from recovered state. Every restored session gets a full timeout from `now` to reconnect, as in
    /// ZooKeeper.
    ///
    /// - Parameter restoringConnectionOwners: an ensemble replica (whose connections are log entries that every
    ///   replica applies) restores which connection each session was attached through when the snapshot was
    ///   taken, as the replicas that never stopped know it. Otherwise a stale request of a session that had moved
    ///   before the snapshot would be fenced (SESSIONMOVED) by them and applied by this replica. A standalone
    ///   server's connections die with it, so it starts with none.
    public init(state: CoordinationState, config: CoreConfiguration, now: CoreTime, restoringConnectionOwners: Bool = false) {
        self.state = state
        self.config = config
        self.expiry = ExpiryQueue(interval: Int64(config.tickTime), now: now.monotonic)
        // ZooKeeper's initializeNextSessionId with server id 0: the time in the top bits.
        var next = Int64(bitPattern: UInt64(bitPattern: now.wall << 24) >> 8)
        if let maxExisting = state.sessions.keys.max(), maxExisting >= next { next = maxExisting + 1 }
        if next == EphemeralKind.containerOwner || next == 0 { next += 1 }
        self.nextSessionId = next
        self.nextContainerCheck = now.monotonic + config.containerCheckInterval
        self.lastACLChangeZxid = state.lastZxid
        if let digest = config.superDigest, digest.hasPrefix("super:") { superId = digest }
        for (id, record) in state.sessions {
            var owner: ConnectionID? = nil
            if restoringConnectionOwners, let raw = state.connectionOwners[id] {
                owner = ConnectionID(raw)
                // Known as the other replicas know it, so that its later disconnect entry releases the session.
                connections[ConnectionID(raw)] = ConnectionState(sessionId: id, authInfo: [], remoteAddress: "")
            }
            live[id] = LiveSession(connection: owner, timeout: record.timeout)
            expiry.touch(id, timeout: Int64(record.timeout), now: now.monotonic)
        }
        self.state.connectionOwners = [:]
    }

    /// A consistent image of the state for a snapshot, with the connection each session is attached through
    /// (see `init(state:config:now:restoringConnectionOwners:)`).
    public func snapshotImage() -> SnapshotImage {
        var owners: [Int64: UInt64] = [:]
        for (id, session) in live { if let c = session.connection { owners[id] = c.raw } }
        return state.snapshotImage(connectionOwners: owners)
    }

    // MARK: Read-only views for the shell (4lw, metrics)

    public var sessionCount: Int { live.count }
    public var connectionCount: Int { connections.count }
    public var lastZxid: Int64 { state.lastZxid }
    public func session(of connection: ConnectionID) -> Int64? { connections[connection]?.sessionId }
    public func authInfo(of connection: ConnectionID) -> [Id]? { connections[connection]?.authInfo }
    public func negotiatedTimeout(of session: Int64) -> Int32? { live[session]?.timeout }
    /// When the next tick has work (session bucket or container check), in monotonic ms.
    public var nextDeadline: Int64 { min(expiry.nextExpirationTime, nextContainerCheck) }
    public var sessionIds: [Int64] { Array(live.keys) }
    /// Session expiry buckets (monotonic ms → sessions), for `dump`.
    public var sessionExpiryBuckets: [(time: Int64, keys: [Int64])] { expiry.buckets }

    // MARK: Connections

    /// - Parameter transportAuth: ids the transport authenticated before the first frame, e.g. `x509:<DN>` of a
    ///   verified TLS client certificate (and `super` for the configured x509 superuser).
    public mutating func connectionOpened(_ id: ConnectionID, remoteAddress: String, transportAuth: [Id] = []) {
        connections[id] = ConnectionState(
            sessionId: nil, authInfo: [ACLs.ipId(remoteAddress: remoteAddress)] + transportAuth, remoteAddress: remoteAddress)
    }

    /// The connection is gone (closed by either side). Its session lives on until it expires.
    public mutating func connectionClosed(_ id: ConnectionID) {
        guard let c = connections.removeValue(forKey: id) else { return }
        if let s = c.sessionId {
            watches.removeAll(watcher: s)
            if live[s]?.connection == id { live[s]?.connection = nil }
        }
    }

    /// The handshake. `password` is 16 fresh random bytes from the shell, used if a new session is created.
    /// `newSessionId` is the id a new session gets when the shell chooses it (a replica of an ensemble, so that
    /// every replica applying the same log entry creates the same session); 0 lets the core number sessions.
    public mutating func connect(
        _ id: ConnectionID, request: ConnectRequest, password: [UInt8], newSessionId: Int64 = 0, now: CoreTime,
        into actions: inout [CoreAction]
    ) {
        guard let conn = connections[id] else { return }
        if conn.sessionId != nil {
            actions.append(.close(id, reason: .duplicateHandshake))
            return
        }
        if request.lastZxidSeen > state.lastZxid {
            actions.append(.close(id, reason: .zxidAhead))
            return
        }
        let timeout = min(max(request.timeOut, config.minSessionTimeout), config.maxSessionTimeout)
        let readOnlyReply: Bool? = request.readOnly == nil ? nil : false
        if request.sessionId == 0 {
            let sid: Int64
            if newSessionId != 0 {
                guard live[newSessionId] == nil, state.sessions[newSessionId] == nil else {
                    actions.append(.close(id, reason: .invalidSession))
                    return
                }
                sid = newSessionId
            } else {
                sid = nextSessionId
                nextSessionId += 1
                if nextSessionId == EphemeralKind.containerOwner { nextSessionId += 1 }
            }
            let txn = Transaction.createSession(sessionId: sid, timeout: timeout, password: password)
            commit(txn, sessionId: sid, cxid: 0, now: now, into: &actions)
            live[sid] = LiveSession(connection: id, timeout: timeout)
            expiry.touch(sid, timeout: Int64(timeout), now: now.monotonic)
            connections[id]?.sessionId = sid
            actions.append(.send(id, .connectResponse(ConnectResponse(
                protocolVersion: 0, timeOut: timeout, sessionId: sid, passwd: password, readOnly: readOnlyReply)),
                after: state.lastZxid))
            return
        }
        let sid = request.sessionId
        guard let record = state.sessions[sid], live[sid] != nil, record.password == request.passwd else {
            actions.append(.send(id, .connectResponse(ConnectResponse(
                protocolVersion: 0, timeOut: 0, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16),
                readOnly: readOnlyReply)), after: state.lastZxid))
            actions.append(.close(id, reason: .invalidSession))
            return
        }
        if let old = live[sid]?.connection, old != id {
            connectionClosed(old)
            actions.append(.close(old, reason: .reconnectedElsewhere))
        }
        live[sid]?.connection = id
        live[sid]?.timeout = timeout
        expiry.touch(sid, timeout: Int64(timeout), now: now.monotonic)
        connections[id]?.sessionId = sid
        actions.append(.send(id, .connectResponse(ConnectResponse(
            protocolVersion: 0, timeOut: timeout, sessionId: sid, passwd: record.password, readOnly: readOnlyReply)),
            after: state.lastZxid))
    }

    // MARK: Requests

    /// A request frame whose body could not be decoded, answered as ZooKeeper answers it: an unknown request
    /// type gets `unimplemented` with zxid -1 (ZooKeeper's UnimplementedRequestProcessor answers with the
    /// request's zxid, which is -1) and the connection is closed; any other malformed body gets
    /// `marshallingError` and the connection stays open.
    public mutating func receiveUndecodable(
        _ id: ConnectionID, xid: Int32, error: WireError, into actions: inout [CoreAction]
    ) {
        guard connections[id] != nil else { return }
        switch error {
        case .unknownOpCode:
            actions.append(.send(id, .reply(xid: xid, zxid: -1, err: .unimplemented, response: .empty), after: state.lastZxid))
            actions.append(.close(id, reason: .unimplemented))
        default:
            actions.append(.send(
                id, .reply(xid: xid, zxid: state.lastZxid, err: .marshallingError, response: .empty), after: state.lastZxid))
        }
    }

    /// One request frame from an established connection.
    ///
    /// `origin` is given when the request comes from an ensemble's shared log: the session and authentication
    /// the replica that took the request saw when it appended it, which the request is prepared with (as a
    /// ZooKeeper follower forwards a request with its connection's auth info), so that every replica decides the
    /// same whatever it knows of that connection (a replica restarted from a snapshot knows none).
    ///
    /// `saslNonce`: with a `.sasl` request, fresh random text from the shell for a DIGEST-MD5 challenge.
    public mutating func receive(
        _ id: ConnectionID, xid: Int32, request: ZooKeeperRequest, now: CoreTime,
        origin: (sessionId: Int64, authInfo: [Id])? = nil, saslNonce: String = "", into actions: inout [CoreAction]
    ) {
        if let origin, origin.sessionId != 0 {
            var adopted = false
            if connections[id] == nil {
                connections[id] = ConnectionState(sessionId: origin.sessionId, authInfo: origin.authInfo, remoteAddress: "")
                adopted = true
            } else if connections[id]?.sessionId == nil {
                connections[id]?.sessionId = origin.sessionId
            }
            if let owner = live[origin.sessionId]?.connection, owner != id {
                // ZooKeeper's SessionMovedException: the session has reattached through another connection (on
                // another replica) since this request was appended, so it is not applied. Without this, a request
                // that sat in a cut-off replica's queue would land after the writes its client made since.
                if adopted { connections[id] = nil }
                reply(id, xid, .sessionMoved, .empty, into: &actions)
                actions.append(.close(id, reason: .reconnectedElsewhere))
                return
            }
            if live[origin.sessionId] != nil && live[origin.sessionId]?.connection == nil {
                // No connection owns the session (its last one closed, or a replica restarted from a version 1
                // snapshot, which did not record owners): the first one heard from owns it, on every replica alike.
                live[origin.sessionId]?.connection = id
            }
        }
        guard let conn = connections[id], let sid = conn.sessionId else {
            actions.append(.close(id, reason: .requestBeforeHandshake))
            return
        }
        guard let session = live[sid] else {
            reply(id, xid, .sessionExpired, .empty, into: &actions)
            actions.append(.close(id, reason: .sessionExpired))
            return
        }
        expiry.touch(sid, timeout: Int64(session.timeout), now: now.monotonic)
        let who = Requester(sessionId: sid, authInfo: origin.map(\.authInfo) ?? conn.authInfo)

        switch request {
        case .ping:
            reply(id, xid, .ok, .empty, into: &actions)
        case .closeSession:
            closeSession(sid, cxid: xid, now: now, reason: .closeSession, into: &actions)
            reply(id, xid, .ok, .empty, into: &actions)
            actions.append(.close(id, reason: .closeSession))
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .setACL:
            var overlay = Overlay()
            do {
                let txn = try prepareOne(request, by: who, overlay: &overlay)
                let result = commit(txn, sessionId: sid, cxid: xid, now: now, into: &actions)
                reply(id, xid, .ok, Self.response(to: request, result: result), zxid: state.lastZxid, into: &actions)
            } catch {
                // A failed write still takes a zxid (ZooKeeper logs an ErrorTxn).
                commit(.error(code: error.rawValue), sessionId: sid, cxid: xid, now: now, into: &actions)
                reply(id, xid, error, .empty, into: &actions)
            }
        case .check(let r):
            // A check outside a multi (ZooKeeper 3.9 accepts it as a read of the version).
            var overlay = Overlay()
            do {
                _ = try preparer.prepare(request, by: who, overlay: &overlay)
                reply(id, xid, .ok, .setData(SetDataResponse(stat: state.tree.node(at: r.path)?.stat ?? .zero)), into: &actions)
            } catch {
                reply(id, xid, error, .empty, into: &actions)
            }
        case .multi(let ops):
            multi(ops, id: id, xid: xid, who: who, now: now, into: &actions)
        case .multiRead(let ops):
            let results = ops.map { op -> MultiResult in
                let (err, response, _) = read(op, id: id, who: who, sid: sid)
                return err == .ok ? .success(op.opCode, response) : .error(err)
            }
            reply(id, xid, .ok, .multi(results), into: &actions)
        case .sync(let r):
            reply(id, xid, .ok, .sync(SyncResponse(path: r.path)), into: &actions)
        case .auth(let packet):
            auth(packet, id: id, xid: xid, into: &actions)
        case .sasl(let request):
            sasl(request.token, id: id, xid: xid, nonce: saslNonce, into: &actions)
        case .setWatches(let w):
            setWatches(
                relativeZxid: w.relativeZxid, data: w.dataWatches, exist: w.existWatches, child: w.childWatches,
                persistent: [], recursive: [], sid: sid, id: id, into: &actions)
            reply(id, xid, .ok, .empty, into: &actions)
        case .setWatches2(let w):
            setWatches(
                relativeZxid: w.relativeZxid, data: w.dataWatches, exist: w.existWatches, child: w.childWatches,
                persistent: w.persistentWatches, recursive: w.persistentRecursiveWatches, sid: sid, id: id,
                into: &actions)
            reply(id, xid, .ok, .empty, into: &actions)
        case .addWatch(let r):
            guard let mode = AddWatchMode(rawValue: r.mode) else {
                reply(id, xid, .marshallingError, .empty, into: &actions)
                return
            }
            watches.addPersistent(path: r.path, watcher: sid, recursive: mode == .persistentRecursive)
            reply(id, xid, .ok, .addWatch, into: &actions)
        case .checkWatches(let r):
            // ZooKeeper 3.8 knows watcher types 1...3 here; others are a marshalling error.
            guard r.type >= 1 && r.type <= 3, let type = WatcherType(rawValue: r.type) else {
                reply(id, xid, .marshallingError, .empty, into: &actions)
                return
            }
            let has = watches.contains(path: r.path, watcher: sid, type: type)
            reply(id, xid, has ? .ok : .noWatcher, .empty, into: &actions)
        case .removeWatches(let r):
            guard r.type >= 1 && r.type <= 3, let type = WatcherType(rawValue: r.type) else {
                reply(id, xid, .marshallingError, .empty, into: &actions)
                return
            }
            let removed = watches.remove(path: r.path, watcher: sid, type: type)
            reply(id, xid, removed ? .ok : .noWatcher, .empty, into: &actions)
        case .reconfig:
            reply(id, xid, .reconfigDisabled, .empty, into: &actions)
        case .whoAmI:
            let infos = conn.authInfo.map { auth -> ClientInfo in
                let user = auth.scheme == "digest" ? String(auth.id.split(separator: ":", maxSplits: 1).first ?? "") : auth.id
                return ClientInfo(authScheme: auth.scheme, user: user)
            }
            reply(id, xid, .ok, .whoAmI(WhoAmIResponse(clientInfo: infos)), into: &actions)
        case .getEphemerals(let r):
            let mine = state.tree.ephemerals[sid] ?? []
            let prefix = r.prefixPath
            let trimmed = prefix.trimmingCharacters()
            let list = mine.filter { trimmed.isEmpty || $0.hasPrefix(prefix) }.sorted()
            reply(id, xid, .ok, .getEphemerals(GetEphemeralsResponse(ephemerals: list)), into: &actions)
        default:
            let (err, response, dependsOn) = read(request, id: id, who: who, sid: sid)
            reply(id, xid, err, response, after: dependsOn, into: &actions)
        }
    }

    /// Reads: exists, getData, getChildren, getChildren2, getACL, getAllChildrenNumber. Also returns the zxid the
    /// answer depends on (see `CoreAction.send`): for a node, the newest of its mzxid, its pzxid (children, cversion,
    /// numChildren) and the last ACL change (aversion, the ACL check); for NoNode, the pzxid of the nearest existing
    /// ancestor (the deletion of the node or of an ancestor moved it); otherwise the last submitted zxid.
    private mutating func read(
        _ request: ZooKeeperRequest, id: ConnectionID, who: Requester, sid: Int64
    ) -> (ErrorCode, ZooKeeperResponse, dependsOn: Int64) {
        let tree = state.tree
        let conservative = state.lastZxid
        switch request {
        case .exists(let r):
            if r.path.utf8.contains(0) { return (.badArguments, .empty, conservative) }
            if r.watch { watches.add(.data, path: r.path, watcher: sid) }
            guard let n = tree.node(at: r.path) else { return (.noNode, .empty, absenceDependency(r.path)) }
            return (.ok, .exists(ExistsResponse(stat: n.stat)), nodeDependency(n))
        case .getData(let r):
            guard let n = tree.node(at: r.path) else { return (.noNode, .empty, absenceDependency(r.path)) }
            guard ACLs.isAllowed(tree.acl(of: n), perm: .read, authInfo: who.authInfo) else {
                return (.noAuth, .empty, nodeDependency(n))
            }
            if r.watch { watches.add(.data, path: r.path, watcher: sid) }
            return (.ok, .getData(GetDataResponse(data: tree.data(of: n), stat: n.stat)), nodeDependency(n))
        case .getChildren(let r):
            guard let n = tree.node(at: r.path) else { return (.noNode, .empty, absenceDependency(r.path)) }
            guard ACLs.isAllowed(tree.acl(of: n), perm: .read, authInfo: who.authInfo) else {
                return (.noAuth, .empty, nodeDependency(n))
            }
            if r.watch { watches.add(.child, path: r.path, watcher: sid) }
            return (.ok, .getChildren(GetChildrenResponse(children: tree.children(of: n))), nodeDependency(n))
        case .getChildren2(let r):
            guard let n = tree.node(at: r.path) else { return (.noNode, .empty, absenceDependency(r.path)) }
            guard ACLs.isAllowed(tree.acl(of: n), perm: .read, authInfo: who.authInfo) else {
                return (.noAuth, .empty, nodeDependency(n))
            }
            if r.watch { watches.add(.child, path: r.path, watcher: sid) }
            return (.ok, .getChildren2(GetChildren2Response(children: tree.children(of: n), stat: n.stat)), nodeDependency(n))
        case .getACL(let r):
            guard let n = tree.node(at: r.path) else { return (.noNode, .empty, absenceDependency(r.path)) }
            let acl = tree.acl(of: n)
            if ACLs.isAllowed(acl, perm: .admin, authInfo: who.authInfo) {
                return (.ok, .getACL(GetACLResponse(acl: acl, stat: n.stat)), nodeDependency(n))
            }
            guard ACLs.isAllowed(acl, perm: .read, authInfo: who.authInfo) else { return (.noAuth, .empty, nodeDependency(n)) }
            return (.ok, .getACL(GetACLResponse(acl: ACLs.hidingSecrets(acl), stat: n.stat)), nodeDependency(n))
        case .getAllChildrenNumber(let r):
            // The count depends on the whole subtree: conservative.
            guard let n = tree.node(at: r.path) else { return (.noNode, .empty, conservative) }
            guard ACLs.isAllowed(tree.acl(of: n), perm: .read, authInfo: who.authInfo) else { return (.noAuth, .empty, conservative) }
            return (
                .ok, .getAllChildrenNumber(GetAllChildrenNumberResponse(totalNumber: Int32(tree.descendantCount(of: r.path)))),
                conservative
            )
        default:
            return (.unimplemented, .empty, conservative)
        }
    }

    /// The newest zxid a read of `node` reveals: its data and creation (mzxid ≥ czxid), its children (pzxid) and
    /// its ACL (setACL moves neither, so the last ACL change anywhere counts).
    @inline(__always)
    private func nodeDependency(_ node: ZNode) -> Int64 {
        max(node.mzxid, node.pzxid, lastACLChangeZxid)
    }

    /// The newest zxid a NoNode answer for `path` reveals: deleting a node moves its parent's pzxid, so the nearest
    /// existing ancestor's pzxid covers the deletion of the path or of any node between. An unusable path:
    /// the last submitted zxid.
    private func absenceDependency(_ path: String) -> Int64 {
        var p = path
        while let parent = ZNodePath.parent(of: p) {
            if let n = state.tree.node(at: parent) { return n.pzxid }
            p = parent
        }
        return state.lastZxid
    }

    private var preparer: RequestPreparer { RequestPreparer(tree: state.tree, config: config) }

    private func prepareOne(_ request: ZooKeeperRequest, by who: Requester, overlay: inout Overlay) throws(ErrorCode) -> Transaction {
        try preparer.prepare(request, by: who, overlay: &overlay)
    }

    private mutating func multi(
        _ ops: [ZooKeeperRequest], id: ConnectionID, xid: Int32, who: Requester, now: CoreTime,
        into actions: inout [CoreAction]
    ) {
        let (txns, failure) = prepareAll(ops, who: who)
        if let failure {
            let results: [MultiResult] = ops.indices.map { i in
                i < failure.index ? .error(.ok) : i == failure.index ? .error(failure.code) : .error(.runtimeInconsistency)
            }
            // A failed multi still takes a zxid, as in ZooKeeper.
            commit(.error(code: failure.code.rawValue), sessionId: who.sessionId, cxid: xid, now: now, into: &actions)
            reply(id, xid, .ok, .multi(results), into: &actions)
            return
        }
        if ops.isEmpty {
            reply(id, xid, .ok, .multi([]), into: &actions)
            return
        }
        let result = commit(.multi(txns), sessionId: who.sessionId, cxid: xid, now: now, into: &actions)
        guard case .multi(let subResults) = result else { return }
        let results: [MultiResult] = zip(ops, subResults).map { op, r in
            // Inside a multi, create2 answers like create: type 1 and the path only (ZooKeeper's CreateTxn).
            if case .create2 = op, case .created(let path, _) = r { return .success(.create, .create(CreateResponse(path: path))) }
            return .success(op.opCode, Self.response(to: op, result: r))
        }
        reply(id, xid, .ok, .multi(results), zxid: state.lastZxid, into: &actions)
    }

    /// Prepares every op of a multi against one overlay. A separate function so that no copy of the tree
    /// outlives preparation: a live copy would make the commit that follows copy the whole tree (CoW).
    private func prepareAll(_ ops: [ZooKeeperRequest], who: Requester) -> ([Transaction], (index: Int, code: ErrorCode)?) {
        var overlay = Overlay()
        var txns: [Transaction] = []
        txns.reserveCapacity(ops.count)
        let p = preparer
        for (i, op) in ops.enumerated() {
            do {
                txns.append(try p.prepare(op, by: who, overlay: &overlay))
            } catch {
                return (txns, (i, error))
            }
        }
        return (txns, nil)
    }

    private static func response(to request: ZooKeeperRequest, result: ApplyResult) -> ZooKeeperResponse {
        switch (request, result) {
        case (.create, .created(let path, _)): return .create(CreateResponse(path: path))
        case (.create2, .created(let path, let stat)), (.createContainer, .created(let path, let stat)),
            (.createTTL, .created(let path, let stat)):
            return .create2(Create2Response(path: path, stat: stat))
        case (.setData, .stat(let stat)): return .setData(SetDataResponse(stat: stat))
        case (.setACL, .stat(let stat)): return .setACL(SetACLResponse(stat: stat))
        default: return .empty
        }
    }

    // MARK: Auth and watches

    private mutating func auth(_ packet: AuthPacket, id: ConnectionID, xid: Int32, into actions: inout [CoreAction]) {
        switch packet.scheme {
        case "digest":
            let digest = ACLs.digest(userAndPassword: String(decoding: packet.auth, as: UTF8.self))
            var ids = connections[id]?.authInfo ?? []
            if let superId, digest == superId, !ids.contains(Id(scheme: "super", id: "")) {
                ids.append(Id(scheme: "super", id: ""))
            }
            let newId = Id(scheme: "digest", id: digest)
            if !ids.contains(newId) { ids.append(newId) }
            connections[id]?.authInfo = ids
            actions.append(.send(id, .reply(xid: xid, zxid: 0, err: .ok, response: .empty), after: state.lastZxid))
        case "ip":
            actions.append(.send(id, .reply(xid: xid, zxid: 0, err: .ok, response: .empty), after: state.lastZxid))
        default:
            actions.append(.send(id, .reply(xid: xid, zxid: 0, err: .authFailed, response: .empty), after: state.lastZxid))
            actions.append(.close(id, reason: .authFailed))
        }
    }

    /// ZooKeeperServer.processSasl: each token is answered at once, under zxid 0; a completed exchange adds
    /// `sasl:<user>` (and `super` for a `zookeeper.superUser`); a failed one is answered AUTHFAILED and the
    /// connection closed (its session lives on).
    private mutating func sasl(_ token: [UInt8], id: ConnectionID, xid: Int32, nonce: String, into actions: inout [CoreAction]) {
        guard var exchange = connections[id]?.sasl else { return }
        let outcome: SASLExchange.Outcome
        if let users = config.saslUsers, !nonce.isEmpty {
            outcome = exchange.evaluate(token, users: users, nonce: nonce)
        } else {
            outcome = .failed("SASL is not configured")
        }
        connections[id]?.sasl = exchange
        switch outcome {
        case .token(let next):
            actions.append(.send(
                id, .reply(xid: xid, zxid: 0, err: .ok, response: .sasl(SetSASLResponse(token: next))), after: state.lastZxid))
        case .authenticated(let user, let next):
            var ids = connections[id]?.authInfo ?? []
            let newId = Id(scheme: SASLScheme.name, id: user)
            if !ids.contains(newId) { ids.append(newId) }
            let superUser = config.saslSuperUsers.contains(user)
            if superUser, !ids.contains(Id(scheme: "super", id: "")) { ids.append(Id(scheme: "super", id: "")) }
            connections[id]?.authInfo = ids
            actions.append(.authentication(id, .succeeded(newId, superUser: superUser)))
            actions.append(.send(
                id, .reply(xid: xid, zxid: 0, err: .ok, response: .sasl(SetSASLResponse(token: next))), after: state.lastZxid))
        case .failed(let reason):
            actions.append(.authentication(id, .failed(scheme: SASLScheme.name, reason: reason)))
            actions.append(.send(id, .reply(xid: xid, zxid: 0, err: .authFailed, response: .empty), after: state.lastZxid))
            actions.append(.close(id, reason: .authFailed))
        }
    }

    private mutating func setWatches(
        relativeZxid: Int64, data: [String], exist: [String], child: [String], persistent: [String],
        recursive: [String], sid: Int64, id: ConnectionID, into actions: inout [CoreAction]
    ) {
        let tree = state.tree
        func event(_ type: EventType, _ path: String) {
            actions.append(.send(
                id, .notification(zxid: -1, WatcherEvent(type: type.rawValue, state: KeeperState.syncConnected.rawValue, path: path)),
                after: lastZxid))
        }
        for path in data {
            if let n = tree.node(at: path) {
                if n.mzxid > relativeZxid { event(.nodeDataChanged, path) } else { watches.add(.data, path: path, watcher: sid) }
            } else {
                event(.nodeDeleted, path)
            }
        }
        for path in exist {
            if tree.node(at: path) != nil { event(.nodeCreated, path) } else { watches.add(.data, path: path, watcher: sid) }
        }
        for path in child {
            if let n = tree.node(at: path) {
                if n.pzxid > relativeZxid { event(.nodeChildrenChanged, path) } else { watches.add(.child, path: path, watcher: sid) }
            } else {
                event(.nodeDeleted, path)
            }
        }
        for path in persistent { watches.addPersistent(path: path, watcher: sid, recursive: false) }
        for path in recursive { watches.addPersistent(path: path, watcher: sid, recursive: true) }
    }

    // MARK: Commit

    /// Assigns the next zxid, logs, applies, and sends the watch events the change fires.
    @discardableResult
    private mutating func commit(
        _ txn: Transaction, sessionId: Int64, cxid: Int32, now: CoreTime, into actions: inout [CoreAction]
    ) -> ApplyResult {
        let header = TransactionHeader(zxid: state.lastZxid + 1, time: now.wall, sessionId: sessionId, cxid: cxid)
        let logged = LoggedTransaction(header: header, transaction: txn)
        actions.append(.log(logged))
        if txn.changesACL { lastACLChangeZxid = header.zxid }
        var triggers: [WatchTrigger] = []
        let result = state.apply(logged, triggers: &triggers)
        if !triggers.isEmpty {
            var deliveries: [WatchDelivery] = []
            for t in triggers { watches.fire(t, into: &deliveries) }
            for d in deliveries {
                guard let conn = live[d.watcher]?.connection else { continue }
                // CVE-2024-23944 (ZooKeeper 3.8.4/3.9.2, NIOServerCnxn/NettyServerCnxn.process): an event is sent
                // only if the watcher's connection, with the auth it has now, may READ the node the event names
                // (for NodeChildrenChanged the parent, whose path it is). Any watch mode; superusers see all.
                guard ACLs.isAllowed(d.acl, perm: .read, authInfo: connections[conn]?.authInfo ?? []) else { continue }
                // ZooKeeper 3.8 sends notifications with zxid -1.
                actions.append(.send(conn, .notification(zxid: -1, WatcherEvent(
                    type: d.type.rawValue, state: KeeperState.syncConnected.rawValue, path: d.path)), after: header.zxid))
            }
        }
        return result
    }

    /// A reply that leaves once `after` is durable; by default the last submitted zxid (the conservative choice for
    /// every reply that does not say which state it reveals).
    private mutating func reply(
        _ id: ConnectionID, _ xid: Int32, _ err: ErrorCode, _ response: ZooKeeperResponse, zxid: Int64? = nil,
        after: Int64? = nil, into actions: inout [CoreAction]
    ) {
        actions.append(.send(
            id, .reply(xid: xid, zxid: zxid ?? state.lastZxid, err: err, response: response), after: after ?? state.lastZxid))
    }

    private mutating func closeSession(_ sid: Int64, cxid: Int32, now: CoreTime, reason: CloseReason, into actions: inout [CoreAction]) {
        guard live[sid] != nil else { return }
        expiry.remove(sid)
        // Commit while the session is still live: as in ZooKeeper, the closing session itself is told about its
        // own watched ephemerals going (NodeDeleted) before the closeSession reply.
        commit(.closeSession(sessionId: sid), sessionId: sid, cxid: cxid, now: now, into: &actions)
        live[sid] = nil
        watches.removeAll(watcher: sid)
    }

    // MARK: Replicated log

    /// Whether the core knows this connection (an ensemble replica opens the connections of other replicas when
    /// their first log entry arrives).
    public func knows(_ connection: ConnectionID) -> Bool { connections[connection] != nil }

    /// Moves the last zxid up to `zxid` (the first zxid of a log position; see the ensemble's zxid layout). No
    /// transaction is applied; the next one gets `zxid + 1`.
    public mutating func advanceZxid(to zxid: Int64) {
        if zxid > state.lastZxid { state.lastZxid = zxid }
    }

    /// The session expired, as decided once for the whole ensemble (its lease ran out in the shared log): its
    /// ephemerals go, as on a local expiry. Unknown or already closed sessions are ignored.
    public mutating func expireSession(_ sid: Int64, now: CoreTime, into actions: inout [CoreAction]) {
        guard live[sid] != nil else { return }
        expiredSessionCount += 1
        let conn = live[sid]?.connection
        closeSession(sid, cxid: 0, now: now, reason: .sessionExpired, into: &actions)
        if let conn {
            connectionClosed(conn)
            actions.append(.close(conn, reason: .sessionExpired))
        }
    }

    /// Reaps empty containers and expired TTL nodes at `now` (an ensemble applies this from a log entry, so that
    /// every replica deletes the same nodes at the same position).
    public mutating func reapNow(now: CoreTime, into actions: inout [CoreAction]) {
        reap(now: now, into: &actions)
    }

    // MARK: Time

    /// Expires sessions whose deadline has passed, and reaps empty containers and expired TTL nodes.
    public mutating func tick(now: CoreTime, into actions: inout [CoreAction]) {
        for sid in expiry.expire(now: now.monotonic).sorted() {
            expireSession(sid, now: now, into: &actions)
        }
        if now.monotonic >= nextContainerCheck {
            nextContainerCheck = now.monotonic + config.containerCheckInterval
            reap(now: now, into: &actions)
        }
    }

    private mutating func reap(now: CoreTime, into actions: inout [CoreAction]) {
        for txn in reapTransactions(now: now) {
            commit(txn, sessionId: 0, cxid: 0, now: now, into: &actions)
        }
    }

    /// The deletions the container/TTL reaper wants, computed before any commit (no tree copy stays alive).
    private func reapTransactions(now: CoreTime) -> [Transaction] {
        let tree = state.tree
        var candidates: [String] = []
        for path in tree.containers {
            if let n = tree.node(at: path), n.hasNoChildren, n.storedCversion > 0 { candidates.append(path) }
        }
        for path in tree.ttls {
            if let n = tree.node(at: path), n.hasNoChildren, case .ttl(let ttl) = n.kind, ttl != 0,
                now.wall - n.mtime > ttl
            {
                candidates.append(path)
            }
        }
        let limit = max(1, config.containerMaxPerMinute * Int(config.containerCheckInterval) / 60_000)
        let p = preparer
        return candidates.sorted().prefix(limit).compactMap { p.prepareReap($0) }
    }
}

extension String {
    fileprivate func trimmingCharacters() -> Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}

extension Transaction {
    /// Whether applying this changes an existing node's ACL.
    fileprivate var changesACL: Bool {
        switch self {
        case .setACL: return true
        case .multi(let txns): return txns.contains { $0.changesACL }
        default: return false
        }
    }
}
