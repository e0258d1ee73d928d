/// The ordered shared log under an ensemble replica, as the server sees it. The server appends its entries
/// (in order; the log keeps one connection's entries in order also when it retries an append) and receives every
/// replica's entries back, position by position, through its `SharedLogSink`.
public protocol SharedLog: Sendable {
    /// Delivers every position after `revision`, in order, until cancelled.
    func run(after revision: Int64, sink: any SharedLogSink) async throws
    /// Appends entries, in order. Called from the server's event loop; never blocks.
    func append(_ entries: [LogEntry])
    /// These sessions' clients were heard from: keep their leases alive.
    func heardFrom(sessions: [Int64])
    /// A local snapshot now covers the log up to `revision` (what all replicas cover can be compacted).
    func snapshotTaken(atRevision revision: Int64)
    /// What the log reports for `mntr` and metrics.
    var status: SharedLogStatus { get }
}

public protocol SharedLogSink: Sendable {
    func deliver(_ deliveries: [LogDelivery])
    /// The log became unreachable (appends and the watch have failed for longer than the replica's bound) or
    /// reachable again. While it is unreachable the replica closes its client connections and refuses new ones,
    /// so that clients move to a healthy replica.
    func availabilityChanged(_ available: Bool)
}

public struct SharedLogStatus: Sendable, Equatable {
    public var available: Bool
    /// The newest revision the log is known to have (etcd's header revision).
    public var knownRevision: Int64
    /// The revision this replica has delivered up to.
    public var deliveredRevision: Int64
    public var appendsInFlight: Int
    public var queuedEntries: Int
    public var appendedBatches: Int64
    public var appendedEntries: Int64
    public var appendRetries: Int64
    public var liveReplicas: Int
    public var endpoint: String

    public init(
        available: Bool = false, knownRevision: Int64 = 0, deliveredRevision: Int64 = 0, appendsInFlight: Int = 0,
        queuedEntries: Int = 0, appendedBatches: Int64 = 0, appendedEntries: Int64 = 0, appendRetries: Int64 = 0,
        liveReplicas: Int = 0, endpoint: String = ""
    ) {
        self.available = available
        self.knownRevision = knownRevision
        self.deliveredRevision = deliveredRevision
        self.appendsInFlight = appendsInFlight
        self.queuedEntries = queuedEntries
        self.appendedBatches = appendedBatches
        self.appendedEntries = appendedEntries
        self.appendRetries = appendRetries
        self.liveReplicas = liveReplicas
        self.endpoint = endpoint
    }

    /// How many revisions this replica is behind the log's known tail.
    public var lag: Int64 { max(0, knownRevision - deliveredRevision) }
}
