// Recovery from damaged files, as the server recovers (PersistenceContext.recover): the input's first byte picks
//   0: a transaction log file (log.1): TransactionLogReader reads it, repairing a torn tail; each record is decoded
//      as a LoggedTransaction and applied. After the repair, a second read must find a clean log with the same
//      records (truncation leaves a consistent log);
//   1: a snapshot file (snapshot.1): SnapshotStore.loadNewestValid verifies it; a body that verifies is decoded;
//   2: a snapshot body, decoded directly (the checksums would stop most inputs before the decoder);
//   3: a log record's payload, decoded directly and applied to a small tree.
// Refusing (a thrown error) and truncating are fine; a trap is not. Files go to a directory of the process's own
// under /dev/shm (or TMPDIR), emptied before each input.
import CFuzzDriver
import CoordinationCore
import FuzzSupport
import Logging
import NIOCore
import Persistence
import ZooKeeperWire

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("FuzzRecovery_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    zooreg_fuzz_run(argc, argv, testOneInput)
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    Seeds.writeIfAsked(seeds)
    return 0
}

let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

let directory: String = {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
    let dir = "\(base)/zooreg-fuzz-recovery-\(getpid())"
    mkdir(dir, 0o755)
    atexit { removeFiles(); rmdir(directory) }
    return dir
}()

func removeFiles() {
    for name in (try? PosixFileIO().contentsOfDirectory(directory)) ?? [] { unlink("\(directory)/\(name)") }
}

func writeFile(_ name: String, _ bytes: [UInt8]) {
    let fd = open("\(directory)/\(name)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(directory)/\(name)")
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// A small tree the payloads of mode 3 apply to.
let baseState: CoordinationState = {
    var state = CoordinationState()
    var triggers: [WatchTrigger] = []
    for txn in sampleTransactions() { state.apply(txn, triggers: &triggers) }
    return state
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let mode = input.byte() & 3
    let bytes = input.rest()
    switch mode {
    case 0:
        removeFiles()
        writeFile("log.1", bytes)
        let reader = TransactionLogReader(configuration: TransactionLogConfiguration(directory: directory), logger: logger)
        var state = CoordinationState()
        var triggers: [WatchTrigger] = []
        var zxids: [Int64] = []
        do {
            try reader.readRecords(after: -1) { record in
                zxids.append(record.zxid)
                var payload = record.payload
                guard let logged = try? LoggedTransaction.decode(from: &payload), logged.header.zxid == record.zxid else {
                    return
                }
                state.apply(logged, triggers: &triggers)
                triggers.removeAll(keepingCapacity: true)
            }
        } catch {
            return 0  // refused: corruption that is not a torn tail
        }
        var again: [Int64] = []
        do {
            let summary = try reader.readRecords(after: -1, repairTornTail: false) { again.append($0.zxid) }
            fuzzCheck(summary.tornTail == nil, "a torn tail is left after the repair: \(String(describing: summary.tornTail))")
        } catch {
            fuzzCheck(false, "the repaired log does not read: \(error)")
        }
        fuzzCheck(again == zxids, "the repaired log has records \(again), the first read delivered \(zxids)")
    case 1:
        removeFiles()
        writeFile("snapshot.1", bytes)
        let store = SnapshotStore(directory: directory, logger: logger)
        guard let loaded = try? store.loadNewestValid() else { return 0 }
        var body = loaded.body
        _ = try? CoordinationState(snapshot: &body)
    case 2:
        var body = ByteBufferAllocator().buffer(capacity: bytes.count)
        body.writeBytes(bytes)
        _ = try? CoordinationState(snapshot: &body)
    default:
        var payload = ByteBufferAllocator().buffer(capacity: bytes.count)
        payload.writeBytes(bytes)
        guard let logged = try? LoggedTransaction.decode(from: &payload) else { return 0 }
        var state = baseState
        var triggers: [WatchTrigger] = []
        state.apply(logged, triggers: &triggers)
    }
    return 0
}

/// Transactions of a short session: a session, nodes of each kind, data changes, an ACL change, a delete.
func sampleTransactions() -> [LoggedTransaction] {
    var now = CoreTime(wall: 1_700_000_000_000, monotonic: 1_000)
    var core = CoordinationStateMachine(state: CoordinationState(), config: CoreConfiguration(extendedTypesEnabled: true), now: now)
    var actions: [CoreAction] = []
    let connection = ConnectionID(1)
    core.connectionOpened(connection, remoteAddress: "127.0.0.1")
    core.connect(connection, request: ConnectRequest(lastZxidSeen: 0, timeOut: 30000, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16), readOnly: false),
                 password: [UInt8](repeating: 1, count: 16), now: now, into: &actions)
    let requests: [ZooKeeperRequest] = [
        .create(CreateRequest(path: "/a", data: [1, 2, 3], acl: ACL.openUnsafe, flags: 0)),
        .create(CreateRequest(path: "/a/e", data: [], acl: ACL.openUnsafe, flags: 1)),
        .create(CreateRequest(path: "/a/s", data: nil, acl: ACL.openUnsafe, flags: 2)),
        .createContainer(CreateRequest(path: "/c", data: [5], acl: ACL.openUnsafe, flags: 4)),
        .createTTL(CreateTTLRequest(path: "/t", data: [6], acl: ACL.openUnsafe, flags: 5, ttl: 60_000)),
        .setData(SetDataRequest(path: "/a", data: [4], version: 0)),
        .setACL(SetACLRequest(path: "/a", acl: ACL.readUnsafe, version: -1)),
        .multi([
            .create(CreateRequest(path: "/m", data: [1], acl: ACL.openUnsafe, flags: 0)),
            .setData(SetDataRequest(path: "/m", data: [2], version: 0)),
        ]),
        .delete(DeleteRequest(path: "/m", version: -1)),
    ]
    for (i, request) in requests.enumerated() {
        now.wall += 10
        core.receive(connection, xid: Int32(i + 1), request: request, now: now, into: &actions)
    }
    core.receive(connection, xid: 99, request: .closeSession, now: now, into: &actions)
    return actions.compactMap { if case .log(let txn) = $0 { return txn } else { return nil } }
}

func seeds() -> [[UInt8]] {
    let txns = sampleTransactions()
    var seeds: [[UInt8]] = []
    func payload(_ txn: LoggedTransaction) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        txn.encode(into: &buffer)
        return buffer
    }
    // Mode 0: log files written by TransactionLog (all records; the first three).
    for count in [txns.count, 3] {
        removeFiles()
        do {
            let log = try TransactionLog(configuration: TransactionLogConfiguration(directory: directory), logger: logger)
            for txn in txns.prefix(count) { try log.append(LogRecord(zxid: txn.header.zxid, payload: payload(txn))) }
            try log.sync()
        } catch {
            fatalError("writing the seed log: \(error)")
        }
        let name = (try? PosixFileIO().contentsOfDirectory(directory))!.first { $0.hasPrefix("log.") }!
        seeds.append([0] + readFile("\(directory)/\(name)"))
    }
    // Modes 1 and 2: the state after those transactions, as a snapshot file and as a body.
    var state = CoordinationState()
    var triggers: [WatchTrigger] = []
    for txn in txns { state.apply(txn, triggers: &triggers) }
    var body = ByteBufferAllocator().buffer(capacity: 1024)
    state.encodeSnapshot(into: &body)
    removeFiles()
    let info = try! SnapshotStore(directory: directory, logger: logger).write(zxid: state.lastZxid, body: body)
    seeds.append([1] + readFile(info.path))
    seeds.append([2] + Array(body.readableBytesView))
    // Mode 3: each payload.
    for txn in txns { seeds.append([3] + Array(payload(txn).readableBytesView)) }
    removeFiles()
    return seeds
}

func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    precondition(fd >= 0)
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += chunk[0..<n]
    }
    return out
}
