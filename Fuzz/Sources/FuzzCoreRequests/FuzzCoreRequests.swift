// The whole request path of the pure core (CoordinationStateMachine), driven by the input as a program: open
// and close connections, handshakes (new sessions, reattaching with right or wrong passwords), requests made of
// choices (paths of one small tree, versions, ACLs, multi) or decoded from raw bytes, undecodable frames, time
// passing (ticks: session expiry, container and TTL reaping). Checks after the run:
// - every logged transaction survives its log encoding;
// - replaying the logged transactions on an empty state gives the same snapshot bytes as the live state
//   (what recovery from the log would rebuild);
// - the snapshot decodes and re-encodes to the same bytes (what recovery from a snapshot would rebuild).
import CFuzzDriver
import CoordinationCore
import FuzzSupport
import NIOCore
import WireFuzzSupport
import ZooKeeperWire

@_cdecl("FuzzCoreRequests_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    zooreg_fuzz_run(argc, argv, testOneInput)
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    Seeds.writeIfAsked(seeds)
    return 0
}

func snapshotBytes(_ state: CoordinationState) -> [UInt8] {
    var buffer = ByteBufferAllocator().buffer(capacity: 1024)
    state.encodeSnapshot(into: &buffer)
    return Array(buffer.readableBytesView)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let extended = input.bool()
    let config = CoreConfiguration(
        tickTime: 2000, superDigest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU=", extendedTypesEnabled: extended,
        containerCheckInterval: 5000)
    var now = CoreTime(wall: 1_700_000_000_000, monotonic: 1_000_000)
    var core = CoordinationStateMachine(state: CoordinationState(), config: config, now: now)
    var actions: [CoreAction] = []
    var logged: [LoggedTransaction] = []
    var sessions: [(id: Int64, password: [UInt8])] = []
    var xid: Int32 = 0
    var steps = 0

    while !input.isEmpty && steps < 400 {
        steps += 1
        let connection = ConnectionID(UInt64(input.below(4)))
        switch input.below(16) {
        case 0:
            core.connectionOpened(connection, remoteAddress: input.bool() ? "127.0.0.1" : "10.0.0.\(input.below(4))")
        case 1:
            var request = WireSamples.connectRequest
            request.timeOut = Int32(input.below(8)) * 2000
            if !sessions.isEmpty, input.bool() {
                let s = sessions[input.below(sessions.count)]
                request.sessionId = s.id
                request.passwd = input.below(4) == 0 ? [UInt8](repeating: 9, count: 16) : s.password
            }
            if input.below(8) == 0 { request.lastZxidSeen = core.lastZxid + Int64(input.below(3)) }
            let password = [UInt8](repeating: UInt8(truncatingIfNeeded: steps), count: 16)
            core.connect(connection, request: request, password: password, now: now, into: &actions)
        case 2...9:
            xid &+= 1
            core.receive(connection, xid: xid, request: WireSamples.request(&input), now: now, into: &actions)
        case 10:
            // A request decoded from raw bytes, as the server does.
            let opCode = Int32(input.pick(OpCode.allCases).rawValue)
            var body = ByteBufferAllocator().buffer(capacity: 0)
            body.writeBytes(input.run(maxLength: 64))
            xid &+= 1
            do {
                let request = try ZooKeeperRequest.decode(opCode: opCode, from: &body, allowTrailingBytes: true)
                core.receive(connection, xid: xid, request: request, now: now, into: &actions)
            } catch {
                core.receiveUndecodable(connection, xid: xid, error: error, into: &actions)
            }
        case 11:
            core.connectionClosed(connection)
        case 12, 13:
            let ms = Int64(input.below(4)) * (input.bool() ? 1000 : 20_000)
            now.monotonic += ms
            // The wall clock may jump back (it is only stored in ctime/mtime).
            now.wall += input.below(8) == 0 ? -ms : ms
            core.tick(now: now, into: &actions)
        case 14:
            if !sessions.isEmpty { core.expireSession(sessions[input.below(sessions.count)].id, now: now, into: &actions) }
        default:
            core.reapNow(now: now, into: &actions)
        }
        for action in actions {
            switch action {
            case .log(let txn): logged.append(txn)
            case .send(_, .connectResponse(let response), _) where response.timeOut > 0:
                if !sessions.contains(where: { $0.id == response.sessionId }) {
                    sessions.append((response.sessionId, response.passwd))
                }
            default: break
            }
        }
        actions.removeAll(keepingCapacity: true)
    }

    // Recovery from the log.
    var replayed = CoordinationState()
    var triggers: [WatchTrigger] = []
    for txn in logged {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        txn.encode(into: &buffer)
        let decoded: LoggedTransaction
        do {
            decoded = try LoggedTransaction.decode(from: &buffer)
        } catch {
            fuzzCheck(false, "logged transaction \(txn) does not decode: \(error)")
            return 0
        }
        fuzzCheck(decoded == txn, "log round trip changed \(txn) into \(decoded)")
        fuzzCheck(buffer.readableBytes == 0, "\(buffer.readableBytes) bytes left after \(txn)")
        replayed.apply(decoded, triggers: &triggers)
        triggers.removeAll(keepingCapacity: true)
    }
    let live = snapshotBytes(core.state)
    fuzzCheck(snapshotBytes(replayed) == live, "replaying the \(logged.count) logged transactions differs from the live state")

    // Recovery from a snapshot.
    var buffer = ByteBufferAllocator().buffer(capacity: live.count)
    buffer.writeBytes(live)
    do {
        let restored = try CoordinationState(snapshot: &buffer)
        fuzzCheck(snapshotBytes(restored) == live, "snapshot round trip changed the state")
    } catch {
        fuzzCheck(false, "the live state's snapshot does not load: \(error)")
    }
    return 0
}

func seeds() -> [[UInt8]] {
    // Choices as testOneInput reads them: [extended] then steps of [connection, kind, fields...].
    var seeds: [[UInt8]] = []
    let handshake: [UInt8] = [0, 0, 0, 1, 3, 0, 0]  // open conn 0, connect conn 0 (timeout 6 s, new session)
    // Each sample request, built by choice: the request generator's first choice is the operation.
    for op in 0..<26 {
        var seed: [UInt8] = [UInt8(op % 2)] + handshake
        seed += [0, 2, UInt8(op), 1, 2, 4, 1, 2, 3, 4]
        seed += [0, 2, 3, 2, 0, 0, 0]  // create /a/b
        seed += [0, 12, 2, 1, 0]        // 2 s pass
        seeds.append(seed)
    }
    // A longer life: creates under /a, ephemerals, watches, a second connection reattaching, expiry.
    seeds.append([1] + handshake + [
        0, 3, 1, 0, 3, 0, 0,            // create /a (persistent)
        0, 4, 2, 3, 1, 0, 1,            // create /a/b ephemeral
        0, 10, 1, 3, 1,                 // getData /a/b watch
        0, 11, 2, 3, 2, 5, 1, 0,        // setData /a/b
        1, 0, 0, 1, 1, 4, 1, 0, 0, 0,   // open conn 1, connect reattaching session 0
        0, 12, 3, 0, 0,                 // time passes: expiry
        0, 6, 7, 3, 0, 4,               // create container /c
        0, 13, 3, 1, 0,
        0, 18, 3, 0, 1, 0, 0, 0, 1, 0, 1, 0, 3, 2, 1, // multi
        0, 15, 0,
    ])
    return seeds
}
