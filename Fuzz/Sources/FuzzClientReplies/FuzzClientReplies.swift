// The client's side of a connection, as ZooKeeperClient reads it: length-prefixed frames
// (ZooKeeperFrameDecoder); the first is the handshake's ConnectResponse, every later one a ReplyFrame whose body is
// a watch notification (xid -1) or the response to the operation the xid answers (the input's first byte picks
// the first operation; each frame takes the next). A response that decodes must survive encoding unchanged.
import CFuzzDriver
import FuzzSupport
import Jute
import NIOCore
import WireFuzzSupport
import ZooKeeperWire

let ops = OpCode.allCases

@_cdecl("FuzzClientReplies_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    zooreg_fuzz_run(argc, argv, testOneInput)
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    Seeds.writeIfAsked(seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    var opIndex = input.below(ops.count)
    var buffer = ByteBufferAllocator().buffer(capacity: 0)
    buffer.writeBytes(input.rest())
    var decoder = ZooKeeperFrameDecoder()
    var handshakeSeen = false
    while true {
        let frame: ByteBuffer?
        do { frame = try decoder.decode(buffer: &buffer) } catch { break }
        guard let frame else { break }
        if !handshakeSeen {
            handshakeSeen = true
            _ = try? ConnectResponse.decodeWhole(frame)
            continue
        }
        guard let reply = try? ReplyFrame.decode(frame) else { continue }
        if reply.header.xid == -1 {
            _ = try? reply.notification()
            continue
        }
        let op = ops[opIndex % ops.count]
        opIndex += 1
        guard reply.header.err == 0, let response = try? reply.response(for: op) else { continue }
        var encoded = ByteBufferAllocator().buffer(capacity: frame.readableBytes)
        response.encodeBody(into: &encoded)
        do {
            let again = try ZooKeeperResponse.decode(for: op, from: &encoded)
            fuzzCheck(again == response, "round trip of the \(op) reply changed \(response) into \(again)")
        } catch {
            fuzzCheck(false, "the \(op) reply \(response) does not decode after encoding: \(error)")
        }
    }
    return 0
}

func seeds() -> [[UInt8]] {
    let stat = Stat(czxid: 3, mzxid: 4, ctime: 1_700_000_000_000, mtime: 1_700_000_000_001, version: 1, cversion: 2,
                    aversion: 0, ephemeralOwner: 0, dataLength: 3, numChildren: 1, pzxid: 5)
    let handshake = WireSamples.bytes {
        $0.writeZooKeeperFrame(record: ConnectResponse(timeOut: 30000, sessionId: 0x1234, passwd: [UInt8](repeating: 7, count: 16), readOnly: false))
    }
    let replies: [(OpCode, ZooKeeperResponse)] = [
        (.create, .create(CreateResponse(path: "/a"))),
        (.create2, .create2(Create2Response(path: "/a/s0000000001", stat: stat))),
        (.exists, .exists(ExistsResponse(stat: stat))),
        (.getData, .getData(GetDataResponse(data: [1, 2, 3], stat: stat))),
        (.setData, .setData(SetDataResponse(stat: stat))),
        (.getACL, .getACL(GetACLResponse(acl: ACL.openUnsafe, stat: stat))),
        (.setACL, .setACL(SetACLResponse(stat: stat))),
        (.getChildren, .getChildren(GetChildrenResponse(children: ["a", "b"]))),
        (.getChildren2, .getChildren2(GetChildren2Response(children: ["zookeeper"], stat: stat))),
        (.sync, .sync(SyncResponse(path: "/"))),
        (.multi, .multi([.success(.create, .create(CreateResponse(path: "/m"))), .success(.setData, .setData(SetDataResponse(stat: stat))), .success(.delete, .empty)])),
        (.multi, .multi([.error(.ok), .error(.noNode), .error(.runtimeInconsistency)])),
        (.multiRead, .multi([.success(.getData, .getData(GetDataResponse(data: nil, stat: stat))), .success(.getChildren, .getChildren(GetChildrenResponse(children: []))), .error(.noNode)])),
        (.getEphemerals, .getEphemerals(GetEphemeralsResponse(ephemerals: ["/e"]))),
        (.getAllChildrenNumber, .getAllChildrenNumber(GetAllChildrenNumberResponse(totalNumber: 4))),
        (.whoAmI, .whoAmI(WhoAmIResponse(clientInfo: [ClientInfo(authScheme: "ip", user: "127.0.0.1")]))),
        (.addWatch, .addWatch),
        (.ping, .empty),
    ]
    var seeds: [[UInt8]] = []
    var all = [UInt8(0)] + handshake
    for (i, (op, response)) in replies.enumerated() {
        let reply = WireSamples.bytes { $0.writeZooKeeperReply(xid: Int32(i + 1), zxid: 9, err: .ok, response: response) }
        seeds.append([UInt8(ops.firstIndex(of: op)!)] + handshake + reply)
    }
    for (op, response) in replies {
        all += WireSamples.bytes { $0.writeZooKeeperReply(xid: 1, zxid: 9, err: .ok, response: response) }
        _ = op
    }
    let event = WatcherEvent(type: .nodeDataChanged, state: .syncConnected, path: "/a")
    seeds.append([0] + handshake + WireSamples.bytes { $0.writeZooKeeperNotification(zxid: 10, event: event) })
    seeds.append([1] + handshake + WireSamples.bytes { $0.writeZooKeeperReply(xid: 1, zxid: 9, err: .noNode, response: .empty) })
    seeds.append(all)
    return seeds
}
