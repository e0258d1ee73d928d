import Testing

@testable import CoordinationServer

/// Each test rebuilds, as a snapshot, the state Apache ZooKeeper 3.8.0 was in when a capture was taken, and
/// expects the renderer to produce the captured bytes.
@Suite struct FourLetterWordRendererTests {
    static let zookeeperVersion = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"
    static let session1: Int64 = 0x1000_00ed_e4a0_000
    static let session2: Int64 = 0x1000_00ed_e4a0_001

    static func baseSnapshot() -> ServerStatusSnapshot {
        var configuration = ConfigurationReport(
            clientPort: 21810,
            dataDir: "/tmp/zkref4lw/data/version-2",
            dataLogDir: "/tmp/zkref4lw/data/version-2",
            tickTime: 2000,
            maxClientCnxns: 60,
            minSessionTimeout: 4000,
            maxSessionTimeout: 40000
        )
        configuration.dataDirSize = 67_109_337
        configuration.dataLogSize = 67_109_337
        var snapshot = ServerStatusSnapshot(version: zookeeperVersion, configuration: configuration)
        snapshot.aliveConnectionCount = 3
        snapshot.lastProcessedZxid = 6
        snapshot.nodeCount = 9
        return snapshot
    }

    func render(_ word: FourLetterWord, _ snapshot: ServerStatusSnapshot) -> String {
        FourLetterWordRenderer.render(word, snapshot: snapshot, whitelisted: true)
    }

    @Test func srvr() {
        var s = Self.baseSnapshot()
        s.requestLatency = LatencySummary(min: 0, max: 11, count: 16, total: 39)  // 2.4375
        s.packetsReceived = 19
        s.packetsSent = 18
        #expect(render(.srvr, s) == ZooKeeper380Capture.srvr)
    }

    @Test func srvrOfAFreshServer() {
        var s = Self.baseSnapshot()
        s.packetsReceived = 1
        s.aliveConnectionCount = 1
        s.lastProcessedZxid = 0
        s.nodeCount = 5
        #expect(render(.srvr, s) == ZooKeeper380Capture.freshSrvr)
    }

    @Test func stat() {
        var s = Self.baseSnapshot()
        s.requestLatency = LatencySummary(min: 0, max: 4, count: 117, total: 80)  // 0.68376… → 0.6838
        s.packetsReceived = 128
        s.packetsSent = 125
        s.connections = [
            ConnectionStatus(remoteAddress: "127.0.0.1", remotePort: 54214, packetsReceived: 72, packetsSent: 72,
                             sessionId: Self.session1),
            ConnectionStatus(remoteAddress: "127.0.0.1", remotePort: 54222, packetsReceived: 47, packetsSent: 47,
                             sessionId: Self.session2),
            ConnectionStatus(remoteAddress: "127.0.0.1", remotePort: 46794, interestOps: 0, packetsReceived: 1),
        ]
        #expect(render(.stat, s) == ZooKeeper380Capture.stat)
    }

    static let consConnections = [
        ConnectionStatus(
            remoteAddress: "127.0.0.1", remotePort: 54214, packetsReceived: 72, packetsSent: 72, sessionId: session1,
            lastOperation: "PING", establishedAt: 1_795_623_872_931, sessionTimeout: 10000, lastCxid: nil,
            lastZxid: 6, lastResponseTime: 1_237_705, lastLatency: 1, minLatency: 0, averageLatency: 0, maxLatency: 4),
        ConnectionStatus(
            remoteAddress: "127.0.0.1", remotePort: 54222, packetsReceived: 47, packetsSent: 47, sessionId: session2,
            lastOperation: "PING", establishedAt: 1_795_623_872_994, sessionTimeout: 15000, lastCxid: nil,
            lastZxid: 6, lastResponseTime: 1_235_829, lastLatency: 1, minLatency: 0, averageLatency: 0, maxLatency: 4),
        ConnectionStatus(remoteAddress: "127.0.0.1", remotePort: 46770, interestOps: 0, packetsReceived: 1),
    ]

    @Test func cons() {
        var s = Self.baseSnapshot()
        s.connections = Self.consConnections
        #expect(render(.cons, s) == ZooKeeper380Capture.cons)
    }

    @Test func consWithLastCxidBeforeAReset() {
        var s = Self.baseSnapshot()
        s.connections = [
            ConnectionStatus(
                remoteAddress: "127.0.0.1", remotePort: 54214, packetsReceived: 14, packetsSent: 14,
                sessionId: Self.session1, lastOperation: "PING", establishedAt: 1_795_623_872_931,
                sessionTimeout: 10000, lastCxid: 10, lastZxid: 6, lastResponseTime: 1_007_388, lastLatency: 1,
                minLatency: 0, averageLatency: 2, maxLatency: 11)
        ]
        let expected =
            " /127.0.0.1:54214[1](queued=0,recved=14,sent=14,sid=0x100000ede4a0000,lop=PING,est=1795623872931,"
            + "to=10000,lcxid=0xa,lzxid=0x6,lresp=1007388,llat=1,minlat=0,avglat=2,maxlat=11)\n\n"
        #expect(render(.cons, s) == expected)
    }

    @Test func consAfterAResetAndOverIPv6() {
        var s = Self.baseSnapshot()
        s.connections = [
            ConnectionStatus(remoteAddress: "::1", remotePort: 4000, interestOps: 5, sessionId: -2, lastZxid: -1)
        ]
        let expected =
            " /[0:0:0:0:0:0:0:1]:4000[5](queued=0,recved=0,sent=0,sid=0xfffffffffffffffe,lop=NA,est=0,to=0,"
            + "lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)\n\n"
        #expect(render(.cons, s) == expected)
    }

    @Test func conf() {
        #expect(render(.conf, Self.baseSnapshot()) == ZooKeeper380Capture.conf)
    }

    @Test func dirs() {
        #expect(render(.dirs, Self.baseSnapshot()) == ZooKeeper380Capture.dirs)
    }

    @Test func envi() {
        var s = Self.baseSnapshot()
        let captured = ZooKeeper380Capture.envi.split(separator: "\n").dropFirst()
        s.environment = captured.map { line in
            let parts = line.split(separator: "=", maxSplits: 1)
            return EnvironmentEntry(key: String(parts[0]), value: String(parts[1]))
        }
        #expect(render(.envi, s) == ZooKeeper380Capture.envi)
    }

    static let watches = [
        Watch(sessionId: session1, path: "/nothere"),
        Watch(sessionId: session2, path: "/app/b"),
        Watch(sessionId: session1, path: "/app/a"),
        Watch(sessionId: session2, path: "/app/a"),
        Watch(sessionId: session1, path: "/app/a"),  // a duplicate: ZooKeeper keeps sets
    ]

    @Test func wchsWchcWchp() {
        var s = Self.baseSnapshot()
        s.dataWatches = Self.watches
        #expect(render(.wchs, s) == ZooKeeper380Capture.wchs)
        #expect(render(.wchp, s) == ZooKeeper380Capture.wchp)
        // wchc groups by session in order of first appearance; ZooKeeper's hash order put /nothere first.
        #expect(render(.wchc, s) == ZooKeeper380Capture.wchc)
    }

    @Test func dump() {
        var s = Self.baseSnapshot()
        s.sessionExpiryBuckets = [
            SessionExpiryBucket(expirationTime: 1_795_624_115_000, sessionIds: []),
            SessionExpiryBucket(expirationTime: 1_795_624_117_000, sessionIds: []),
            SessionExpiryBucket(expirationTime: 1_795_624_121_000, sessionIds: []),
            SessionExpiryBucket(expirationTime: 1_795_624_123_000, sessionIds: [Self.session1]),
            SessionExpiryBucket(expirationTime: 1_795_624_127_000, sessionIds: [Self.session2]),
        ]
        s.ephemeralsBySession = [SessionEphemerals(sessionId: Self.session1, paths: ["/app/eph"])]
        s.connectionExpiryBuckets = [
            ConnectionExpiryBucket(expirationTime: 1_795_624_115_000, connections: []),
            ConnectionExpiryBucket(
                expirationTime: 1_795_624_125_000,
                connections: [
                    .init(remoteAddress: "127.0.0.1", remotePort: 46782, sessionId: 0),
                    .init(remoteAddress: "127.0.0.1", remotePort: 54214, sessionId: Self.session1),
                ]),
            ConnectionExpiryBucket(
                expirationTime: 1_795_624_135_000,
                connections: [.init(remoteAddress: "127.0.0.1", remotePort: 54222, sessionId: Self.session2)]),
        ]
        #expect(render(.dump, s) == ZooKeeper380Capture.dump)

        // Without a connection expiry queue the section is empty, as with ZooKeeper's Netty factory.
        s.connectionExpiryBuckets = nil
        #expect(render(.dump, s).hasSuffix("\t/app/eph\nConnections dump:\n"))
    }

    static func monitoredSnapshot() -> ServerStatusSnapshot {
        var s = baseSnapshot()
        s.ephemeralsCount = 1
        s.requestLatency = LatencySummary(min: 0, max: 11, count: 17, total: 40)  // 2.3529
        s.globalSessionCount = 2
        s.packetsSent = 21
        s.packetsReceived = 22
        s.totalWatchCount = 5
        s.maxFileDescriptorCount = 20000
        s.openFileDescriptorCount = 42
        s.approximateDataSize = 173
        s.uptimeMilliseconds = 31876
        s.counters.recordResponseSize(188)
        s.counters.recordResponseSize(16)
        s.counters.bytesReceivedCount = 664
        s.counters.connectionRequestCount = 2
        s.counters.responseBytes = 637
        s.fsyncTime = LatencySummary(min: 0, max: 1, count: 6, total: 1)
        s.snapshotTime = LatencySummary(min: 1, max: 1, count: 1, total: 1)
        s.databaseInitTime = LatencySummary(min: 21, max: 21, count: 1, total: 21)
        s.updateLatency = LatencySummary(
            min: 1, max: 11, count: 6, total: 27, percentiles: .init(p50: 2, p95: 11, p99: 11, p999: 11))
        s.readLatency = LatencySummary(
            min: 0, max: 5, count: 11, total: 13, percentiles: .init(p50: 1, p95: 5, p99: 5, p999: 5))
        return s
    }

    @Test func mntrLinesAreTheCapturedLinesInTheCapturedOrder() {
        let ours = render(.mntr, Self.monitoredSnapshot()).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(ours.last == "")  // ends with a line break
        let lines = ours.dropLast()
        let captured = ZooKeeper380Capture.mntr.split(separator: "\n")
        // Every line we print is a line ZooKeeper printed, and in the same relative order.
        var position = captured.startIndex
        for line in lines {
            guard let found = captured[position...].firstIndex(of: line) else {
                Issue.record("line not in ZooKeeper's output (or out of order): \(line)")
                continue
            }
            position = found + 1
        }
        #expect(lines.count == 65)
        #expect(lines.first == "zk_version\t\(Self.zookeeperVersion)")
        #expect(lines.dropFirst().first == "zk_server_state\tstandalone")
        // Prometheus exporters and telegraf read these.
        for key in [
            "zk_avg_latency", "zk_max_latency", "zk_min_latency", "zk_packets_received", "zk_packets_sent",
            "zk_num_alive_connections", "zk_outstanding_requests", "zk_znode_count", "zk_watch_count",
            "zk_ephemerals_count", "zk_approximate_data_size", "zk_open_file_descriptor_count",
            "zk_max_file_descriptor_count",
        ] {
            #expect(lines.contains { $0.hasPrefix(key + "\t") }, "missing \(key)")
        }
    }

    @Test func mntrOfAFreshServer() {
        let text = render(.mntr, Self.baseSnapshot())
        #expect(text.contains("zk_avg_latency\t0.0\n"))
        #expect(text.contains("zk_min_latency\t0\n"))
        #expect(text.contains("zk_last_client_response_size\t-1\n"))
        #expect(text.contains("zk_avg_fsynctime\t0.0\n"))
        #expect(!text.contains("zk_p50_readlatency"))
        #expect(!text.contains("file_descriptor"))
    }

    @Test func oneLineWords() {
        var s = Self.baseSnapshot()
        #expect(render(.ruok, s) == "imok")
        #expect(render(.isro, s) == "rw")
        #expect(render(.gtmk, s) == "306")
        s.traceMask = 0x132
        #expect(render(.stmk, s) == "306")
        #expect(render(.crst, s) == "Connection stats reset.\n")
        #expect(render(.srst, s) == "Server stats reset.\n")
        #expect(render(.hash, s) == "")
        s.digestLog = [ZxidDigest(zxid: 0x1_0000_0002, digest: 1_234_567_890)]
        #expect(render(.hash, s) == "100000002: 1234567890\n")
        s.isReadOnly = true
        #expect(render(.isro, s) == "ro")
    }

    @Test func notWhitelisted() {
        let s = Self.baseSnapshot()
        #expect(
            FourLetterWordRenderer.render(.ruok, snapshot: s, whitelisted: false) == ZooKeeper380Capture.freshRuok)
        for word in FourLetterWord.allCases {
            #expect(
                word.render(snapshot: s, whitelisted: false)
                    == "\(word.rawValue) is not executed because it is not in the whitelist.\n")
        }
    }

    @Test func notServing() {
        var s = Self.baseSnapshot()
        s.isServing = false
        let message = "This ZooKeeper instance is not currently serving requests\n"
        for word in [FourLetterWord.srvr, .stat, .cons, .conf, .dirs, .dump, .wchs, .wchc, .wchp, .mntr, .crst, .srst] {
            #expect(render(word, s) == message, "\(word)")
        }
        #expect(render(.hash, s) == "This ZooKeeper instance is not currently serving requests")
        #expect(render(.isro, s) == "null")
        #expect(render(.ruok, s) == "imok")
    }

    @Test func readOnlyLine() {
        var s = Self.baseSnapshot()
        s.isReadOnly = true
        #expect(render(.srvr, s).split(separator: "\n")[1] == "READ-ONLY mode; serving only read-only clients")
    }

    @Test func lastOperationNames() {
        #expect(ConnectionStatus.lastOperationName(opCode: 11) == "PING")
        #expect(ConnectionStatus.lastOperationName(opCode: 15) == "CREA")
        #expect(ConnectionStatus.lastOperationName(opCode: 104) == "GETACN")
        #expect(ConnectionStatus.lastOperationName(opCode: 999) == "NA")
    }

    @Test func versionStringKeepsAZooKeeperVersionFirst() {
        let version = ServerVersion.full(zooregVersion: "0.1.0", buildDate: "2025-06-01 12:00 UTC")
        #expect(version == "3.8.0-zooreg-0.1.0, built on 2025-06-01 12:00 UTC")
        // kazoo's server_version(): the leading digits and dots.
        #expect(version.prefix { $0.isNumber || $0 == "." } == "3.8.0")
    }

    @Test func currentEnvironmentHasZooKeepersKeys() {
        let entries = EnvironmentEntry.current(zookeeperVersion: "3.8.0-zooreg-test, built on unknown")
        let capturedKeys = ZooKeeper380Capture.envi.split(separator: "\n").dropFirst().map {
            String($0.split(separator: "=", maxSplits: 1)[0])
        }
        #expect(entries.map(\.key) == capturedKeys)
        #expect(entries[0].value == "3.8.0-zooreg-test, built on unknown")
        #expect(entries.first { $0.key == "java.version" }?.value.hasPrefix("Swift 6.") == true)
        #if os(Linux)
        #expect(entries.first { $0.key == "os.name" }?.value == "Linux")
        #endif
    }
}

@Suite struct JavaFormatTests {
    @Test(arguments: [
        (0.0, "0.0"), (1.0, "1.0"), (2.4375, "2.4375"), (0.1667, "0.1667"), (21.0, "21.0"), (99.75, "99.75"),
        (0.001, "0.001"), (0.0001, "1.0E-4"), (0.0005, "5.0E-4"), (1_234_567.5, "1234567.5"),
        (10_000_000.0, "1.0E7"), (12_345_678.9, "1.23456789E7"), (-3.5, "-3.5"), (100.0, "100.0"),
    ])
    func javaDouble(value: Double, expected: String) {
        #expect(JavaFormat.double(value) == expected)
    }

    @Test func averageRoundsHalfUpToFourDecimals() {
        #expect(JavaFormat.average(total: 39, count: 16) == 2.4375)
        #expect(JavaFormat.average(total: 40, count: 17) == 2.3529)
        #expect(JavaFormat.average(total: 1, count: 32) == 0.0313)
        #expect(JavaFormat.average(total: 5, count: 0) == 0)
    }

    @Test func hex() {
        #expect(JavaFormat.hex(0) == "0")
        #expect(JavaFormat.hex(0x1_0000_0006) == "100000006")
        #expect(JavaFormat.hex(-1) == "ffffffffffffffff")
    }

    @Test func dates() {
        #expect(JavaFormat.date(epochMilliseconds: 1_795_624_115_000) == "Wed Nov 25 16:28:35 UTC 2026")
        #expect(JavaFormat.date(epochMilliseconds: 0) == "Thu Jan 01 00:00:00 UTC 1970")
        #expect(JavaFormat.date(epochMilliseconds: 951_782_400_999) == "Tue Feb 29 00:00:00 UTC 2000")
        #expect(JavaFormat.date(epochMilliseconds: -1) == "Wed Dec 31 23:59:59 UTC 1969")
    }

    @Test func addresses() {
        #expect(JavaFormat.socketAddress(host: "10.0.0.1", port: 2181) == "/10.0.0.1:2181")
        #expect(JavaFormat.socketAddress(host: "::1", port: 2181) == "/[0:0:0:0:0:0:0:1]:2181")
        #expect(JavaFormat.inetAddress("fe80::1:0:0:ab%eth0") == "fe80:0:0:0:1:0:0:ab%eth0")
        #expect(JavaFormat.inetAddress("::ffff:192.168.1.2") == "192.168.1.2")
        #expect(JavaFormat.inetAddress("2001:db8:0:0:0:0:2:1") == "2001:db8:0:0:0:0:2:1")
        #expect(JavaFormat.inetAddress("::") == "0:0:0:0:0:0:0:0")
        #expect(JavaFormat.inetAddress("not:an::address::") == "not:an::address::")
    }
}
