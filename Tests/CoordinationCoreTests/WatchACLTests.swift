import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// Watch events respect READ permission (CVE-2024-23944, fixed in ZooKeeper 3.8.4 and 3.9.2 by ZOOKEEPER-4799):
/// NIOServerCnxn/NettyServerCnxn.process checks READ with the watcher connection's auth at delivery, on the ACL
/// DataTree passes to triggerWatch: the node's own for NodeCreated, NodeDataChanged and NodeDeleted, the
/// parent's for NodeChildrenChanged. Every watch mode is filtered; a one-shot watch whose event is withheld is
/// consumed. The cases follow ZooKeeper's PersistentWatcherACLTest truth table (/a, /a/b with one denied).
@Suite struct WatchACLTests {
    static let owner = "owner:pw"
    static let superTest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="  // super:test

    /// The writer authenticates as owner; `allowed` paths are open, others readable by the owner only.
    static func acl(allowed: Bool) -> [ACL] {
        allowed ? ACLs.openUnsafe : [digestACL(owner)]
    }

    static func setUp(config: CoreConfiguration = CoreConfiguration()) -> (CoreDriver, writer: Client, watcher: Client) {
        var d = CoreDriver(config: config)
        let writer = d.connect()
        let watcher = d.connect()
        d.addDigestAuth(writer, owner)
        return (d, writer, watcher)
    }

    @Test func persistentWatchOnADeniedNodeSeesNothing() {
        // "Nothing as a is watched but denied. b is not watched."
        var (d, w, b) = Self.setUp()
        d.create(w, "/a", acl: Self.acl(allowed: false))
        d.addWatch(b, "/a", .persistent)
        d.setData(w, "/a", bytes("1"))
        #expect(d.last.events(to: b.connection) == [])
        d.create(w, "/a/b", acl: Self.acl(allowed: true))  // NodeChildrenChanged on /a: /a's ACL decides
        #expect(d.last.events(to: b.connection) == [])
        d.setData(w, "/a/b", bytes("1"))
        d.delete(w, "/a/b")
        #expect(d.last.events(to: b.connection) == [])
        d.delete(w, "/a")  // deleted: the ACL the node had
        #expect(d.last.events(to: b.connection) == [])
    }

    @Test func persistentWatchOnAReadableNodeSeesItsChildrenChangeWhateverTheirACL() {
        // "a changes, incl children, are seen."
        var (d, w, b) = Self.setUp()
        d.addWatch(b, "/a", .persistent)
        d.create(w, "/a", acl: Self.acl(allowed: true))
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/a")])
        d.setData(w, "/a", bytes("1"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/a")])
        d.create(w, "/a/b", acl: Self.acl(allowed: false))
        #expect(d.last.events(to: b.connection) == [Event(.nodeChildrenChanged, "/a")])
        d.setData(w, "/a/b", bytes("1"))
        #expect(d.last.events(to: b.connection) == [])
        d.delete(w, "/a/b")
        #expect(d.last.events(to: b.connection) == [Event(.nodeChildrenChanged, "/a")])
        d.delete(w, "/a")
        #expect(d.last.events(to: b.connection) == [Event(.nodeDeleted, "/a")])
    }

    @Test func recursiveWatchSkipsDeniedNodesAndShowsReadableDescendants() {
        // "Nothing for a as it's denied, b changes allowed/seen."
        var (d, w, b) = Self.setUp()
        d.create(w, "/a", acl: Self.acl(allowed: false))
        d.addWatch(b, "/a", .persistentRecursive)
        d.setData(w, "/a", bytes("1"))
        #expect(d.last.events(to: b.connection) == [])
        d.create(w, "/a/b", acl: Self.acl(allowed: true))
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/a/b")])
        d.setData(w, "/a/b", bytes("1"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/a/b")])
        d.create(w, "/a/b/c", acl: Self.acl(allowed: false))  // the path of a node it may not read: withheld
        #expect(d.last.events(to: b.connection) == [])
        d.setData(w, "/a/b/c", bytes("secret"))
        #expect(d.last.events(to: b.connection) == [])
        d.delete(w, "/a/b/c")
        #expect(d.last.events(to: b.connection) == [])
        d.delete(w, "/a/b")
        #expect(d.last.events(to: b.connection) == [Event(.nodeDeleted, "/a/b")])
        d.delete(w, "/a")
        #expect(d.last.events(to: b.connection) == [])
    }

    @Test func readIsWhatCountsNotOtherPermissions() {
        var (d, w, b) = Self.setUp()
        d.addWatch(b, "/", .persistentRecursive)
        let everythingButRead = Perms.all.rawValue & ~Perms.read.rawValue
        d.create(w, "/n", acl: [ACL(perms: everythingButRead, id: ACLs.anyoneId), digestACL(Self.owner)])
        #expect(d.last.events(to: b.connection) == [])
        d.create(w, "/r", acl: [ACL(perms: Perms.read.rawValue, id: ACLs.anyoneId)])
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/r")])
    }

    @Test func standardWatchEventIsWithheldAndTheWatchConsumed() {
        var (d, w, b) = Self.setUp()
        #expect(d.exists(b, "/x", watch: true).err == .noNode)
        d.create(w, "/x", acl: Self.acl(allowed: false))
        #expect(d.last.events(to: b.connection) == [])
        // Consumed, as ZooKeeper's triggerWatch removes it before the connection filters the event.
        #expect(d.call(b, .checkWatches(CheckWatchesRequest(path: "/x", type: WatcherType.data.rawValue))).err == .noWatcher)
        d.setACL(w, "/x", ACLs.openUnsafe)
        d.setData(w, "/x", bytes("1"))
        #expect(d.last.events(to: b.connection) == [])
    }

    @Test func theWatcherConnectionsAuthAtDeliveryDecides() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/a", acl: Self.acl(allowed: false))
        d.addWatch(b, "/a", .persistent)
        d.setData(w, "/a", bytes("1"))
        #expect(d.last.events(to: b.connection) == [])
        d.addDigestAuth(b, Self.owner)  // after the watch was set
        d.setData(w, "/a", bytes("2"))
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/a")])
    }

    @Test func theACLAtTheTimeOfTheChangeDecides() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/a", acl: Self.acl(allowed: true))
        d.addWatch(b, "/a", .persistent)
        d.setACL(w, "/a", Self.acl(allowed: false))
        d.setData(w, "/a", bytes("1"))
        #expect(d.last.events(to: b.connection) == [])
        // In one multi: created open, then closed; the creation was readable when it happened, the change not.
        d.delete(w, "/a")
        d.multi(w, [
            .create(CreateRequest(path: "/a", data: [], acl: ACLs.openUnsafe, flags: 0)),
            .setACL(SetACLRequest(path: "/a", acl: Self.acl(allowed: false), version: -1)),
            .setData(SetDataRequest(path: "/a", data: bytes("2"), version: -1)),
        ])
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/a")])
    }

    @Test func superuserSeesEverything() {
        var (d, w, b) = Self.setUp(config: CoreConfiguration(superDigest: Self.superTest))
        d.addDigestAuth(b, "super:test")
        d.addWatch(b, "/", .persistentRecursive)
        d.create(w, "/hidden", acl: [ACL(perms: 0, id: ACLs.anyoneId)])
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/hidden")])
    }

    @Test func ipACLsCountForDelivery() {
        var d = CoreDriver()
        let w = d.connect(remoteAddress: "127.0.0.1")
        let inside = d.connect(remoteAddress: "10.1.2.3")
        let outside = d.connect(remoteAddress: "192.168.1.1")
        let inside6 = d.connect(remoteAddress: "2001:db8::7")
        for c in [inside, outside, inside6] { d.addWatch(c, "/", .persistentRecursive) }
        d.create(w, "/net", acl: [
            ACL(perms: Perms.read.rawValue, id: Id(scheme: "ip", id: "10.0.0.0/8")),
            ACL(perms: Perms.read.rawValue, id: Id(scheme: "ip", id: "2001:db8::/32")),
        ])
        #expect(d.last.events(to: inside.connection) == [Event(.nodeCreated, "/net")])
        #expect(d.last.events(to: inside6.connection) == [Event(.nodeCreated, "/net")])
        #expect(d.last.events(to: outside.connection) == [])
    }

    @Test func reconnectReplayIsNotFiltered() {
        // ZooKeeper's DataTree.setWatches sends its catch-up events through process(event) with no ACL, so they
        // are not filtered (the client named those paths itself).
        var (d, w, b) = Self.setUp()
        d.create(w, "/a", acl: Self.acl(allowed: false))
        let zxid = d.machine.lastZxid
        d.setData(w, "/a", bytes("1"))
        d.send(b.connection, .setWatches(SetWatches(
            relativeZxid: zxid, dataWatches: ["/a"], existWatches: [], childWatches: [])), xid: -8)
        #expect(d.last.events(to: b.connection) == [Event(.nodeDataChanged, "/a")])
    }

    // MARK: A reattach with a wrong password

    @Test func wrongPasswordReattachLeavesTheOwnerAlone() {
        var (d, w, b) = Self.setUp()
        d.create(w, "/e", mode: .ephemeral)
        d.addWatch(b, "/", .persistentRecursive)
        #expect(d.exists(w, "/watched", watch: true).err == .noNode)
        var wrong = w.password
        wrong[3] ^= 0x5A
        let (_, actions) = d.reattach(w, password: wrong)
        // The rejected connection is closed; nothing of the owner's is (ZooKeeper 3.8 closes the owner's
        // connection before it checks the password; zooreg does not).
        #expect(actions.closes.map(\.1) == [.invalidSession])
        #expect(!actions.closes.map(\.0).contains(w.connection))
        #expect(d.machine.session(of: w.connection) == w.sessionId)
        #expect(d.getData(w, "/e").err == .ok)
        d.create(b, "/watched")
        #expect(d.last.events(to: w.connection) == [Event(.nodeCreated, "/watched")])
        #expect(d.last.events(to: b.connection) == [Event(.nodeCreated, "/watched")])
    }
}

@Suite struct IPACLTests {
    @Test func ipv4WithAndWithoutPrefix() {
        #expect(IPAddressPattern.matches(address: "10.1.2.3", pattern: "10.0.0.0/8"))
        #expect(IPAddressPattern.matches(address: "10.1.2.3", pattern: "10.1.2.3"))
        #expect(!IPAddressPattern.matches(address: "10.1.2.4", pattern: "10.1.2.3"))
        #expect(IPAddressPattern.matches(address: "10.1.2.3", pattern: "10.1.2.0/30"))
        #expect(!IPAddressPattern.matches(address: "10.1.2.4", pattern: "10.1.2.0/30"))
        #expect(IPAddressPattern.matches(address: "192.168.77.1", pattern: "0.0.0.0/0"))
        #expect(IPAddressPattern.matches(address: "172.31.255.255", pattern: "172.16.0.0/12"))
        #expect(!IPAddressPattern.matches(address: "172.32.0.0", pattern: "172.16.0.0/12"))
        // The expression's host bits are masked too.
        #expect(IPAddressPattern.matches(address: "10.200.0.1", pattern: "10.1.2.3/8"))
    }

    @Test func ipv6WithAndWithoutPrefix() {
        #expect(IPAddressPattern.matches(address: "0:0:0:0:0:0:0:1", pattern: "::1"))
        #expect(IPAddressPattern.matches(address: "::1", pattern: "0:0:0:0:0:0:0:1/128"))
        #expect(!IPAddressPattern.matches(address: "0:0:0:0:0:0:0:2", pattern: "::1"))
        #expect(IPAddressPattern.matches(address: "2001:db8:85a3:0:0:8a2e:370:7334", pattern: "2001:db8::/32"))
        #expect(IPAddressPattern.matches(address: "2001:0DB8:ffff::1", pattern: "2001:db8::/32"))
        #expect(!IPAddressPattern.matches(address: "2001:db9::1", pattern: "2001:db8::/32"))
        #expect(IPAddressPattern.matches(address: "fe80::1", pattern: "fe80::/10"))
        #expect(IPAddressPattern.matches(address: "febf::1", pattern: "fe80::/10"))
        #expect(!IPAddressPattern.matches(address: "fec0::1", pattern: "fe80::/10"))
        #expect(IPAddressPattern.matches(address: "1:2:3:4:5:6:7:8", pattern: "::/0"))
    }

    @Test func familiesNeverMatchEachOther() {
        #expect(!IPAddressPattern.matches(address: "127.0.0.1", pattern: "::1"))
        #expect(!IPAddressPattern.matches(address: "0:0:0:0:0:0:0:1", pattern: "127.0.0.1"))
        #expect(!IPAddressPattern.matches(address: "10.0.0.1", pattern: "::/0"))
        #expect(!IPAddressPattern.matches(address: "::1", pattern: "0.0.0.0/0"))
    }

    @Test func parsesLikeIPAuthenticationProvider() {
        // ZooKeeper's IPAuthenticationProviderTest vectors.
        #expect(IPAddressPattern.parse("2001:0db8:85a3:0000:0000:8a2e:0370:7334")
            == [0x20, 0x01, 0x0d, 0xb8, 0x85, 0xa3, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34])
        #expect(IPAddressPattern.parse("2001:db8::8a2e:370:7334")
            == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34])
        #expect(IPAddressPattern.parse("::1") == [UInt8](repeating: 0, count: 15) + [1])
        #expect(IPAddressPattern.parse("::") == [UInt8](repeating: 0, count: 16))
        #expect(IPAddressPattern.parse("1::") == [0, 1] + [UInt8](repeating: 0, count: 14))
        for bad in ["1", "1:2", "1::2:", ":1::2:", "1:2:3:4:5:6:7:8:", "1:2:3:4:5:6:7:8:9", "1:2::3:4:5:6:7:8",
                    "1::2::", "1:abcdf::", "efgh::", "1:: ", " 1::", ":::", "::ffff:1.2.3.4", "fe80::1%eth0"] {
            #expect(IPAddressPattern.parse(Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test func validity() {
        for good in ["10.0.0.0/8", "127.0.0.1", "0.0.0.0/0", "1.2.3.4/32", "::1", "::/0", "2001:db8::/32",
                     "1:2:3:4:5:6:7:8/128"] {
            #expect(IPAddressPattern.isValid(good), "\(good)")
        }
        for bad in ["", "localhost", "10.0.0/8", "1.2.3.256", "1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/", "1.2.3.4/8/9",
                    "::1/129", "2001:db8::/x", "1.2.3.4.5", "a.b.c.d"] {
            #expect(!IPAddressPattern.isValid(bad), "\(bad)")
        }
        #expect(ACLs.fixup([ACL(perms: Perms.all.rawValue, id: Id(scheme: "ip", id: "::1"))], authInfo: []) != nil)
        #expect(ACLs.fixup([ACL(perms: Perms.all.rawValue, id: Id(scheme: "ip", id: "fe80::/10"))], authInfo: []) != nil)
        #expect(ACLs.fixup([ACL(perms: Perms.all.rawValue, id: Id(scheme: "ip", id: "::1/200"))], authInfo: []) == nil)
    }

    @Test func connectionIdsAreWrittenAsJavaWritesThem() {
        #expect(ACLs.ipId(remoteAddress: "127.0.0.1") == Id(scheme: "ip", id: "127.0.0.1"))
        #expect(ACLs.ipId(remoteAddress: "::1") == Id(scheme: "ip", id: "0:0:0:0:0:0:0:1"))
        #expect(ACLs.ipId(remoteAddress: "2001:DB8::a:0:1") == Id(scheme: "ip", id: "2001:db8:0:0:0:a:0:1"))
        #expect(ACLs.ipId(remoteAddress: "::ffff:10.1.2.3") == Id(scheme: "ip", id: "10.1.2.3"))
        #expect(ACLs.ipId(remoteAddress: "fe80::1%eth0") == Id(scheme: "ip", id: "fe80:0:0:0:0:0:0:1"))
        #expect(ACLs.ipId(remoteAddress: "unknown") == Id(scheme: "ip", id: "unknown"))
    }

    @Test func anIPv6ClientIsMatchedByIPv6ACLs() {
        var d = CoreDriver()
        let owner = d.connect(remoteAddress: "::1")
        d.create(owner, "/v6", bytes("x"), acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "ip", id: "::1"))])
        #expect(d.getData(owner, "/v6").err == .ok)
        let other = d.connect(remoteAddress: "::2")
        #expect(d.getData(other, "/v6").err == .noAuth)
        let v4 = d.connect(remoteAddress: "127.0.0.1")
        #expect(d.getData(v4, "/v6").err == .noAuth)
    }
}
