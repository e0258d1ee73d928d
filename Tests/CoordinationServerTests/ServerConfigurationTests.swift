import Testing

@testable import CoordinationServer
@testable import ServerConfig

@Suite struct JavaPropertiesReaderTests {
    @Test func separatorsCommentsAndBlanks() throws {
        let text = """
            # a comment
               ! another comment
            a=1
            b = 2
            c:3
            d : 4
            e 5
            \tf\t=\t6\t
            g
            h=
            i=x=y

            """
        let entries = try JavaPropertiesReader.entries(of: text)
        #expect(entries.map(\.key) == ["a", "b", "c", "d", "e", "f", "g", "h", "i"])
        // The reader keeps trailing blanks (java.util.Properties does); ZooKeeper trims afterwards.
        #expect(entries.map(\.value) == ["1", "2", "3", "4", "5", "6\t", "", "", "x=y"])
        #expect(entries.map(\.line) == [3, 4, 5, 6, 7, 8, 9, 10, 11])
    }

    @Test func continuationLinesAndEscapes() throws {
        let text = "list=a,\\\n    b,\\\r\n  c\nkey\\ with\\ spaces=v\\tx\\u0041\\\\\nodd=ends\\\\\nnext=1"
        let entries = try JavaPropertiesReader.entries(of: text)
        #expect(entries.count == 4)
        #expect(entries[0] == JavaPropertiesEntry(key: "list", value: "a,b,c", line: 1))
        #expect(entries[1] == JavaPropertiesEntry(key: "key with spaces", value: "v\txA\\", line: 4))
        // An even number of trailing backslashes does not continue the line.
        #expect(entries[2] == JavaPropertiesEntry(key: "odd", value: "ends\\", line: 5))
        #expect(entries[3].line == 6)
    }

    @Test func commentLinesDoNotContinue() throws {
        let entries = try JavaPropertiesReader.entries(of: "# comment \\\na=1\r\nb=2\rc=3")
        #expect(entries.map(\.key) == ["a", "b", "c"])
        #expect(entries.map(\.line) == [2, 3, 4])
    }

    @Test func malformedUnicodeEscape() {
        #expect(throws: JavaPropertiesReader.MalformedLine(line: 2, message: "malformed \\uxxxx escape")) {
            try JavaPropertiesReader.entries(of: "a=1\nb=\\u12G4")
        }
    }
}

@Suite struct ServerConfigurationTests {
    func parse(_ text: String, overrides: ServerConfiguration.Overrides = .init()) throws -> ServerConfiguration {
        try ServerConfiguration.parse(contents: text, fileName: "zoo.cfg", overrides: overrides)
    }

    func error(_ text: String, overrides: ServerConfiguration.Overrides = .init()) -> ConfigurationError? {
        do {
            _ = try ServerConfiguration.parse(contents: text, fileName: "zoo.cfg", overrides: overrides)
            return nil
        } catch {
            return error
        }
    }

    @Test func zookeeperDefaults() throws {
        let c = try parse("dataDir=/var/lib/zookeeper\n")
        #expect(c.dataDir == "/var/lib/zookeeper")
        #expect(c.dataLogDir == nil)
        #expect(c.transactionLogDir == "/var/lib/zookeeper")
        #expect(c.clientPort == 2181)
        #expect(c.clientPortAddress == "0.0.0.0")
        #expect(c.tickTime == 3000)
        #expect(c.sessionTimeoutRange == 6000...60000)
        #expect(c.maxClientCnxns == 60)
        #expect(c.autopurgeSnapRetainCount == 3)
        #expect(c.autopurgePurgeIntervalHours == 0)
        #expect(c.fourLetterWordWhitelist == [.srvr])
        #expect(c.juteMaxBuffer == 0xfffff)
        #expect(c.globalOutstandingLimit == 1000)
        #expect(c.snapCount == 100_000)
        #expect(c.preAllocSizeKB == 65536)
        #expect(c.forceSync)
        #expect(c.commitPacing == CommitPacer.Settings())
        #expect(c.commitPacing.delayFactor > 0)
        #expect(c.superDigest == nil)
        #expect(!c.extendedTypesEnabled)
        #expect(c.containerCheckIntervalMs == 60_000)
        #expect(c.containerMaxPerMinute == 10_000)
        // No metricsProvider key in the file: no endpoint, as in ZooKeeper.
        #expect(c.metricsHTTPPort == 0)
        #expect(c.metricsHTTPHost == "127.0.0.1")  // loopback unless configured (ZooKeeper: 0.0.0.0)
        #expect(!c.metricsEnabled)
        #expect(c.warnings.isEmpty)
        #expect(c.isEnabled(.srvr))
        #expect(!c.isEnabled(.ruok))
        // The words that show sessions, paths, addresses and the environment are off unless whitelisted.
        for word in [FourLetterWord.dump, .envi, .cons, .conf, .wchc, .wchp] { #expect(!c.isEnabled(word)) }
    }

    @Test func embeddedDefaults() {
        let c = ServerConfiguration.embedded
        #expect(c.dataDir == "data")
        #expect(c.clientPortAddress == "127.0.0.1")
        #expect(c.clientPort == 2181)
        #expect(c.tickTime == 2000)
        #expect(c.sessionTimeoutRange == 4000...40000)
        #expect(c.metricsHTTPHost == "127.0.0.1")
    }

    @Test func everyKey() throws {
        let text = """
            # The sample of the ZooKeeper distribution, plus every key zooreg reads.
            tickTime=2000
            initLimit=10
            syncLimit=5
            dataDir=/tmp/zk/data
            dataLogDir = /tmp/zk/log
            clientPort:2182
            clientPortAddress=127.0.0.1
            clientPortListenBacklog=128
            minSessionTimeout=3000
            maxSessionTimeout=50000
            maxClientCnxns=0
            autopurge.snapRetainCount=5
            autopurge.purgeInterval=24
            4lw.commands.whitelist=ruok, srvr ,mntr,,conf
            jute.maxbuffer=0x150000
            globalOutstandingLimit=500
            snapCount=5000
            preAllocSize=1024
            forceSync=no
            commitPacing=no
            syncEnabled=true
            DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
            extendedTypesEnabled=true
            znode.container.checkIntervalMs=1000
            znode.container.maxPerMinute=100
            znode.container.maxNeverUsedIntervalMs=5000
            admin.enableServer=false
            admin.serverAddress=0.0.0.0
            admin.serverPort=9090
            admin.commandURL=/zk/commands
            admin.idleTimeout=30000
            console.enabled=false
            console.editEnabled=true
            localSessionsEnabled=false
            localSessionsUpgradingEnabled=false
            metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
            metricsProvider.httpHost=127.0.0.1
            metricsProvider.httpPort=7001
            metricsProvider.exportJvmInfo=true
            standaloneEnabled=true
            reconfigEnabled=false
            clientOutputHighWaterMark=65536
            clientOutputCloseLimit=1048576
            mdns.enabled=false
            mdns.services=billing, api
            mdns.interfaces=eth0
            mdns.protocols=IPv4
            mdns.basePath=/registry
            ensemble.etcd=http://10.0.0.1:2379,10.0.0.2:2379
            ensemble.cluster=prod-1
            ensemble.replicaId=3
            ensemble.unavailableCloseMs=1500
            ensemble.snapshotPort=2890
            ensemble.advertiseHost=zk3.example
            ensemble.compactionIntervalMs=5000
            """
        let c = try parse(text)
        #expect(c.tickTime == 2000)
        #expect(c.initLimit == 10)
        #expect(c.syncLimit == 5)
        #expect(c.dataDir == "/tmp/zk/data")
        #expect(c.transactionLogDir == "/tmp/zk/log")
        #expect(c.clientPort == 2182)
        #expect(c.clientPortAddress == "127.0.0.1")
        #expect(c.clientPortListenBacklog == 128)
        #expect(c.sessionTimeoutRange == 3000...50000)
        #expect(c.maxClientCnxns == 0)
        #expect(c.autopurgeSnapRetainCount == 5)
        #expect(c.autopurgePurgeIntervalHours == 24)
        #expect(c.fourLetterWordWhitelist == [.ruok, .srvr, .mntr, .conf])
        #expect(c.juteMaxBuffer == 0x150000)
        #expect(c.globalOutstandingLimit == 500)
        #expect(c.snapCount == 5000)
        #expect(c.preAllocSizeKB == 1024)
        #expect(!c.forceSync)
        #expect(c.commitPacing.delayFactor == 0)
        #expect(c.superDigest == "super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        #expect(c.extendedTypesEnabled)
        #expect(c.containerCheckIntervalMs == 1000)
        #expect(c.containerMaxPerMinute == 100)
        #expect(c.containerMaxNeverUsedIntervalMs == 5000)
        #expect(c.metricsProviderClassName == "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider")
        #expect(c.metricsHTTPHost == "127.0.0.1")
        #expect(c.metricsHTTPPort == 7001)
        #expect(c.clientOutputHighWaterMark == 65536)
        #expect(c.clientOutputCloseLimit == 1_048_576)
        #expect(!c.mdnsEnabled)
        #expect(c.mdnsServices == ["billing", "api"])
        #expect(c.mdnsInterfaces == ["eth0"])
        #expect(c.mdnsProtocols == "ipv4")
        #expect(c.mdnsBasePath == "/registry")
        #expect(c.ensembleEtcd == ["http://10.0.0.1:2379", "10.0.0.2:2379"])
        #expect(c.ensembleCluster == "prod-1")
        #expect(c.ensembleReplicaId == 3)
        #expect(c.ensembleUnavailableCloseMs == 1500)
        #expect(c.ensembleSnapshotPort == 2890)
        #expect(c.ensembleAdvertiseHost == "zk3.example")
        #expect(c.ensembleCompactionIntervalMs == 5000)
        #expect(c.isEnsembleReplica)
        #expect(c.warnings.isEmpty)
        #expect(!c.adminServerEnabled)
        #expect(c.adminServerAddress == "0.0.0.0")
        #expect(c.adminServerPort == 9090)
        #expect(c.adminCommandURL == "/zk/commands")
        #expect(!c.consoleEnabled)
        #expect(c.consoleEditEnabled)
        // Every key of ConfigurationKeys.accepted appears in this file except the TLS keys
        // (TLSConfigurationTests) and the SASL keys (SASLServerTests).
        let keys = try JavaPropertiesReader.entries(of: text).map(\.key)
        #expect(
            Set(ConfigurationKeys.accepted).subtracting(keys).subtracting(TLSConfigurationKeys.accepted)
                .subtracting(SASLConfigurationKeys.accepted) == [])
    }

    @Test func ensembleKeysRejectBadValuesAndHalfConfigurations() throws {
        for bad in [
            "ensemble.etcd=etcd1", "ensemble.etcd=http://h:99999", "ensemble.etcd=http://h:1,,http://g:2",
            "ensemble.cluster=a/b", "ensemble.cluster=", "ensemble.replicaId=0", "ensemble.replicaId=128",
            "ensemble.unavailableCloseMs=5", "ensemble.snapshotPort=70000", "ensemble.advertiseHost=a b",
            "ensemble.compactionIntervalMs=1",
            // One request must fit one etcd append.
            "ensemble.etcd=http://127.0.0.1:2379\nensemble.replicaId=1\njute.maxbuffer=2000000",
            // A replica needs both the endpoints and its id.
            "ensemble.etcd=http://127.0.0.1:2379", "ensemble.replicaId=2",
        ] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try parse("dataDir=/d\n\(bad)\n") }
        }
        let c = try parse("dataDir=/d\n")
        #expect(!c.isEnsembleReplica, "standalone by default")
    }

    @Test func lanAndOutputKeysRejectBadValues() throws {
        for bad in [
            "mdns.enabled=yes", "mdns.protocols=ipx", "mdns.services=a,,b", "mdns.interfaces=eth 0",
            "mdns.basePath=services", "mdns.basePath=/services/", "clientOutputHighWaterMark=10",
            "clientOutputCloseLimit=lots",
        ] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try parse("dataDir=/d\n\(bad)\n") }
        }
        let defaults = try parse("dataDir=/d\n")
        #expect(defaults.mdnsEnabled && defaults.mdnsServices.isEmpty && defaults.mdnsProtocols == "any")
        #expect(defaults.clientOutputHighWaterMark == 1 << 20 && defaults.clientOutputCloseLimit == 16 << 20)
        let overridden = try ServerConfiguration.Overrides(mdnsEnabled: false, mdnsServices: "x", mdnsProtocols: "ipv6")
            .apply(to: defaults)
        #expect(!overridden.mdnsEnabled && overridden.mdnsServices == ["x"] && overridden.mdnsProtocols == "ipv6")
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.Overrides(mdnsProtocols: "both-ways").apply(to: defaults)
        }
    }

    @Test func whitelistStarAndEmpty() throws {
        #expect(try parse("dataDir=/d\n4lw.commands.whitelist=*\n").fourLetterWordWhitelist == Set(FourLetterWord.allCases))
        #expect(try parse("dataDir=/d\n4lw.commands.whitelist=stat, *\n").fourLetterWordWhitelist.count == 18)
        let empty = try parse("dataDir=/d\n4lw.commands.whitelist=\n")
        #expect(empty.fourLetterWordWhitelist.isEmpty)
        #expect(empty.isEnabled(.srvr))
    }

    @Test func unknownKeyNamesFileLineAndKey() {
        let e = error("dataDir=/d\n\n# comment\nclientPrt=2181\n")
        #expect(e == ConfigurationError(.unknownKey("clientPrt"), source: .file("zoo.cfg", line: 4)))
        #expect(e?.description == "zoo.cfg:4: unknown configuration key 'clientPrt'")
    }

    @Test func quorumServersAreRejected() {
        let e = error("dataDir=/d\nserver.1=zk1:2888:3888\n")
        #expect(e?.source == .file("zoo.cfg", line: 2))
        #expect(
            e?.description
                == "zoo.cfg:2: configuration key 'server.1' is not supported: ZooKeeper's quorum protocol is not used; "
                + "a zooreg ensemble replicates through etcd (remove the server.N lines and set ensemble.etcd, "
                + "ensemble.cluster and ensemble.replicaId)")
        #expect(error("dataDir=/d\nssl.quorum.keyStore.location=/k\n")?.reason
            == .unsupportedKey(
                "ssl.quorum.keyStore.location",
                explanation: "ZooKeeper's quorum protocol is not used; a zooreg ensemble replicates through etcd (remove the quorum settings and set ensemble.etcd, ensemble.cluster and ensemble.replicaId)"))
    }

    @Test func localSessionsAreAcceptedOffAndRefusedOn() throws {
        // kazoo's test harness writes both as false, ZooKeeper's default; true asks for local sessions.
        #expect(error("dataDir=/d\nlocalSessionsEnabled=false\nlocalSessionsUpgradingEnabled=false\n") == nil)
        #expect(error("dataDir=/d\nlocalSessionsEnabled=true\n")?.reason
            == .unsupportedKey(
                "localSessionsEnabled",
                explanation: "local sessions are not supported (only false, ZooKeeper's default, is accepted); every session is global"))
        #expect(error("dataDir=/d\nlocalSessionsUpgradingEnabled=maybe\n")?.reason
            == .invalidValue(key: "localSessionsUpgradingEnabled", value: "maybe", expected: "true or false"))
    }

    @Test(arguments: [
        ("clientPort=abc", "clientPort", "abc", "a port number from 0 to 65535 (0 for any free port)"),
        ("clientPort=70000", "clientPort", "70000", "a port number from 0 to 65535 (0 for any free port)"),
        ("clientPort=21 81", "clientPort", "21 81", "a port number from 0 to 65535 (0 for any free port)"),
        ("tickTime=-1", "tickTime", "-1", "a positive number of milliseconds"),
        ("tickTime=0", "tickTime", "0", "a positive number of milliseconds"),
        ("tickTime=2147483648", "tickTime", "2147483648", "a positive number of milliseconds"),
        ("extendedTypesEnabled=yes", "extendedTypesEnabled", "yes", "true or false"),
        ("forceSync=maybe", "forceSync", "maybe", "yes or no"),
        ("commitPacing=sometimes", "commitPacing", "sometimes", "yes or no"),
        ("jute.maxbuffer=0", "jute.maxbuffer", "0", "a positive number of bytes (decimal, or hexadecimal with 0x)"),
        ("maxClientCnxns=-5", "maxClientCnxns", "-5", "0 (unlimited) or more"),
        ("metricsProvider.httpPort=-1", "metricsProvider.httpPort", "-1",
         "a port number from 0 to 65535 (0 to disable the endpoint)"),
        ("DigestAuthenticationProvider.superDigest=nocolon", "DigestAuthenticationProvider.superDigest", "nocolon",
         "user:base64digest, e.g. super:<base64 of sha1(\"super:password\")>"),
    ])
    func invalidValues(line: String, key: String, value: String, expected: String) {
        let e = error("dataDir=/d\n\(line)\n")
        #expect(e == ConfigurationError(.invalidValue(key: key, value: value, expected: expected), source: .file("zoo.cfg", line: 2)))
    }

    @Test func badWhitelistWordIsNamed() {
        let e = error("dataDir=/d\n4lw.commands.whitelist=ruok, sttat\n")
        guard case .invalidValue(let key, let value, _)? = e?.reason else {
            Issue.record("expected invalidValue, got \(String(describing: e))")
            return
        }
        #expect(key == "4lw.commands.whitelist")
        #expect(value == "sttat")
        #expect(e?.source == .file("zoo.cfg", line: 2))
    }

    @Test func minAboveMaxPointsAtTheLaterLine() throws {
        let e = error("dataDir=/d\nmaxSessionTimeout=5000\ntickTime=2000\nminSessionTimeout=8000\n")
        #expect(
            e == ConfigurationError(
                .inconsistent("minSessionTimeout (8000 ms) must not be larger than maxSessionTimeout (5000 ms)"),
                source: .file("zoo.cfg", line: 4)))
        // Derived from tickTime: min defaults to 2 × tickTime.
        #expect(error("dataDir=/d\ntickTime=2000\nmaxSessionTimeout=3000\n")?.source == .file("zoo.cfg", line: 3))
        // -1 means "the default", as in ZooKeeper.
        #expect(try parse("dataDir=/d\nminSessionTimeout=-1\n").sessionTimeoutRange == 6000...60000)
    }

    @Test func missingDataDir() {
        let e = error("clientPort=2181\n")
        #expect(e?.source == .file("zoo.cfg", line: nil))
        #expect(e?.description == "zoo.cfg: dataDir is not set: set dataDir in the file or pass a data directory flag")
    }

    @Test func warningsForClampedAndIgnoredValues() throws {
        let c = try parse(
            "dataDir=/d\nautopurge.snapRetainCount=1\nsnapCount=1\nadmin.serverPort=8081\nclientPort=1\nclientPort=2\n")
        #expect(c.autopurgeSnapRetainCount == 3)
        #expect(c.snapCount == 2)
        #expect(c.clientPort == 2)
        #expect(c.adminServerPort == 8081)  // admin.* keys take effect: no "has no effect" warning
        #expect(
            c.warnings == [
                "zoo.cfg:2: autopurge.snapRetainCount=1 is below the minimum 3; using 3",
                "zoo.cfg:3: snapCount=1 is below the minimum 2; using 2",
                "zoo.cfg:6: clientPort is set again (also on line 5); the last value wins",
            ])
    }

    @Test func adminKeysDefaultsAndBadValues() throws {
        let d = try parse("dataDir=/d\n")
        #expect(d.adminServerEnabled)
        #expect(d.adminServerAddress == "127.0.0.1")
        #expect(d.adminServerPort == 8080)
        #expect(d.adminCommandURL == "/commands")
        #expect(try parse("dataDir=/d\nadmin.serverPort=0\n").adminServerPort == 0)
        #expect(try parse("dataDir=/d\nadmin.serverPort=65535\n").adminServerPort == 65535)
        #expect(try parse("dataDir=/d\nadmin.enableServer=true\n").adminServerEnabled)
        for bad in [
            "admin.serverPort=65536", "admin.serverPort=-1", "admin.serverPort=http", "admin.enableServer=maybe",
            "admin.commandURL=commands", "admin.commandURL=/", "admin.commandURL=/commands/",
            "admin.commandURL=/commands?x=1",
        ] {
            let e = error("dataDir=/d\n\(bad)\n")
            #expect(e != nil, "\(bad) should be rejected")
            #expect(e?.source == .file("zoo.cfg", line: 2), "\(bad)")
            let key = String(bad.prefix { $0 != "=" })
            #expect(e?.description.contains(key) == true, "\(bad): \(e?.description ?? "")")
        }
    }

    @Test func juteMaxBufferReadsLikeIntegerDecode() throws {
        #expect(try parse("dataDir=/d\njute.maxbuffer=4194304\n").juteMaxBuffer == 4_194_304)
        #expect(try parse("dataDir=/d\njute.maxbuffer=0XFFFFF\n").juteMaxBuffer == 0xfffff)
        #expect(try parse("dataDir=/d\njute.maxbuffer=#ff\n").juteMaxBuffer == 255)
        #expect(try parse("dataDir=/d\njute.maxbuffer=010\n").juteMaxBuffer == 8)
    }

    @Test func overridesWinAndSatisfyDataDir() throws {
        let overrides = ServerConfiguration.Overrides(
            dataDir: "flagdata", clientPort: 0, tickTime: 1000, fourLetterWordWhitelist: [.ruok], metricsHTTPPort: 0)
        let c = try parse("clientPort=2181\ntickTime=2000\n", overrides: overrides)
        #expect(c.dataDir == "flagdata")
        #expect(c.clientPort == 0)
        #expect(c.tickTime == 1000)
        #expect(c.sessionTimeoutRange == 2000...20000)
        #expect(c.fourLetterWordWhitelist == [.ruok])
        #expect(!c.metricsEnabled)
    }

    @Test func overrideErrorsComeFromTheCommandLine() {
        #expect(throws: ConfigurationError(
            .invalidValue(
                key: "clientPort", value: "65536", expected: "a port number from 0 to 65535 (0 for any free port)"),
            source: .commandLine
        )) {
            try ServerConfiguration.Overrides(clientPort: 65536).apply(to: .embedded)
        }
        // The file sets max, a flag sets min above it: the error points at the file line involved.
        let e = error("dataDir=/d\nmaxSessionTimeout=5000\n", overrides: .init(minSessionTimeout: 9000))
        #expect(e?.source == .file("zoo.cfg", line: 2))
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration.Overrides(minSessionTimeout: 50000).apply(to: .embedded)
        }
        // Both from flags: the command line is the source.
        let both = error("dataDir=/d\n", overrides: .init(minSessionTimeout: 9000, maxSessionTimeout: 5000))
        #expect(both?.source == .commandLine)
    }

    /// Flags and the file share one validation table: the same value means the same from either.
    @Test func flagsAndTheFileValidateAlike() throws {
        let fromFlag = try ServerConfiguration.Overrides(snapCount: 1, autopurgeSnapRetainCount: 1).apply(to: .embedded)
        let fromFile = try parse("dataDir=/d\nsnapCount=1\nautopurge.snapRetainCount=1\n")
        #expect(fromFlag.snapCount == 2 && fromFile.snapCount == 2)
        #expect(fromFlag.autopurgeSnapRetainCount == 3 && fromFile.autopurgeSnapRetainCount == 3)
        #expect(fromFlag.warnings.contains("command line: snapCount=1 is below the minimum 2; using 2"))
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.Overrides(tickTime: 0).apply(to: .embedded) }
        #expect(throws: ConfigurationError.self) { try parse("dataDir=/d\ntickTime=0\n") }
        let whitelist = try ServerConfiguration.Overrides(fourLetterWordWhitelist: [.ruok, .mntr]).apply(to: .embedded)
        #expect(whitelist.fourLetterWordWhitelist == [.ruok, .mntr])
    }

    @Test func metricsPortMustDifferFromClientPort() {
        let e = error("dataDir=/d\nmetricsProvider.httpPort=7000\nclientPort=7000\n")
        #expect(e?.source == .file("zoo.cfg", line: 3))
        #expect(e?.message.hasPrefix("clientPort and metricsProvider.httpPort are both 7000") == true)
    }

    @Test func relativePathsResolveAgainstTheWorkingDirectory() throws {
        let c = try parse("dataDir=./data\ndataLogDir=logs/../txn\n").resolvingRelativePaths(against: "/srv/zooreg")
        #expect(c.dataDir == "/srv/zooreg/data")
        #expect(c.dataLogDir == "/srv/zooreg/logs/../txn")
        let absolute = try parse("dataDir=/var/lib//zk/\n").resolvingRelativePaths(against: "/srv")
        #expect(absolute.dataDir == "/var/lib/zk")
        let embedded = try ServerConfiguration.resolve(configFile: nil, currentDirectory: "/home/me")
        #expect(embedded.dataDir == "/home/me/data")
    }

    @Test func loadReadsTheFileAndReportsMissingOnes() throws {
        let missing = "/nonexistent-\(UInt64.random(in: 0...UInt64.max))/zoo.cfg"
        #expect(throws: ConfigurationError(.unreadableFile("No such file or directory"), source: .file(missing, line: nil))) {
            try ServerConfiguration.load(contentsOf: missing)
        }
    }

    @Test func fourLetterWordCodes() {
        #expect(FourLetterWord.ruok.code == 0x7275_6f6b)
        #expect(FourLetterWord.srvr.code == 1_936_881_266)
        #expect(FourLetterWord(code: 1_835_955_314) == .mntr)
        #expect(FourLetterWord(code: 45) == nil)
        #expect(FourLetterWord(code: Int32(bitPattern: 0xfff4_fffd)) == nil)
        for word in FourLetterWord.allCases {
            #expect(FourLetterWord(code: word.code) == word)
        }
        #expect(FourLetterWord.allCases.count == 18)
    }
}
