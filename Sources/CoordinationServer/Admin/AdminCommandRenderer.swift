/// What the AdminServer commands report beyond ``ServerStatusSnapshot``: read from files and the process, not
/// from the engine, by the HTTP route.
public struct AdminCommandContext: Sendable, Equatable {
    /// initial_configuration's text. ZooKeeper answers its configuration file as read; zooreg answers the
    /// file's text when it has one, else the settings it runs with as `key=value` lines.
    public var initialConfiguration: String = ""
    /// The newest snapshot on disk (last_snapshot); nil when there is none, answered as ZooKeeper does
    /// (zxid `ffffffffffffffff`, timestamp -1).
    public var lastSnapshot: LastSnapshot?
    /// system_properties, as a sorted map of strings.
    public var systemProperties: [String: String] = [:]

    public struct LastSnapshot: Sendable, Equatable {
        public var zxid: Int64
        /// The snapshot file's modification time, in seconds since the Unix epoch (ZooKeeper's `SnapshotInfo`).
        public var timestampSeconds: Int64

        public init(zxid: Int64, timestampSeconds: Int64) {
            self.zxid = zxid
            self.timestampSeconds = timestampSeconds
        }
    }

    public init(initialConfiguration: String = "", lastSnapshot: LastSnapshot? = nil, systemProperties: [String: String] = [:]) {
        self.initialConfiguration = initialConfiguration
        self.lastSnapshot = lastSnapshot
        self.systemProperties = systemProperties
    }
}

/// Turns a ``ServerStatusSnapshot`` into the JSON Apache ZooKeeper 3.8's AdminServer answers for each command
/// (`Commands.java`, `CommandResponse.toMap`, `ServerStats`, `ServerCnxn.getConnectionInfo`). Pure: no clock,
/// no I/O.
///
/// Every response is an object whose command keys come first, then `"command"` (the primary name) and `"error"`
/// (null on success). A command that fails puts `"error"` first and `"command"` after it, as ZooKeeper's
/// `LinkedHashMap` keeps the first insertion's place.
public enum AdminCommandRenderer {
    /// `Commands.runCommand`'s answer for a command that needs a running server.
    public static let notServingMessage = "This ZooKeeper instance is not currently serving requests"

    /// The response to `GET {commandURL}/<name>`: the command's JSON, or ZooKeeper's error object for an unknown
    /// name (`{"command": name, "error": "Unknown command: name"}`) or while the server is not serving.
    ///
    /// `name` is the command name as asked (percent-decoded); `arguments` are the query parameters
    /// (`traceMask` for set_trace_mask). Side effects (resets, the trace mask) are the caller's, done before.
    public static func response(
        name: String, snapshot: ServerStatusSnapshot, context: AdminCommandContext = AdminCommandContext(),
        arguments: [String: String] = [:]
    ) -> AdminJSON {
        guard let command = AdminCommand(name: name) else { return unknownCommand(name) }
        if command.requiresServer && !snapshot.isServing { return error(command: name, notServingMessage) }
        return render(command, snapshot: snapshot, context: context, arguments: arguments)
    }

    /// `{"command": name, "error": "Unknown command: name"}`.
    public static func unknownCommand(_ name: String) -> AdminJSON {
        error(command: name, "Unknown command: \(name)")
    }

    /// An error response in the order ZooKeeper writes one it builds directly: command, then error.
    public static func error(command: String, _ message: String) -> AdminJSON {
        .object([.init("command", .string(command)), .init("error", .string(message))])
    }

    /// set_trace_mask's argument: the `traceMask` query parameter as a Java long, or the message ZooKeeper
    /// answers.
    public static func traceMask(from arguments: [String: String]) -> Result<Int64, TraceMaskError> {
        guard let text = arguments["traceMask"] else {
            return .failure(TraceMaskError(message: "setTraceMask requires long traceMask argument"))
        }
        guard let value = javaLong(text) else {
            return .failure(TraceMaskError(message: "setTraceMask requires long traceMask argument, got \(text)"))
        }
        return .success(value)
    }

    public struct TraceMaskError: Error, Sendable, Equatable {
        public var message: String
    }

    /// `Long.parseLong`: an optional sign and decimal digits, within Int64.
    static func javaLong(_ text: String) -> Int64? {
        var digits = Substring(text)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(text.first == "+" ? String(text.dropFirst()) : text)
    }

    /// The HTML `GET {commandURL}` answers: a link per primary name, sorted, each followed by `<br/>`.
    public static func listing(commandURL: String) -> String {
        var out = ""
        for name in AdminCommand.primaryNames {
            out += "<a href=\"\(commandURL)/\(name)\">\(name)</a>\n<br/>\n"
        }
        return out
    }

    // MARK: Commands

    /// The JSON of `command` (whether or not the server is serving; see ``response(name:snapshot:context:arguments:)``).
    public static func render(
        _ command: AdminCommand, snapshot s: ServerStatusSnapshot, context: AdminCommandContext = AdminCommandContext(),
        arguments: [String: String] = [:]
    ) -> AdminJSON {
        var data: [AdminJSON.Member] = []
        func put(_ key: String, _ value: AdminJSON) { data.append(.init(key, value)) }
        var failure: String?
        switch command {
        case .configuration:
            let c = s.configuration
            put("client_port", .int(c.clientPort))
            put("data_dir", .string(c.dataDir))
            put("data_log_dir", .string(c.dataLogDir))
            put("tick_time", .int(c.tickTime))
            put("max_client_cnxns", .int(c.maxClientCnxns))
            put("min_session_timeout", .int(c.minSessionTimeout))
            put("max_session_timeout", .int(c.maxSessionTimeout))
            put("server_id", .int(c.serverId))
            put("client_port_listen_backlog", .int(c.clientPortListenBacklog))
        case .connectionStatReset, .observerConnectionStatReset, .ruok, .statReset:
            break
        case .connections:
            put("connections", .array(s.connections.map { connection($0, brief: false) }))
            put("secure_connections", .array([]))
        case .dirs:
            put("datadir_size", .int(s.configuration.dataDirSize))
            put("logdir_size", .int(s.configuration.dataLogSize))
        case .dump:
            put("expiry_time_to_session_ids", .object(s.sessionExpiryBuckets.map {
                .init(String($0.expirationTime), .array($0.sessionIds.map { .int($0) }))
            }))
            put("session_id_to_ephemeral_paths", .object(s.ephemeralsBySession.map {
                .init(String($0.sessionId), .array($0.paths.map { .string($0) }))
            }))
        case .environment:
            for entry in s.environment { put(entry.key, .string(entry.value)) }
        case .getTraceMask:
            put("tracemask", .int(s.traceMask))
        case .hash:
            put("digests", .array(s.digestLog.map {
                .object([.init("zxid", .int($0.zxid)), .init("digest", .int($0.digest))])
            }))
        case .initialConfiguration:
            put("initial_configuration", .string(context.initialConfiguration))
        case .isReadOnly:
            put("read_only", .bool(s.isReadOnly))
        case .lastSnapshot:
            let zxid = context.lastSnapshot?.zxid ?? -1
            put("zxid", .string(String(UInt64(bitPattern: zxid), radix: 16)))
            put("timestamp", .int(context.lastSnapshot?.timestampSeconds ?? -1))
        case .leader:
            if s.sharedLog != nil {
                // An ensemble replica answers as a ZooKeeper follower would, but no replica leads: the shared
                // log orders the writes.
                put("is_leader", .bool(false))
                put("leader_id", .int(-1))
                put("leader_ip", .string(""))
            } else {
                failure = "server is not initialized"
            }
        case .monitor:
            guard s.isServing else { return error(command: command.primaryName, notServingMessage) }
            data = monitor(s)
        case .observers:
            put("synced_observers", .int(0))
            put("observers", .array([]))
        case .serverStats, .stats:
            put("version", .string(s.version))
            put("read_only", .bool(s.isReadOnly))
            put("server_stats", serverStats(s))
            put("client_response", clientResponse(s.counters))
            put("node_count", .int(s.nodeCount))
            if command == .stats {
                put("connections", .array(s.connections.map { connection($0, brief: true) }))
                put("secure_connections", .array([]))
            }
        case .setTraceMask:
            switch traceMask(from: arguments) {
            case .success(let mask): put("tracemask", .int(mask))
            case .failure(let why): failure = why.message
            }
        case .systemProperties:
            for key in context.systemProperties.keys.sorted() {
                put(key, .string(context.systemProperties[key]!))
            }
        case .votingView:
            put("current_config", .object([]))
        case .watchSummary:
            let summary = s.dataWatchSummary ?? summarize(s.dataWatches)
            put("num_connections", .int(summary.sessions))
            put("num_paths", .int(summary.paths))
            put("num_total_watches", .int(summary.total))
        case .watches:
            put("session_id_to_watched_paths", .object(grouped(s.dataWatches, key: { String($0.sessionId) }).map {
                .init($0.key, .array($0.watches.map { .string($0.path) }))
            }))
        case .watchesByPath:
            put("path_to_session_ids", .object(grouped(s.dataWatches, key: \.path).map {
                .init($0.key, .array($0.watches.map { .int($0.sessionId) }))
            }))
        case .zabstate:
            put("voting", .bool(false))
            put("zabstate", .string(""))
        }
        if let failure {
            return .object([.init("error", .string(failure))] + data + [.init("command", .string(command.primaryName))])
        }
        return .object(data + [.init("command", .string(command.primaryName)), .init("error", .null)])
    }

    // MARK: Parts

    /// `ServerCnxn.getConnectionInfo(brief)`.
    static func connection(_ c: ConnectionStatus, brief: Bool) -> AdminJSON {
        let address = JavaFormat.inetAddress(c.remoteAddress)
        var members: [AdminJSON.Member] = [
            .init("remote_socket_address", .string(address.contains(":") ? "[\(address)]:\(c.remotePort)" : "\(address):\(c.remotePort)")),
            .init("interest_ops", .int(c.interestOps)),
            .init("outstanding_requests", .int(c.queuedRequests)),
            .init("packets_received", .int(c.packetsReceived)),
            .init("packets_sent", .int(c.packetsSent)),
        ]
        if !brief {
            members += [
                .init("session_id", .int(c.sessionId)),
                .init("last_operation", .string(c.lastOperation)),
                .init("established", .int(c.establishedAt)),
                .init("session_timeout", .int(c.sessionTimeout)),
                .init("last_cxid", .int(c.lastCxid ?? -1)),
                .init("last_zxid", .int(c.lastZxid)),
                .init("last_response_time", .int(c.lastResponseTime)),
                .init("last_latency", .int(c.lastLatency)),
                .init("min_latency", .int(c.minLatency)),
                .init("avg_latency", .int(c.averageLatency)),
                .init("max_latency", .int(c.maxLatency)),
            ]
        }
        return .object(members)
    }

    /// ZooKeeper's `BufferStats` as Jackson writes it.
    private static func clientResponse(_ c: ServerCounters) -> AdminJSON {
        .object([
            .init("last_buffer_size", .int(c.lastClientResponseSize)),
            .init("min_buffer_size", .int(c.minClientResponseSize)),
            .init("max_buffer_size", .int(c.maxClientResponseSize)),
        ])
    }

    /// ZooKeeper's `ServerStats` as Jackson writes it (its getters, in 3.8.0's order).
    private static func serverStats(_ s: ServerStatusSnapshot) -> AdminJSON {
        let latency = s.requestLatency
        return .object([
            .init("packets_sent", .int(s.packetsSent)),
            .init("packets_received", .int(s.packetsReceived)),
            .init("fsync_threshold_exceed_count", .int(0)),
            .init("client_response_stats", clientResponse(s.counters)),
            .init("data_dir_size", .int(s.configuration.dataDirSize)),
            .init("log_dir_size", .int(s.configuration.dataLogSize)),
            .init("provider_null", .bool(false)),
            .init("server_state", .string(s.serverState)),
            .init("last_processed_zxid", .int(s.lastProcessedZxid)),
            .init("outstanding_requests", .int(s.outstandingRequests)),
            .init("avg_latency", .double(latency.average)),
            .init("max_latency", .int(latency.max)),
            .init("min_latency", .int(latency.count == 0 ? 0 : latency.min)),
            .init("num_alive_client_connections", .int(s.aliveConnectionCount)),
            .init("uptime", .int(s.uptimeMilliseconds)),
            .init("auth_failed_count", .int(s.counters.authFailedCount)),
            .init("non_mtlsremote_conn_count", .int(0)),
            .init("non_mtlslocal_conn_count", .int(0)),
        ])
    }

    /// monitor: the figures the mntr four-letter word prints (``FourLetterWordRenderer``), under the same names
    /// without `zk_`, as numbers (averages as doubles).
    private static func monitor(_ s: ServerStatusSnapshot) -> [AdminJSON.Member] {
        var out: [AdminJSON.Member] = []
        func put(_ key: String, _ value: AdminJSON) { out.append(.init(key, value)) }
        func summary(_ name: String, _ summary: LatencySummary) {
            put("avg_\(name)", .double(summary.average))
            put("min_\(name)", .int(summary.count == 0 ? 0 : summary.min))
            put("max_\(name)", .int(summary.max))
            put("cnt_\(name)", .int(summary.count))
            put("sum_\(name)", .int(summary.total))
            if let p = summary.percentiles {
                put("p50_\(name)", .int(p.p50))
                put("p95_\(name)", .int(p.p95))
                put("p99_\(name)", .int(p.p99))
                put("p999_\(name)", .int(p.p999))
            }
        }
        let c = s.counters
        put("version", .string(s.version))
        put("server_state", .string(s.serverState))
        put("ephemerals_count", .int(s.ephemeralsCount))
        put("num_alive_connections", .int(s.aliveConnectionCount))
        put("avg_latency", .double(s.requestLatency.average))
        put("outstanding_requests", .int(s.outstandingRequests))
        put("znode_count", .int(s.nodeCount))
        put("global_sessions", .int(s.globalSessionCount))
        put("last_client_response_size", .int(c.lastClientResponseSize))
        put("packets_sent", .int(s.packetsSent))
        put("packets_received", .int(s.packetsReceived))
        put("max_client_response_size", .int(c.maxClientResponseSize))
        put("connection_drop_probability", .double(0))
        put("watch_count", .int(s.totalWatchCount))
        put("auth_failed_count", .int(c.authFailedCount))
        put("min_latency", .int(s.requestLatency.count == 0 ? 0 : s.requestLatency.min))
        if let maxFileDescriptors = s.maxFileDescriptorCount {
            put("max_file_descriptor_count", .int(maxFileDescriptors))
        }
        put("approximate_data_size", .int(s.approximateDataSize))
        if let openFileDescriptors = s.openFileDescriptorCount {
            put("open_file_descriptor_count", .int(openFileDescriptors))
        }
        put("local_sessions", .int(0))
        put("uptime", .int(s.uptimeMilliseconds))
        put("max_latency", .int(s.requestLatency.max))
        put("min_client_response_size", .int(c.minClientResponseSize))
        put("throttled_ops", .int(c.throttledOpsCount))
        put("large_requests_rejected", .int(c.largeRequestsRejectedCount))
        put("connection_rejected", .int(c.connectionRejectedCount))
        put("bytes_received_count", .int(c.bytesReceivedCount))
        put("connection_request_count", .int(c.connectionRequestCount))
        put("response_bytes", .int(c.responseBytes))
        put("snap_count", .int(c.snapshotCount))
        put("unsuccessful_handshake", .int(c.unsuccessfulHandshakeCount))
        put("stale_sessions_expired", .int(c.expiredSessionCount))
        summary("fsynctime", s.fsyncTime)
        summary("snapshottime", s.snapshotTime)
        summary("dbinittime", s.databaseInitTime)
        summary("updatelatency", s.updateLatency)
        summary("readlatency", s.readLatency)
        if let log = s.sharedLog {
            put("log_available", .int(log.available ? 1 : 0))
            put("log_known_revision", .int(log.knownRevision))
            put("log_applied_revision", .int(log.deliveredRevision))
            put("log_lag", .int(log.lag))
            put("log_appends_in_flight", .int(log.appendsInFlight))
            put("log_queued_entries", .int(log.queuedEntries))
            put("log_appended_batches", .int(log.appendedBatches))
            put("log_appended_entries", .int(log.appendedEntries))
            put("log_append_retries", .int(log.appendRetries))
            put("synced_replicas", .int(log.liveReplicas))
        }
        return out
    }

    /// Data watches grouped by `key`, groups in the order their key first appears; a watch listed twice is one.
    private static func grouped(_ list: [Watch], key: (Watch) -> String) -> [(key: String, watches: [Watch])] {
        var seen: Set<Watch> = []
        var order: [String] = []
        var groups: [String: [Watch]] = [:]
        for watch in list where seen.insert(watch).inserted {
            let k = key(watch)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(watch)
        }
        return order.map { ($0, groups[$0]!) }
    }

    private static func summarize(_ list: [Watch]) -> WatchSummary {
        let unique = Set(list)
        return WatchSummary(
            sessions: Set(unique.map(\.sessionId)).count, paths: Set(unique.map(\.path)).count, total: unique.count)
    }
}
