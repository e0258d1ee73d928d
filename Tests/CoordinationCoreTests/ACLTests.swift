import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// ACLs, digest authentication, the superDigest superuser and whoAmI, as ZooKeeper's DigestAuthenticationProvider,
/// ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL and FinalRequestProcessor do them.
@Suite struct ACLTests {
    // Vectors computed independently with Python:
    //   base64.b64encode(hashlib.sha1(b"super:test").digest())  -> D/InIHSb7yEEbrWz8b9l71RjZJU=
    // ("super:test" → "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" is also the example in ZooKeeper's admin guide.)
    static let superTest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
    static let user1 = "user1:GMJqCvSAmNfv41XqBotWHO0HsNc="  // user1:pw1
    static let user2 = "user2:bpD4uPzrrsGNcJsBFLRErJIlBog="  // user2:pw2

    @Test func digestMatchesKnownVectors() {
        #expect(ACLs.digest(userAndPassword: "super:test") == Self.superTest)
        #expect(ACLs.digest(userAndPassword: "user1:pw1") == Self.user1)
        #expect(ACLs.digest(userAndPassword: "user2:pw2") == Self.user2)
        // Only the first ':' separates the user; the whole string is hashed.
        #expect(ACLs.digest(userAndPassword: "a:b:c") == "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0=")
        #expect(ACLs.digest(userAndPassword: "nocolon") == "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=")
    }

    @Test func base64PadsLikeJava() {
        #expect(ACLs.base64([]) == "")
        #expect(ACLs.base64(bytes("f")) == "Zg==")
        #expect(ACLs.base64(bytes("fo")) == "Zm8=")
        #expect(ACLs.base64(bytes("foo")) == "Zm9v")
        #expect(ACLs.base64([0xFB, 0xFF]) == "+/8=")
    }

    @Test func authPacketIsAnsweredOnXidMinus4() {
        var d = CoreDriver()
        let c = d.connect()
        let r = d.addDigestAuth(c, "user1:pw1")
        #expect(r == Reply(xid: -4, zxid: 0, err: .ok, response: .empty))
        #expect(d.last.logged.isEmpty)
    }

    @Test func unknownAuthSchemeFailsAndCloses() {
        var d = CoreDriver()
        let c = d.connect()
        let r = d.call(c, .auth(AuthPacket(type: 0, scheme: "kerberos-ish", auth: bytes("x"))), xid: -4)
        #expect(r.err == .authFailed)
        #expect(d.last.closes.map(\.0) == [c.connection])
        #expect(d.last.closes.map(\.1) == [.authFailed])
    }

    @Test func digestACLGuardsReadsAndWrites() {
        var d = CoreDriver()
        let owner = d.connect()
        let stranger = d.connect()
        d.addDigestAuth(owner, "user1:pw1")
        #expect(d.create(owner, "/secure", bytes("s"), acl: [digestACL("user1:pw1")]).err == .ok)
        #expect(d.create(owner, "/secure/child").err == .ok)
        // Reads.
        #expect(d.getData(stranger, "/secure").err == .noAuth)
        #expect(d.getChildren(stranger, "/secure").err == .noAuth)
        #expect(d.call(stranger, .getChildren2(GetChildren2Request(path: "/secure", watch: false))).err == .noAuth)
        #expect(d.call(stranger, .getAllChildrenNumber(GetAllChildrenNumberRequest(path: "/secure"))).err == .noAuth)
        #expect(d.getACL(stranger, "/secure").err == .noAuth)
        // exists checks no ACL.
        #expect(d.exists(stranger, "/secure").err == .ok)
        // Writes.
        #expect(d.setData(stranger, "/secure", bytes("x")).err == .noAuth)
        #expect(d.create(stranger, "/secure/other").err == .noAuth)
        #expect(d.delete(stranger, "/secure/child").err == .noAuth)
        #expect(d.setACL(stranger, "/secure", ACLs.openUnsafe).err == .noAuth)
        // A wrong password gives a different digest.
        d.addDigestAuth(stranger, "user1:wrong")
        #expect(d.getData(stranger, "/secure").err == .noAuth)
        // The right one opens everything.
        d.addDigestAuth(stranger, "user1:pw1")
        #expect(d.getData(stranger, "/secure").data == bytes("s"))
        #expect(d.setData(stranger, "/secure", bytes("x")).err == .ok)
        #expect(d.delete(stranger, "/secure/child").err == .ok)
        // Auth is per connection: a reattached session starts without it.
        d.closeConnection(stranger.connection)
        let again = d.reattach(stranger).client
        #expect(d.getData(again, "/secure").err == .noAuth)
    }

    @Test func permissionsAreCheckedOneByOne() {
        var d = CoreDriver()
        let c = d.connect()
        let perms: [(Perms, String)] = [(.read, "r"), (.write, "w"), (.create, "c"), (.delete, "d"), (.admin, "a")]
        for (perm, name) in perms {
            d.create(c, "/\(name)", acl: [ACL(perms: perm, id: ACLs.anyoneId)])
        }
        #expect(d.getData(c, "/r").err == .ok)
        #expect(d.getData(c, "/w").err == .noAuth)
        #expect(d.setData(c, "/w", []).err == .ok)
        #expect(d.setData(c, "/r", []).err == .noAuth)
        #expect(d.create(c, "/c/x").err == .ok)
        #expect(d.create(c, "/d/x").err == .noAuth)
        #expect(d.setACL(c, "/a", [ACL(perms: Perms.admin, id: ACLs.anyoneId)]).err == .ok)
        #expect(d.setACL(c, "/d", ACLs.openUnsafe).err == .noAuth)
        #expect(d.delete(c, "/c/x").err == .noAuth)  // /c has CREATE only
    }

    @Test func ipACLMatchesTheConnectionAddress() {
        var d = CoreDriver()
        let local = d.connect(remoteAddress: "127.0.0.1")
        let inside = d.connect(remoteAddress: "10.1.2.3")
        d.create(local, "/net", bytes("n"), acl: [
            ACL(perms: Perms.read, id: Id(scheme: "ip", id: "10.0.0.0/8")),
            ACL(perms: Perms.all, id: Id(scheme: "ip", id: "127.0.0.1")),
        ])
        #expect(d.getData(inside, "/net").err == .ok)
        #expect(d.setData(inside, "/net", []).err == .noAuth)
        #expect(d.setData(local, "/net", []).err == .ok)
        let outside = d.connect(remoteAddress: "192.168.0.1")
        #expect(d.getData(outside, "/net").err == .noAuth)
    }

    @Test func superDigestBypassesEveryACL() {
        var d = CoreDriver(config: CoreConfiguration(superDigest: Self.superTest))
        let owner = d.connect()
        let admin = d.connect()
        d.addDigestAuth(owner, "user1:pw1")
        d.create(owner, "/locked", bytes("l"), acl: [digestACL("user1:pw1", .read)])
        #expect(d.getData(admin, "/locked").err == .noAuth)
        d.addDigestAuth(admin, "super:wrong")
        #expect(d.getData(admin, "/locked").err == .noAuth)
        d.addDigestAuth(admin, "super:test")
        #expect(d.getData(admin, "/locked").err == .ok)
        #expect(d.setData(admin, "/locked", bytes("x")).err == .ok)  // even perms nobody has
        #expect(d.create(admin, "/locked/c").err == .ok)
        #expect(d.getACL(admin, "/locked").acl == [digestACL("user1:pw1", .read)])  // full ACL, hash included
        #expect(d.setData(admin, "/zookeeper/config", bytes("c")).err == .ok)
        // The owner, with READ only, still can't write.
        #expect(d.setData(owner, "/locked", bytes("y")).err == .noAuth)
    }

    @Test func superDigestWithoutConfigIsJustADigest() {
        var d = CoreDriver()
        let c = d.connect()
        let other = d.connect()
        d.addDigestAuth(other, "user1:pw1")
        d.create(other, "/mine", acl: [digestACL("user1:pw1")])
        d.addDigestAuth(c, "super:test")
        #expect(d.getData(c, "/mine").err == .noAuth)
    }

    @Test func authSchemeExpandsToTheAuthenticatedIds() {
        var d = CoreDriver()
        let c = d.connect()
        let creatorAll = [ACL(perms: Perms.all, id: Id(scheme: "auth", id: ""))]
        // With only the ip id, there's nothing to expand to.
        #expect(d.create(c, "/x", acl: creatorAll).err == .invalidACL)
        d.addDigestAuth(c, "user1:pw1")
        #expect(d.create(c, "/one", acl: creatorAll).err == .ok)
        #expect(d.tree.acl(of: d.tree.node(at: "/one")!) == [ACL(perms: Perms.all, id: Id(scheme: "digest", id: Self.user1))])
        d.addDigestAuth(c, "user2:pw2")
        let rw: Perms = [.read, .write]
        let mixed = [ACL(perms: rw, id: Id(scheme: "auth", id: "whatever")), worldRead]
        #expect(d.create(c, "/two", acl: mixed).err == .ok)
        #expect(d.tree.acl(of: d.tree.node(at: "/two")!) == [
            ACL(perms: rw, id: Id(scheme: "digest", id: Self.user1)),
            ACL(perms: rw, id: Id(scheme: "digest", id: Self.user2)),
            worldRead,
        ])
        // setACL expands too.
        #expect(d.setACL(c, "/one", [ACL(perms: Perms.admin, id: Id(scheme: "auth", id: ""))]).err == .ok)
        #expect(d.tree.acl(of: d.tree.node(at: "/one")!) == [
            ACL(perms: Perms.admin, id: Id(scheme: "digest", id: Self.user1)),
            ACL(perms: Perms.admin, id: Id(scheme: "digest", id: Self.user2)),
        ])
    }

    @Test func getACLHidesDigestHashesWithoutAdmin() {
        var d = CoreDriver()
        let owner = d.connect()
        let reader = d.connect()
        d.addDigestAuth(owner, "user1:pw1")
        let acl = [digestACL("user1:pw1"), worldRead]
        d.create(owner, "/n", acl: acl)
        let hidden = d.getACL(reader, "/n")
        #expect(hidden.err == .ok)
        #expect(hidden.acl == [ACL(perms: Perms.all, id: Id(scheme: "digest", id: "user1:x")), worldRead])
        #expect(hidden.stat == d.stat("/n"))
        #expect(d.getACL(owner, "/n").acl == acl)
        // ADMIN alone is enough to see everything; neither READ nor ADMIN is NoAuth.
        d.create(owner, "/adm", acl: [ACL(perms: Perms.admin, id: ACLs.anyoneId), digestACL("user2:pw2", .read)])
        #expect(d.getACL(reader, "/adm").acl == [ACL(perms: Perms.admin, id: ACLs.anyoneId), digestACL("user2:pw2", .read)])
        d.create(owner, "/wo", acl: [ACL(perms: Perms.write, id: ACLs.anyoneId)])
        #expect(d.getACL(reader, "/wo").err == .noAuth)
    }

    @Test func whoAmIListsTheConnectionIds() {
        var d = CoreDriver(config: CoreConfiguration(superDigest: Self.superTest))
        let c = d.connect(remoteAddress: "10.0.0.7")
        func whoAmI() -> [ClientInfo] {
            let r = d.call(c, .whoAmI)
            guard case .whoAmI(let w) = r.response else {
                Issue.record("whoAmI reply: \(r)")
                return []
            }
            return w.clientInfo
        }
        #expect(whoAmI() == [ClientInfo(authScheme: "ip", user: "10.0.0.7")])
        d.addDigestAuth(c, "user1:pw1")
        #expect(whoAmI() == [ClientInfo(authScheme: "ip", user: "10.0.0.7"), ClientInfo(authScheme: "digest", user: "user1")])
        d.addDigestAuth(c, "user1:pw1")  // the same id isn't added twice
        #expect(whoAmI().count == 2)
        d.addDigestAuth(c, "super:test")
        #expect(whoAmI() == [
            ClientInfo(authScheme: "ip", user: "10.0.0.7"), ClientInfo(authScheme: "digest", user: "user1"),
            ClientInfo(authScheme: "super", user: ""), ClientInfo(authScheme: "digest", user: "super"),
        ])
    }

    @Test func fixupAndIsAllowedUnits() {
        let ids = [Id(scheme: "ip", id: "127.0.0.1"), Id(scheme: "digest", id: Self.user1)]
        #expect(ACLs.isAllowed([], perm: .admin, authInfo: []))  // an empty ACL allows everything
        #expect(ACLs.isAllowed([digestACL("user1:pw1", .read)], perm: .read, authInfo: ids))
        #expect(!ACLs.isAllowed([digestACL("user1:pw1", .read)], perm: .write, authInfo: ids))
        #expect(ACLs.isAllowed([digestACL("user2:pw2", .read)], perm: .write, authInfo: ids + [Id(scheme: "super", id: "")]))
        #expect(ACLs.fixup([ACL(perms: Perms.all, id: ACLs.anyoneId), ACL(perms: Perms.all, id: ACLs.anyoneId)], authInfo: ids)
            == [ACL(perms: Perms.all, id: ACLs.anyoneId)])
        #expect(ACLs.fixup([ACL(perms: Perms.all, id: Id(scheme: "digest", id: ":hash"))], authInfo: []) != nil)
        #expect(ACLs.fixup([ACL(perms: Perms.all, id: Id(scheme: "digest", id: "u:h:"))], authInfo: []) != nil)  // Java drops trailing empties
        #expect(ACLs.fixup([ACL(perms: Perms.all, id: Id(scheme: "digest", id: "u::"))], authInfo: []) == nil)
        #expect(ACLs.fixup([ACL(perms: Perms.all, id: Id(scheme: "ip", id: "10.0.0.1/0"))], authInfo: []) != nil)
        #expect(ACLs.fixup([ACL(perms: Perms.all, id: Id(scheme: "ip", id: "10.0.0.1/-1"))], authInfo: []) == nil)
        #expect(ACLs.fixup([ACL(perms: Perms.all, id: Id(scheme: "ip", id: "10.0.0"))], authInfo: []) == nil)
    }
}
