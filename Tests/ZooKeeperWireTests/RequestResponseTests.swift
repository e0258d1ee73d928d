import Jute
import NIOCore
import Testing
import ZooKeeperWire

let sampleCreate = CreateRequest(path: "/n", data: Array("v".utf8), acl: ACL.openUnsafe, flags: 0)

let allRequests: [ZooKeeperRequest] = [
    .ping, .closeSession,
    .create(sampleCreate),
    .create2(CreateRequest(path: "/n", data: nil, acl: sampleACL, flags: 3)),
    .createContainer(CreateRequest(path: "/c", data: [], acl: ACL.openUnsafe, flags: 4)),
    .createTTL(CreateTTLRequest(path: "/t", data: [1], acl: ACL.openUnsafe, flags: 5, ttl: 100)),
    .delete(DeleteRequest(path: "/n", version: -1)),
    .exists(ExistsRequest(path: "/n", watch: true)),
    .getData(GetDataRequest(path: "/n", watch: false)),
    .setData(SetDataRequest(path: "/n", data: nil, version: 3)),
    .getACL(GetACLRequest(path: "/n")),
    .setACL(SetACLRequest(path: "/n", acl: sampleACL, version: 0)),
    .getChildren(GetChildrenRequest(path: "/", watch: true)),
    .getChildren2(GetChildren2Request(path: "/", watch: false)),
    .sync(SyncRequest(path: "/")),
    .check(CheckVersionRequest(path: "/n", version: 1)),
    .multi([
        .create(sampleCreate), .create2(sampleCreate), .createContainer(sampleCreate),
        .createTTL(CreateTTLRequest(path: "/t", data: nil, acl: [], flags: 6, ttl: 1)),
        .delete(DeleteRequest(path: "/n", version: 0)), .setData(SetDataRequest(path: "/n", data: [2], version: 0)),
        .check(CheckVersionRequest(path: "/n", version: 0)),
    ]),
    .multi([]),
    .multiRead([.getData(GetDataRequest(path: "/a", watch: false)),
                .getChildren(GetChildrenRequest(path: "/b", watch: false))]),
    .reconfig(ReconfigRequest(joiningServers: nil, leavingServers: "2", newMembers: nil, curConfigId: -1)),
    .checkWatches(CheckWatchesRequest(path: "/n", type: 1)),
    .removeWatches(RemoveWatchesRequest(path: "/n", type: 3)),
    .auth(AuthPacket(type: 0, scheme: "digest", auth: Array("a:b".utf8))),
    .setWatches(SetWatches(relativeZxid: 5, dataWatches: ["/a"], existWatches: ["/b"], childWatches: ["/c"])),
    .setWatches2(SetWatches2(relativeZxid: 5, dataWatches: [], existWatches: [], childWatches: [],
                             persistentWatches: ["/p"], persistentRecursiveWatches: ["/r"])),
    .getEphemerals(GetEphemeralsRequest(prefixPath: "/")),
    .getAllChildrenNumber(GetAllChildrenNumberRequest(path: "/")),
    .addWatch(AddWatchRequest(path: "/w", mode: 1)),
    .whoAmI,
    .sasl(GetSASLRequest(token: Array("username=\"bob\"".utf8))),
]

let allResponses: [(OpCode, ZooKeeperResponse)] = [
    (.ping, .empty), (.delete, .empty), (.closeSession, .empty), (.setWatches, .empty), (.setWatches2, .empty),
    (.auth, .empty), (.checkWatches, .empty), (.removeWatches, .empty),
    (.create, .create(CreateResponse(path: "/n"))),
    (.create2, .create2(Create2Response(path: "/n", stat: sampleStat))),
    (.createContainer, .create2(Create2Response(path: "/c", stat: sampleStat))),
    (.createTTL, .create2(Create2Response(path: "/t", stat: sampleStat))),
    (.exists, .exists(ExistsResponse(stat: sampleStat))),
    (.getData, .getData(GetDataResponse(data: nil, stat: sampleStat))),
    (.getData, .getData(GetDataResponse(data: [1, 2], stat: sampleStat))),
    (.setData, .setData(SetDataResponse(stat: sampleStat))),
    (.check, .setData(SetDataResponse(stat: sampleStat))),
    (.getACL, .getACL(GetACLResponse(acl: sampleACL, stat: sampleStat))),
    (.setACL, .setACL(SetACLResponse(stat: sampleStat))),
    (.getChildren, .getChildren(GetChildrenResponse(children: ["a", "b"]))),
    (.getChildren2, .getChildren2(GetChildren2Response(children: ["a"], stat: sampleStat))),
    (.sync, .sync(SyncResponse(path: "/"))),
    (.multi, .multi([
        .success(.create, .create(CreateResponse(path: "/a"))),
        .success(.create2, .create2(Create2Response(path: "/b", stat: sampleStat))),
        .success(.delete, .empty), .success(.check, .empty),
        .success(.setData, .setData(SetDataResponse(stat: sampleStat))),
    ])),
    (.multi, .multi([.error(.ok), .error(.badVersion), .error(.runtimeInconsistency)])),
    (.multi, .multi([])),
    (.multiRead, .multi([
        .success(.getData, .getData(GetDataResponse(data: [1], stat: sampleStat))),
        .error(.noAuth),
        .success(.getChildren, .getChildren(GetChildrenResponse(children: []))),
    ])),
    (.getEphemerals, .getEphemerals(GetEphemeralsResponse(ephemerals: ["/e"]))),
    (.getAllChildrenNumber, .getAllChildrenNumber(GetAllChildrenNumberResponse(totalNumber: 3))),
    (.whoAmI, .whoAmI(WhoAmIResponse(clientInfo: [ClientInfo(authScheme: "ip", user: "::1")]))),
    (.addWatch, .addWatch),
    (.sasl, .sasl(SetSASLResponse(token: Array("rspauth=0123".utf8)))),
    (.reconfig, .reconfig(GetDataResponse(data: Array("server.1=...".utf8), stat: sampleStat))),
]

private func requestBody(_ r: ZooKeeperRequest) -> ByteBuffer {
    var b = ByteBuffer()
    r.encodeBody(into: &b)
    return b
}

private func decodeRequest(_ opCode: Int32, _ body: [UInt8]) throws(WireError) -> ZooKeeperRequest {
    var b = buffer(body)
    return try ZooKeeperRequest.decode(opCode: opCode, from: &b)
}

@Suite struct RequestTests {
    @Test(arguments: allRequests)
    func roundTrip(_ request: ZooKeeperRequest) throws {
        var body = requestBody(request)
        let data = bytes(body)
        #expect(try ZooKeeperRequest.decode(opCode: request.opCode.rawValue, from: &body) == request)
        #expect(body.readableBytes == 0)
        // Framed with a header, too.
        let frame = RequestFrame(xid: 7, request: request)
        var out = ByteBuffer()
        frame.encode(into: &out)
        #expect(try RequestFrame.decode(out) == frame)
        // Every truncation is an error; so is a trailing byte.
        for cut in 0..<data.count {
            #expect(throws: WireError.self) { _ = try decodeRequest(request.opCode.rawValue, Array(data[..<cut])) }
        }
        #expect(throws: WireError.jute(.trailingBytes(count: 1))) {
            _ = try decodeRequest(request.opCode.rawValue, data + [0])
        }
    }

    @Test func multiEncodingFollowsTheReferenceLayout() {
        let body = bytes(requestBody(.multi([.delete(DeleteRequest(path: "/a", version: 1))])))
        #expect(body == hex("00000002 00 ffffffff" + "00000002 2f61 00000001" + "ffffffff 01 ffffffff"))
    }

    @Test func pathsAndOpCodes() {
        #expect(allRequests.map(\.opCode.rawValue).count == allRequests.count)
        #expect(ZooKeeperRequest.create(sampleCreate).path == "/n")
        #expect(ZooKeeperRequest.getEphemerals(GetEphemeralsRequest(prefixPath: "/p")).path == "/p")
        #expect(ZooKeeperRequest.multi([]).path == nil)
        #expect(ZooKeeperRequest.whoAmI.path == nil)
    }

    @Test func unknownOpCodes() {
        for op: Int32 in [0, 10, 20, 23, 99, 108, -10, -1, -12, Int32.max, Int32.min] {
            #expect(throws: WireError.unknownOpCode(op)) { _ = try decodeRequest(op, []) }
        }
        #expect(throws: WireError.unknownOpCode(99)) {
            _ = try RequestFrame.decode(buffer(hex("00000001 00000063")))
        }
    }

    @Test func opsNotAllowedInAMulti() {
        let read = ZooKeeperRequest.getData(GetDataRequest(path: "/a", watch: false))
        let write = ZooKeeperRequest.delete(DeleteRequest(path: "/a", version: 1))
        for (container, op): (Int32, ZooKeeperRequest) in [
            (14, read), (14, .exists(ExistsRequest(path: "/a", watch: false))), (14, .multi([])),
            (22, write), (22, .getChildren2(GetChildren2Request(path: "/", watch: false))), (22, .multiRead([])),
        ] {
            var body = ByteBuffer()
            MultiHeader(type: op.opCode.rawValue, done: false, err: -1).juteEncode(into: &body)
            op.encodeBody(into: &body)
            MultiResult.endMarker.juteEncode(into: &body)
            #expect(throws: WireError.invalidMultiOp) { _ = try decodeRequest(container, bytes(body)) }
        }
        // An unknown op inside a multi.
        #expect(throws: WireError.unknownOpCode(77)) {
            _ = try decodeRequest(14, hex("0000004d 00 ffffffff ffffffff 01 ffffffff"))
        }
        // A multi without its end marker is truncated.
        #expect(throws: WireError.self) { _ = try decodeRequest(14, []) }
    }

    @Test func malformedBodies() {
        // Negative string length other than -1.
        #expect(throws: WireError.jute(.invalidLength(field: "DeleteRequest.path", length: -2))) {
            _ = try decodeRequest(2, hex("fffffffe 00000001"))
        }
        // A string longer than the body.
        #expect(throws: WireError.jute(.truncated(field: "GetDataRequest.path"))) {
            _ = try decodeRequest(4, hex("7fffffff 2f"))
        }
        // A huge vector count is refused before anything is allocated.
        #expect(throws: WireError.jute(.invalidLength(field: "CreateRequest.acl", length: 0x7fff_ffff))) {
            _ = try decodeRequest(1, hex("00000002 2f61 ffffffff 7fffffff 00000000"))
        }
        #expect(throws: WireError.jute(.invalidLength(field: "SetWatches.dataWatches", length: -5))) {
            _ = try decodeRequest(101, hex("00000000 00000000 fffffffb"))
        }
        // A body for an op that takes none.
        #expect(throws: WireError.jute(.trailingBytes(count: 4))) { _ = try decodeRequest(11, [0, 0, 0, 0]) }
        // A request header cut short.
        #expect(throws: WireError.jute(.truncated(field: "RequestHeader.type"))) {
            _ = try RequestFrame.decode(buffer([0, 0, 0, 1, 0, 0]))
        }
    }
}

@Suite struct ResponseTests {
    @Test(arguments: allResponses.indices)
    func roundTrip(_ index: Int) throws {
        let (op, response) = allResponses[index]
        var body = ByteBuffer()
        response.encodeBody(into: &body)
        let data = bytes(body)
        #expect(try ZooKeeperResponse.decode(for: op, from: &body) == response)
        for cut in 0..<data.count {
            var partial = buffer(Array(data[..<cut]))
            #expect(throws: WireError.self) { _ = try ZooKeeperResponse.decode(for: op, from: &partial) }
        }
        var trailing = buffer(data + [0])
        #expect(throws: WireError.jute(.trailingBytes(count: 1))) {
            _ = try ZooKeeperResponse.decode(for: op, from: &trailing)
        }
    }

    @Test func addWatchIsAFourByteErrorResponse() {
        var body = ByteBuffer()
        ZooKeeperResponse.addWatch.encodeBody(into: &body)
        #expect(bytes(body) == [0, 0, 0, 0])
    }

    @Test func multiResultEncoding() throws {
        // Per ZooKeeper's MultiResponse: success headers carry err 0; container/TTL creates answer as create2.
        var b = ByteBuffer()
        MultiResult.success(.createContainer, .create2(Create2Response(path: "/c", stat: .zero))).encode(into: &b)
        #expect(bytes(b) == hex("0000000f 00 00000000" + "00000002 2f63") + [UInt8](repeating: 0, count: 68))
        b.clear()
        MultiResult.success(.delete, .empty).encode(into: &b)
        #expect(bytes(b) == hex("00000002 00 00000000"))
        b.clear()
        MultiResult.error(.noNode).encode(into: &b)
        #expect(bytes(b) == hex("ffffffff 00 ffffff9b ffffff9b"))
        b.clear()
        MultiResult.error(.ok).encode(into: &b)
        #expect(bytes(b) == hex("ffffffff 00 00000000 00000000"))
        var decoded = buffer(hex("0000000f 00 00000000 00000002 2f63") + [UInt8](repeating: 0, count: 68)
            + hex("ffffffff 01 ffffffff"))
        #expect(try ZooKeeperResponse.decode(for: .multi, from: &decoded)
            == .multi([.success(.create2, .create2(Create2Response(path: "/c", stat: .zero)))]))
    }

    @Test func malformedMultiResults() {
        var unknownCode = buffer(hex("ffffffff 00 ffffff00 ffffff00 ffffffff 01 ffffffff"))
        #expect(throws: WireError.unknownErrorCode(-256)) {
            _ = try ZooKeeperResponse.decode(for: .multi, from: &unknownCode)
        }
        var badType = buffer(hex("00000003 00 00000000 ffffffff 01 ffffffff"))
        #expect(throws: WireError.invalidMultiOp) { _ = try ZooKeeperResponse.decode(for: .multi, from: &badType) }
        var unknownType = buffer(hex("00000063 00 00000000 ffffffff 01 ffffffff"))
        #expect(throws: WireError.unknownOpCode(99)) {
            _ = try ZooKeeperResponse.decode(for: .multi, from: &unknownType)
        }
        var none = ByteBuffer()
        #expect(throws: WireError.unknownOpCode(-1)) { _ = try ZooKeeperResponse.decode(for: .error, from: &none) }
    }

    @Test func replyFrames() throws {
        var out = ByteBuffer()
        let n = out.writeZooKeeperReply(xid: 5, zxid: 9, err: .ok, response: .sync(SyncResponse(path: "/")))
        #expect(n == out.readableBytes)
        #expect(bytes(out) == hex("00000015 00000005 00000000 00000009 00000000 00000001 2f"))
        // An error reply drops the body.
        out.clear()
        out.writeZooKeeperReply(xid: 5, zxid: 9, err: .noNode, response: .sync(SyncResponse(path: "/")))
        #expect(bytes(out) == hex("00000010 00000005 00000000 00000009 ffffff9b"))
        out.clear()
        out.writeZooKeeperNotification(zxid: 3, event: WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/x"))
        let frame = try ReplyFrame.decode(out.getSlice(at: 4, length: out.readableBytes - 4)!)
        #expect(frame.header == ReplyHeader(xid: -1, zxid: 3, err: 0))
        #expect(try frame.notification() == WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/x"))
        #expect(throws: WireError.jute(.truncated(field: "ReplyHeader.err"))) {
            _ = try ReplyFrame.decode(buffer([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))
        }
        // Handshake frames.
        out.clear()
        out.writeZooKeeperFrame(record: ConnectResponse.rejected(readOnly: nil))
        #expect(bytes(out) == framed(hex("00000000 00000000 00000000 00000000 00000010") + [UInt8](repeating: 0, count: 16)))
        out.clear()
        out.writeZooKeeperRequest(xid: 1, request: .whoAmI)
        #expect(bytes(out) == hex("00000008 00000001 0000006b"))
    }

    @Test func errorDescriptions() {
        #expect(WireError.frameTooLarge(2_000_000).description.contains("2000000"))
        #expect(WireError.negativeLength(-3).description.contains("-3"))
        #expect(WireError.jute(.truncated(field: "x")).description.contains("truncated"))
        #expect(WireError.unknownOpCode(99).description.contains("99"))
    }
}
