import FuzzSupport
import NIOCore
import ZooKeeperWire

/// Requests and frames the wire targets' seeds are made of, and the structured request generator of the core
/// target (paths from a small tree so that operations meet each other).
public enum WireSamples {
    public static let paths = ["/", "/a", "/a/b", "/a/b/c", "/b", "/zookeeper", "/a/s0000000001", "/c", "/a/c"]

    public static let acls: [[ACL]] = [
        ACL.openUnsafe, ACL.creatorAll, ACL.readUnsafe,
        [ACL(perms: Perms.all.rawValue, id: Id(scheme: "digest", id: "u:V28q/NynI4JI3Rk54h0r8O5kMug="))],
        [ACL(perms: Perms.all.rawValue, id: Id(scheme: "ip", id: "127.0.0.1"))],
        [],
    ]

    /// One of every request a client sends.
    public static let requests: [ZooKeeperRequest] = [
        .ping, .closeSession, .whoAmI,
        .create(CreateRequest(path: "/a", data: [1, 2, 3], acl: ACL.openUnsafe, flags: 0)),
        .create2(CreateRequest(path: "/a/s", data: nil, acl: ACL.openUnsafe, flags: 2)),
        .createContainer(CreateRequest(path: "/c", data: [], acl: ACL.openUnsafe, flags: 4)),
        .createTTL(CreateTTLRequest(path: "/t", data: [9], acl: ACL.openUnsafe, flags: 5, ttl: 1000)),
        .delete(DeleteRequest(path: "/a", version: -1)),
        .exists(ExistsRequest(path: "/a", watch: true)),
        .getData(GetDataRequest(path: "/a", watch: true)),
        .setData(SetDataRequest(path: "/a", data: [7, 7], version: 0)),
        .getACL(GetACLRequest(path: "/a")),
        .setACL(SetACLRequest(path: "/a", acl: ACL.readUnsafe, version: -1)),
        .getChildren(GetChildrenRequest(path: "/", watch: false)),
        .getChildren2(GetChildren2Request(path: "/", watch: true)),
        .sync(SyncRequest(path: "/")),
        .check(CheckVersionRequest(path: "/a", version: 1)),
        .multi([
            .create(CreateRequest(path: "/m", data: [1], acl: ACL.openUnsafe, flags: 0)),
            .setData(SetDataRequest(path: "/m", data: [2], version: 0)),
            .check(CheckVersionRequest(path: "/m", version: 1)),
            .delete(DeleteRequest(path: "/m", version: -1)),
        ]),
        .multiRead([.getData(GetDataRequest(path: "/a", watch: false)), .getChildren(GetChildrenRequest(path: "/", watch: false))]),
        .reconfig(ReconfigRequest(joiningServers: "server.1=h:1:2", leavingServers: nil, newMembers: nil, curConfigId: -1)),
        .checkWatches(CheckWatchesRequest(path: "/a", type: 1)),
        .removeWatches(RemoveWatchesRequest(path: "/a", type: 3)),
        .auth(AuthPacket(type: 0, scheme: "digest", auth: Array("u:p".utf8))),
        .setWatches(SetWatches(relativeZxid: 5, dataWatches: ["/a"], existWatches: ["/b"], childWatches: ["/"])),
        .setWatches2(SetWatches2(
            relativeZxid: 5, dataWatches: ["/a"], existWatches: [], childWatches: ["/"], persistentWatches: ["/a"],
            persistentRecursiveWatches: ["/"])),
        .getEphemerals(GetEphemeralsRequest(prefixPath: "/")),
        .getAllChildrenNumber(GetAllChildrenNumberRequest(path: "/")),
        .addWatch(AddWatchRequest(path: "/a", mode: 1)),
    ]

    public static let connectRequest = ConnectRequest(
        protocolVersion: 0, lastZxidSeen: 0, timeOut: 30000, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16),
        readOnly: false)

    public static func bytes(_ write: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        write(&buffer)
        return Array(buffer.readableBytesView)
    }

    /// A request's body (what follows its header).
    public static func body(_ request: ZooKeeperRequest) -> [UInt8] {
        bytes { request.encodeBody(into: &$0) }
    }

    /// A path from the small tree, or now and then an odd one.
    public static func path(_ input: inout FuzzInput) -> String {
        let choice = input.below(paths.count + 3)
        if choice < paths.count { return paths[choice] }
        switch choice - paths.count {
        case 0: return paths[input.below(paths.count)] + "/" + String(decoding: input.run(maxLength: 8), as: UTF8.self)
        case 1: return String(decoding: input.run(maxLength: 16), as: UTF8.self)
        default: return "/a/" + String(input.below(4))
        }
    }

    public static func data(_ input: inout FuzzInput) -> [UInt8]? {
        switch input.below(4) {
        case 0: return nil
        case 1: return []
        default: return input.run(maxLength: 32)
        }
    }

    static func version(_ input: inout FuzzInput) -> Int32 {
        input.bool() ? -1 : Int32(input.below(4))
    }

    static func create(_ input: inout FuzzInput) -> CreateRequest {
        CreateRequest(
            path: path(&input), data: data(&input), acl: acls[input.below(acls.count)], flags: Int32(input.below(8)))
    }

    /// A request made of choices: the operation, then its fields from small sets (paths of one tree, versions
    /// around the current ones), so that sequences of requests exercise the core rather than its input checks.
    public static func request(_ input: inout FuzzInput, depth: Int = 0) -> ZooKeeperRequest {
        switch input.below(26) {
        case 0: return .ping
        case 1: return .closeSession
        case 2: return .whoAmI
        case 3, 4: return .create(create(&input))
        case 5: return .create2(create(&input))
        case 6: return .createContainer(create(&input))
        case 7:
            let c = create(&input)
            return .createTTL(CreateTTLRequest(
                path: c.path, data: c.data, acl: c.acl, flags: c.flags, ttl: Int64(input.below(5)) * 1000 - 1000))
        case 8: return .delete(DeleteRequest(path: path(&input), version: version(&input)))
        case 9: return .exists(ExistsRequest(path: path(&input), watch: input.bool()))
        case 10: return .getData(GetDataRequest(path: path(&input), watch: input.bool()))
        case 11: return .setData(SetDataRequest(path: path(&input), data: data(&input), version: version(&input)))
        case 12: return .getACL(GetACLRequest(path: path(&input)))
        case 13: return .setACL(SetACLRequest(path: path(&input), acl: acls[input.below(acls.count)], version: version(&input)))
        case 14: return .getChildren(GetChildrenRequest(path: path(&input), watch: input.bool()))
        case 15: return .getChildren2(GetChildren2Request(path: path(&input), watch: input.bool()))
        case 16: return .sync(SyncRequest(path: path(&input)))
        case 17: return .check(CheckVersionRequest(path: path(&input), version: version(&input)))
        case 18 where depth == 0:
            var ops: [ZooKeeperRequest] = []
            for _ in 0..<input.below(5) {
                switch input.below(5) {
                case 0: ops.append(.create(create(&input)))
                case 1: ops.append(.delete(DeleteRequest(path: path(&input), version: version(&input))))
                case 2: ops.append(.setData(SetDataRequest(path: path(&input), data: data(&input), version: version(&input))))
                case 3: ops.append(.check(CheckVersionRequest(path: path(&input), version: version(&input))))
                default: ops.append(.create2(create(&input)))
                }
            }
            return .multi(ops)
        case 19 where depth == 0:
            var ops: [ZooKeeperRequest] = []
            for _ in 0..<input.below(4) {
                ops.append(input.bool()
                    ? .getData(GetDataRequest(path: path(&input), watch: false))
                    : .getChildren(GetChildrenRequest(path: path(&input), watch: false)))
            }
            return .multiRead(ops)
        case 20: return .checkWatches(CheckWatchesRequest(path: path(&input), type: Int32(input.below(5))))
        case 21: return .removeWatches(RemoveWatchesRequest(path: path(&input), type: Int32(input.below(5))))
        case 22:
            let schemes = ["digest", "ip", "world", "super", "x"]
            let auths = ["u:p", "super:secret", "bad", "", "u:q"]
            return .auth(AuthPacket(type: 0, scheme: input.pick(schemes), auth: Array(input.pick(auths).utf8)))
        case 23:
            return .setWatches2(SetWatches2(
                relativeZxid: Int64(input.below(16)), dataWatches: [path(&input)], existWatches: [path(&input)],
                childWatches: [path(&input)], persistentWatches: input.bool() ? [path(&input)] : [],
                persistentRecursiveWatches: input.bool() ? [path(&input)] : []))
        case 24: return input.bool()
            ? .getEphemerals(GetEphemeralsRequest(prefixPath: path(&input)))
            : .getAllChildrenNumber(GetAllChildrenNumberRequest(path: path(&input)))
        default: return .addWatch(AddWatchRequest(path: path(&input), mode: Int32(input.below(3))))
        }
    }
}
