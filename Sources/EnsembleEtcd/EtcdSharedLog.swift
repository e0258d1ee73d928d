import DequeModule
#if canImport(Glibc)
import Glibc
#endif
import EtcdClient
import Logging
import NIOConcurrencyHelpers
import ReplicatedLog

/// The shared log of an ensemble on etcd: etcd orders and keeps the log, and nothing more (no znode lives in
/// etcd; see `LogLayout` for the keys).
///
/// - **Appends**: the server's entries queue here and leave as batches (`BatchLimits`), one batch in flight at
///   a time, each a put-if-absent of a key of its own (`<replica>-<incarnation>-<sequence>`) in one etcd
///   transaction, with the keys of the new sessions it creates attached to their leases. A failed append is
///   retried with the same key and bytes until it lands, so a retry that follows an append which did land
///   changes nothing, and the next batch leaves only after it: a connection's entries stay in order.
/// - **Delivery**: a watch of the log's prefix from the applied revision; `LogApplier` turns its events into
///   deliveries, in revision order. A broken watch is reopened from the last delivered revision.
/// - **Sessions**: each session has an etcd lease with its own id, of its negotiated timeout (whole seconds,
///   rounded up). The replica that holds the client renews it (`LeaseRenewals`); when it runs out, etcd deletes
///   the session key, and that deletion, at its revision, is the session's expiry for every replica.
/// - **Availability**: a linearizable read every 250 ms; when nothing has succeeded for `unavailableCloseMs`,
///   the sink hears that the log is unavailable (the server then closes its clients so that they move on).
/// - **Membership and compaction**: each replica keeps a key under `members/` on a lease, with the revision its
///   newest snapshot covers; the live replica with the lowest id deletes the log batches below every live
///   replica's snapshot (range deletes, `LogCompaction`) and compacts etcd to that revision.
public final class EtcdSharedLog: SharedLog, Sendable {
    public struct Settings: Sendable {
        public var replicaId: UInt8
        public var layout: LogLayout
        public var minSessionTimeoutMs: Int
        public var maxSessionTimeoutMs: Int
        public var unavailableCloseMs: Int
        public var limits: BatchLimits
        public var compactionIntervalMs: Int

        public init(
            replicaId: UInt8, cluster: String, minSessionTimeoutMs: Int, maxSessionTimeoutMs: Int,
            unavailableCloseMs: Int = 2000, limits: BatchLimits = BatchLimits(), compactionIntervalMs: Int = 30_000
        ) {
            self.replicaId = replicaId
            self.layout = LogLayout(cluster: cluster)
            self.minSessionTimeoutMs = minSessionTimeoutMs
            self.maxSessionTimeoutMs = maxSessionTimeoutMs
            self.unavailableCloseMs = unavailableCloseMs
            self.limits = limits
            self.compactionIntervalMs = compactionIntervalMs
        }

        /// The lease TTL of a session with this requested timeout: the negotiated timeout in whole seconds,
        /// rounded up, so that a lease never runs out before the session's timeout.
        func ttlSeconds(requested: Int32) -> Int64 {
            let negotiated = min(max(Int(requested), minSessionTimeoutMs), maxSessionTimeoutMs)
            return Int64(max(1, (negotiated + 999) / 1000))
        }
    }

    struct State {
        var queue = Deque<LogEntry>()
        var wake: AsyncStream<Void>.Continuation?
        var status = SharedLogStatus()
        var renewals = LeaseRenewals()
        var sessionTTLMillis: [Int64: Int64] = [:]
        var lastSuccessMillis: Int64 = 0
        var snapshotRevision: Int64 = 0
        var snapshotAddress: String = ""
        var started = false
    }

    let client: EtcdClient
    let settings: Settings
    let logger: Logger
    let incarnation: UInt64
    private let state = NIOLockedValueBox(State())

    public init(client: EtcdClient, settings: Settings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
        self.incarnation = UInt64(max(0, Self.wallMillis()))
        state.withLockedValue { $0.status.endpoint = "" }
    }

    // MARK: SharedLog

    public var status: SharedLogStatus { state.withLockedValue { $0.status } }

    public func append(_ entries: [LogEntry]) {
        let wake = state.withLockedValue { s -> AsyncStream<Void>.Continuation? in
            s.queue.append(contentsOf: entries)
            s.status.queuedEntries = s.queue.count
            for e in entries {
                if let sid = e.newSessionId, let requested = e.requestedTimeout {
                    s.sessionTTLMillis[sid] = settings.ttlSeconds(requested: requested) * 1000
                }
            }
            return s.wake
        }
        wake?.yield()
    }

    public func heardFrom(sessions: [Int64]) {
        state.withLockedValue { $0.renewals.heardFrom(sessions) }
    }

    public func snapshotTaken(atRevision revision: Int64) {
        state.withLockedValue { $0.snapshotRevision = max($0.snapshotRevision, revision) }
    }

    /// Where this replica serves its snapshots to peers (`SnapshotHTTPServer`), published with its membership.
    public func advertiseSnapshots(at address: String) {
        state.withLockedValue { $0.snapshotAddress = address }
    }

    /// The starting state's snapshot position (a bootstrapped or recovered snapshot), so that peers and
    /// compaction know it before this replica takes a snapshot of its own.
    public func startingSnapshot(atRevision revision: Int64) { snapshotTaken(atRevision: revision) }

    public func run(after revision: Int64, sink: any SharedLogSink) async throws {
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLockedValue {
            $0.wake = wake
            $0.status.deliveredRevision = revision
            $0.lastSuccessMillis = Self.monotonicMillis()
            $0.status.available = true
        }
        if !state.withLockedValue({ $0.queue.isEmpty }) { wake.yield() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.client.run() }
            group.addTask { try await self.watchLoop(after: revision, sink: sink) }
            group.addTask { try await self.appendLoop(wakes: wakes) }
            group.addTask { try await self.leaseLoop() }
            group.addTask { try await self.healthLoop(sink: sink) }
            group.addTask { try await self.memberLoop() }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    // MARK: Appending

    private func appendLoop(wakes: AsyncStream<Void>) async throws {
        var sequence: UInt64 = 0
        for await _ in wakes {
            while true {
                try Task.checkCancellation()
                let taken: [LogEntry] = state.withLockedValue { s in
                    let n = settings.limits.take(from: s.queue)
                    return Array(s.queue.prefix(n))
                }
                if taken.isEmpty { break }
                sequence += 1
                let batch = LogBatch(replicaId: settings.replicaId, incarnation: incarnation, sequence: sequence, entries: taken)
                try await appendUntilLanded(batch)
                state.withLockedValue { s in
                    s.queue.removeFirst(taken.count)
                    s.status.queuedEntries = s.queue.count
                    s.status.appendedBatches += 1
                    s.status.appendedEntries += Int64(taken.count)
                }
            }
        }
    }

    /// Appends one batch, retrying the same key and bytes until it has landed (or the task is cancelled).
    private func appendUntilLanded(_ batch: LogBatch) async throws {
        let key = settings.layout.batchKey(replica: batch.replicaId, incarnation: batch.incarnation, sequence: batch.sequence)
        let value = batch.encode()
        var sessions: [(sid: Int64, ttl: Int64)] = []
        for entry in batch.entries {
            if let sid = entry.newSessionId, let requested = entry.requestedTimeout {
                sessions.append((sid, settings.ttlSeconds(requested: requested)))
            }
        }
        state.withLockedValue { $0.status.appendsInFlight = 1 }
        defer { state.withLockedValue { $0.status.appendsInFlight = 0 } }
        var pause: Duration = .milliseconds(20)
        while true {
            try Task.checkCancellation()
            do {
                for (sid, ttl) in sessions {
                    do {
                        _ = try await client.leaseGrant(id: sid, ttlSeconds: ttl)
                    } catch let error as EtcdError where Self.isLeaseExists(error) {
                        // An earlier attempt granted it.
                    }
                }
                var ops: [EtcdOp] = [.put(key: key, value: value, lease: 0)]
                for (sid, ttl) in sessions {
                    ops.append(.put(key: settings.layout.sessionKey(sid), value: Array("\(ttl)".utf8), lease: sid))
                }
                let response = try await client.txn(compare: [.createRevision(key: key, equals: 0)], success: ops)
                noteSuccess(revision: response.revision)
                if !response.succeeded {
                    logger.debug("A retried append had already landed", metadata: ["sequence": "\(batch.sequence)"])
                }
                return
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                state.withLockedValue { $0.status.appendRetries += 1 }
                if case .requestTooLarge = error as? EtcdError {
                    logger.error("etcd refused an append as too large; check jute.maxbuffer against etcd's --max-request-bytes", metadata: ["bytes": "\(value.count)"])
                }
                logger.debug("Append failed; retrying", metadata: ["error": "\(error)", "sequence": "\(batch.sequence)"])
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(500))
            }
        }
    }

    static func isLeaseExists(_ error: EtcdError) -> Bool { error == .leaseExists }

    // MARK: Delivering

    private func watchLoop(after revision: Int64, sink: any SharedLogSink) async throws {
        var applier = LogApplier(layout: settings.layout, appliedRevision: revision)
        let prefix = settings.layout.logPrefix
        while true {
            try Task.checkCancellation()
            do {
                let stream = client.watch(
                    key: prefix, rangeEnd: EtcdClient.prefixEnd(prefix), startRevision: applier.appliedRevision + 1,
                    progressNotify: true)
                for try await response in stream {
                    let events = response.events.map { e in
                        LogEvent(kind: e.kind == .put ? .put : .delete, key: e.kv.key, value: e.kv.value, modRevision: e.kv.modRevision)
                    }
                    var (deliveries, problems) = applier.apply(events)
                    if events.isEmpty, let caughtUp = applier.caughtUp(to: response.headerRevision) {
                        deliveries.append(caughtUp)
                    }
                    for problem in problems {
                        logger.error("Skipped a log entry that does not decode (every replica skips it)", metadata: ["problem": "\(problem)"])
                    }
                    let applied = applier.appliedRevision
                    noteSuccess(revision: response.headerRevision)
                    state.withLockedValue { $0.status.deliveredRevision = applied }
                    if !deliveries.isEmpty { sink.deliver(deliveries) }
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as EtcdError {
                if case .compacted(let compactRevision) = error {
                    throw SharedLogError.behindCompaction(applied: applier.appliedRevision, compacted: compactRevision)
                }
                logger.debug("The log's watch broke; reopening", metadata: ["error": "\(error)"])
            } catch {
                logger.debug("The log's watch broke; reopening", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    // MARK: Sessions

    private func leaseLoop() async throws {
        let fallback = Int64(settings.minSessionTimeoutMs)
        while true {
            try await Task.sleep(for: .milliseconds(200))
            let due = state.withLockedValue { s in
                let ttls = s.sessionTTLMillis
                return s.renewals.due(nowMillis: Self.monotonicMillis()) { ttls[$0] ?? fallback }
            }
            guard !due.isEmpty else { continue }
            do {
                let ttls = try await client.leaseKeepAlive(ids: due)
                state.withLockedValue { s in
                    for sid in due {
                        if let ttl = ttls[sid] {
                            if ttl <= 0 {
                                // Ended: the session expired (its key's deletion is in the log).
                                s.renewals.forget(sid)
                                s.sessionTTLMillis[sid] = nil
                            }
                        } else {
                            s.renewals.heardFrom([sid])  // no answer: retried next round
                        }
                    }
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // Retried next round.
                state.withLockedValue { $0.renewals.heardFrom(due) }
            }
        }
    }

    // MARK: Health

    private func healthLoop(sink: any SharedLogSink) async throws {
        let probeKey = settings.layout.memberKey(settings.replicaId)
        var reportedAvailable = true
        while true {
            try await Task.sleep(for: .milliseconds(250))
            do {
                let response = try await client.range(key: probeKey, limit: 1, keysOnly: true)
                noteSuccess(revision: response.revision)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.debug("The log's health probe failed", metadata: ["error": "\(error)"])
            }
            let now = Self.monotonicMillis()
            let available = state.withLockedValue { s -> Bool in
                let ok = now - s.lastSuccessMillis <= Int64(settings.unavailableCloseMs)
                s.status.available = ok
                return ok
            }
            if available != reportedAvailable {
                reportedAvailable = available
                if !available {
                    logger.warning("etcd unreachable", metadata: ["for.ms": "\(settings.unavailableCloseMs)"])
                }
                sink.availabilityChanged(available)
            }
        }
    }

    private func noteSuccess(revision: Int64) {
        let now = Self.monotonicMillis()
        state.withLockedValue {
            $0.lastSuccessMillis = now
            $0.status.knownRevision = max($0.status.knownRevision, revision)
        }
    }

    // MARK: Membership and compaction

    private func memberLoop() async throws {
        let key = settings.layout.memberKey(settings.replicaId)
        var leaseId: Int64 = 0
        var published = ""
        var lastCompaction = Self.monotonicMillis()
        var compactedTo: Int64 = 0
        while true {
            do {
                if leaseId == 0 {
                    leaseId = Int64(settings.replicaId) << 48 | Int64(incarnation & 0xFFFF_FFFF_FFFF)
                    do {
                        _ = try await client.leaseGrant(id: leaseId, ttlSeconds: 5)
                    } catch let error as EtcdError where Self.isLeaseExists(error) {}
                    published = ""
                }
                let value = state.withLockedValue { MemberInfo(snapshotRevision: $0.snapshotRevision, address: $0.snapshotAddress).encoded }
                if value != published {
                    _ = try await client.put(key: key, value: Array(value.utf8), lease: leaseId)
                    published = value
                } else {
                    _ = try await client.leaseKeepAlive(id: leaseId)
                }
                let members = try await client.range(key: settings.layout.memberPrefix, rangeEnd: EtcdClient.prefixEnd(settings.layout.memberPrefix))
                let positions = members.kvs.compactMap { MemberInfo(decoding: $0.value)?.snapshotRevision }
                state.withLockedValue { $0.status.liveReplicas = positions.count }
                let now = Self.monotonicMillis()
                // One replica compacts: the live one with the lowest id (member keys sort by id). While membership
                // changes two may overlap; deletes and etcd's compaction are idempotent.
                let compactor = members.kvs.first.map { $0.key == key } ?? false
                if compactor, now - lastCompaction >= Int64(settings.compactionIntervalMs), let floor = positions.min(), floor > compactedTo {
                    lastCompaction = now
                    try await compact(upTo: floor)
                    compactedTo = floor
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch EtcdError.leaseNotFound {
                leaseId = 0
            } catch {
                logger.debug("Membership update failed", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: .milliseconds(1500))
        }
    }

    /// Deletes the log's batches at or below `revision` (every live replica's snapshot covers them) and compacts
    /// etcd's history there. The deletes are range deletes (`LogCompaction`), one small transaction after another,
    /// so that appends keep landing in between.
    private func compact(upTo revision: Int64) async throws {
        let prefix = settings.layout.batchPrefix
        let all = try await client.range(key: prefix, rangeEnd: EtcdClient.prefixEnd(prefix), keysOnly: true)
        let ranges = LogCompaction.deleteRanges(
            keys: all.kvs.map { LogCompaction.Key(key: $0.key, modRevision: $0.modRevision) }, upTo: revision)
        for range in ranges {
            _ = try await client.txn(compare: [], success: [.delete(key: range.start, rangeEnd: range.end)])
        }
        // Recorded first: a replica that starts older than this must bootstrap from a peer's snapshot. The record
        // only ever grows: two replicas may both have compacted (the compactor changes with membership), and a later,
        // lower record would send a replica behind the real compaction point into a restart loop (seen in CI: a
        // replica healed from a partition rejoined from its own snapshot at 1028, etcd compacted at 1151).
        if try await !Self.raiseCompactedRecord(client: client, key: settings.layout.compactedKey, to: revision) {
            logger.info("The log was compacted further already", metadata: ["revision": "\(revision)"])
            return
        }
        do {
            try await client.compact(revision: revision)
        } catch EtcdError.compacted {
            // Compacted there already (by the previous compactor).
        }
        let deleted = ranges.reduce(0) { $0 + $1.keys }
        logger.info("Compacted the shared log", metadata: ["revision": "\(revision)", "batches.deleted": "\(deleted)", "range.deletes": "\(ranges.count)"])
    }

    /// Sets the compaction record to `revision` unless it is at or past it already (compare-and-set on the key's
    /// mod revision, retried when another replica wrote in between). Returns false when it was at or past it.
    public static func raiseCompactedRecord(client: EtcdClient, key: [UInt8], to revision: Int64) async throws -> Bool {
        for _ in 0..<5 {
            let current = try await client.range(key: key)
            let kv = current.kvs.first
            let recorded = kv.flatMap { Int64(String(decoding: $0.value, as: UTF8.self)) } ?? 0
            if recorded >= revision { return false }
            let written = try await client.txn(
                compare: [.modRevision(key: key, equals: kv?.modRevision ?? 0)],
                success: [.put(key: key, value: Array("\(revision)".utf8), lease: 0)])
            if written.succeeded { return true }
        }
        throw EtcdError.unavailable("the compaction record kept changing")
    }

    // MARK: Clocks

    static func monotonicMillis() -> Int64 {
        Int64(DispatchTimeShim.uptimeNanoseconds() / 1_000_000)
    }

    static func wallMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

enum DispatchTimeShim {
    static func uptimeNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// What a replica publishes under `members/`: its newest snapshot's revision and where it serves it.
public struct MemberInfo: Sendable, Equatable {
    public var snapshotRevision: Int64
    public var address: String

    public init(snapshotRevision: Int64, address: String) {
        self.snapshotRevision = snapshotRevision
        self.address = address
    }

    public var encoded: String { address.isEmpty ? "\(snapshotRevision)" : "\(snapshotRevision) \(address)" }

    public init?(decoding bytes: [UInt8]) {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: " ", maxSplits: 1)
        guard let first = parts.first, let revision = Int64(first) else { return nil }
        snapshotRevision = revision
        address = parts.count > 1 ? String(parts[1]) : ""
    }

    /// host and port of `address` (`host:port`, `[v6]:port`), parsed as etcd endpoints are.
    public var hostPort: (host: String, port: Int)? {
        (try? EtcdClient.parseEndpoint(address)).map { ($0.host, $0.port) }
    }
}

public enum SharedLogError: Error, CustomStringConvertible {
    case behindCompaction(applied: Int64, compacted: Int64)

    public var description: String {
        switch self {
        case .behindCompaction(let applied, let compacted):
            return "this replica applied the log up to revision \(applied), but etcd has compacted it up to \(compacted) "
                + "(the replica was cut off or stopped longer than its membership lease): the entries in between are gone. "
                + "It restarts and bootstraps from a live peer's snapshot."
        }
    }
}
