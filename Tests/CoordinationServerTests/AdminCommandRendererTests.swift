import ReplicatedLog
import Testing

@testable import CoordinationServer

/// The AdminServer commands' JSON. Where a test expects exact text, the text was captured from Apache ZooKeeper
/// 3.8.0 (Debian, `curl 127.0.0.1:PORT/commands/<name>`) and the snapshot rebuilds the state it was in.
@Suite struct AdminCommandRendererTests {
    static let zookeeperVersion = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"
    static let session: Int64 = 72_059_908_616_880_129

    static func fresh() -> ServerStatusSnapshot {
        var configuration = ConfigurationReport(
            clientPort: 22181, dataDir: "/tmp/zkadm/data/version-2", dataLogDir: "/tmp/zkadm/data/version-2",
            tickTime: 2000, maxClientCnxns: 60, minSessionTimeout: 4000, maxSessionTimeout: 40000)
        configuration.dataDirSize = 457
        configuration.dataLogSize = 457
        var s = ServerStatusSnapshot(version: zookeeperVersion, configuration: configuration)
        s.nodeCount = 5
        s.uptimeMilliseconds = 727_884
        return s
    }

    /// ZooKeeper after a kazoo session created /a and the ephemeral /a/e and set data watches on /a, /a/e and
    /// (exists) /nope.
    static func withSession() -> ServerStatusSnapshot {
        var s = fresh()
        s.configuration.dataDirSize = 67_109_337
        s.configuration.dataLogSize = 67_109_337
        s.packetsSent = 7
        s.packetsReceived = 7
        s.counters.recordResponseSize(16)
        s.counters.recordResponseSize(89)
        s.counters.recordResponseSize(88)
        s.lastProcessedZxid = 3
        s.requestLatency = LatencySummary(min: 0, max: 10, count: 7, total: 25)
        s.aliveConnectionCount = 1
        s.uptimeMilliseconds = 816_666
        s.nodeCount = 7
        s.connections = [
            ConnectionStatus(
                remoteAddress: "127.0.0.1", remotePort: 55364, interestOps: 1, packetsReceived: 7, packetsSent: 7,
                sessionId: session, lastOperation: "GETD", establishedAt: 1_796_629_300_816, sessionTimeout: 10000,
                lastCxid: 6, lastZxid: 9, lastResponseTime: 36_154_731, maxLatency: 2)
        ]
        s.sessionExpiryBuckets = [SessionExpiryBucket(expirationTime: 36_144_000, sessionIds: [session])]
        s.ephemeralsBySession = [SessionEphemerals(sessionId: session, paths: ["/a/e"])]
        s.dataWatches = ["/a", "/a/e", "/nope"].map { Watch(sessionId: session, path: $0) }
        return s
    }

    func text(_ name: String, _ s: ServerStatusSnapshot, context: AdminCommandContext = .init(), arguments: [String: String] = [:]) -> String {
        AdminCommandRenderer.response(name: name, snapshot: s, context: context, arguments: arguments).text
    }

    // MARK: Exact captures

    @Test func ruokAndResetsAreJustCommandAndError() {
        #expect(text("ruok", Self.fresh()) == "{\n  \"command\" : \"ruok\",\n  \"error\" : null\n}")
        #expect(text("crst", Self.fresh()) == "{\n  \"command\" : \"connection_stat_reset\",\n  \"error\" : null\n}")
        #expect(text("srst", Self.fresh()) == "{\n  \"command\" : \"stat_reset\",\n  \"error\" : null\n}")
        #expect(text("orst", Self.fresh()) == "{\n  \"command\" : \"observer_connection_stat_reset\",\n  \"error\" : null\n}")
    }

    @Test func unknownCommandEchoesTheNameAsked() {
        #expect(text("nosuch", Self.fresh()) == "{\n  \"command\" : \"nosuch\",\n  \"error\" : \"Unknown command: nosuch\"\n}")
        // Case-sensitive, and a trailing slash is part of the name.
        #expect(text("RUOK", Self.fresh()).contains("\"error\" : \"Unknown command: RUOK\""))
        #expect(text("ruok/", Self.fresh()).contains("\"error\" : \"Unknown command: ruok/\""))
        #expect(text("obsm", Self.fresh()).contains("Unknown command: obsm"))
    }

    @Test func failedCommandsPutErrorFirst() {
        #expect(text("leader", Self.fresh()) == "{\n  \"error\" : \"server is not initialized\",\n  \"command\" : \"leader\"\n}")
        #expect(
            text("set_trace_mask", Self.fresh())
                == "{\n  \"error\" : \"setTraceMask requires long traceMask argument\",\n  \"command\" : \"set_trace_mask\"\n}")
        #expect(
            text("stmk", Self.fresh(), arguments: ["traceMask": "abc"])
                == "{\n  \"error\" : \"setTraceMask requires long traceMask argument, got abc\",\n  \"command\" : \"set_trace_mask\"\n}")
    }

    @Test func traceMask() {
        var s = Self.fresh()
        s.traceMask = 42
        #expect(text("gtmk", s) == "{\n  \"tracemask\" : 42,\n  \"command\" : \"get_trace_mask\",\n  \"error\" : null\n}")
        #expect(
            text("set_trace_mask", s, arguments: ["traceMask": "306"])
                == "{\n  \"tracemask\" : 306,\n  \"command\" : \"set_trace_mask\",\n  \"error\" : null\n}")
        #expect(AdminCommandRenderer.traceMask(from: ["traceMask": "-7"]) == .success(-7))
        #expect(AdminCommandRenderer.traceMask(from: ["traceMask": "+7"]) == .success(7))
        #expect(AdminCommandRenderer.traceMask(from: ["traceMask": "9223372036854775807"]) == .success(Int64.max))
        for bad in ["", "9223372036854775808", "0x10", "1.0", " 1", "-", "١"] {
            guard case .failure(let why) = AdminCommandRenderer.traceMask(from: ["traceMask": bad]) else {
                Issue.record("\(bad) accepted")
                continue
            }
            #expect(why.message == "setTraceMask requires long traceMask argument, got \(bad)")
        }
    }

    @Test func configuration() {
        #expect(
            text("conf", Self.fresh()) == """
                {
                  "client_port" : 22181,
                  "data_dir" : "/tmp/zkadm/data/version-2",
                  "data_log_dir" : "/tmp/zkadm/data/version-2",
                  "tick_time" : 2000,
                  "max_client_cnxns" : 60,
                  "min_session_timeout" : 4000,
                  "max_session_timeout" : 40000,
                  "server_id" : 0,
                  "client_port_listen_backlog" : -1,
                  "command" : "configuration",
                  "error" : null
                }
                """)
        #expect(text("config", Self.fresh()) == text("configuration", Self.fresh()))
    }

    @Test func freshServerListsAndMaps() {
        let s = Self.fresh()
        #expect(text("dirs", s) == "{\n  \"datadir_size\" : 457,\n  \"logdir_size\" : 457,\n  \"command\" : \"dirs\",\n  \"error\" : null\n}")
        #expect(
            text("cons", s)
                == "{\n  \"connections\" : [ ],\n  \"secure_connections\" : [ ],\n  \"command\" : \"connections\",\n  \"error\" : null\n}")
        #expect(
            text("dump", s)
                == "{\n  \"expiry_time_to_session_ids\" : { },\n  \"session_id_to_ephemeral_paths\" : { },\n  \"command\" : \"dump\",\n  \"error\" : null\n}")
        #expect(text("hash", s) == "{\n  \"digests\" : [ ],\n  \"command\" : \"hash\",\n  \"error\" : null\n}")
        #expect(text("isro", s) == "{\n  \"read_only\" : false,\n  \"command\" : \"is_read_only\",\n  \"error\" : null\n}")
        #expect(
            text("observers", s)
                == "{\n  \"synced_observers\" : 0,\n  \"observers\" : [ ],\n  \"command\" : \"observers\",\n  \"error\" : null\n}")
        #expect(text("voting_view", s) == "{\n  \"current_config\" : { },\n  \"command\" : \"voting_view\",\n  \"error\" : null\n}")
        #expect(text("zabstate", s) == "{\n  \"voting\" : false,\n  \"zabstate\" : \"\",\n  \"command\" : \"zabstate\",\n  \"error\" : null\n}")
        #expect(
            text("wchs", s)
                == "{\n  \"num_connections\" : 0,\n  \"num_paths\" : 0,\n  \"num_total_watches\" : 0,\n  \"command\" : \"watch_summary\",\n  \"error\" : null\n}")
        #expect(text("wchc", s) == "{\n  \"session_id_to_watched_paths\" : { },\n  \"command\" : \"watches\",\n  \"error\" : null\n}")
        #expect(text("wchp", s) == "{\n  \"path_to_session_ids\" : { },\n  \"command\" : \"watches_by_path\",\n  \"error\" : null\n}")
    }

    @Test func serverStatsOfAFreshServer() {
        #expect(
            text("srvr", Self.fresh()) == """
                {
                  "version" : "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC",
                  "read_only" : false,
                  "server_stats" : {
                    "packets_sent" : 0,
                    "packets_received" : 0,
                    "fsync_threshold_exceed_count" : 0,
                    "client_response_stats" : {
                      "last_buffer_size" : -1,
                      "min_buffer_size" : -1,
                      "max_buffer_size" : -1
                    },
                    "data_dir_size" : 457,
                    "log_dir_size" : 457,
                    "provider_null" : false,
                    "server_state" : "standalone",
                    "last_processed_zxid" : 0,
                    "outstanding_requests" : 0,
                    "avg_latency" : 0.0,
                    "max_latency" : 0,
                    "min_latency" : 0,
                    "num_alive_client_connections" : 0,
                    "uptime" : 727884,
                    "auth_failed_count" : 0,
                    "non_mtlsremote_conn_count" : 0,
                    "non_mtlslocal_conn_count" : 0
                  },
                  "client_response" : {
                    "last_buffer_size" : -1,
                    "min_buffer_size" : -1,
                    "max_buffer_size" : -1
                  },
                  "node_count" : 5,
                  "command" : "server_stats",
                  "error" : null
                }
                """)
    }

    @Test func statsWithASession() {
        #expect(
            text("stat", Self.withSession()) == """
                {
                  "version" : "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC",
                  "read_only" : false,
                  "server_stats" : {
                    "packets_sent" : 7,
                    "packets_received" : 7,
                    "fsync_threshold_exceed_count" : 0,
                    "client_response_stats" : {
                      "last_buffer_size" : 88,
                      "min_buffer_size" : 16,
                      "max_buffer_size" : 89
                    },
                    "data_dir_size" : 67109337,
                    "log_dir_size" : 67109337,
                    "provider_null" : false,
                    "server_state" : "standalone",
                    "last_processed_zxid" : 3,
                    "outstanding_requests" : 0,
                    "avg_latency" : 3.5714,
                    "max_latency" : 10,
                    "min_latency" : 0,
                    "num_alive_client_connections" : 1,
                    "uptime" : 816666,
                    "auth_failed_count" : 0,
                    "non_mtlsremote_conn_count" : 0,
                    "non_mtlslocal_conn_count" : 0
                  },
                  "client_response" : {
                    "last_buffer_size" : 88,
                    "min_buffer_size" : 16,
                    "max_buffer_size" : 89
                  },
                  "node_count" : 7,
                  "connections" : [ {
                    "remote_socket_address" : "127.0.0.1:55364",
                    "interest_ops" : 1,
                    "outstanding_requests" : 0,
                    "packets_received" : 7,
                    "packets_sent" : 7
                  } ],
                  "secure_connections" : [ ],
                  "command" : "stats",
                  "error" : null
                }
                """)
    }

    @Test func connectionsWithASession() {
        #expect(
            text("connections", Self.withSession()) == """
                {
                  "connections" : [ {
                    "remote_socket_address" : "127.0.0.1:55364",
                    "interest_ops" : 1,
                    "outstanding_requests" : 0,
                    "packets_received" : 7,
                    "packets_sent" : 7,
                    "session_id" : 72059908616880129,
                    "last_operation" : "GETD",
                    "established" : 1796629300816,
                    "session_timeout" : 10000,
                    "last_cxid" : 6,
                    "last_zxid" : 9,
                    "last_response_time" : 36154731,
                    "last_latency" : 0,
                    "min_latency" : 0,
                    "avg_latency" : 0,
                    "max_latency" : 2
                  } ],
                  "secure_connections" : [ ],
                  "command" : "connections",
                  "error" : null
                }
                """)
    }

    @Test func connectionWithoutSessionAndIPv6() {
        var s = Self.fresh()
        s.connections = [ConnectionStatus(remoteAddress: "::1", remotePort: 4000, interestOps: 0)]
        let json = AdminCommandRenderer.render(.connections, snapshot: s)
        guard case .array(let list)? = json["connections"], let first = list.first else {
            Issue.record("no connections list")
            return
        }
        #expect(first["remote_socket_address"] == .string("[0:0:0:0:0:0:0:1]:4000"))
        #expect(first["session_id"] == .int(0))
        #expect(first["last_cxid"] == .int(-1))
        #expect(first["last_zxid"] == .int(-1))
        #expect(first.keys.count == 16)
    }

    @Test func dumpAndWatchesWithASession() {
        let s = Self.withSession()
        #expect(
            text("dump", s) == """
                {
                  "expiry_time_to_session_ids" : {
                    "36144000" : [ 72059908616880129 ]
                  },
                  "session_id_to_ephemeral_paths" : {
                    "72059908616880129" : [ "/a/e" ]
                  },
                  "command" : "dump",
                  "error" : null
                }
                """)
        #expect(
            text("wchc", s) == """
                {
                  "session_id_to_watched_paths" : {
                    "72059908616880129" : [ "/a", "/a/e", "/nope" ]
                  },
                  "command" : "watches",
                  "error" : null
                }
                """)
        #expect(
            text("wchp", s) == """
                {
                  "path_to_session_ids" : {
                    "/a" : [ 72059908616880129 ],
                    "/a/e" : [ 72059908616880129 ],
                    "/nope" : [ 72059908616880129 ]
                  },
                  "command" : "watches_by_path",
                  "error" : null
                }
                """)
        #expect(
            text("wchs", s) == """
                {
                  "num_connections" : 1,
                  "num_paths" : 3,
                  "num_total_watches" : 3,
                  "command" : "watch_summary",
                  "error" : null
                }
                """)
    }

    @Test func watchesAreSetsAndSummaryUsesPrecomputedFigures() {
        var s = Self.fresh()
        s.dataWatches = [Watch(sessionId: 2, path: "/x"), Watch(sessionId: 1, path: "/x"), Watch(sessionId: 2, path: "/x")]
        let byPath = AdminCommandRenderer.render(.watchesByPath, snapshot: s)
        #expect(byPath["path_to_session_ids"] == .object([.init("/x", .array([.int(2), .int(1)]))]))
        let summary = AdminCommandRenderer.render(.watchSummary, snapshot: s)
        #expect(summary["num_connections"] == .int(2))
        #expect(summary["num_total_watches"] == .int(2))
        s.dataWatches = []
        s.dataWatchSummary = WatchSummary(sessions: 4, paths: 5, total: 6)
        let precomputed = AdminCommandRenderer.render(.watchSummary, snapshot: s)
        #expect(precomputed.keys == ["num_connections", "num_paths", "num_total_watches", "command", "error"])
        #expect(precomputed["num_paths"] == .int(5))
        #expect(precomputed["num_total_watches"] == .int(6))
    }

    // MARK: Keys and types

    @Test func monitorHasMntrFiguresWithJSONTypes() {
        var s = Self.withSession()
        s.ephemeralsCount = 1
        s.totalWatchCount = 4
        s.globalSessionCount = 1
        s.approximateDataSize = 51
        s.openFileDescriptorCount = 46
        s.maxFileDescriptorCount = 20000
        s.updateLatency = LatencySummary(min: 2, max: 10, count: 3, total: 21, percentiles: .init(p50: 9, p95: 10, p99: 10, p999: 10))
        let json = AdminCommandRenderer.render(.monitor, snapshot: s)
        let keys = json.keys
        #expect(Array(keys.prefix(8)) == [
            "version", "server_state", "ephemerals_count", "num_alive_connections", "avg_latency", "outstanding_requests",
            "znode_count", "global_sessions",
        ])
        #expect(Array(keys.suffix(2)) == ["command", "error"])
        #expect(json["version"] == .string(Self.zookeeperVersion))
        #expect(json["server_state"] == .string("standalone"))
        #expect(json["znode_count"] == .int(7))
        #expect(json["watch_count"] == .int(4))
        #expect(json["avg_latency"] == .double(3.5714))
        #expect(json["connection_drop_probability"] == .double(0))
        #expect(json["avg_updatelatency"] == .double(7))
        #expect(json["p999_updatelatency"] == .int(10))
        #expect(json["p50_readlatency"] == nil)  // no percentiles given
        #expect(json["max_file_descriptor_count"] == .int(20000))
        // Every key is a mntr line of the four-letter word, without zk_.
        let mntr = FourLetterWordRenderer.render(.mntr, snapshot: s, whitelisted: true)
        let lines = mntr.split(separator: "\n").map { String($0.split(separator: "\t")[0].dropFirst(3)) }
        #expect(Array(keys.dropLast(2)) == lines)
        for key in keys.dropLast(2) {
            switch json[key] {
            case .string?: #expect(["version", "server_state"].contains(key))
            case .double?: #expect(key.hasPrefix("avg_") || key == "connection_drop_probability", "\(key)")
            case .int?: #expect(!key.hasPrefix("avg_"), "\(key)")
            default: Issue.record("\(key) has an unexpected type")
            }
        }
    }

    @Test func monitorOfAnEnsembleReplicaHasLogFigures() {
        var s = Self.fresh()
        s.serverState = "follower"
        s.sharedLog = SharedLogStatus(
            available: true, knownRevision: 10, deliveredRevision: 9, appendsInFlight: 1, queuedEntries: 2,
            appendedBatches: 3, appendedEntries: 4, appendRetries: 0, liveReplicas: 3, endpoint: "e")
        let json = AdminCommandRenderer.render(.monitor, snapshot: s)
        #expect(json["server_state"] == .string("follower"))
        #expect(json["log_lag"] == .int(1))
        #expect(json["synced_replicas"] == .int(3))
        let leader = AdminCommandRenderer.render(.leader, snapshot: s)
        #expect(leader.keys == ["is_leader", "leader_id", "leader_ip", "command", "error"])
        #expect(leader["error"] == .null)
    }

    @Test func environmentSystemPropertiesSnapshotAndInitialConfiguration() {
        var s = Self.fresh()
        s.environment = [EnvironmentEntry(key: "zookeeper.version", value: "v"), EnvironmentEntry(key: "host.name", value: "h")]
        let env = AdminCommandRenderer.render(.environment, snapshot: s)
        #expect(env.keys == ["zookeeper.version", "host.name", "command", "error"])
        #expect(text("env", s) == text("envi", s))

        let context = AdminCommandContext(
            initialConfiguration: "tickTime=2000\nclientPort=1\n",
            lastSnapshot: .init(zxid: 0x1a, timestampSeconds: 1_796_628_463),
            systemProperties: ["user.name": "root", "file.separator": "/", "line.separator": "\n"])
        let sysp = AdminCommandRenderer.render(.systemProperties, snapshot: s, context: context)
        #expect(sysp.keys == ["file.separator", "line.separator", "user.name", "command", "error"])
        #expect(text("sysp", s, context: context).contains("\"line.separator\" : \"\\n\""))
        #expect(
            text("lsnp", s, context: context)
                == "{\n  \"zxid\" : \"1a\",\n  \"timestamp\" : 1796628463,\n  \"command\" : \"last_snapshot\",\n  \"error\" : null\n}")
        #expect(
            text("last_snapshot", s)
                == "{\n  \"zxid\" : \"ffffffffffffffff\",\n  \"timestamp\" : -1,\n  \"command\" : \"last_snapshot\",\n  \"error\" : null\n}")
        #expect(
            text("icfg", s, context: context)
                == "{\n  \"initial_configuration\" : \"tickTime=2000\\nclientPort=1\\n\",\n  \"command\" : \"initial_configuration\",\n  \"error\" : null\n}")
    }

    @Test func notServing() {
        var s = Self.fresh()
        s.isServing = false
        let message = "This ZooKeeper instance is not currently serving requests"
        for name in ["srvr", "cons", "ruok", "conf", "dump", "wchc", "mntr", "monitor"] {
            let json = AdminCommandRenderer.response(name: name, snapshot: s)
            #expect(json["error"] == .string(message), "\(name)")
        }
        // The name as asked, as ZooKeeper's runCommand answers.
        #expect(AdminCommandRenderer.response(name: "srvr", snapshot: s)["command"] == .string("srvr"))
        for name in ["envi", "gtmk", "sysp", "zabstate"] {
            #expect(AdminCommandRenderer.response(name: name, snapshot: s)["error"] == .null, "\(name)")
        }
        #expect(AdminCommandRenderer.response(name: "nosuch", snapshot: s)["error"] == .string("Unknown command: nosuch"))
    }

    /// Every command through every name: an object ending in command (its primary name) and error.
    @Test(arguments: AdminCommand.allCases)
    func everyNameAnswersTheCommand(_ command: AdminCommand) {
        let s = Self.withSession()
        for name in command.names {
            #expect(AdminCommand(name: name) == command)
            let json = AdminCommandRenderer.response(name: name, snapshot: s, arguments: ["traceMask": "1"])
            #expect(json["command"] == .string(command.primaryName), "\(name)")
            let keys = json.keys
            #expect(Set(keys.suffix(2)) == ["command", "error"], "\(name): \(keys)")
            #expect(Set(keys).count == keys.count, "\(name): repeated key")
        }
    }

    // MARK: Catalogue and listing

    @Test func commandCatalogueIsZooKeepers() {
        #expect(AdminCommand.primaryNames == [
            "configuration", "connection_stat_reset", "connections", "dirs", "dump", "environment", "get_trace_mask",
            "hash", "initial_configuration", "is_read_only", "last_snapshot", "leader", "monitor",
            "observer_connection_stat_reset", "observers", "ruok", "server_stats", "set_trace_mask", "stat_reset",
            "stats", "system_properties", "voting_view", "watch_summary", "watches", "watches_by_path", "zabstate",
        ])
        let aliases = AdminCommand.allCases.flatMap { $0.names.dropFirst() }
        #expect(Set(aliases) == [
            "conf", "config", "crst", "cons", "env", "envi", "gtmk", "icfg", "isro", "lsnp", "lead", "mntr", "orst",
            "obsr", "srvr", "stmk", "srst", "stat", "sysp", "wchs", "wchc", "wchp",
        ])
        #expect(aliases.count == Set(aliases).count)
        #expect(AdminCommand(name: "Ruok") == nil)
        #expect(AdminCommand(name: "") == nil)
        #expect(AdminCommand.connectionStatReset.sideEffect == .resetConnectionStatistics)
        #expect(AdminCommand.statReset.sideEffect == .resetServerStatistics)
        #expect(AdminCommand.allCases.filter { !$0.requiresServer }.map(\.primaryName).sorted() == [
            "environment", "get_trace_mask", "monitor", "set_trace_mask", "system_properties", "zabstate",
        ])
    }

    @Test func listingIsZooKeepersHTML() {
        let html = AdminCommandRenderer.listing(commandURL: "/commands")
        #expect(html.hasPrefix("<a href=\"/commands/configuration\">configuration</a>\n<br/>\n"))
        #expect(html.hasSuffix("<a href=\"/commands/zabstate\">zabstate</a>\n<br/>\n"))
        #expect(html.utf8.count == 1424)  // ZooKeeper 3.8.0's Content-Length for /commands
    }

    // MARK: JSON writer

    @Test func jsonEscapingAndNumbers() {
        let value = AdminJSON.object([
            .init("s", .string("a\"b\\c\n\r\t\u{01}\u{1F}\u{08}\u{0C}é/")),
            .init("big", .int(Int64.max)),
            .init("neg", .int(Int64.min)),
            .init("d", .double(0.5)),
            .init("nan", .double(.nan)),
            .init("e", .array([.object([])])),
            .init("n", .array([.null, .bool(true)])),
        ])
        #expect(value.text == """
            {
              "s" : "a\\"b\\\\c\\n\\r\\t\\u0001\\u001F\\b\\fé/",
              "big" : 9223372036854775807,
              "neg" : -9223372036854775808,
              "d" : 0.5,
              "nan" : null,
              "e" : [ { } ],
              "n" : [ null, true ]
            }
            """)
        #expect(AdminJSON.object([.init("a", .array([.object([.init("x", .object([.init("y", .int(1))]))])]))]).text == """
            {
              "a" : [ {
                "x" : {
                  "y" : 1
                }
              } ]
            }
            """)
    }
}
