/// Where an ensemble keeps its log in etcd. Everything lives under `/zooreg/<cluster>/`:
///
///     /zooreg/<cluster>/log/b/<replica>-<incarnation>-<sequence>   one batch of entries, written once (put-if-absent)
///     /zooreg/<cluster>/log/s/<session id>                        a session, attached to its etcd lease
///     /zooreg/<cluster>/members/<replica>                         a live replica (its lease): "<snapshot revision> <host:port>"
///     /zooreg/<cluster>/compacted                                 the revision the log was last compacted to
///
/// Replicas watch `log/` from their applied revision: a batch's position is its key's mod revision, and the
/// deletion of a session key (its lease ran out) is the session's expiry, at the deletion's revision.
public struct LogLayout: Sendable, Equatable {
    public let cluster: String

    public init(cluster: String) { self.cluster = cluster }

    public var root: String { "/zooreg/\(cluster)/" }
    public var logPrefix: [UInt8] { Array("\(root)log/".utf8) }
    public var batchPrefix: [UInt8] { Array("\(root)log/b/".utf8) }
    public var sessionPrefix: [UInt8] { Array("\(root)log/s/".utf8) }
    public var memberPrefix: [UInt8] { Array("\(root)members/".utf8) }
    /// The revision etcd's history was last compacted to by a replica (a replica whose state is older must
    /// bootstrap from a peer's snapshot).
    public var compactedKey: [UInt8] { Array("\(root)compacted".utf8) }

    public func batchKey(replica: UInt8, incarnation: UInt64, sequence: UInt64) -> [UInt8] {
        batchPrefix + Array("\(hex(UInt64(replica), 2))-\(hex(incarnation, 16))-\(hex(sequence, 16))".utf8)
    }

    public func sessionKey(_ sessionId: Int64) -> [UInt8] {
        sessionPrefix + Array(hex(UInt64(bitPattern: sessionId), 16).utf8)
    }

    public func memberKey(_ replica: UInt8) -> [UInt8] {
        memberPrefix + Array(hex(UInt64(replica), 2).utf8)
    }

    /// The session a session key names, or nil when the key is not one.
    public func sessionId(fromKey key: [UInt8]) -> Int64? {
        guard key.starts(with: sessionPrefix) else { return nil }
        let text = String(decoding: key[sessionPrefix.count...], as: UTF8.self)
        guard text.count == 16, let v = UInt64(text, radix: 16) else { return nil }
        return Int64(bitPattern: v)
    }

    public func isBatchKey(_ key: [UInt8]) -> Bool { key.starts(with: batchPrefix) }

    private func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

/// One change the log's watch reports.
public struct LogEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case put, delete }
    public var kind: Kind
    public var key: [UInt8]
    public var value: [UInt8]
    public var modRevision: Int64

    public init(kind: Kind, key: [UInt8], value: [UInt8], modRevision: Int64) {
        self.kind = kind
        self.key = key
        self.value = value
        self.modRevision = modRevision
    }
}

/// Turns the log's events into deliveries, one per revision, in order; pure, so that every replica derives the
/// same entries from the same events. Within a revision the batch comes first, then the expiries (a revision
/// holds one batch, or one lease's deletion). Revisions already applied are skipped (a watch that restarts may
/// repeat some). A batch that does not decode (corrupt, or from a newer format) is skipped by every replica
/// alike, and reported.
public struct LogApplier: Sendable {
    public let layout: LogLayout
    public private(set) var appliedRevision: Int64

    public init(layout: LogLayout, appliedRevision: Int64) {
        self.layout = layout
        self.appliedRevision = appliedRevision
    }

    public mutating func apply(_ events: [LogEvent]) -> (deliveries: [LogDelivery], problems: [String]) {
        var deliveries: [LogDelivery] = []
        var problems: [String] = []
        var i = 0
        while i < events.count {
            let revision = events[i].modRevision
            var j = i
            while j < events.count && events[j].modRevision == revision { j += 1 }
            defer { i = j }
            guard revision > appliedRevision else { continue }
            var entries: [LogEntry] = []
            var expiries: [LogEntry] = []
            for event in events[i..<j] {
                switch event.kind {
                case .put where layout.isBatchKey(event.key):
                    do {
                        entries.append(contentsOf: try LogBatch.decode(event.value).entries)
                    } catch {
                        problems.append("revision \(revision): \(String(decoding: event.key, as: UTF8.self)): \(error)")
                    }
                case .delete:
                    if let sid = layout.sessionId(fromKey: event.key) {
                        expiries.append(LogEntry(connection: 0, kind: .expire(sessionId: sid), wallMillis: 0, monotonicNanos: 0))
                    }
                default:
                    break
                }
            }
            appliedRevision = revision
            deliveries.append(LogDelivery(revision: revision, entries: entries + expiries))
        }
        return (deliveries, problems)
    }

    /// The log is known to be at `revision` with nothing for us in between (a progress notification).
    public mutating func caughtUp(to revision: Int64) -> LogDelivery? {
        guard revision > appliedRevision else { return nil }
        appliedRevision = revision
        return LogDelivery(revision: revision, entries: [])
    }
}

/// Takes entries off the append queue into batches under the log's limits: at most `maxBytes` of encoded entries
/// (etcd refuses requests above 1.5 MiB), `maxEntries` entries (zxids: a position holds at most 65,535
/// transactions) and `maxNewSessions` new sessions (each adds a key to the append's transaction, and a
/// transaction holds at most 128 operations). A batch always takes at least one entry, in queue order.
public struct BatchLimits: Sendable, Equatable {
    public var maxBytes: Int
    public var maxEntries: Int
    public var maxNewSessions: Int

    public init(maxBytes: Int = 1 << 20, maxEntries: Int = 8192, maxNewSessions: Int = 100) {
        self.maxBytes = maxBytes
        self.maxEntries = maxEntries
        self.maxNewSessions = maxNewSessions
    }

    /// How many entries from the front of `queue` the next batch takes.
    public func take<C: Collection<LogEntry>>(from queue: C) -> Int {
        var bytes = 0
        var count = 0
        var sessions = 0
        for entry in queue {
            let size = LogBatch.encodedSize(of: entry)
            let isNewSession = entry.newSessionId != nil
            if count > 0 && (bytes + size > maxBytes || count + 1 > maxEntries || (isNewSession && sessions + 1 > maxNewSessions)) {
                break
            }
            bytes += size
            count += 1
            if isNewSession { sessions += 1 }
        }
        return count
    }
}

extension LogEntry {
    /// The id of the session this entry creates, if it creates one with a replica-chosen id.
    public var newSessionId: Int64? {
        if case .connect(let request, _, let sid, _) = kind, sid != 0, request.sessionId == 0 { return sid }
        return nil
    }

    /// The requested timeout of the session this entry creates.
    public var requestedTimeout: Int32? {
        if case .connect(let request, _, _, _) = kind { return request.timeOut }
        return nil
    }
}

/// Which sessions' leases to renew now. A session is renewed when its client was heard from since its last
/// renewal and a third of its lease's TTL has passed since then, so that a lease always runs to at least the
/// session timeout after the client's last contact (the renewal follows the contact) and at most about 1⅓ TTL
/// plus one round after it.
public struct LeaseRenewals: Sendable {
    private var lastRenewal: [Int64: Int64] = [:]  // session → monotonic ms
    private var heard: Set<Int64> = []

    public init() {}

    public mutating func heardFrom(_ sessions: [Int64]) { heard.formUnion(sessions) }

    /// The sessions to renew at `nowMillis`, given each one's TTL in ms; they count as renewed.
    public mutating func due(nowMillis: Int64, ttlMillis: (Int64) -> Int64) -> [Int64] {
        var out: [Int64] = []
        for sid in heard {
            let last = lastRenewal[sid] ?? .min
            if last == .min || nowMillis - last >= ttlMillis(sid) / 3 {
                out.append(sid)
            }
        }
        for sid in out {
            lastRenewal[sid] = nowMillis
            heard.remove(sid)
        }
        return out.sorted()
    }

    /// A session that is gone (expired, closed, or its lease unknown) is forgotten.
    public mutating func forget(_ sid: Int64) {
        lastRenewal[sid] = nil
        heard.remove(sid)
    }
}
