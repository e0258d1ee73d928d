import ReplicatedLog
import ZooKeeperWire
/// Everything the four-letter words print, gathered by the server at one moment. The renderer only formats
/// it. Times are milliseconds, sizes bytes. Lists are printed in the order given (ZooKeeper prints hash-map
/// order; sorting them makes output stable).
public struct ServerStatusSnapshot: Sendable, Equatable {
    /// False while the server is starting or stopping: most words then print ZooKeeper's
    /// "This ZooKeeper instance is not currently serving requests".
    public var isServing: Bool = true

    /// The full version, e.g. ``ServerVersion/full(zooregVersion:buildDate:)``. Printed by srvr, stat, mntr
    /// and envi (`zookeeper.version`).
    public var version: String

    /// `Mode:` of srvr/stat and `zk_server_state` of mntr: `standalone` for zooreg.
    public var serverState: String = "standalone"
    /// An ensemble replica's shared log (nil when standalone): mntr's `zk_log_*` lines.
    public var sharedLog: SharedLogStatus?

    /// True for a read-only server (isro prints `ro`, srvr adds a READ-ONLY line). Always false for zooreg.
    public var isReadOnly: Bool = false

    // MARK: Server statistics (srvr, stat, mntr)

    /// Latency of every request answered since start (or the last srst), measured from arrival to response.
    public var requestLatency: LatencySummary = LatencySummary()
    /// Packets received, counting a four-letter word as one. ZooKeeper counts the asking connection's word
    /// before it renders, so a fresh server's srvr shows `Received: 1`.
    public var packetsReceived: Int64 = 0
    /// Packets sent.
    public var packetsSent: Int64 = 0
    /// Open client connections, counting the connection asking: srvr's `Connections:` and
    /// `zk_num_alive_connections`. Should equal `connections.count` when ``connections`` is filled.
    public var aliveConnectionCount: Int = 0
    /// Requests received and not answered yet.
    public var outstandingRequests: Int64 = 0
    /// The zxid of the last transaction applied.
    public var lastProcessedZxid: Int64 = 0
    /// Nodes in the tree as ZooKeeper counts them: its DataTree stores the root under both "" and "/", so a
    /// fresh tree (/, /zookeeper, /zookeeper/quota, /zookeeper/config) counts 5. zooreg should add 1 to its
    /// own node count to print the same number.
    public var nodeCount: Int = 0

    // MARK: Connections (cons, stat, dump)

    /// Every client connection, including the one asking (which has session 0 and interest ops 0).
    public var connections: [ConnectionStatus] = []

    // MARK: Watches (wchs, wchc, wchp, mntr)

    /// Data watches, those set by getData and exists: the only ones ZooKeeper's wchs, wchc and wchp list
    /// (its DataTree dumps `dataWatches` only; child watches are left out).
    public var dataWatches: [Watch] = []
    /// wchs's figures when the list above was not built (the server computes only what the asked word prints):
    /// sessions with a data watch, paths with one, and data watches in all.
    public var dataWatchSummary: WatchSummary? = nil
    /// All watches, data and child: `zk_watch_count`.
    public var totalWatchCount: Int = 0

    // MARK: Sessions and ephemerals (dump, mntr)

    /// Sessions by expiry bucket, in ascending time order, empty buckets included as ZooKeeper keeps them.
    public var sessionExpiryBuckets: [SessionExpiryBucket] = []
    /// Connections by expiry bucket, for dump's "Connections dump" section; `nil` prints no section body,
    /// as ZooKeeper's Netty connection factory does.
    public var connectionExpiryBuckets: [ConnectionExpiryBucket]? = nil
    /// Ephemeral nodes by owning session (dump).
    public var ephemeralsBySession: [SessionEphemerals] = []
    /// The number of ephemeral nodes (`zk_ephemerals_count`).
    public var ephemeralsCount: Int = 0
    /// Open sessions (`zk_global_sessions`).
    public var globalSessionCount: Int = 0
    /// The sum of the lengths of every node's path and data (`zk_approximate_data_size`).
    public var approximateDataSize: Int64 = 0

    // MARK: Process (mntr)

    /// Milliseconds since the server started (`zk_uptime`).
    public var uptimeMilliseconds: Int64 = 0
    /// Open file descriptors of the process, when known (`zk_open_file_descriptor_count`; omitted if nil).
    public var openFileDescriptorCount: Int64? = nil
    /// The file descriptor limit, when known (`zk_max_file_descriptor_count`; omitted if nil).
    public var maxFileDescriptorCount: Int64? = nil

    /// Counters and sizes printed by mntr.
    public var counters: ServerCounters = ServerCounters()

    /// Timings printed by mntr as `zk_avg_/min_/max_/cnt_/sum_<name>` (and percentiles when given).
    public var fsyncTime: LatencySummary = LatencySummary()
    public var snapshotTime: LatencySummary = LatencySummary()
    public var databaseInitTime: LatencySummary = LatencySummary()
    public var updateLatency: LatencySummary = LatencySummary()
    public var readLatency: LatencySummary = LatencySummary()

    // MARK: Configuration, environment, tracing (conf, dirs, envi, gtmk, stmk, hash)

    public var configuration: ConfigurationReport
    /// envi's lines in order; see ``EnvironmentEntry/current(zookeeperVersion:)``.
    public var environment: [EnvironmentEntry] = []
    /// The trace mask printed by gtmk, and by stmk after the server sets it (ZooKeeper's default is 306).
    public var traceMask: Int64 = 306
    /// The digest log printed by hash.
    public var digestLog: [ZxidDigest] = []

    public init(version: String, configuration: ConfigurationReport) {
        self.version = version
        self.configuration = configuration
    }
}

/// Minimum, maximum, count and total of a timing, as ZooKeeper's `AvgMinMaxCounter` keeps them.
public struct LatencySummary: Sendable, Equatable {
    /// The smallest sample; printed as 0 when there is none.
    public var min: Int64
    public var max: Int64
    public var count: Int64
    public var total: Int64
    /// p50, p95, p99 and p999, printed by mntr for updatelatency and readlatency when present.
    public var percentiles: Percentiles?

    public struct Percentiles: Sendable, Equatable {
        public var p50: Int64
        public var p95: Int64
        public var p99: Int64
        public var p999: Int64

        public init(p50: Int64, p95: Int64, p99: Int64, p999: Int64) {
            self.p50 = p50
            self.p95 = p95
            self.p99 = p99
            self.p999 = p999
        }
    }

    public init(min: Int64 = 0, max: Int64 = 0, count: Int64 = 0, total: Int64 = 0, percentiles: Percentiles? = nil) {
        self.min = min
        self.max = max
        self.count = count
        self.total = total
        self.percentiles = percentiles
    }

    /// Adds one sample.
    public mutating func record(_ sample: Int64) {
        min = count == 0 ? sample : Swift.min(min, sample)
        max = count == 0 ? sample : Swift.max(max, sample)
        count += 1
        total += sample
    }

    /// total / count rounded half-up to 4 decimals, 0 without samples (`AvgMinMaxCounter.getAvg()`).
    public var average: Double {
        JavaFormat.average(total: total, count: count)
    }
}

/// One client connection as cons, stat and dump print it (`ServerCnxn.dumpConnectionInfo`).
public struct ConnectionStatus: Sendable, Equatable {
    /// The peer's IP address as text; IPv6 is printed the Java way (`::1` as `0:0:0:0:0:0:0:1`, in brackets).
    public var remoteAddress: String
    public var remotePort: Int
    /// NIO interest ops printed in hex: 1 = reading, 4 = writing, 5 = both, 0 = neither (the four-letter-word
    /// connection itself).
    public var interestOps: Int
    /// Requests of this connection not answered yet.
    public var queuedRequests: Int64
    public var packetsReceived: Int64
    public var packetsSent: Int64
    /// 0 until the connect request is answered; the long form prints the session fields only when not 0.
    public var sessionId: Int64
    /// The last operation answered, in ZooKeeper's abbreviation (``lastOperationName(opCode:)``); "NA" at
    /// first.
    public var lastOperation: String
    /// When the connection was accepted, in milliseconds since the Unix epoch.
    public var establishedAt: Int64
    /// The negotiated session timeout.
    public var sessionTimeout: Int
    /// The xid of the last answered request with a non-negative xid; nil prints nothing (ZooKeeper's -1).
    public var lastCxid: Int64?
    /// The zxid of the last reply (-1 after a reset, printed as 0xffffffffffffffff like ZooKeeper).
    public var lastZxid: Int64
    /// When the last response was sent, in ZooKeeper's elapsed-time clock (a monotonic millisecond count).
    public var lastResponseTime: Int64
    public var lastLatency: Int64
    public var minLatency: Int64
    /// Printed as integer division total / count, as ZooKeeper does per connection.
    public var averageLatency: Int64
    public var maxLatency: Int64

    public init(
        remoteAddress: String,
        remotePort: Int,
        interestOps: Int = 1,
        queuedRequests: Int64 = 0,
        packetsReceived: Int64 = 0,
        packetsSent: Int64 = 0,
        sessionId: Int64 = 0,
        lastOperation: String = "NA",
        establishedAt: Int64 = 0,
        sessionTimeout: Int = 0,
        lastCxid: Int64? = nil,
        lastZxid: Int64 = -1,
        lastResponseTime: Int64 = 0,
        lastLatency: Int64 = 0,
        minLatency: Int64 = 0,
        averageLatency: Int64 = 0,
        maxLatency: Int64 = 0
    ) {
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.interestOps = interestOps
        self.queuedRequests = queuedRequests
        self.packetsReceived = packetsReceived
        self.packetsSent = packetsSent
        self.sessionId = sessionId
        self.lastOperation = lastOperation
        self.establishedAt = establishedAt
        self.sessionTimeout = sessionTimeout
        self.lastCxid = lastCxid
        self.lastZxid = lastZxid
        self.lastResponseTime = lastResponseTime
        self.lastLatency = lastLatency
        self.minLatency = minLatency
        self.averageLatency = averageLatency
        self.maxLatency = maxLatency
    }

    /// ZooKeeper's abbreviation of an operation for `lop=` (FinalRequestProcessor), by opcode; "NA" for
    /// anything else.
    public static func lastOperationName(opCode: Int32) -> String {
        OpCode(rawValue: opCode)?.shortName ?? "NA"
    }
}

/// One data watch: a session watching a path.
/// wchs's three figures.
public struct WatchSummary: Sendable, Equatable {
    public var sessions: Int
    public var paths: Int
    public var total: Int

    public init(sessions: Int, paths: Int, total: Int) {
        self.sessions = sessions
        self.paths = paths
        self.total = total
    }
}

public struct Watch: Sendable, Equatable, Hashable {
    public var sessionId: Int64
    public var path: String

    public init(sessionId: Int64, path: String) {
        self.sessionId = sessionId
        self.path = path
    }
}

/// Sessions that expire at the same tick.
public struct SessionExpiryBucket: Sendable, Equatable {
    /// The expiry time, in milliseconds since the Unix epoch (dump prints it as a UTC date).
    public var expirationTime: Int64
    public var sessionIds: [Int64]

    public init(expirationTime: Int64, sessionIds: [Int64]) {
        self.expirationTime = expirationTime
        self.sessionIds = sessionIds
    }
}

/// Connections that expire at the same tick.
public struct ConnectionExpiryBucket: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var remoteAddress: String
        public var remotePort: Int
        public var sessionId: Int64

        public init(remoteAddress: String, remotePort: Int, sessionId: Int64) {
            self.remoteAddress = remoteAddress
            self.remotePort = remotePort
            self.sessionId = sessionId
        }
    }

    /// The expiry time, in milliseconds since the Unix epoch.
    public var expirationTime: Int64
    public var connections: [Entry]

    public init(expirationTime: Int64, connections: [Entry]) {
        self.expirationTime = expirationTime
        self.connections = connections
    }
}

/// The ephemeral nodes of one session.
public struct SessionEphemerals: Sendable, Equatable {
    public var sessionId: Int64
    public var paths: [String]

    public init(sessionId: Int64, paths: [String]) {
        self.sessionId = sessionId
        self.paths = paths
    }
}

/// Counters and response sizes printed by mntr.
public struct ServerCounters: Sendable, Equatable {
    /// Failed authentications (`zk_auth_failed_count`).
    public var authFailedCount: Int64 = 0
    /// Bytes read from clients (`zk_bytes_received_count`).
    public var bytesReceivedCount: Int64 = 0
    /// Connect requests received (`zk_connection_request_count`).
    public var connectionRequestCount: Int64 = 0
    /// Connections refused, e.g. over maxClientCnxns (`zk_connection_rejected`).
    public var connectionRejectedCount: Int64 = 0
    /// Requests refused for being larger than jute.maxbuffer (`zk_large_requests_rejected`).
    public var largeRequestsRejectedCount: Int64 = 0
    /// Connect requests that failed (`zk_unsuccessful_handshake`).
    public var unsuccessfulHandshakeCount: Int64 = 0
    /// Snapshots taken (`zk_snap_count`).
    public var snapshotCount: Int64 = 0
    /// Sessions expired by the tracker (`zk_stale_sessions_expired`).
    public var expiredSessionCount: Int64 = 0
    /// Requests refused by throttling (`zk_throttled_ops`).
    public var throttledOpsCount: Int64 = 0
    /// Bytes of responses written (`zk_response_bytes`).
    public var responseBytes: Int64 = 0
    /// Size of the last, smallest and largest response; -1 before the first, as ZooKeeper's BufferStats.
    public var lastClientResponseSize: Int64 = -1
    public var minClientResponseSize: Int64 = -1
    public var maxClientResponseSize: Int64 = -1

    public init() {}

    /// Records the size of one response (BufferStats.setLastBufferSize).
    public mutating func recordResponseSize(_ size: Int64) {
        lastClientResponseSize = size
        if minClientResponseSize == -1 || size < minClientResponseSize { minClientResponseSize = size }
        if size > maxClientResponseSize { maxClientResponseSize = size }
    }
}

/// What conf and dirs print (`ZooKeeperServer.dumpConf`).
public struct ConfigurationReport: Sendable, Equatable {
    public var clientPort: Int
    /// `secureClientPort` as configured; -1 without TLS.
    public var secureClientPort: Int = -1
    /// The snapshot directory as ZooKeeper prints it (absolute; ZooKeeper's ends in `/version-2`).
    public var dataDir: String
    /// Bytes in the files under the directory printed as `dataDirSize` and dirs' `datadir_size`.
    public var dataDirSize: Int64 = 0
    /// The transaction log directory.
    public var dataLogDir: String
    /// Bytes printed as `dataLogSize` and dirs' `logdir_size`.
    public var dataLogSize: Int64 = 0
    public var tickTime: Int
    public var maxClientCnxns: Int
    public var minSessionTimeout: Int
    public var maxSessionTimeout: Int
    public var clientPortListenBacklog: Int
    /// 0 for a standalone server.
    public var serverId: Int64 = 0

    public init(
        clientPort: Int,
        dataDir: String,
        dataLogDir: String,
        tickTime: Int,
        maxClientCnxns: Int,
        minSessionTimeout: Int,
        maxSessionTimeout: Int,
        clientPortListenBacklog: Int = -1
    ) {
        self.clientPort = clientPort
        self.dataDir = dataDir
        self.dataLogDir = dataLogDir
        self.tickTime = tickTime
        self.maxClientCnxns = maxClientCnxns
        self.minSessionTimeout = minSessionTimeout
        self.maxSessionTimeout = maxSessionTimeout
        self.clientPortListenBacklog = clientPortListenBacklog
    }

    /// The report of a configuration. `clientPort` may differ from the configured one (port 0 binds to a free
    /// port); pass the bound port. The directories are the configured ones; set them to the real snapshot and
    /// log directories if the persistence layer uses subdirectories.
    public init(_ configuration: ServerConfiguration, boundClientPort: Int? = nil) {
        let range = configuration.sessionTimeoutRange
        self.init(
            clientPort: boundClientPort ?? configuration.clientPort,
            dataDir: configuration.dataDir,
            dataLogDir: configuration.transactionLogDir,
            tickTime: configuration.tickTime,
            maxClientCnxns: configuration.maxClientCnxns,
            minSessionTimeout: range.lowerBound,
            maxSessionTimeout: range.upperBound,
            clientPortListenBacklog: configuration.clientPortListenBacklog
        )
        self.secureClientPort = configuration.tls.secureClientPort ?? -1
    }
}

/// One `key=value` line of envi.
public struct EnvironmentEntry: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// One entry of the digest log (hash).
public struct ZxidDigest: Sendable, Equatable {
    public var zxid: Int64
    public var digest: Int64

    public init(zxid: Int64, digest: Int64) {
        self.zxid = zxid
        self.digest = digest
    }
}
