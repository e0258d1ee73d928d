import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// Every error of create, delete, setData, setACL and check, checked in ZooKeeper's order
/// (PrepRequestProcessor: validate → fixupACL → parent → ACL → sequential name → validatePath → exists → ephemeral
/// parent for create; getParentPathAndValidate → parent ACL → node → version → children for delete).
@Suite struct ErrorCaseTests {
    /// A driver with one client, a node `/a` and an ephemeral `/eph`.
    static func setUp(_ config: CoreConfiguration = CoreConfiguration()) -> (CoreDriver, Client) {
        var d = CoreDriver(config: config)
        let c = d.connect()
        #expect(d.create(c, "/a").err == .ok)
        #expect(d.create(c, "/eph", mode: .ephemeral).err == .ok)
        return (d, c)
    }

    // MARK: create

    @Test func createErrors() {
        var (d, c) = Self.setUp()
        #expect(d.create(c, "/missing/child").err == .noNode)
        #expect(d.create(c, "/a").err == .nodeExists)
        #expect(d.create(c, "/").err == .nodeExists)
        #expect(d.create(c, "/zookeeper").err == .nodeExists)
        #expect(d.create(c, "/eph/child").err == .noChildrenForEphemerals)
        #expect(d.create(c, "/eph/seq-", mode: .persistentSequential).err == .noChildrenForEphemerals)
        #expect(d.create(c, "/eph/e", mode: .ephemeral).err == .noChildrenForEphemerals)
        // NodeExists is checked before the ephemeral parent.
        #expect(d.create(c, "/eph").err == .nodeExists)
    }

    @Test(arguments: [
        ("", ErrorCode.badArguments),  // no slash at all
        ("a", .badArguments),
        ("a/b", .noNode),  // parent "a" is looked up (and missing) before the path is validated
        ("/a/", .badArguments),  // parent /a exists; "/a/" itself is invalid
        ("/a/.", .badArguments),
        ("/a/..", .badArguments),
        ("/a\u{0}b", .badArguments),
        ("/a/\u{1}", .badArguments),
        ("/a/\u{E000}", .badArguments),
        ("/a//b", .noNode),  // parent "/a/" does not exist
        ("//b", .badArguments),  // parent is "/" (exists); "//b" has an empty segment
        ("/x/", .noNode),  // parent /x is missing: NoNode comes first
    ])
    func createInvalidPaths(_ path: String, _ expected: ErrorCode) {
        var (d, c) = Self.setUp()
        let before = image(of: d.tree)
        #expect(d.create(c, path).err == expected, "create \(path.debugDescription)")
        #expect(image(of: d.tree) == before)
    }

    @Test func createWithUnknownFlagsIsBadArguments() {
        var (d, c) = Self.setUp()
        for flags: Int32 in [7, -1, 100] {
            let r = d.call(c, .create(CreateRequest(path: "/f", data: [], acl: ACLs.openUnsafe, flags: flags)))
            #expect(r.err == .badArguments)
        }
        #expect(!d.exists("/f"))
    }

    @Test func createWithInvalidACL() {
        var (d, c) = Self.setUp()
        let invalid: [[ACL]] = [
            [],
            [ACL(perms: Perms.all, id: Id(scheme: "world", id: "someone"))],
            [ACL(perms: Perms.all, id: Id(scheme: "digest", id: "nocolon"))],
            [ACL(perms: Perms.all, id: Id(scheme: "digest", id: "user:"))],  // Java's split(":") sees one part
            [ACL(perms: Perms.all, id: Id(scheme: "digest", id: "a:b:c"))],  // three parts
            [ACL(perms: Perms.all, id: Id(scheme: "ip", id: "300.1.1.1"))],
            [ACL(perms: Perms.all, id: Id(scheme: "ip", id: "10.0.0.0/33"))],
            [ACL(perms: Perms.all, id: Id(scheme: "ip", id: "not-an-ip"))],
            [ACL(perms: Perms.all, id: Id(scheme: "unknown", id: "x"))],
            [ACL(perms: Perms.all, id: Id(scheme: "super", id: ""))],  // no "super" provider in ProviderRegistry
            [ACL(perms: Perms.all, id: Id(scheme: "auth", id: ""))],  // no authenticated id to expand to
            [ACL(perms: Perms.all, id: ACLs.anyoneId), ACL(perms: Perms.all, id: Id(scheme: "bogus", id: "x"))],
        ]
        for acl in invalid {
            #expect(d.create(c, "/acl", acl: acl).err == .invalidACL, "\(acl)")
        }
        #expect(!d.exists("/acl"))
        // InvalidACL is found before the parent is looked up.
        #expect(d.create(c, "/missing/x", acl: []).err == .invalidACL)
        // Well-formed ids of every scheme are accepted.
        let valid: [ACL] = [
            ACL(perms: Perms.read, id: ACLs.anyoneId),
            ACL(perms: Perms.all, id: Id(scheme: "digest", id: "user:hash")),
            ACL(perms: Perms.all, id: Id(scheme: "ip", id: "10.0.0.0/8")),
            ACL(perms: Perms.all, id: Id(scheme: "ip", id: "127.0.0.1")),
        ]
        #expect(d.create(c, "/ok", acl: valid).err == .ok)
        #expect(d.tree.acl(of: d.tree.node(at: "/ok")!) == valid)
    }

    @Test func createWithoutCreatePermissionOnTheParent() {
        var (d, c) = Self.setUp()
        let noCreate: Perms = [.read, .write, .delete, .admin]
        d.create(c, "/locked", acl: [ACL(perms: noCreate, id: ACLs.anyoneId)])
        #expect(d.create(c, "/locked/x").err == .noAuth)
        // NoAuth comes before NodeExists and before the path check.
        d.setACL(c, "/locked", ACLs.openUnsafe)
        d.create(c, "/locked/x")
        d.setACL(c, "/locked", [ACL(perms: noCreate, id: ACLs.anyoneId)])
        #expect(d.create(c, "/locked/x").err == .noAuth)
        #expect(d.create(c, "/locked/", mode: .persistent).err == .noAuth)
    }

    @Test func ttlNeedsExtendedTypes() {
        var (d, c) = Self.setUp()
        #expect(d.createTTL(c, "/t", ttl: 1000).err == .unimplemented)
        #expect(d.createTTL(c, "/t", ttl: 1000, mode: .persistentSequentialWithTTL).err == .unimplemented)
        // The TTL modes through a plain create are refused the same way.
        let plain = d.call(c, .create(CreateRequest(path: "/t", data: [], acl: ACLs.openUnsafe, flags: CreateMode.persistentWithTTL.rawValue)))
        #expect(plain.err == .unimplemented)
        #expect(!d.exists("/t"))
    }

    @Test func ttlValuesAreValidated() {
        var (d, c) = Self.setUp(CoreConfiguration(extendedTypesEnabled: true))
        #expect(d.createTTL(c, "/t", ttl: 0).err == .badArguments)
        #expect(d.createTTL(c, "/t", ttl: -1).err == .badArguments)
        #expect(d.createTTL(c, "/t", ttl: EphemeralKind.maxTTL + 1).err == .badArguments)
        // A TTL with a mode that has none.
        #expect(d.createTTL(c, "/t", ttl: 1000, mode: .persistent).err == .badArguments)
        // A TTL mode through a plain create carries ttl -1.
        let plain = d.call(c, .create(CreateRequest(path: "/t", data: [], acl: ACLs.openUnsafe, flags: CreateMode.persistentWithTTL.rawValue)))
        #expect(plain.err == .badArguments)
        #expect(!d.exists("/t"))
        #expect(d.createTTL(c, "/t", ttl: EphemeralKind.maxTTL).err == .ok)
        #expect(d.createTTL(c, "/ts-", ttl: 5, mode: .persistentSequentialWithTTL).createdPath == "/ts-0000000003")
    }

    // MARK: delete

    @Test func deleteErrors() {
        var (d, c) = Self.setUp()
        #expect(d.delete(c, "/missing").err == .noNode)
        #expect(d.delete(c, "/missing/child").err == .noNode)
        d.create(c, "/a/child")
        #expect(d.delete(c, "/a").err == .notEmpty)
        #expect(d.delete(c, "/a/child", version: 5).err == .badVersion)
        // BadVersion is checked before NotEmpty.
        #expect(d.delete(c, "/a", version: 9).err == .badVersion)
        #expect(d.exists("/a/child"))
    }

    @Test(arguments: ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "", "noslash", "/a\u{0}"])
    func deletingSpecialOrMalformedPathsIsBadArguments(_ path: String) {
        var (d, c) = Self.setUp()
        #expect(d.delete(c, path).err == .badArguments, "delete \(path.debugDescription)")
        #expect(d.exists("/zookeeper/config"))
    }

    @Test func deleteOfPathsWithASlashIsNotValidatedFurther() {
        // getParentPathAndValidate only refuses paths without '/', with a NUL, or special ones; anything else is
        // looked up and isn't there.
        var (d, c) = Self.setUp()
        #expect(d.delete(c, "/a/").err == .noNode)
        #expect(d.delete(c, "/a//b").err == .noNode)
        #expect(d.delete(c, "/a/..").err == .noNode)
        #expect(d.delete(c, "x/y").err == .noNode)
    }

    @Test func deleteNeedsDeleteOnTheParentNotTheNode() {
        var (d, c) = Self.setUp()
        let noDelete: Perms = [.read, .write, .create, .admin]
        d.create(c, "/p", acl: [ACL(perms: noDelete, id: ACLs.anyoneId)])
        d.create(c, "/p/x")
        #expect(d.delete(c, "/p/x").err == .noAuth)
        // NoAuth on the parent comes before NoNode of the node.
        #expect(d.delete(c, "/p/missing").err == .noAuth)
        // The node's own ACL doesn't matter.
        d.create(c, "/q")
        d.create(c, "/q/x", acl: [ACL(perms: Perms.read, id: ACLs.anyoneId)])
        #expect(d.delete(c, "/q/x").err == .ok)
    }

    // MARK: setData

    @Test func setDataErrors() {
        var (d, c) = Self.setUp()
        #expect(d.setData(c, "/missing", bytes("x")).err == .noNode)
        #expect(d.setData(c, "/a", bytes("x"), version: 3).err == .badVersion)
        #expect(d.setData(c, "/a/", bytes("x")).err == .badArguments)
        #expect(d.setData(c, "noslash", bytes("x")).err == .badArguments)
        d.create(c, "/ro", acl: [worldRead])
        #expect(d.setData(c, "/ro", bytes("x")).err == .noAuth)
        // NoAuth comes before BadVersion.
        #expect(d.setData(c, "/ro", bytes("x"), version: 7).err == .noAuth)
        #expect(d.stat("/a")?.version == 0)
    }

    // MARK: setACL

    @Test func setACLErrors() {
        var (d, c) = Self.setUp()
        #expect(d.setACL(c, "/missing", ACLs.openUnsafe).err == .noNode)
        #expect(d.setACL(c, "/a", ACLs.openUnsafe, version: 4).err == .badVersion)
        #expect(d.setACL(c, "/a", []).err == .invalidACL)
        // The ACL is checked before the node is looked up.
        #expect(d.setACL(c, "/missing", []).err == .invalidACL)
        #expect(d.setACL(c, "/a/", ACLs.openUnsafe).err == .badArguments)
        let noAdmin: Perms = [.read, .write, .create, .delete]
        d.create(c, "/noadmin", acl: [ACL(perms: noAdmin, id: ACLs.anyoneId)])
        #expect(d.setACL(c, "/noadmin", ACLs.openUnsafe).err == .noAuth)
        // The version checked is the ACL version, not the data version.
        d.setData(c, "/a", bytes("x"))
        #expect(d.setACL(c, "/a", ACLs.openUnsafe, version: 1).err == .badVersion)
        #expect(d.setACL(c, "/a", ACLs.openUnsafe, version: 0).err == .ok)
    }

    // MARK: check (inside a multi)

    @Test func checkErrors() {
        var (d, c) = Self.setUp()
        func check(_ path: String, _ version: Int32) -> MultiResult? {
            var d2 = d
            let r = d2.multi(c, [.check(CheckVersionRequest(path: path, version: version))])
            return r.multiResults?.first
        }
        #expect(check("/a", 0) == .success(.check, .empty))
        #expect(check("/a", -1) == .success(.check, .empty))
        #expect(check("/a", 1) == .error(.badVersion))
        #expect(check("/missing", 0) == .error(.noNode))
        #expect(check("/a/", 0) == .error(.badArguments))
        d.create(c, "/wo", acl: [ACL(perms: Perms.write, id: ACLs.anyoneId)])
        #expect(check("/wo", 0) == .error(.noAuth))
    }

    // MARK: Other requests

    @Test func requestsBeforeTheHandshakeCloseTheConnection() {
        var d = CoreDriver()
        let id = d.open()
        let actions = d.send(id, .getData(GetDataRequest(path: "/", watch: false)), xid: 1)
        #expect(actions.closes.map(\.1) == [.requestBeforeHandshake])
        #expect(actions.reply(xid: 1, on: id) == nil)
    }

    @Test func reconfigIsDisabled() {
        var (d, c) = Self.setUp()
        let r = d.call(c, .reconfig(ReconfigRequest(joiningServers: nil, leavingServers: nil, newMembers: nil, curConfigId: -1)))
        #expect(r.err == .reconfigDisabled)
    }
}
