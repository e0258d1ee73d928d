import CoordinationCore
import Testing
import ZooKeeperWire

@testable import CoordinationServer

@Suite struct DurabilityGateTests {
    let a = ConnectionID(1)
    let b = ConnectionID(2)

    /// Marks `zxid` durable and drains what the gate releases.
    static func release(_ gate: inout DurabilityGate<String>, upTo zxid: Int64) -> [String] {
        var out: [String] = []
        gate.markDurable(upTo: zxid)
        while let (_, item) = gate.nextReleased() { out.append(item) }
        return out
    }

    @Test func durableOutputsPassAndOthersWait() {
        var gate = DurabilityGate<String>(durableZxid: 10)
        do { let v = gate.admit("a1", to: a, after: 10); #expect(v) }
        do { let v = gate.admit("a2", to: a, after: 11); #expect(!v) }
        // Another connection's output of durable state is not held behind a's.
        do { let v = gate.admit("b1", to: b, after: 9); #expect(v) }
        #expect(gate.count == 1)
        do { let v = Self.release(&gate, upTo: 10); #expect(v == []) }
        do { let v = Self.release(&gate, upTo: 11); #expect(v == ["a2"]) }
        #expect(gate.isEmpty && gate.heldCount(of: a) == 0)
        do { let v = gate.admit("a3", to: a, after: 11); #expect(v) }
    }

    @Test func aConnectionsOutputsKeepTheirOrder() {
        var gate = DurabilityGate<String>(durableZxid: 10)
        do { let v = gate.admit("a1", to: a, after: 12); #expect(!v) }
        // Durable, but a1 is ahead of it on the same connection.
        do { let v = gate.admit("a2", to: a, after: 5); #expect(!v) }
        #expect(gate.heldCount(of: a) == 2)
        do { let v = gate.admit("b1", to: b, after: 11); #expect(!v) }
        // Still a's turn only after a1: nothing of a leaves at 11, b1 does not overtake a1 either (queue order).
        do { let v = Self.release(&gate, upTo: 11); #expect(v == []) }
        do { let v = Self.release(&gate, upTo: 12); #expect(v == ["a1", "a2", "b1"]) }
        #expect(gate.heldCount(of: a) == 0 && gate.heldCount(of: b) == 0)
    }

    @Test func releasesInZxidOrderAsTheLogCatchesUp() {
        var gate = DurabilityGate<String>(durableZxid: 0)
        for z in Int64(1)...4 { do { let v = gate.admit("w\(z)", to: ConnectionID(UInt64(z)), after: z); #expect(!v) } }
        do { let v = Self.release(&gate, upTo: 2); #expect(v == ["w1", "w2"]) }
        #expect(gate.durableZxid == 2)
        do { let v = Self.release(&gate, upTo: 1); #expect(v == []) }  // never goes back
        #expect(gate.durableZxid == 2)
        do { let v = Self.release(&gate, upTo: 4); #expect(v == ["w3", "w4"]) }
    }

    @Test func removeAllDropsEverything() {
        var gate = DurabilityGate<String>(durableZxid: 0)
        do { let v = gate.admit("a1", to: a, after: 1); #expect(!v) }
        gate.removeAll()
        #expect(gate.isEmpty && gate.heldCount(of: a) == 0)
        do { let v = Self.release(&gate, upTo: 5); #expect(v == []) }
        do { let v = gate.admit("a2", to: a, after: 1); #expect(v) }
    }

    /// The engine's rule end to end on the real core: while session A's write waits for fsync, session B's read of
    /// durable data is answered, B's read of the node A just wrote is not, and A's reply and B's second read leave
    /// once the write is durable.
    @Test func readOfDurableDataIsNotHeldBehindAnotherSessionsWrite() {
        let clock = CoreTime(wall: 1_700_000_000_000, monotonic: 0)
        var core = CoordinationStateMachine(state: CoordinationState(), config: CoreConfiguration(), now: clock)
        var gate = DurabilityGate<OutboundFrame>(durableZxid: core.lastZxid)
        var written: [(ConnectionID, OutboundFrame)] = []
        var durable: [Int64] = []

        func perform(_ actions: [CoreAction]) {
            for action in actions {
                switch action {
                case .log(let t): durable.append(t.header.zxid)
                case .send(let id, let frame, let after):
                    if gate.admit(frame, to: id, after: after) { written.append((id, frame)) }
                case .close: Issue.record("unexpected close")
                case .authentication: Issue.record("unexpected authentication")
                }
            }
        }
        func fsync() {
            guard let upTo = durable.last else { return }
            gate.markDurable(upTo: upTo)
            while let (id, frame) = gate.nextReleased() { written.append((id, frame)) }
        }
        func session(_ id: ConnectionID) {
            var actions: [CoreAction] = []
            core.connectionOpened(id, remoteAddress: "127.0.0.1")
            core.connect(id, request: ConnectRequest(
                lastZxidSeen: 0, timeOut: 10_000, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16), readOnly: false),
                password: [UInt8](repeating: 1, count: 16), now: clock, into: &actions)
            perform(actions)
        }
        func request(_ id: ConnectionID, _ xid: Int32, _ r: ZooKeeperRequest) {
            var actions: [CoreAction] = []
            core.receive(id, xid: xid, request: r, now: clock, into: &actions)
            perform(actions)
        }
        func replies(to id: ConnectionID) -> [Int32] {
            written.compactMap { if $0.0 == id, case .reply(let xid, _, _, _) = $0.1 { return xid } else { return nil } }
        }

        session(a)
        session(b)
        request(a, 1, .create(CreateRequest(path: "/x", data: [1], acl: ACLs.openUnsafe, flags: 0)))
        request(a, 2, .create(CreateRequest(path: "/y", data: [2], acl: ACLs.openUnsafe, flags: 0)))
        fsync()
        #expect(replies(to: a) == [1, 2])

        // A writes /x; its fsync has not completed.
        request(a, 3, .setData(SetDataRequest(path: "/x", data: [3], version: -1)))
        request(b, 1, .getData(GetDataRequest(path: "/y", watch: false)))
        request(b, 2, .getData(GetDataRequest(path: "/x", watch: false)))
        request(b, 3, .getData(GetDataRequest(path: "/y", watch: false)))
        #expect(replies(to: a) == [1, 2])
        #expect(replies(to: b) == [1])  // /y is durable; /x is not, and b's next reply stays behind it
        #expect(gate.heldCount(of: b) == 2)

        fsync()
        #expect(replies(to: a) == [1, 2, 3])
        #expect(replies(to: b) == [1, 2, 3])
        #expect(gate.isEmpty)
    }
}
