import Jute
import NIOCore
import Testing
import ZooKeeperWire

let sampleStat = Stat(
    czxid: 0x1_0000_0001, mzxid: 0x1_0000_0002, ctime: 1_700_000_000_000, mtime: 1_700_000_000_500, version: 3,
    cversion: -1, aversion: 2, ephemeralOwner: 0x0100_000f_ad31_0025, dataLength: 5, numChildren: 7,
    pzxid: 0x1_0000_0003)
let sampleACL = [
    ACL(perms: .all, id: .anyoneUnsafe),
    ACL(perms: [.read, .write], id: Id(scheme: "digest", id: "alice:Xo/3fUbHNoLIrZYK5oB0bEdeOVA=")),
]

@Suite struct RecordRoundTripTests {
    @Test func dataRecords() {
        checkRoundTrip(Id(scheme: "ip", id: "10.0.0.0/8"))
        for acl in sampleACL { checkRoundTrip(acl) }
        checkRoundTrip(sampleStat)
        checkRoundTrip(Stat.zero)
        checkRoundTrip(ClientInfo(authScheme: "digest", user: "älice"))
        #expect(encoded(sampleStat).count == Stat.encodedSize)
        #expect(encoded(Stat.zero) == [UInt8](repeating: 0, count: 68))
    }

    @Test func protoRecords() {
        checkRoundTrip(SetWatches(relativeZxid: 9, dataWatches: ["/a", "/b"], existWatches: [], childWatches: ["/"]))
        checkRoundTrip(SetWatches2(
            relativeZxid: -1, dataWatches: [], existWatches: ["/x"], childWatches: [], persistentWatches: ["/p"],
            persistentRecursiveWatches: ["/r", "/r/s"]))
        checkRoundTrip(RequestHeader(xid: 42, type: OpCode.create.rawValue))
        checkRoundTrip(MultiHeader(type: -1, done: true, err: -1))
        checkRoundTrip(AuthPacket(type: 0, scheme: "digest", auth: Array("u:p".utf8)))
        checkRoundTrip(ReplyHeader(xid: -1, zxid: 77, err: ErrorCode.noNode.rawValue))
        checkRoundTrip(GetDataRequest(path: "/a", watch: true))
        checkRoundTrip(SetDataRequest(path: "/a", data: [1, 2], version: -1))
        checkRoundTrip(SetDataRequest(path: "/a", data: nil, version: 4))
        checkRoundTrip(SetDataRequest(path: "/a", data: [], version: 4))
        checkRoundTrip(ReconfigRequest(joiningServers: "server.1=h:1:2", leavingServers: nil, newMembers: "",
                                       curConfigId: 5))
        checkRoundTrip(SetDataResponse(stat: sampleStat))
        checkRoundTrip(GetSASLRequest(token: [1]))
        checkRoundTrip(SetSASLRequest(token: []))
        checkRoundTrip(SetSASLResponse(token: [9, 9]))
        checkRoundTrip(CreateRequest(path: "/n", data: nil, acl: sampleACL, flags: 3))
        checkRoundTrip(CreateRequest(path: "/n", data: [0xff], acl: [], flags: 0))
        checkRoundTrip(CreateTTLRequest(path: "/t", data: [1], acl: sampleACL, flags: 5, ttl: 60_000))
        checkRoundTrip(DeleteRequest(path: "/d", version: 2))
        checkRoundTrip(GetChildrenRequest(path: "/", watch: false))
        checkRoundTrip(GetAllChildrenNumberRequest(path: "/"))
        checkRoundTrip(GetChildren2Request(path: "/c", watch: true))
        checkRoundTrip(CheckVersionRequest(path: "/c", version: 1))
        checkRoundTrip(SyncRequest(path: "/s"))
        checkRoundTrip(SyncResponse(path: "/s"))
        checkRoundTrip(GetACLRequest(path: "/s"))
        checkRoundTrip(SetACLRequest(path: "/s", acl: sampleACL, version: -1))
        checkRoundTrip(SetACLResponse(stat: sampleStat))
        checkRoundTrip(AddWatchRequest(path: "/w", mode: AddWatchMode.persistent.rawValue))
        checkRoundTrip(WatcherEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/w"))
        checkRoundTrip(ErrorResponse(err: -101))
        checkRoundTrip(CreateResponse(path: "/n0000000001"))
        checkRoundTrip(Create2Response(path: "/n", stat: sampleStat))
        checkRoundTrip(ExistsRequest(path: "/e", watch: true))
        checkRoundTrip(ExistsResponse(stat: sampleStat))
        checkRoundTrip(GetDataResponse(data: nil, stat: sampleStat))
        checkRoundTrip(GetDataResponse(data: Array("hello".utf8), stat: sampleStat))
        checkRoundTrip(GetChildrenResponse(children: ["a", "b", "ç"]))
        checkRoundTrip(GetAllChildrenNumberResponse(totalNumber: 12))
        checkRoundTrip(GetChildren2Response(children: [], stat: sampleStat))
        checkRoundTrip(GetACLResponse(acl: sampleACL, stat: sampleStat))
        checkRoundTrip(CheckWatchesRequest(path: "/w", type: WatcherType.any.rawValue))
        checkRoundTrip(RemoveWatchesRequest(path: "/w", type: WatcherType.persistentRecursive.rawValue))
        checkRoundTrip(GetEphemeralsRequest(prefixPath: "/"))
        checkRoundTrip(GetEphemeralsResponse(ephemerals: ["/e1", "/e2"]))
        checkRoundTrip(WhoAmIResponse(clientInfo: [ClientInfo(authScheme: "ip", user: "127.0.0.1")]))
    }

    @Test func connectRecordsKeepTheShapeOfTheirReadOnlyByte() throws {
        let pw = [UInt8](0..<16)
        for readOnly in [nil, false, true] as [Bool?] {
            let request = ConnectRequest(lastZxidSeen: 5, timeOut: 30_000, sessionId: 7, passwd: pw, readOnly: readOnly)
            let r = try ConnectRequest.decodeWhole(request.juteBytes())
            #expect(r == request)
            #expect(encoded(request).count == 44 + (readOnly == nil ? 0 : 1))
            let response = ConnectResponse(timeOut: 4000, sessionId: 7, passwd: pw, readOnly: readOnly)
            #expect(try ConnectResponse.decodeWhole(response.juteBytes()) == response)
            #expect(encoded(response).count == 36 + (readOnly == nil ? 0 : 1))
        }
        // Without the readOnly byte, every shorter prefix is truncated.
        let full = encoded(ConnectRequest(lastZxidSeen: 5, timeOut: 30_000, sessionId: 7, passwd: pw, readOnly: nil))
        for cut in 0..<full.count {
            var partial = buffer(Array(full[..<cut]))
            #expect(throws: JuteError.self) { _ = try ConnectRequest(juteFrom: &partial) }
        }
        #expect(throws: JuteError.trailingBytes(count: 1)) {
            _ = try ConnectRequest.decodeWhole(buffer(full + [1, 0]))
        }
        let rejected = ConnectResponse.rejected(readOnly: false)
        #expect(rejected.timeOut == 0 && rejected.sessionId == 0 && rejected.passwd == [UInt8](repeating: 0, count: 16))
    }

    @Test func nullStringsAndVectorsDecodeAsEmpty() throws {
        // kazoo writes "" as a null string (length -1), and a null vector is possible in jute.
        let nullString: [UInt8] = [0xff, 0xff, 0xff, 0xff]
        #expect(try Id.decodeWhole(buffer(nullString + [0, 0, 0, 1, 0x78])) == Id(scheme: "", id: "x"))
        #expect(try GetChildrenResponse.decodeWhole(buffer(nullString)) == GetChildrenResponse(children: []))
        let create = try CreateRequest.decodeWhole(buffer(
            [0, 0, 0, 2, 0x2f, 0x61] + nullString + nullString + [0, 0, 0, 0]))
        #expect(create == CreateRequest(path: "/a", data: nil, acl: [], flags: 0))
        #expect(try AuthPacket.decodeWhole(buffer([0, 0, 0, 0] + nullString + nullString))
            == AuthPacket(type: 0, scheme: "", auth: []))
    }

    @Test func conveniences() {
        #expect(Perms.all.rawValue == 31)
        #expect(Perms([.read, .admin]).rawValue == 17)
        var acl = ACL(perms: Perms.read.rawValue, id: .authIds)
        acl.permissions.insert(.delete)
        #expect(acl.perms == 9)
        #expect(ACL.creatorAll == [ACL(perms: 31, id: Id(scheme: "auth", id: ""))])
        #expect(RequestHeader(xid: 1, type: 15).opCode == .create2)
        #expect(RequestHeader(xid: 1, type: 99).opCode == nil)
        #expect(ReplyHeader(xid: 1, zxid: 0, err: -110).errorCode == .nodeExists)
        #expect(WatcherEvent(type: 4, state: -112, path: "/").keeperState == .expired)
    }
}

@Suite struct EnumTests {
    @Test func createModes() {
        #expect(CreateMode.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5, 6])
        #expect(CreateMode.allCases.filter(\.isEphemeral) == [.ephemeral, .ephemeralSequential])
        #expect(CreateMode.allCases.filter(\.isSequential)
            == [.persistentSequential, .ephemeralSequential, .persistentSequentialWithTTL])
        #expect(CreateMode.allCases.filter(\.isContainer) == [.container])
        #expect(CreateMode.allCases.filter(\.isTTL) == [.persistentWithTTL, .persistentSequentialWithTTL])
    }

    @Test func codes() {
        #expect(OpCode.allCases.count == 33)
        #expect(OpCode(rawValue: 107) == .whoAmI)
        #expect(OpCode.closeSession.rawValue == -11)
        #expect(ErrorCode.allCases.count == 32)
        #expect(ErrorCode(rawValue: -127) == .throttledOp)
        #expect(ErrorCode.noNode.description == "NONODE (-101)")
        let error: any Error = ErrorCode.badVersion
        #expect(error as? ErrorCode == .badVersion)
        #expect(EventType(rawValue: -1) == EventType.none)
        #expect(KeeperState.expired.rawValue == -112)
        #expect(WatcherType.persistentRecursive.rawValue == 5)
        #expect(AddWatchMode.persistentRecursive.rawValue == 1)
        #expect([SpecialXid.notification, SpecialXid.ping, SpecialXid.auth, SpecialXid.setWatches] == [-1, -2, -4, -8])
    }
}
