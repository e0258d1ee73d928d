import Jute
import NIOCore
import Testing
import ZooKeeperWire

// Golden bytes from real sources, never from our encoder:
// - "kazoo": built with kazoo 2.11.0's `kazoo.protocol.serialization` classes (pip install kazoo), e.g.
//   `Connect(0, 0, 10000, 0, b"\0" * 16, False).serialize()`; a request is `pack("!ii", xid, type) + serialize()`.
// - "hand": requests kazoo has no class for, packed field by field with Python's struct module.
// - "ZK": replies captured off the socket from a standalone Apache ZooKeeper 3.8.0 (Debian's 3.8.0-11+deb12u2
//   /usr/share/java/zookeeper.jar) answering those requests, in the order of the tests below (two sessions).
// Payloads are shown without the 4-byte length prefix unless a test says otherwise.

private let stat_wire_exists = Stat(
    czxid: 0x9e, mzxid: 0x9e, ctime: 0x1a2_138a_9e39, mtime: 0x1a2_138a_9e39, version: 0, cversion: 0,
    aversion: 0, ephemeralOwner: 0, dataLength: 5, numChildren: 0, pzxid: 0x9e)

/// Decodes a reply payload for `op`, checks the header, and checks our encoder reproduces it byte for byte.
private func checkReply(
    _ payload: [UInt8], op: OpCode, xid: Int32, zxid: Int64, err: Int32 = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> ZooKeeperResponse? {
    let frame = try ReplyFrame.decode(buffer(payload))
    #expect(frame.header == ReplyHeader(xid: xid, zxid: zxid, err: err), sourceLocation: sourceLocation)
    var out = ByteBuffer()
    guard err == 0 else {
        #expect(frame.body.readableBytes == 0, sourceLocation: sourceLocation)
        out.writeZooKeeperReply(xid: xid, zxid: zxid, err: err, response: .empty)
        #expect(bytes(out) == framed(payload), sourceLocation: sourceLocation)
        return nil
    }
    let response = try frame.response(for: op)
    out.writeZooKeeperReply(xid: xid, zxid: zxid, err: .ok, response: response)
    #expect(bytes(out) == framed(payload), sourceLocation: sourceLocation)
    return response
}

/// Decodes a request payload and checks our encoder reproduces it byte for byte.
private func checkRequest(
    _ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
) throws -> RequestFrame {
    let frame = try RequestFrame.decode(buffer(payload))
    var out = ByteBuffer()
    frame.encode(into: &out)
    #expect(bytes(out) == payload, sourceLocation: sourceLocation)
    var framedOut = ByteBuffer()
    framedOut.writeZooKeeperRequest(frame)
    #expect(bytes(framedOut) == framed(payload), sourceLocation: sourceLocation)
    return frame
}

@Suite struct HandshakeGoldenTests {
    // kazoo: Connect(protocol_version=0, last_zxid_seen=0, time_out=10000, session_id=0, passwd=b"\0"*16,
    // read_only=False).serialize()
    static let connectWithReadOnly = hex(
        "00000000 00000000 00000000 00002710 00000000 00000000 00000010 00000000 00000000 00000000 00000000 00")
    // The same without the last byte: what clients older than ZooKeeper 3.4 send.
    static let connectWithoutReadOnly = hex(
        "00000000 00000000 00000000 00002710 00000000 00000000 00000010 00000000 00000000 00000000 00000000")

    @Test func connectRequestWithReadOnly() throws {
        let r = try ConnectRequest.decodeWhole(buffer(Self.connectWithReadOnly))
        #expect(r == ConnectRequest(protocolVersion: 0, lastZxidSeen: 0, timeOut: 10000, sessionId: 0,
                                    passwd: [UInt8](repeating: 0, count: 16), readOnly: false))
        #expect(encoded(r) == Self.connectWithReadOnly)
    }

    @Test func connectRequestWithoutReadOnly() throws {
        let r = try ConnectRequest.decodeWhole(buffer(Self.connectWithoutReadOnly))
        #expect(r.readOnly == nil)
        #expect(r.timeOut == 10000)
        #expect(encoded(r) == Self.connectWithoutReadOnly)
    }

    @Test func connectResponseToReadOnlyAwareClient() throws {
        // ZK's answer to connectWithReadOnly.
        let payload = hex("00000000 00000fa0 0100000f ad310021 00000010 2b7826cb 3d0073ab b8e48316 5fc0b6fc 00")
        let r = try ConnectResponse.decodeWhole(buffer(payload))
        #expect(r.protocolVersion == 0)
        #expect(r.timeOut == 4000)  // 10000 asked, clamped to that server's maxSessionTimeout
        #expect(r.sessionId == 0x0100_000f_ad31_0021)
        #expect(r.passwd.count == 16)
        #expect(r.readOnly == false)
        #expect(encoded(r) == payload)
    }

    @Test func connectResponseToOldClient() throws {
        // ZK's answer to connectWithoutReadOnly: no readOnly byte either.
        let payload = hex("00000000 00000fa0 0100000f ad310022 00000010 f21438cb 5d1dd5dc d81b4e94 e4257995")
        let r = try ConnectResponse.decodeWhole(buffer(payload))
        #expect(r.readOnly == nil)
        #expect(r.sessionId == 0x0100_000f_ad31_0022)
        #expect(encoded(r) == payload)
    }
}

@Suite struct RequestReplyGoldenTests {
    @Test func createRequestAndReply() throws {
        // kazoo: Create("/wire", b"hello", OPEN_ACL_UNSAFE, 0) with xid 1.
        let request = try checkRequest(hex(
            "00000001 00000001 00000005 2f776972 65000000 0568656c 6c6f0000 00010000 001f0000 0005776f 726c6400"
                + "00000661 6e796f6e 65000000 00"))
        #expect(request.header == RequestHeader(xid: 1, type: 1))
        #expect(request.request == .create(CreateRequest(
            path: "/wire", data: Array("hello".utf8), acl: ACL.openUnsafe, flags: 0)))
        // ZK
        let reply = try checkReply(hex("00000001 00000000 0000009e 00000000 00000005 2f776972 65"),
                                   op: .create, xid: 1, zxid: 0x9e)
        #expect(reply == .create(CreateResponse(path: "/wire")))
    }

    @Test func existsWithWatchAndStat() throws {
        // kazoo: Exists("/wire", True) with xid 2.
        let request = try checkRequest(hex("00000002 00000003 00000005 2f776972 6501"))
        #expect(request.request == .exists(ExistsRequest(path: "/wire", watch: true)))
        // ZK: the body is exactly one Stat (68 bytes).
        let payload = hex(
            "00000002 00000000 0000009e 00000000 00000000 0000009e 00000000 0000009e 000001a2 138a9e39 000001a2"
                + "138a9e39 00000000 00000000 00000000 00000000 00000000 00000005 00000000 00000000 0000009e")
        #expect(payload.count - 16 == Stat.encodedSize)
        let reply = try checkReply(payload, op: .exists, xid: 2, zxid: 0x9e)
        #expect(reply == .exists(ExistsResponse(stat: stat_wire_exists)))
        #expect(encoded(stat_wire_exists) == Array(payload[16...]))
    }

    @Test func failingMulti() throws {
        // kazoo: Transaction([Create("/wire/a", b"x", OPEN_ACL_UNSAFE, 0), Delete("/wire/missing", -1),
        //                     SetData("/wire", b"y", -1)]) with xid 3.
        let request = try checkRequest(hex(
            "00000003 0000000e 00000001 00ffffff ff000000 072f7769 72652f61 00000001 78000000 01000000 1f000000"
                + "05776f72 6c640000 0006616e 796f6e65 00000000 00000002 00ffffff ff000000 0d2f7769 72652f6d"
                + "69737369 6e67ffff ffff0000 000500ff ffffff00 0000052f 77697265 00000001 79ffffff ffffffff"
                + "ff01ffff ffff"))
        #expect(request.request == .multi([
            .create(CreateRequest(path: "/wire/a", data: Array("x".utf8), acl: ACL.openUnsafe, flags: 0)),
            .delete(DeleteRequest(path: "/wire/missing", version: -1)),
            .setData(SetDataRequest(path: "/wire", data: Array("y".utf8), version: -1)),
        ]))
        // ZK: header err 0; every result is an error: 0 before the failing op, its code, -2 after it.
        let reply = try checkReply(hex(
            "00000003 00000000 0000009f 00000000 ffffffff 00000000 00000000 00ffffff ff00ffff ff9bffff ff9bffff"
                + "ffff00ff fffffeff fffffeff ffffff01 ffffffff"), op: .multi, xid: 3, zxid: 0x9f)
        #expect(reply == .multi([.error(.ok), .error(.noNode), .error(.runtimeInconsistency)]))
    }

    @Test func successfulMultiAfterItsNotification() throws {
        // kazoo: Transaction([Create("/wire/b", b"", OPEN_ACL_UNSAFE, 0), CheckVersion("/wire", 0),
        //                     SetData("/wire", b"z", 0), Delete("/wire/b", -1)]) with xid 4.
        let request = try checkRequest(hex(
            "00000004 0000000e 00000001 00ffffff ff000000 072f7769 72652f62 00000000 00000001 0000001f 00000005"
                + "776f726c 64000000 06616e79 6f6e6500 00000000 00000d00 ffffffff 00000005 2f776972 65000000"
                + "00000000 0500ffff ffff0000 00052f77 69726500 0000017a 00000000 00000002 00ffffff ff000000"
                + "072f7769 72652f62 ffffffff ffffffff 01ffffff ff"))
        #expect(request.request == .multi([
            .create(CreateRequest(path: "/wire/b", data: [], acl: ACL.openUnsafe, flags: 0)),
            .check(CheckVersionRequest(path: "/wire", version: 0)),
            .setData(SetDataRequest(path: "/wire", data: Array("z".utf8), version: 0)),
            .delete(DeleteRequest(path: "/wire/b", version: -1)),
        ]))
        // ZK sent the exists watch's NodeDataChanged before the multi's reply. This is the whole frame.
        let notification = hex(
            "00000021 ffffffff ffffffff ffffffff 00000000 00000003 00000003 00000005 2f776972 65")
        var out = ByteBuffer()
        out.writeZooKeeperNotification(
            zxid: -1, event: WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/wire"))
        #expect(bytes(out) == notification)
        let frame = try ReplyFrame.decode(buffer(Array(notification[4...])))
        #expect(frame.header == ReplyHeader(xid: SpecialXid.notification, zxid: -1, err: 0))
        #expect(try frame.notification() == WatcherEvent(type: 3, state: 3, path: "/wire"))

        // ZK
        let reply = try checkReply(hex(
            "00000004 00000000 000000a0 00000000 00000001 00000000 00000000 072f7769 72652f62 0000000d 00000000"
                + "00000000 05000000 00000000 00000000 009e0000 00000000 00a00000 01a2138a 9e390000 01a2138a"
                + "9e3f0000 00010000 00010000 00000000 00000000 00000000 00010000 00010000 00000000 00a00000"
                + "00020000 000000ff ffffff01 ffffffff"), op: .multi, xid: 4, zxid: 0xa0)
        let setStat = Stat(
            czxid: 0x9e, mzxid: 0xa0, ctime: 0x1a2_138a_9e39, mtime: 0x1a2_138a_9e3f, version: 1, cversion: 1,
            aversion: 0, ephemeralOwner: 0, dataLength: 1, numChildren: 1, pzxid: 0xa0)
        #expect(reply == .multi([
            .success(.create, .create(CreateResponse(path: "/wire/b"))),
            .success(.check, .empty),
            .success(.setData, .setData(SetDataResponse(stat: setStat))),
            .success(.delete, .empty),
        ]))
    }

    @Test func getDataReply() throws {
        // kazoo: GetData("/wire", False) with xid 5.
        let request = try checkRequest(hex("00000005 00000004 00000005 2f776972 6500"))
        #expect(request.request == .getData(GetDataRequest(path: "/wire", watch: false)))
        // ZK
        let reply = try checkReply(hex(
            "00000005 00000000 000000a0 00000000 00000001 7a000000 00000000 9e000000 00000000 a0000001 a2138a9e"
                + "39000001 a2138a9e 3f000000 01000000 02000000 00000000 00000000 00000000 01000000 00000000"
                + "00000000 a0"), op: .getData, xid: 5, zxid: 0xa0)
        guard case .getData(let r) = reply else { Issue.record("not getData: \(String(describing: reply))"); return }
        #expect(r.data == Array("z".utf8))
        #expect(r.stat.version == 1)
        #expect(r.stat.cversion == 2)
        #expect(r.stat.numChildren == 0)
    }

    @Test func create2WithNullDataAndReply() throws {
        // kazoo: Create2("/wire/c", None, OPEN_ACL_UNSAFE, 0) with xid 6: null data stays null.
        let request = try checkRequest(hex(
            "00000006 0000000f 00000007 2f776972 652f63ff ffffff00 00000100 00001f00 00000577 6f726c64 00000006"
                + "616e796f 6e650000 0000"))
        #expect(request.request == .create2(CreateRequest(path: "/wire/c", data: nil, acl: ACL.openUnsafe, flags: 0)))
        // ZK
        let reply = try checkReply(hex(
            "00000006 00000000 000000a1 00000000 00000007 2f776972 652f6300 00000000 0000a100 00000000 0000a100"
                + "0001a213 8a9e4700 0001a213 8a9e4700 00000000 00000000 00000000 00000000 00000000 00000000"
                + "00000000 00000000 0000a1"), op: .create2, xid: 6, zxid: 0xa1)
        guard case .create2(let r) = reply else { Issue.record("not create2"); return }
        #expect(r.path == "/wire/c")
        #expect(r.stat.czxid == 0xa1)
        #expect(r.stat.dataLength == 0)
    }

    @Test func getChildren2AndGetACLReplies() throws {
        // kazoo: GetChildren2("/wire", False) with xid 7, GetACL("/wire") with xid 8.
        _ = try checkRequest(hex("00000007 0000000c 00000005 2f776972 6500"))
        _ = try checkRequest(hex("00000008 00000006 00000005 2f776972 65"))
        let stat = Stat(
            czxid: 0x9e, mzxid: 0xa0, ctime: 0x1a2_138a_9e39, mtime: 0x1a2_138a_9e3f, version: 1, cversion: 3,
            aversion: 0, ephemeralOwner: 0, dataLength: 1, numChildren: 1, pzxid: 0xa1)
        // ZK
        let children = try checkReply(hex(
            "00000007 00000000 000000a1 00000000 00000001 00000001 63000000 00000000 9e000000 00000000 a0000001"
                + "a2138a9e 39000001 a2138a9e 3f000000 01000000 03000000 00000000 00000000 00000000 01000000"
                + "01000000 00000000 a1"), op: .getChildren2, xid: 7, zxid: 0xa1)
        #expect(children == .getChildren2(GetChildren2Response(children: ["c"], stat: stat)))
        // ZK
        let acl = try checkReply(hex(
            "00000008 00000000 000000a1 00000000 00000001 0000001f 00000005 776f726c 64000000 06616e79 6f6e6500"
                + "00000000 00009e00 00000000 0000a000 0001a213 8a9e3900 0001a213 8a9e3f00 00000100 00000300"
                + "00000000 00000000 00000000 00000100 00000100 00000000 0000a1"), op: .getACL, xid: 8, zxid: 0xa1)
        #expect(acl == .getACL(GetACLResponse(acl: ACL.openUnsafe, stat: stat)))
    }

    @Test func deleteFiresNotificationBeforeReply() throws {
        // kazoo: Delete("/wire/c", -1) with xid 9, Delete("/wire", -1) with xid 10, Close() with xid 11.
        #expect(try checkRequest(hex("00000009 00000002 00000007 2f776972 652f63ff ffffff")).request
            == .delete(DeleteRequest(path: "/wire/c", version: -1)))
        _ = try checkRequest(hex("0000000a 00000002 00000005 2f776972 65ffffff ff"))
        #expect(try checkRequest(hex("0000000b fffffff5")).request == .closeSession)
        // ZK: replies without bodies.
        #expect(try checkReply(hex("00000009 00000000 000000a2 00000000"), op: .delete, xid: 9, zxid: 0xa2) == .empty)
        #expect(try checkReply(hex("0000000b 00000000 000000a4 00000000"), op: .closeSession, xid: 11, zxid: 0xa4)
            == .empty)
        // ZK: the NodeDeleted of the exists watch on /wire, before the reply to xid 10 (payload only).
        let event = try ReplyFrame.decode(buffer(hex(
            "ffffffff ffffffff ffffffff 00000000 00000002 00000003 00000005 2f776972 65"))).notification()
        #expect(event.eventType == .nodeDeleted)
        #expect(event.keeperState == .syncConnected)
        #expect(event.path == "/wire")
    }
}

@Suite struct NewerOpsGoldenTests {
    // Second session against the same server. Requests "hand" built, replies "ZK".

    @Test func pingAndAuth() throws {
        #expect(try checkRequest(hex("fffffffe 0000000b")) == RequestFrame(xid: SpecialXid.ping, request: .ping))
        #expect(try checkReply(hex("fffffffe 00000000 000000be 00000000"), op: .ping, xid: -2, zxid: 0xbe) == .empty)
        let auth = try checkRequest(hex(
            "fffffffc 00000064 00000000 00000006 64696765 73740000 000c616c 6963653a 73656372 6574"))
        #expect(auth == RequestFrame(
            xid: SpecialXid.auth,
            request: .auth(AuthPacket(type: 0, scheme: "digest", auth: Array("alice:secret".utf8)))))
        // The auth reply carries zxid 0.
        #expect(try checkReply(hex("fffffffc 00000000 00000000 00000000"), op: .auth, xid: -4, zxid: 0) == .empty)
    }

    @Test func whoAmI() throws {
        #expect(try checkRequest(hex("00000001 0000006b")).request == .whoAmI)
        let reply = try checkReply(hex(
            "00000001 00000000 000000be 00000000 00000002 00000006 64696765 73740000 0005616c 69636500 00000269"
                + "70000000 09313237 2e302e30 2e31"), op: .whoAmI, xid: 1, zxid: 0xbe)
        #expect(reply == .whoAmI(WhoAmIResponse(clientInfo: [
            ClientInfo(authScheme: "digest", user: "alice"), ClientInfo(authScheme: "ip", user: "127.0.0.1"),
        ])))
    }

    @Test func sasl() throws {
        // kazoo's first DIGEST-MD5 token: xid 1, opcode 102, an empty buffer.
        #expect(try checkRequest(hex("00000001 00000066 00000000")).request == .sasl(GetSASLRequest(token: [])))
        // The server's challenge "ab" under zxid 0, as ZooKeeperServer.processSasl replies.
        #expect(try checkReply(hex("00000001 00000000 00000000 00000000 00000002 6162"), op: .sasl, xid: 1, zxid: 0)
            == .sasl(SetSASLResponse(token: Array("ab".utf8))))
    }

    @Test func createContainerAndEphemeral() throws {
        // hand-packed createContainer; kazoo's Create body with flags 4.
        let request = try checkRequest(hex(
            "00000002 00000013 00000003 2f776300 00000000 00000100 00001f00 00000577 6f726c64 00000006 616e796f"
                + "6e650000 0004"))
        #expect(request.request == .createContainer(CreateRequest(path: "/wc", data: [], acl: ACL.openUnsafe, flags: 4)))
        let reply = try checkReply(hex(
            "00000002 00000000 000000bf 00000000 00000003 2f776300 00000000 0000bf00 00000000 0000bf00 0001a213"
                + "8ad57c00 0001a213 8ad57c00 00000000 00000000 00000000 00000000 00000000 00000000 00000000"
                + "00000000 0000bf"), op: .createContainer, xid: 2, zxid: 0xbf)
        guard case .create2(let r) = reply else { Issue.record("not create2"); return }
        #expect(r.path == "/wc")
        #expect(r.stat.ephemeralOwner == 0)

        let eph = try checkRequest(hex(
            "00000003 00000001 00000005 2f77632f 65000000 01760000 00010000 001f0000 0005776f 726c6400 00000661"
                + "6e796f6e 65000000 01"))
        guard case .create(let c) = eph.request else { Issue.record("not create"); return }
        #expect(CreateMode(rawValue: c.flags) == .ephemeral)
        #expect(try checkReply(hex("00000003 00000000 000000c0 00000000 00000005 2f77632f 65"),
                               op: .create, xid: 3, zxid: 0xc0) == .create(CreateResponse(path: "/wc/e")))
    }

    @Test func getEphemeralsAndAllChildrenNumber() throws {
        #expect(try checkRequest(hex("00000004 00000067 00000003 2f7763")).request
            == .getEphemerals(GetEphemeralsRequest(prefixPath: "/wc")))
        #expect(try checkReply(hex("00000004 00000000 000000c0 00000000 00000001 00000005 2f77632f 65"),
                               op: .getEphemerals, xid: 4, zxid: 0xc0)
            == .getEphemerals(GetEphemeralsResponse(ephemerals: ["/wc/e"])))
        #expect(try checkRequest(hex("00000005 00000068 00000003 2f7763")).request
            == .getAllChildrenNumber(GetAllChildrenNumberRequest(path: "/wc")))
        #expect(try checkReply(hex("00000005 00000000 000000c0 00000000 00000001"),
                               op: .getAllChildrenNumber, xid: 5, zxid: 0xc0)
            == .getAllChildrenNumber(GetAllChildrenNumberResponse(totalNumber: 1)))
    }

    @Test func addWatchRepliesWithAnErrorResponse() throws {
        #expect(try checkRequest(hex("00000006 0000006a 00000003 2f776300 000001")).request
            == .addWatch(AddWatchRequest(path: "/wc", mode: AddWatchMode.persistentRecursive.rawValue)))
        #expect(try checkReply(hex("00000006 00000000 000000c0 00000000 00000000"), op: .addWatch, xid: 6, zxid: 0xc0)
            == .addWatch)
    }

    @Test func errorRepliesHaveNoBody() throws {
        #expect(try checkRequest(hex("00000007 00000011 00000008 2f6e6f77 61746368 00000002")).request
            == .checkWatches(CheckWatchesRequest(path: "/nowatch", type: WatcherType.data.rawValue)))
        _ = try checkReply(hex("00000007 00000000 000000c0 ffffff87"), op: .checkWatches, xid: 7, zxid: 0xc0,
                           err: ErrorCode.noWatcher.rawValue)
        // Reconfig with every string null and curConfigId -1; ZK has reconfig disabled.
        let reconfig = try checkRequest(hex("0000000b 00000010 ffffffff ffffffff ffffffff ffffffff ffffffff"))
        #expect(reconfig.request == .reconfig(ReconfigRequest(
            joiningServers: nil, leavingServers: nil, newMembers: nil, curConfigId: -1)))
        _ = try checkReply(hex("0000000b 00000000 000000c2 ffffff85"), op: .reconfig, xid: 11, zxid: 0xc2,
                           err: ErrorCode.reconfigDisabled.rawValue)
    }

    @Test func sync() throws {
        #expect(try checkRequest(hex("00000008 00000009 00000003 2f7763")).request == .sync(SyncRequest(path: "/wc")))
        #expect(try checkReply(hex("00000008 00000000 000000c0 00000000 00000003 2f7763"), op: .sync, xid: 8,
                               zxid: 0xc0) == .sync(SyncResponse(path: "/wc")))
    }

    @Test func multiReadWithOneFailure() throws {
        let request = try checkRequest(hex(
            "00000009 00000016 00000004 00ffffff ff000000 052f7763 2f650000 00000800 ffffffff 00000005 2f6e6f6e"
                + "65000000 000800ff ffffff00 0000032f 776300ff ffffff01 ffffffff"))
        #expect(request.request == .multiRead([
            .getData(GetDataRequest(path: "/wc/e", watch: false)),
            .getChildren(GetChildrenRequest(path: "/none", watch: false)),
            .getChildren(GetChildrenRequest(path: "/wc", watch: false)),
        ]))
        // Each read succeeds or fails on its own.
        let reply = try checkReply(hex(
            "00000009 00000000 000000c0 00000000 00000004 00000000 00000000 01760000 00000000 00c00000 00000000"
                + "00c00000 01a2138a d57f0000 01a2138a d57f0000 00000000 00000000 00000100 000fad31 00250000"
                + "00010000 00000000 00000000 00c0ffff ffff00ff ffff9bff ffff9b00 00000800 00000000 00000001"
                + "00000001 65ffffff ff01ffff ffff"), op: .multiRead, xid: 9, zxid: 0xc0)
        let stat = Stat(
            czxid: 0xc0, mzxid: 0xc0, ctime: 0x1a2_138a_d57f, mtime: 0x1a2_138a_d57f, version: 0, cversion: 0,
            aversion: 0, ephemeralOwner: 0x0100_000f_ad31_0025, dataLength: 1, numChildren: 0, pzxid: 0xc0)
        #expect(reply == .multi([
            .success(.getData, .getData(GetDataResponse(data: Array("v".utf8), stat: stat))),
            .error(.noNode),
            .success(.getChildren, .getChildren(GetChildrenResponse(children: ["e"]))),
        ]))
    }

    @Test func setWatches2() throws {
        let request = try checkRequest(hex(
            "fffffff8 00000069 00000000 00000000 00000001 00000005 2f77632f 65000000 00000000 00000000 00000000 00"))
        #expect(request == RequestFrame(xid: SpecialXid.setWatches, request: .setWatches2(SetWatches2(
            relativeZxid: 0, dataWatches: ["/wc/e"], existWatches: [], childWatches: [], persistentWatches: [],
            persistentRecursiveWatches: []))))
        #expect(try checkReply(hex("fffffff8 00000000 000000c0 00000000"), op: .setWatches2, xid: -8, zxid: 0xc0)
            == .empty)
    }

    @Test func setDataReply() throws {
        let request = try checkRequest(hex("0000000a 00000005 00000005 2f77632f 65000000 0177ffff ffff"))
        #expect(request.request == .setData(SetDataRequest(path: "/wc/e", data: Array("w".utf8), version: -1)))
        let reply = try checkReply(hex(
            "0000000a 00000000 000000c1 00000000 00000000 000000c0 00000000 000000c1 000001a2 138ad57f 000001a2"
                + "138ad599 00000001 00000000 00000000 0100000f ad310025 00000001 00000000 00000000 000000c0"),
            op: .setData, xid: 10, zxid: 0xc1)
        guard case .setData(let r) = reply else { Issue.record("not setData"); return }
        #expect(r.stat.version == 1)
        #expect(r.stat.ephemeralOwner == 0x0100_000f_ad31_0025)
    }
}
