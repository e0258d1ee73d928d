import ReplicatedLog
/// Turns a ``ServerStatusSnapshot`` into the exact text Apache ZooKeeper 3.8 writes for each four-letter
/// word (org.apache.zookeeper.server.command.*Command, ServerStats.toString, ServerCnxn.dumpConnectionInfo,
/// ZooKeeperServer.dumpConf, DataTree and WatchManager dumps, ExpiryQueue.dump, Environment.list).
/// Pure: no clock, no I/O.
public enum FourLetterWordRenderer {
    /// ZooKeeper's answer while the server is not running (`AbstractFourLetterCommand.ZK_NOT_SERVING`).
    public static let notServingMessage = "This ZooKeeper instance is not currently serving requests"

    /// The text to write for `word`, after which the server closes the connection. When `whitelisted` is
    /// false the text is ``FourLetterWord/notWhitelistedMessage`` and the server performs no side effect.
    public static func render(_ word: FourLetterWord, snapshot: ServerStatusSnapshot, whitelisted: Bool) -> String {
        guard whitelisted else { return word.notWhitelistedMessage }
        var out = ""
        switch word {
        case .ruok:
            out += "imok"
        case .gtmk, .stmk:
            out += String(snapshot.traceMask)
        case .isro:
            out += !snapshot.isServing ? "null" : snapshot.isReadOnly ? "ro" : "rw"
        case .envi:
            out += "Environment:\n"
            for entry in snapshot.environment {
                out += "\(entry.key)=\(entry.value)\n"
            }
        case .srvr, .stat:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            renderStat(snapshot, includeClients: word == .stat, into: &out)
        case .cons:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            for connection in snapshot.connections {
                renderConnection(connection, brief: false, into: &out)
                out += "\n"
            }
            out += "\n"
        case .conf:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            renderConf(snapshot.configuration, into: &out)
        case .dirs:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            out += "datadir_size: \(snapshot.configuration.dataDirSize)\n"
            out += "logdir_size: \(snapshot.configuration.dataLogSize)\n"
        case .dump:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            renderDump(snapshot, into: &out)
        case .wchs, .wchc, .wchp:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            if word == .wchs, let summary = snapshot.dataWatchSummary {
                out += "\(summary.sessions) connections watching \(summary.paths) paths\n"
                out += "Total watches:\(summary.total)\n"
            } else {
                renderWatches(snapshot.dataWatches, word: word, into: &out)
                out += "\n"
            }
        case .mntr:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            renderMonitor(snapshot, into: &out)
        case .crst:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            out += "Connection stats reset.\n"
        case .srst:
            guard snapshot.isServing else { return notServingMessage + "\n" }
            out += "Server stats reset.\n"
        case .hash:
            guard snapshot.isServing else { return notServingMessage }
            for entry in snapshot.digestLog {
                out += "\(JavaFormat.hex(entry.zxid)): \(entry.digest)\n"
            }
        }
        return out
    }

    // MARK: srvr, stat

    private static func renderStat(_ s: ServerStatusSnapshot, includeClients: Bool, into out: inout String) {
        out += "Zookeeper version: \(s.version)\n"
        if s.isReadOnly {
            out += "READ-ONLY mode; serving only read-only clients\n"
        }
        if includeClients {
            out += "Clients:\n"
            for connection in s.connections {
                renderConnection(connection, brief: true, into: &out)
                out += "\n"
            }
            out += "\n"
        }
        let latency = s.requestLatency
        out += "Latency min/avg/max: \(latency.count == 0 ? 0 : latency.min)/"
        out += "\(JavaFormat.double(latency.average))/\(latency.max)\n"
        out += "Received: \(s.packetsReceived)\n"
        out += "Sent: \(s.packetsSent)\n"
        out += "Connections: \(s.aliveConnectionCount)\n"
        out += "Outstanding: \(s.outstandingRequests)\n"
        out += "Zxid: 0x\(JavaFormat.hex(s.lastProcessedZxid))\n"
        out += "Mode: \(s.serverState)\n"
        out += "Node count: \(s.nodeCount)\n"
    }

    // MARK: cons

    /// `ServerCnxn.dumpConnectionInfo`, without the line break.
    private static func renderConnection(_ c: ConnectionStatus, brief: Bool, into out: inout String) {
        out += " \(JavaFormat.socketAddress(host: c.remoteAddress, port: c.remotePort))"
        out += "[\(c.interestOps == 0 ? "0" : String(c.interestOps, radix: 16))]"
        out += "(queued=\(c.queuedRequests),recved=\(c.packetsReceived),sent=\(c.packetsSent)"
        if !brief, c.sessionId != 0 {
            out += ",sid=0x\(JavaFormat.hex(c.sessionId))"
            out += ",lop=\(c.lastOperation)"
            out += ",est=\(c.establishedAt)"
            out += ",to=\(c.sessionTimeout)"
            if let lastCxid = c.lastCxid, lastCxid >= 0 {
                out += ",lcxid=0x\(JavaFormat.hex(lastCxid))"
            }
            out += ",lzxid=0x\(JavaFormat.hex(c.lastZxid))"
            out += ",lresp=\(c.lastResponseTime)"
            out += ",llat=\(c.lastLatency)"
            out += ",minlat=\(c.minLatency)"
            out += ",avglat=\(c.averageLatency)"
            out += ",maxlat=\(c.maxLatency)"
        }
        out += ")"
    }

    // MARK: conf

    private static func renderConf(_ c: ConfigurationReport, into out: inout String) {
        out += "clientPort=\(c.clientPort)\n"
        out += "secureClientPort=\(c.secureClientPort)\n"
        out += "dataDir=\(c.dataDir)\n"
        out += "dataDirSize=\(c.dataDirSize)\n"
        out += "dataLogDir=\(c.dataLogDir)\n"
        out += "dataLogSize=\(c.dataLogSize)\n"
        out += "tickTime=\(c.tickTime)\n"
        out += "maxClientCnxns=\(c.maxClientCnxns)\n"
        out += "minSessionTimeout=\(c.minSessionTimeout)\n"
        out += "maxSessionTimeout=\(c.maxSessionTimeout)\n"
        out += "clientPortListenBacklog=\(c.clientPortListenBacklog)\n"
        out += "serverId=\(c.serverId)\n"
    }

    // MARK: dump

    private static func renderDump(_ s: ServerStatusSnapshot, into out: inout String) {
        out += "SessionTracker dump:\n"
        let sessionCount = s.sessionExpiryBuckets.reduce(0) { $0 + $1.sessionIds.count }
        out += "Session Sets (\(s.sessionExpiryBuckets.count))/(\(sessionCount)):\n"
        for bucket in s.sessionExpiryBuckets {
            out += "\(bucket.sessionIds.count) expire at \(JavaFormat.date(epochMilliseconds: bucket.expirationTime)):\n"
            for id in bucket.sessionIds {
                out += "\t0x\(JavaFormat.hex(id))\n"
            }
        }
        out += "ephemeral nodes dump:\n"
        out += "Sessions with Ephemerals (\(s.ephemeralsBySession.count)):\n"
        for session in s.ephemeralsBySession {
            out += "0x\(JavaFormat.hex(session.sessionId)):\n"
            for path in session.paths {
                out += "\t\(path)\n"
            }
        }
        out += "Connections dump:\n"
        if let buckets = s.connectionExpiryBuckets {
            let count = buckets.reduce(0) { $0 + $1.connections.count }
            out += "Connections Sets (\(buckets.count))/(\(count)):\n"
            for bucket in buckets {
                out += "\(bucket.connections.count) expire at "
                out += "\(JavaFormat.date(epochMilliseconds: bucket.expirationTime)):\n"
                for c in bucket.connections {
                    out += "\tip: \(JavaFormat.socketAddress(host: c.remoteAddress, port: c.remotePort))"
                    out += " sessionId: 0x\(JavaFormat.hex(c.sessionId))\n"
                }
            }
        }
    }

    // MARK: wchs, wchc, wchp

    /// Groups keeping the order in which keys first appear.
    private static func grouped<Key: Hashable, Value>(
        _ watches: [Watch],
        key: (Watch) -> Key,
        value: (Watch) -> Value
    ) -> [(Key, [Value])] {
        var order: [Key] = []
        var groups: [Key: [Value]] = [:]
        for watch in watches {
            let k = key(watch)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(value(watch))
        }
        return order.map { ($0, groups[$0]!) }
    }

    /// Without the final line break, which the caller adds (WatchCommand's trailing `println()`).
    private static func renderWatches(_ list: [Watch], word: FourLetterWord, into out: inout String) {
        // ZooKeeper keeps watches in sets: a session watching a path twice is one watch.
        var seen: Set<Watch> = []
        let watches = list.filter { seen.insert($0).inserted }
        switch word {
        case .wchs:
            let sessions = Set(watches.map(\.sessionId)).count
            let paths = Set(watches.map(\.path)).count
            out += "\(sessions) connections watching \(paths) paths\n"
            out += "Total watches:\(watches.count)"
        case .wchp:
            for (path, sessions) in grouped(watches, key: \.path, value: \.sessionId) {
                out += "\(path)\n"
                for id in sessions {
                    out += "\t0x\(JavaFormat.hex(id))\n"
                }
            }
        default:
            for (session, paths) in grouped(watches, key: \.sessionId, value: \.path) {
                out += "0x\(JavaFormat.hex(session))\n"
                for path in paths {
                    out += "\t\(path)\n"
                }
            }
        }
    }

    // MARK: mntr

    /// `MonitorCommand`: version and state, then the metrics ZooKeeper's default provider dumps, in the order
    /// ZooKeeper 3.8.0 prints them, keeping only those that mean something for a standalone zooreg.
    private static func renderMonitor(_ s: ServerStatusSnapshot, into out: inout String) {
        func line(_ key: String, _ value: String) {
            out += "zk_\(key)\t\(value)\n"
        }
        func line(_ key: String, _ value: some BinaryInteger) {
            line(key, String(value))
        }
        func summary(_ name: String, _ summary: LatencySummary) {
            line("avg_\(name)", JavaFormat.double(summary.average))
            line("min_\(name)", summary.count == 0 ? 0 : summary.min)
            line("max_\(name)", summary.max)
            line("cnt_\(name)", summary.count)
            line("sum_\(name)", summary.total)
            if let p = summary.percentiles {
                line("p50_\(name)", p.p50)
                line("p95_\(name)", p.p95)
                line("p99_\(name)", p.p99)
                line("p999_\(name)", p.p999)
            }
        }
        let c = s.counters
        line("version", s.version)
        line("server_state", s.serverState)
        line("ephemerals_count", s.ephemeralsCount)
        line("num_alive_connections", s.aliveConnectionCount)
        line("avg_latency", JavaFormat.double(s.requestLatency.average))
        line("outstanding_requests", s.outstandingRequests)
        line("znode_count", s.nodeCount)
        line("global_sessions", s.globalSessionCount)
        line("last_client_response_size", c.lastClientResponseSize)
        line("packets_sent", s.packetsSent)
        line("packets_received", s.packetsReceived)
        line("max_client_response_size", c.maxClientResponseSize)
        // zooreg has no connection throttle, so it never drops; ZooKeeper prints 0.0 unless one is configured.
        line("connection_drop_probability", "0.0")
        line("watch_count", s.totalWatchCount)
        line("auth_failed_count", c.authFailedCount)
        line("min_latency", s.requestLatency.count == 0 ? 0 : s.requestLatency.min)
        if let maxFileDescriptors = s.maxFileDescriptorCount {
            line("max_file_descriptor_count", maxFileDescriptors)
        }
        line("approximate_data_size", s.approximateDataSize)
        if let openFileDescriptors = s.openFileDescriptorCount {
            line("open_file_descriptor_count", openFileDescriptors)
        }
        line("local_sessions", 0)
        line("uptime", s.uptimeMilliseconds)
        line("max_latency", s.requestLatency.max)
        line("min_client_response_size", c.minClientResponseSize)
        line("throttled_ops", c.throttledOpsCount)
        line("large_requests_rejected", c.largeRequestsRejectedCount)
        line("connection_rejected", c.connectionRejectedCount)
        line("bytes_received_count", c.bytesReceivedCount)
        line("connection_request_count", c.connectionRequestCount)
        line("response_bytes", c.responseBytes)
        line("snap_count", c.snapshotCount)
        line("unsuccessful_handshake", c.unsuccessfulHandshakeCount)
        line("stale_sessions_expired", c.expiredSessionCount)
        summary("fsynctime", s.fsyncTime)
        summary("snapshottime", s.snapshotTime)
        summary("dbinittime", s.databaseInitTime)
        summary("updatelatency", s.updateLatency)
        summary("readlatency", s.readLatency)
        if let log = s.sharedLog {
            // An ensemble replica: where it stands in the shared log (etcd revisions).
            line("log_available", log.available ? 1 : 0)
            line("log_known_revision", log.knownRevision)
            line("log_applied_revision", log.deliveredRevision)
            line("log_lag", log.lag)
            line("log_appends_in_flight", log.appendsInFlight)
            line("log_queued_entries", log.queuedEntries)
            line("log_appended_batches", log.appendedBatches)
            line("log_appended_entries", log.appendedEntries)
            line("log_append_retries", log.appendRetries)
            line("synced_replicas", log.liveReplicas)
        }
    }
}

extension FourLetterWord {
    /// ``FourLetterWordRenderer/render(_:snapshot:whitelisted:)`` for this word.
    public func render(snapshot: ServerStatusSnapshot, whitelisted: Bool) -> String {
        FourLetterWordRenderer.render(self, snapshot: snapshot, whitelisted: whitelisted)
    }
}
