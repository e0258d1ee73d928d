import Metrics
import Prometheus
import ZooKeeperWire

/// The server's metrics, created once through the swift-metrics API and then updated from anywhere
/// (every metric is thread-safe).
///
/// Names: where Apache ZooKeeper's PrometheusMetricsProvider exports the same quantity, the gauge has
/// ZooKeeper's name, so existing ZooKeeper dashboards find it (`znode_count`, `watch_count`,
/// `num_alive_connections`, `global_sessions`, `ephemerals_count`, `bytes_received_count`). The rest are
/// zooreg's own, prefixed `zooreg_`:
///
/// | metric | type | labels |
/// |---|---|---|
/// | `zooreg_requests_total` | counter | `op` (create, getData, …) |
/// | `zooreg_request_duration_seconds` | histogram | `op` |
/// | `zooreg_fsync_duration_seconds` | histogram (its `_count` is the number of fsyncs) | – |
/// | `zooreg_sent_bytes_total` | counter | – |
/// | `bytes_received_count` | counter | – |
/// | `num_alive_connections`, `global_sessions`, `znode_count`, `watch_count`, `ephemerals_count` | gauge | – |
public struct ServerMetrics: Sendable {
    /// Requests answered, by operation.
    private let requests: [OpCode: CoreMetrics.Counter]
    /// Time from a request's arrival to its response, by operation.
    private let requestDurations: [OpCode: CoreMetrics.Timer]
    /// Requests with an opcode the server does not know.
    private let unknownRequests: CoreMetrics.Counter
    private let unknownRequestDurations: CoreMetrics.Timer

    /// Duration of each fsync of the transaction log.
    public let fsyncDuration: CoreMetrics.Timer
    /// Bytes read from client connections.
    public let bytesReceived: CoreMetrics.Counter
    /// Bytes written to client connections.
    public let bytesSent: CoreMetrics.Counter
    /// Open client connections.
    public let connections: CoreMetrics.Gauge
    /// Open sessions.
    public let sessions: CoreMetrics.Gauge
    /// Nodes in the tree.
    public let znodes: CoreMetrics.Gauge
    /// Watches registered (data and child).
    public let watches: CoreMetrics.Gauge
    /// Ephemeral nodes.
    public let ephemerals: CoreMetrics.Gauge
    /// An ensemble replica: revisions of the shared log not yet applied (etcd's newest known revision minus the
    /// applied one).
    public let logLag: CoreMetrics.Gauge
    /// An ensemble replica: the etcd revision applied up to.
    public let logAppliedRevision: CoreMetrics.Gauge
    /// An ensemble replica: entries waiting to be appended to the log.
    public let logQueuedEntries: CoreMetrics.Gauge
    /// An ensemble replica: 1 while the log (etcd) is reachable.
    public let logAvailable: CoreMetrics.Gauge

    /// Histogram buckets suited to a ZooKeeper-like server: from 100 µs (a read in memory) to 10 s.
    public static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Creates every metric on `factory`.
    public init(factory: any MetricsFactory) {
        var requests: [OpCode: CoreMetrics.Counter] = [:]
        var durations: [OpCode: CoreMetrics.Timer] = [:]
        for op in OpCode.allCases where op != .notification && op != .error {
            let dimensions = [("op", Self.label(of: op))]
            requests[op] = CoreMetrics.Counter(label: "zooreg_requests_total", dimensions: dimensions, factory: factory)
            durations[op] = CoreMetrics.Timer(label: "zooreg_request_duration_seconds", dimensions: dimensions, factory: factory)
        }
        self.requests = requests
        self.requestDurations = durations
        let unknown = [("op", "unknown")]
        unknownRequests = CoreMetrics.Counter(label: "zooreg_requests_total", dimensions: unknown, factory: factory)
        unknownRequestDurations = CoreMetrics.Timer(
            label: "zooreg_request_duration_seconds", dimensions: unknown, factory: factory)
        fsyncDuration = CoreMetrics.Timer(label: "zooreg_fsync_duration_seconds", factory: factory)
        bytesReceived = CoreMetrics.Counter(label: "bytes_received_count", factory: factory)
        bytesSent = CoreMetrics.Counter(label: "zooreg_sent_bytes_total", factory: factory)
        connections = CoreMetrics.Gauge(label: "num_alive_connections", factory: factory)
        sessions = CoreMetrics.Gauge(label: "global_sessions", factory: factory)
        znodes = CoreMetrics.Gauge(label: "znode_count", factory: factory)
        watches = CoreMetrics.Gauge(label: "watch_count", factory: factory)
        ephemerals = CoreMetrics.Gauge(label: "ephemerals_count", factory: factory)
        logLag = CoreMetrics.Gauge(label: "zooreg_log_lag", factory: factory)
        logAppliedRevision = CoreMetrics.Gauge(label: "zooreg_log_applied_revision", factory: factory)
        logQueuedEntries = CoreMetrics.Gauge(label: "zooreg_log_queued_entries", factory: factory)
        logAvailable = CoreMetrics.Gauge(label: "zooreg_log_available", factory: factory)
    }

    /// Creates every metric in `registry`, with ``durationBuckets`` for the histograms.
    public init(registry: PrometheusCollectorRegistry) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        self.init(factory: factory)
    }

    /// The `op` label of an operation: its name in ``OpCode`` (create, getData, createTTL, …).
    public static func label(of op: OpCode) -> String {
        String(describing: op)
    }

    /// Counts one answered request and records how long it took.
    public func recordRequest(_ op: OpCode?, duration: Duration) {
        let counter = op.flatMap { requests[$0] } ?? unknownRequests
        let timer = op.flatMap { requestDurations[$0] } ?? unknownRequestDurations
        counter.increment()
        timer.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// Records one fsync of the transaction log.
    public func recordFsync(duration: Duration) {
        fsyncDuration.recordNanoseconds(Self.nanoseconds(duration))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
    }
}
