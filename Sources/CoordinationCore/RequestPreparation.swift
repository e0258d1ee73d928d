import ZooKeeperWire

/// The facts about a node that preparation checks (ZooKeeper's ChangeRecord).
struct NodeView {
    var version: Int32
    var aversion: Int32
    var storedCversion: Int32
    var childCount: Int
    var ephemeralOwner: Int64
    var acl: [ACL]
}

/// Pending changes of a multi that is being prepared, so later ops see earlier ones (ZooKeeper's
/// outstandingChanges, scoped to one request because we apply each request before preparing the next).
struct Overlay {
    var records: [String: NodeView?] = [:]

    func view(_ path: String, in tree: DataTree) -> NodeView? {
        if let r = records[path] { return r }
        guard let n = tree.node(at: path) else { return nil }
        return NodeView(
            version: n.version, aversion: n.aversion, storedCversion: n.storedCversion,
            childCount: Int(n.childCount), ephemeralOwner: n.ephemeralOwner, acl: tree.acl(of: n))
    }
}

/// Who is asking: session and authenticated ids of its connection.
struct Requester {
    var sessionId: Int64
    var authInfo: [Id]
}

/// ZooKeeper's PrepRequestProcessor: validates a write and turns it into a transaction, or fails with the
/// error code ZooKeeper gives, checked in ZooKeeper's order.
struct RequestPreparer {
    var tree: DataTree
    var config: CoreConfiguration

    func prepare(_ request: ZooKeeperRequest, by who: Requester, overlay: inout Overlay) throws(ErrorCode) -> Transaction {
        switch request {
        case .create(let r), .create2(let r):
            // ZooKeeper quirk: create/create2 with the container flag make a plain persistent node, because
            // their CreateTxn records only "ephemeral or not". Only createContainer makes a container.
            return try prepareCreate(path: r.path, data: r.data, acl: r.acl, flags: r.flags, ttl: -1, containerOp: false, by: who, overlay: &overlay)
        case .createContainer(let r):
            // ZooKeeper makes a container whatever flags createContainer carries.
            return try prepareCreate(path: r.path, data: r.data, acl: r.acl, flags: CreateMode.container.rawValue, ttl: -1, containerOp: true, by: who, overlay: &overlay)
        case .createTTL(let r):
            return try prepareCreate(path: r.path, data: r.data, acl: r.acl, flags: r.flags, ttl: r.ttl, containerOp: false, by: who, overlay: &overlay)
        case .delete(let r):
            let parentPath = try parentForWrite(r.path)
            guard let parent = overlay.view(parentPath, in: tree) else { throw .noNode }
            try check(parent.acl, .delete, who)
            guard var node = overlay.view(r.path, in: tree) else { throw .noNode }
            if r.version != -1 && r.version != node.version { throw .badVersion }
            if node.childCount > 0 { throw .notEmpty }
            node.childCount = 0
            overlay.records[r.path] = .some(nil)
            var p = parent
            p.childCount -= 1
            overlay.records[parentPath] = p
            return .delete(path: r.path)
        case .setData(let r):
            try validate(r.path)
            guard var node = overlay.view(r.path, in: tree) else { throw .noNode }
            try check(node.acl, .write, who)
            if r.version != -1 && r.version != node.version { throw .badVersion }
            node.version = node.version &+ 1
            overlay.records[r.path] = node
            return .setData(path: r.path, data: r.data, version: node.version)
        case .setACL(let r):
            try validate(r.path)
            guard let acl = ACLs.fixup(r.acl, authInfo: who.authInfo) else { throw .invalidACL }
            guard var node = overlay.view(r.path, in: tree) else { throw .noNode }
            try check(node.acl, .admin, who)
            if r.version != -1 && r.version != node.aversion { throw .badVersion }
            node.aversion = node.aversion &+ 1
            node.acl = acl
            overlay.records[r.path] = node
            return .setACL(path: r.path, acl: acl, aversion: node.aversion)
        case .check(let r):
            try validate(r.path)
            guard let node = overlay.view(r.path, in: tree) else { throw .noNode }
            try check(node.acl, .read, who)
            if r.version != -1 && r.version != node.version { throw .badVersion }
            return .check(path: r.path)
        default:
            throw .badArguments
        }
    }

    /// A container or TTL node the reaper wants gone (ZooKeeper's deleteContainer).
    func prepareReap(_ path: String) -> Transaction? {
        guard let n = tree.node(at: path), n.hasNoChildren else { return nil }
        switch n.kind {
        case .container, .ttl: return .delete(path: path)
        default: return nil
        }
    }

    private func prepareCreate(
        path requestedPath: String, data: [UInt8]?, acl: [ACL], flags: Int32, ttl: Int64, containerOp: Bool,
        by who: Requester, overlay: inout Overlay
    ) throws(ErrorCode) -> Transaction {
        guard let mode = CreateMode(rawValue: flags) else { throw .badArguments }
        // validateCreateRequest
        if mode.isTTL && !config.extendedTypesEnabled { throw .unimplemented }
        if mode.isTTL {
            if ttl <= 0 || ttl > EphemeralKind.maxTTL { throw .badArguments }
        } else if ttl >= 0 {
            throw .badArguments
        }
        // validatePathForCreate
        guard let slash = requestedPath.utf8.lastIndex(of: UInt8(ascii: "/")), !requestedPath.utf8.contains(0) else {
            throw .badArguments
        }
        let parentPath = slash == requestedPath.utf8.startIndex ? "/" : String(requestedPath[..<slash])
        guard let fixedACL = ACLs.fixup(acl, authInfo: who.authInfo) else { throw .invalidACL }
        guard var parent = overlay.view(parentPath, in: tree) else { throw .noNode }
        try check(parent.acl, .create, who)
        var path = requestedPath
        if mode.isSequential { path += Self.sequenceSuffix(parent.storedCversion) }
        guard ZNodePath.isValid(path) else { throw .badArguments }
        if overlay.view(path, in: tree) != nil { throw .nodeExists }
        if case .session = EphemeralKind(owner: parent.ephemeralOwner) { throw .noChildrenForEphemerals }
        let owner: Int64
        if mode.isContainer { owner = containerOp ? EphemeralKind.containerOwner : 0 }
        else if mode.isTTL { owner = EphemeralKind.ttl(milliseconds: ttl).owner }
        else if mode.isEphemeral { owner = who.sessionId }
        else { owner = 0 }
        parent.storedCversion &+= 1
        parent.childCount += 1
        overlay.records[parentPath] = parent
        overlay.records[path] = NodeView(version: 0, aversion: 0, storedCversion: 0, childCount: 0, ephemeralOwner: owner, acl: fixedACL)
        return .create(path: path, data: data, acl: fixedACL, ephemeralOwner: owner)
    }

    /// `%010d` of the parent's create counter, as ZooKeeper names sequential nodes (negative counters after a
    /// wrap print with a minus sign, as Java's formatter does).
    static func sequenceSuffix(_ n: Int32) -> String {
        if n < 0 {
            let digits = String(-Int64(n))
            return "-" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits
        }
        let digits = String(n)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    private func validate(_ path: String) throws(ErrorCode) {
        guard ZNodePath.isValid(path) else { throw .badArguments }
    }

    /// getParentPathAndValidate: the root and the special /zookeeper nodes can't be deleted. Like ZooKeeper it
    /// refuses only paths without '/' or with a NUL; anything else is looked up (so "/a/" is NoNode).
    private func parentForWrite(_ path: String) throws(ErrorCode) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), !path.utf8.contains(0), path != "/",
            !DataTree.systemPaths.contains(path)
        else { throw .badArguments }
        return slash == path.utf8.startIndex ? "/" : String(path[..<slash])
    }

    private func check(_ acl: [ACL], _ perm: Perms, _ who: Requester) throws(ErrorCode) {
        guard ACLs.isAllowed(acl, perm: perm, authInfo: who.authInfo) else { throw .noAuth }
    }
}
