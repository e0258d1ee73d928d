/// Everything the standalone server is configured with, read from a zoo.cfg-compatible file
/// (``parse(contents:fileName:overrides:)``, ``load(contentsOf:overrides:currentDirectory:)``), from
/// command-line flags (``Overrides``), or both.
///
/// Defaults are Apache ZooKeeper 3.8's defaults for a key that is absent from zoo.cfg, except where a property
/// says otherwise. Times are in milliseconds unless the name says otherwise, as in zoo.cfg.
///
/// ``embedded`` holds the defaults of `zooreg serve` run without a configuration file: it binds to 127.0.0.1
/// and keeps its data in `./data`.
public struct ServerConfiguration: Sendable, Equatable {
    // MARK: Storage

    /// `dataDir`: where snapshots are kept, and the transaction log too unless ``dataLogDir`` is set. Required.
    /// A relative path is resolved against the process's working directory, as ZooKeeper does
    /// (see ``resolvingRelativePaths(against:)``).
    public var dataDir: String

    /// `dataLogDir`: where the transaction log is kept; `nil` means ``dataDir``. See ``transactionLogDir``.
    public var dataLogDir: String?

    /// The directory of the transaction log: ``dataLogDir`` if set, else ``dataDir``.
    public var transactionLogDir: String { dataLogDir ?? dataDir }

    // MARK: Client connections

    /// `clientPort` (default 2181). 0 asks the system for a free port (in ZooKeeper 0 means "no plaintext port").
    public var clientPort: Int = 2181

    /// `clientPortAddress` (default `0.0.0.0`, all IPv4 interfaces, as in ZooKeeper).
    /// ``embedded`` uses `127.0.0.1`.
    public var clientPortAddress: String = "0.0.0.0"

    /// Whether the plaintext `clientPort` listener runs. False only when a zoo.cfg sets `secureClientPort` and no
    /// `clientPort` (and no flag sets the port): TLS only, as in ZooKeeper.
    public var plaintextClientPortEnabled: Bool = true

    /// TLS on `secureClientPort` (`ssl.*` keys); see ``ServerTLSSettings``.
    public var tls = ServerTLSSettings()

    /// SASL DIGEST-MD5 authentication (`jaasLoginConfig`, `sasl.serverconfig`, `superUser`); see
    /// ``ServerSASLSettings``.
    public var sasl = ServerSASLSettings()

    /// `clientPortListenBacklog` (default -1: the system's default backlog).
    public var clientPortListenBacklog: Int = -1

    /// `maxClientCnxns`: connections allowed from one IP address (default 60; 0 = unlimited).
    public var maxClientCnxns: Int = 60

    /// `jute.maxbuffer`: the largest frame accepted, in bytes (default 0xfffff). ZooKeeper reads this as the
    /// `jute.maxbuffer` system property; zooreg accepts it as a key (decimal or `0x` hexadecimal).
    public var juteMaxBuffer: Int = 0xfffff

    /// `globalOutstandingLimit`: requests in flight in the server (received, not yet answered) before it stops
    /// reading from the connections that have requests in flight (default 1000), as ZooKeeper does.
    public var globalOutstandingLimit: Int = 1000

    /// `clientOutputHighWaterMark`: bytes a connection may have waiting to be sent before the server stops reading
    /// its requests, until half of that is sent (default 1 MiB). zooreg's own key.
    public var clientOutputHighWaterMark: Int = 1 << 20

    /// `clientOutputCloseLimit`: bytes (watch events, held replies) queued for a connection after it passed the
    /// high-water mark before the server closes it with a log line (default 16 MiB). zooreg's own key.
    public var clientOutputCloseLimit: Int = 16 << 20

    // MARK: Time and sessions

    /// `tickTime`: the basic time unit, in ms (default 3000 as in ZooKeeper when the key is absent; the sample
    /// zoo.cfg and ``embedded`` use 2000). Session expiry is checked once per tick.
    public var tickTime: Int = 3000

    /// `minSessionTimeout` in ms; `nil` means 2 × ``tickTime``. See ``sessionTimeoutRange``.
    public var minSessionTimeout: Int?

    /// `maxSessionTimeout` in ms; `nil` means 20 × ``tickTime``. See ``sessionTimeoutRange``.
    public var maxSessionTimeout: Int?

    /// The timeout a client asks for is clamped into this range.
    public var sessionTimeoutRange: ClosedRange<Int> {
        let lower = minSessionTimeout ?? 2 * tickTime
        let upper = maxSessionTimeout ?? 20 * tickTime
        return lower...max(lower, upper)
    }

    // MARK: Persistence

    /// `snapCount`: transactions logged between two snapshots (default 100000; at least 2). ZooKeeper
    /// randomises the exact point within the second half of this interval.
    public var snapCount: Int = 100_000

    /// `preAllocSize`: accepted and checked for compatibility (ZooKeeper pads its log files by this many KiB); zooreg
    /// does not preallocate its log files.
    public var preAllocSizeKB: Int = 65536

    /// `forceSync`: fsync the log before acknowledging writes (default yes). `forceSync=no` trades durability
    /// for speed, for tests only.
    public var forceSync: Bool = true

    /// `commitPacing`: when several sessions write, space the log's fsyncs by a few commit times (at most 3 ms) so
    /// that each covers more writes (default yes; see `CommitPacer`). `commitPacing=no` submits every batch at once.
    package var commitPacing = CommitPacingSettings()

    /// `syncEnabled`: accepted for compatibility; in ZooKeeper it only affects observers, so it has no effect in
    /// a standalone server.
    public var syncEnabled: Bool = true

    /// `autopurge.snapRetainCount`: snapshots (and the logs they need) kept by autopurge (default 3; a smaller
    /// value is raised to 3, as ZooKeeper does).
    public var autopurgeSnapRetainCount: Int = 3

    /// `autopurge.purgeInterval`: hours between purges (default 0 = autopurge off).
    public var autopurgePurgeIntervalHours: Int = 0

    // MARK: Features

    /// `4lw.commands.whitelist`: the four-letter words answered (default `srvr` only; `*` = all). `srvr` is
    /// always answered, as in ZooKeeper (zkServer.sh status depends on it); use ``isEnabled(_:)``.
    public var fourLetterWordWhitelist: Set<FourLetterWord> = [.srvr]

    /// `DigestAuthenticationProvider.superDigest`: `user:base64(sha1(user:password))` of the superuser, if any.
    public var superDigest: String?

    /// `extendedTypesEnabled`: allow TTL nodes (default false).
    public var extendedTypesEnabled: Bool = false

    /// `reconfigEnabled` (default false). Dynamic reconfiguration needs a quorum, which zooreg does not have.
    public var reconfigEnabled: Bool = false

    /// `standaloneEnabled` (default true): accepted for compatibility; zooreg always runs standalone.
    public var standaloneEnabled: Bool = true

    /// `znode.container.checkIntervalMs`: how often empty containers and expired TTL nodes are looked for
    /// (default 60000).
    public var containerCheckIntervalMs: Int = 60_000

    /// `znode.container.maxPerMinute`: the most containers deleted per minute (default 10000).
    public var containerMaxPerMinute: Int = 10_000

    /// `znode.container.maxNeverUsedIntervalMs`: delete a container that never had children after this long
    /// (default 0 = never).
    public var containerMaxNeverUsedIntervalMs: Int = 0

    // MARK: Metrics

    /// `metricsProvider.className`: accepted and recorded; zooreg always serves its own Prometheus endpoint.
    public var metricsProviderClassName: String?

    /// `metricsProvider.httpHost`: the address of the Prometheus endpoint (default `127.0.0.1`: metrics say much
    /// about a deployment, so they stay on loopback unless configured otherwise; ZooKeeper's
    /// PrometheusMetricsProvider defaults to `0.0.0.0`).
    public var metricsHTTPHost: String = "127.0.0.1"

    /// `metricsProvider.httpPort`: the port of the Prometheus endpoint, `GET /metrics` (default 7000, as
    /// ZooKeeper's PrometheusMetricsProvider; 0 = no endpoint).
    public var metricsHTTPPort: Int = 7000

    // MARK: AdminServer and console

    /// `admin.enableServer`: serve ZooKeeper's AdminServer commands (`GET /commands/<name>`, JSON) and the web
    /// console over HTTP (default true, as ZooKeeper). A port that cannot be bound is logged and the server
    /// keeps serving its clients, as ZooKeeper does.
    public var adminServerEnabled: Bool = true
    /// `admin.serverAddress`: the AdminServer's address (default `127.0.0.1`; ZooKeeper's is `0.0.0.0`).
    public var adminServerAddress: String = "127.0.0.1"
    /// `admin.serverPort`: the AdminServer's port (default 8080, as ZooKeeper; 0 takes a free one).
    public var adminServerPort: Int = 8080
    /// `admin.commandURL`: where the commands are served (default `/commands`).
    public var adminCommandURL: String = "/commands"
    /// `console.enabled`: serve the web console at `/` on the AdminServer's port (default true).
    public var consoleEnabled: Bool = true
    /// `console.editEnabled`: let the console create, change and delete znodes (default false). Its writes carry
    /// the digest credentials the operator gives, and on a non-loopback address it accepts none without them.
    public var consoleEditEnabled: Bool = false

    // MARK: LAN (mDNS)

    /// `mdns.enabled`: publish this host's registry instances on the LAN through avahi-daemon (default true; the
    /// server keeps serving, with one warning, where there is no daemon). Read by `zooreg serve`, which runs the
    /// publisher beside the server.
    public var mdnsEnabled: Bool = true

    /// `mdns.services`: the registry services to publish, comma-separated (default empty: all).
    public var mdnsServices: [String] = []

    /// `mdns.interfaces`: the network interfaces to publish on, comma-separated names (default empty: all).
    public var mdnsInterfaces: [String] = []

    /// `mdns.protocols`: `any` (default), `ipv4` or `ipv6`: which IP protocols the entries are published over.
    public var mdnsProtocols: String = "any"

    /// `mdns.basePath`: the registry's base path that the publisher follows (default `/services`).
    public var mdnsBasePath: String = "/services"

    /// `ensemble.etcd`: the etcd endpoints of the ensemble's shared log, comma-separated (`http://host:port`).
    /// Set, the server is a replica of an ensemble; empty (the default), it is standalone.
    public var ensembleEtcd: [String] = []
    /// `ensemble.cluster`: the ensemble's name, the prefix of its keys in etcd (default `zooreg`).
    public var ensembleCluster: String = "zooreg"
    /// `ensemble.replicaId`: this replica's id, 1-127, unique in the ensemble (the top byte of its session ids).
    public var ensembleReplicaId: Int?
    /// `ensemble.unavailableCloseMs`: how long the log may be unreachable before the replica closes its client
    /// connections so that they move to a healthy replica (default 2000).
    public var ensembleUnavailableCloseMs: Int = 2000
    /// `ensemble.snapshotPort`: where the replica serves its newest snapshot to peers that bootstrap
    /// (`GET /snapshot`, on `clientPortAddress`); 0 (the default) takes any free port. The address is published in etcd.
    public var ensembleSnapshotPort: Int = 0
    /// `ensemble.compactionIntervalMs`: how often a replica deletes the log's batches that every live replica's
    /// snapshot covers and compacts etcd there (default 30000).
    public var ensembleCompactionIntervalMs: Int = 30_000
    /// `ensemble.advertiseHost`: the host peers fetch snapshots from; default `clientPortAddress`, or this
    /// machine's host name when that is a wildcard address.
    public var ensembleAdvertiseHost: String?

    /// Whether this server is a replica of an ensemble.
    public var isEnsembleReplica: Bool { !ensembleEtcd.isEmpty }

    // MARK: Accepted without effect

    /// `initLimit`, `syncLimit`: quorum timing, accepted so stock zoo.cfg files load; no effect standalone.
    public var initLimit: Int?
    public var syncLimit: Int?

    /// Things the operator should know that are not errors: values raised to a minimum, keys set twice, keys
    /// that have no effect (e.g. `admin.serverPort`: zooreg has no AdminServer). Worth logging at startup.
    public var warnings: [String] = []

    /// A configuration with ZooKeeper's defaults and the given data directory.
    public init(dataDir: String) {
        self.dataDir = dataDir
    }

    /// The defaults of `zooreg serve` without a configuration file: data in `./data`, clients on
    /// 127.0.0.1:2181, tickTime 2000, metrics on 127.0.0.1:7000.
    public static var embedded: ServerConfiguration {
        var configuration = ServerConfiguration(dataDir: "data")
        configuration.clientPortAddress = "127.0.0.1"
        configuration.tickTime = 2000
        configuration.metricsHTTPHost = "127.0.0.1"
        return configuration
    }

    /// Whether a four-letter word is answered. `srvr` always is.
    public func isEnabled(_ word: FourLetterWord) -> Bool {
        word == .srvr || fourLetterWordWhitelist.contains(word)
    }

    /// Whether the Prometheus endpoint is on (``metricsHTTPPort`` is not 0).
    public var metricsEnabled: Bool { metricsHTTPPort != 0 }
}
