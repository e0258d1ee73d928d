import CoordinationCore
import Foundation
import NIOCore
import ReplicatedLog
import ZooKeeperWire

extension ServerEngine {
    /// Answers a four-letter word (ZooKeeper's format, see `FourLetterWordRenderer`) and closes the connection.
    func fourLetterWord(_ word: String, connection id: ConnectionID) {
        guard let channel = channel(of: id), let known = FourLetterWord(rawValue: word) else { return }
        let whitelisted = configuration.isEnabled(known)
        if whitelisted {
            switch known.sideEffect {
            case .resetServerStatistics?: resetStatistics()
            case .resetConnectionStatistics?: resetConnectionStatistics()
            default: break
            }
        }
        let snapshot = whitelisted ? statusSnapshot(asking: id, for: known) : ServerStatusSnapshot(
            version: ServerVersion.full(zooregVersion: ServerEngine.version),
            configuration: ConfigurationReport(configuration, boundClientPort: boundPort))
        let text = FourLetterWordRenderer.render(known, snapshot: snapshot, whitelisted: whitelisted)
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }

    /// What the four-letter word `word` reports (everything when nil), read from the engine and the core.
    ///
    /// This runs on the engine's thread, so only what the word prints is built: with 200,000 watches and 2,000
    /// connections, building every list for every word (the sorted watch list, the ephemerals by session, every
    /// connection's figures) held the engine for 1-3 s per `srvr` or `mntr`, long enough for pinging sessions to
    /// expire (found by the soak test, Tests/Reliability).
    func statusSnapshot(asking: ConnectionID?, for word: FourLetterWord? = nil) -> ServerStatusSnapshot {
        func needs(_ words: FourLetterWord...) -> Bool { word.map(words.contains) ?? true }
        var s = ServerStatusSnapshot(
            version: ServerVersion.full(zooregVersion: ServerEngine.version),
            configuration: ConfigurationReport(configuration, boundClientPort: boundPort))
        let stats = machine.stats
        let core = machine.core
        let connections = machine.connections
        s.requestLatency = LatencySummary(
            min: stats.latencyCount == 0 ? 0 : stats.minLatencyMicros / 1000, max: stats.maxLatencyMicros / 1000,
            count: stats.latencyCount, total: stats.totalLatencyMicros / 1000)
        s.packetsReceived = stats.packetsReceived
        s.packetsSent = stats.packetsSent
        s.aliveConnectionCount = connections.count
        s.outstandingRequests = Int64(heldCount)
        s.lastProcessedZxid = core.lastZxid
        // ZooKeeper counts the root twice ("" and "/").
        s.nodeCount = core.state.tree.nodeCount + 1
        if needs(.cons, .stat) { s.connections = connectionStatuses(asking: asking) }
        let watches = core.watches
        if needs(.wchc, .wchp) {
            s.dataWatches = watches.dataWatchList().map { Watch(sessionId: $0.watcher, path: $0.path) }
        } else if needs(.wchs) {
            let summary = watches.dataWatchSummary()
            s.dataWatchSummary = WatchSummary(sessions: summary.watchers, paths: summary.paths, total: summary.total)
        }
        if needs(.mntr) { s.totalWatchCount = watches.count }
        if needs(.dump) {
            s.sessionExpiryBuckets = core.sessionExpiryBuckets.map {
                SessionExpiryBucket(expirationTime: $0.time, sessionIds: $0.keys.sorted())
            }
            let ephemerals = core.state.tree.ephemerals
            s.ephemeralsBySession = ephemerals.keys.sorted().map { SessionEphemerals(sessionId: $0, paths: ephemerals[$0]!.sorted()) }
        }
        if needs(.mntr) {
            s.ephemeralsCount = core.state.tree.ephemerals.values.reduce(0) { $0 + $1.count }
            s.approximateDataSize = Int64(core.state.tree.approximateDataSize)
            (s.openFileDescriptorCount, s.maxFileDescriptorCount) = Self.fileDescriptorCounts()
        }
        s.globalSessionCount = core.sessionCount
        s.uptimeMilliseconds = ServerClock.wallMillis() - startedAt
        if needs(.envi) { s.environment = EnvironmentEntry.current(zookeeperVersion: s.version) }
        s.counters.snapshotCount = machine.snapshotsTaken
        s.counters.expiredSessionCount = machine.expiredSessions
        if let sharedLog {
            // Every replica applies the whole log and serves reads, as a ZooKeeper follower does; none leads.
            s.serverState = "follower"
            s.sharedLog = sharedLog.status
        }
        return s
    }

    /// Every connection's figures (cons, stat), in connection order.
    private func connectionStatuses(asking: ConnectionID?) -> [ConnectionStatus] {
        let core = machine.core
        return machine.connections.sorted { $0.key < $1.key }.map { id, c in
            let sid = core.session(of: id) ?? 0
            return ConnectionStatus(
                remoteAddress: c.remoteAddress, remotePort: c.remotePort, queuedRequests: Int64(c.outstanding),
                packetsReceived: id == asking ? c.received + 1 : c.received, packetsSent: c.sent, sessionId: sid,
                lastOperation: c.lastOp, establishedAt: c.openedAt,
                sessionTimeout: Int(core.negotiatedTimeout(of: sid) ?? 0),
                lastCxid: c.received > 0 ? Int64(c.lastXid) : nil, lastZxid: c.received > 0 ? c.lastZxid : -1,
                lastResponseTime: c.lastResponseTime)
        }
    }

    func resetStatistics() {
        resetServerStatistics()
    }

    static let version = "0.1.0"

    /// Open descriptors (entries of /proc/self/fd) and the soft limit, as ZooKeeper's mntr reports them.
    static func fileDescriptorCounts() -> (Int64?, Int64?) {
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map { Int64($0.count) }
        var limit = rlimit()
        #if canImport(Glibc)
        let ok = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
        #else
        let ok = getrlimit(RLIMIT_NOFILE, &limit) == 0
        #endif
        return (open, ok ? Int64(limit.rlim_cur) : nil)
    }
}
