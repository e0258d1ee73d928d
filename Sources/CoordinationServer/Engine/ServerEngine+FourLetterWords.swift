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
        let text = FourLetterWordRenderer.render(known, snapshot: statusSnapshot(asking: id), whitelisted: whitelisted)
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Everything the four-letter words report, read from the engine and the core.
    func statusSnapshot(asking: ConnectionID?) -> ServerStatusSnapshot {
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
        s.connections = connections.sorted { $0.key < $1.key }.map { id, c in
            let sid = core.session(of: id) ?? 0
            return ConnectionStatus(
                remoteAddress: c.remoteAddress, remotePort: c.remotePort, queuedRequests: Int64(c.outstanding),
                packetsReceived: id == asking ? c.received + 1 : c.received, packetsSent: c.sent, sessionId: sid,
                lastOperation: c.lastOp, establishedAt: c.openedAt,
                sessionTimeout: Int(core.negotiatedTimeout(of: sid) ?? 0),
                lastCxid: c.received > 0 ? Int64(c.lastXid) : nil, lastZxid: c.received > 0 ? c.lastZxid : -1,
                lastResponseTime: c.lastResponseTime)
        }
        let watches = core.watches
        s.dataWatches = watches.dataWatchList().map { Watch(sessionId: $0.watcher, path: $0.path) }
        s.totalWatchCount = watches.count
        s.sessionExpiryBuckets = core.sessionExpiryBuckets.map { SessionExpiryBucket(expirationTime: $0.time, sessionIds: $0.keys.sorted()) }
        let ephemerals = core.state.tree.ephemerals
        s.ephemeralsBySession = ephemerals.keys.sorted().map { SessionEphemerals(sessionId: $0, paths: ephemerals[$0]!.sorted()) }
        s.ephemeralsCount = ephemerals.values.reduce(0) { $0 + $1.count }
        s.globalSessionCount = core.sessionCount
        s.approximateDataSize = Int64(core.state.tree.approximateDataSize)
        s.uptimeMilliseconds = ServerClock.wallMillis() - startedAt
        s.environment = EnvironmentEntry.current(zookeeperVersion: s.version)
        (s.openFileDescriptorCount, s.maxFileDescriptorCount) = Self.fileDescriptorCounts()
        s.counters.snapshotCount = machine.snapshotsTaken
        s.counters.expiredSessionCount = machine.expiredSessions
        if let sharedLog {
            // Every replica applies the whole log and serves reads, as a ZooKeeper follower does; none leads.
            s.serverState = "follower"
            s.sharedLog = sharedLog.status
        }
        return s
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
