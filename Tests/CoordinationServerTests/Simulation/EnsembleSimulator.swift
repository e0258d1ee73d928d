import CoordinationCore
import Foundation
import NIOCore
import ReplicatedLog
import ZooKeeperWire

@testable import CoordinationServer

/// The ensemble's seeded simulation: three replica engines over one in-memory shared log (`ReplicaCluster`).
/// Clients on every replica send random requests; replicas append at random moments and apply the log at their
/// own pace, so some fall far behind; the log expires random sessions (a lease that ran out) and carries
/// disconnects; a client moves its session to another replica while its old replica holds a write of it that it
/// could not append yet, and that stale batch lands later; a replica dies (its unappended requests are lost with
/// its connections) and comes back from a snapshot of its own last state or, wiped, from a peer's snapshot taken
/// at the peer's position (bytes encoded and decoded, as on disk and in the snapshot transfer), and then applies
/// the log from that position.
///
/// Checked after every delivery: every replica that reaches a log position has the same state there (every node's
/// data, Stat and ACL, every session with the connection it is attached through, the zxid) as the first replica
/// that reached it. At the end all
/// replicas apply the whole log and are identical, and no engine broke a promise (durability, reply order).
struct EnsembleSimulation {
    let seed: UInt64
    var rng: TestRandom
    var cluster: ReplicaCluster
    /// Log position (number of deliveries applied) → the state there, as the first replica computed it.
    var images: [Int: String] = [:]
    var clients: [(replica: Int, id: ConnectionID)] = []
    var step = 0
    var failure: String?
    var stats = (requests: 0, deliveries: 0, deaths: 0, bootstraps: 0, expiries: 0, comparisons: 0, moves: 0, staleLandings: 0)
    /// Batches a replica could not append before its client moved away (a cut-off replica's queue), to land later.
    var held: [[LogEntry]] = []

    static let paths = ["/a", "/b", "/a/x", "/b/y", "/e", "/q-"]

    init(seed: UInt64) {
        self.seed = seed
        rng = TestRandom(state: seed &* 7919)
        cluster = ReplicaCluster(seed: seed)
        for r in 0..<3 { for _ in 0..<2 { connect(on: r) } }
        cluster.settle()
        for r in 0..<3 { recordImage(r) }
    }

    mutating func fail(_ message: String) {
        if failure == nil { failure = "ensemble seed \(seed), step \(step): \(message)" }
    }

    mutating func connect(on r: Int) {
        let id = cluster.replicas[r].open()
        cluster.replicas[r].handshake(id)
        clients.append((r, id))
    }

    mutating func run(steps: Int) {
        for _ in 0..<steps {
            step += 1
            randomStep()
            for r in 0..<3 {
                if let v = cluster.replicas[r].violations.first { fail("replica \(r + 1): \(v)") }
            }
            if failure != nil { return }
        }
        while !held.isEmpty { landHeld() }
        cluster.settle()
        for r in 0..<3 { recordImage(r) }
        let states = (0..<3).map { canonical($0) }
        if states[0] != states[1] || states[0] != states[2] { fail("after the whole log the replicas differ") }
    }

    mutating func randomStep() {
        switch rng.below(1000) {
        case 0..<550: request()
        case 550..<680: cluster.append(from: rng.below(3))
        case 680..<880: deliver(rng.below(3), count: 1 + rng.below(rng.below(4) == 0 ? 40 : 3))
        case 880..<900: expireRandomSession()
        case 900..<930: disconnect()
        case 930..<950: connect(on: rng.below(3))
        case 950..<965: moveSession()
        case 965..<975: landHeld()
        case 975..<990: for r in 0..<3 { cluster.replicas[r].advance(millis: Int64(1 + rng.below(50))) }
        default: killAndRestart(rng.below(3))
        }
    }

    mutating func request() {
        guard !clients.isEmpty else { return }
        let (r, id) = clients[rng.below(clients.count)]
        guard cluster.replicas[r].outputs[id]?.connected == true, !cluster.replicas[r].closed.contains(id) else { return }
        let path = Self.paths[rng.below(Self.paths.count)]
        let data = "v\(step)"
        let request: ZooKeeperRequest
        switch rng.below(9) {
        case 0: request = create(path, data, flags: path.hasSuffix("-") ? 2 + Int32(rng.below(2)) : Int32(rng.below(2)))
        case 1: request = setData(path, data)
        case 2: request = .setData(SetDataRequest(path: path, data: Array(data.utf8), version: Int32(rng.below(3))))
        case 3: request = .getData(GetDataRequest(path: path, watch: true))
        case 4: request = .exists(ExistsRequest(path: path, watch: true))
        case 5: request = .delete(DeleteRequest(path: path, version: -1))
        case 6: request = .getChildren(GetChildrenRequest(path: "/", watch: true))
        case 7: request = .sync(SyncRequest(path: "/"))
        default:
            request = .multi([
                .check(CheckVersionRequest(path: path, version: Int32(rng.below(2)) - 1)),
                setData(path, data), create("/m", data, flags: 0),
            ])
        }
        cluster.replicas[r].send(id, request)
        stats.requests += 1
    }

    mutating func deliver(_ r: Int, count: Int) {
        for _ in 0..<count {
            guard cluster.applied[r] < cluster.log.count else { return }
            cluster.deliver(to: r)
            stats.deliveries += 1
            recordImage(r)
        }
    }

    /// The state at replica `r`'s position must equal what the first replica there had: every node's path, data,
    /// full Stat and ACL, every session with its timeout and password, and the last zxid. (Not the snapshot's
    /// bytes: a replica bootstrapped from a snapshot lays its node store out afresh.)
    mutating func recordImage(_ r: Int) {
        let position = cluster.applied[r]
        let state = canonical(r)
        if let first = images[position] {
            stats.comparisons += 1
            if first != state {
                let a = first.split(separator: "\n"), b = state.split(separator: "\n")
                let diff = Set(a).symmetricDifference(b).sorted().prefix(6)
                fail("replica \(r + 1) differs from its peers at log position \(position): \(diff)")
            }
        } else {
            images[position] = state
        }
    }

    /// Replica `r`'s state as sorted lines. A session's connection is part of it: every replica applies the same
    /// connects and disconnects, and decides SESSIONMOVED from it.
    func canonical(_ r: Int) -> String {
        let core = cluster.replicas[r].machine.core
        let state = core.state
        var image = cluster.image(r)
        let owners = (try? CoordinationState(snapshot: &image))?.connectionOwners ?? [:]
        var lines = ["zxid \(state.lastZxid)"]
        for (sid, record) in state.sessions.sorted(by: { $0.key < $1.key }) {
            lines.append("session \(sid) \(record.timeout) \(record.password) on \(owners[sid].map(String.init) ?? "-")")
        }
        let tree = state.tree
        for p in tree.paths {
            guard let n = tree.node(at: p) else { continue }
            lines.append("\(p) \(n.stat) \(tree.data(of: n) ?? []) \(tree.acl(of: n))")
        }
        return lines.sorted().joined(separator: "\n")
    }

    mutating func expireRandomSession() {
        // The log may expire any session at any position (a lease that ran out); every replica must agree.
        let sessions = cluster.replicas[rng.below(3)].machine.core.state.sessions.keys.sorted()
        guard let sid = sessions.isEmpty ? nil : sessions[rng.below(sessions.count)] else { return }
        cluster.expire(sid)
        stats.expiries += 1
    }

    mutating func disconnect() {
        guard !clients.isEmpty else { return }
        let k = rng.below(clients.count)
        let (r, id) = clients.remove(at: k)
        cluster.replicas[r].perform { machine, now, actions in machine.connectionClosed(id, now: now, into: &actions) }
    }

    /// A connected client moves its session to another replica (as after a timeout or a cut-off). Half the time
    /// the old replica first takes a write of it that it cannot append: that batch is held back and lands later,
    /// after the move, where every replica must fence it (SESSIONMOVED) alike.
    mutating func moveSession() {
        guard !clients.isEmpty else { return }
        let k = rng.below(clients.count)
        let (r, id) = clients[k]
        guard let session = cluster.replicas[r].outputs[id]?.session, session.sessionId != 0,
            !cluster.replicas[r].closed.contains(id)
        else { return }
        if rng.below(2) == 0 {
            let entries = cluster.holdBack(r, id, setData(Self.paths[rng.below(2)], "stale\(step)"))
            if !entries.isEmpty { held.append(entries) }
        }
        let target = (r + 1 + rng.below(2)) % 3
        let lastSeen = cluster.replicas[r].replies(id).last?.zxid ?? 0
        let moved = cluster.replicas[target].open()
        cluster.replicas[target].handshake(
            moved, timeout: session.timeOut, sessionId: session.sessionId, password: session.passwd,
            lastZxidSeen: lastSeen)
        clients[k] = (target, moved)
        stats.moves += 1
    }

    /// The oldest held-back batch lands in the log now.
    mutating func landHeld() {
        guard !held.isEmpty else { return }
        cluster.revision += 1
        cluster.log.append(LogDelivery(revision: cluster.revision, entries: held.removeFirst()))
        stats.staleLandings += 1
    }

    /// Replica `r` is killed: what it had not appended is gone with its connections. It comes back from a snapshot
    /// of its own state, or (half the time) wiped, from a peer's snapshot at the peer's position: through the
    /// snapshot bytes either way, as from disk or the snapshot transfer.
    mutating func killAndRestart(_ r: Int) {
        stats.deaths += 1
        var source = r
        let peers = (0..<3).filter { $0 != r }
        if rng.below(2) == 0, let peer = peers.randomElement(using: &rng) {
            source = peer
            stats.bootstraps += 1
        }
        var bytes = cluster.image(source)
        let position = cluster.applied[source]
        let state: CoordinationState
        do {
            state = try CoordinationState(snapshot: &bytes)
        } catch {
            fail("replica \(source + 1)'s snapshot does not load: \(error)")
            return
        }
        clients.removeAll { $0.replica == r }
        cluster.replicas[r] = EngineHarness(
            ordering: .ordered(replicaId: UInt8(r + 1)), seed: seed &+ UInt64(step) &* 13, recovered: state,
            startMillis: Int64(step) * 10)
        cluster.applied[r] = position
        recordImage(r)
        connect(on: r)
    }
}
