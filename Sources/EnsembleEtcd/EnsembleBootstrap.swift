import EtcdClient
import Logging
import NIOCore
import Persistence
import ReplicatedLog

/// Before a replica recovers its state: makes sure that its snapshot plus the log still in etcd add up to the
/// whole history, fetching a live peer's snapshot when they don't.
///
/// - A replica whose newest snapshot is at or after the log's compaction point starts as it is: the log has
///   every entry after its snapshot.
/// - Otherwise (a new or wiped replica, or one that fell behind compaction) it fetches the newest snapshot a
///   live peer serves (`members/` in etcd name them and their snapshot positions), checks it (CRCs, via
///   `SnapshotStore`), installs it in its data dir, and starts from it. A new replica does this even when nothing
///   was compacted yet, when a peer has a snapshot: replaying a long log is slower.
/// - No peer serves a usable snapshot: if nothing was compacted, the replica replays the whole log; if the log
///   was compacted past its state, it stops with an error that says so (start a replica that still has its data
///   dir, or restore a snapshot file of the ensemble into this one's).
public enum EnsembleBootstrap {
    /// How much newer (in log positions) a peer's snapshot must be than a usable local one to be fetched instead.
    static let worthFetchingRevisions: Int64 = 1000

    public struct Outcome: Sendable, Equatable, CustomStringConvertible {
        public enum Action: Sendable, Equatable {
            case keptLocalState
            case replayWholeLog
            case installedPeerSnapshot(replica: UInt8, address: String)
        }
        public var action: Action
        public var localRevision: Int64
        public var compactedRevision: Int64
        public var startRevision: Int64

        public var description: String {
            switch action {
            case .keptLocalState: return "local snapshot at revision \(localRevision) is after the log's compaction point \(compactedRevision)"
            case .replayWholeLog: return "no snapshot anywhere yet; replaying the log from the start"
            case .installedPeerSnapshot(let r, let a): return "installed replica \(r)'s snapshot (revision \(startRevision)) from \(a)"
            }
        }
    }

    /// - Parameters:
    ///   - directory: the replica's snapshot directory (`dataDir`).
    ///   - waitForEtcd: how long to wait for etcd to answer at all.
    public static func prepare(
        endpoints: [String], layout: LogLayout, replicaId: UInt8, directory: String, logger: Logger,
        waitForEtcd: Duration = .seconds(60)
    ) async throws -> Outcome {
        let client = try EtcdClient(endpoints: endpoints, logger: logger)
        return try await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                try await client.run()
                return nil
            }
            defer { group.cancelAll() }
            let outcome = try await decide(client: client, layout: layout, replicaId: replicaId, directory: directory, logger: logger, waitForEtcd: waitForEtcd)
            return outcome
        }
    }

    static func decide(
        client: EtcdClient, layout: LogLayout, replicaId: UInt8, directory: String, logger: Logger, waitForEtcd: Duration
    ) async throws -> Outcome {
        // A peer may be restarting too (its membership key comes back within seconds): when a snapshot is needed
        // and none can be had, look again for a while before giving up.
        let deadline = ContinuousClock.now + waitForEtcd
        while true {
            do {
                return try await decideOnce(client: client, layout: layout, replicaId: replicaId, directory: directory, logger: logger, waitForEtcd: waitForEtcd)
            } catch let error as SnapshotTransferError {
                guard case .noSnapshotAvailable = error, ContinuousClock.now < deadline else { throw error }
                logger.warning("No peer snapshot to bootstrap from yet; looking again", metadata: ["reason": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    static func decideOnce(
        client: EtcdClient, layout: LogLayout, replicaId: UInt8, directory: String, logger: Logger, waitForEtcd: Duration
    ) async throws -> Outcome {
        let store = SnapshotStore(directory: directory, logger: logger)
        let local = try store.snapshots().last.map { ZxidLayout.revision(ofZxid: $0.zxid) }
        // etcd may still be starting (or electing): retry the first reads for a while.
        let deadline = ContinuousClock.now + waitForEtcd
        var members: EtcdRangeResponse
        var compacted: Int64
        while true {
            do {
                let marker = try await client.range(key: layout.compactedKey)
                compacted = marker.kvs.first.flatMap { Int64(String(decoding: $0.value, as: UTF8.self)) } ?? 0
                members = try await client.range(key: layout.memberPrefix, rangeEnd: EtcdClient.prefixEnd(layout.memberPrefix))
                break
            } catch {
                if ContinuousClock.now > deadline { throw error }
                logger.info("Waiting for etcd before joining the ensemble", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        let localRevision = local ?? 0
        // Peers with a snapshot newer than ours and not older than the compaction point, newest first.
        var peers: [(replica: UInt8, info: MemberInfo)] = []
        for kv in members.kvs {
            guard let info = MemberInfo(decoding: kv.value), info.snapshotRevision > localRevision,
                info.snapshotRevision >= compacted, info.hostPort != nil
            else { continue }
            let name = kv.key.dropFirst(layout.memberPrefix.count)
            guard let replica = UInt8(String(decoding: name, as: UTF8.self), radix: 16), replica != replicaId else { continue }
            peers.append((replica, info))
        }
        peers.sort { $0.info.snapshotRevision > $1.info.snapshotRevision }
        if let local, local >= compacted {
            // The log has everything after our snapshot. A much newer peer snapshot still saves replaying a long
            // stretch of the log (a restart after a long stop); a slightly newer one is not worth the copy.
            guard let newest = peers.first?.info.snapshotRevision, newest >= local + Self.worthFetchingRevisions else {
                return Outcome(action: .keptLocalState, localRevision: local, compactedRevision: compacted, startRevision: local)
            }
        }
        logger.debug("Ensemble members", metadata: [
            "members": "\(members.kvs.map { "\($0.keyString)=\(String(decoding: $0.value, as: UTF8.self))" })",
            "compacted": "\(compacted)", "local": "\(localRevision)",
        ])
        var failures: [String] = []
        for peer in peers {
            let (host, port) = peer.info.hostPort!
            do {
                let (zxid, body) = try await SnapshotFetcher.fetch(host: host, port: port)
                // Written as recovery reads it: header and checksum, a temporary file fsynced and renamed.
                _ = try store.write(zxid: zxid, body: body)
                let revision = ZxidLayout.revision(ofZxid: zxid)
                logger.notice("Bootstrapped from a peer's snapshot", metadata: [
                    "peer": "\(peer.replica)", "address": "\(peer.info.address)", "revision": "\(revision)",
                    "bytes": "\(body.readableBytes)", "local.revision": "\(localRevision)", "compacted": "\(compacted)",
                ])
                return Outcome(
                    action: .installedPeerSnapshot(replica: peer.replica, address: peer.info.address),
                    localRevision: localRevision, compactedRevision: compacted, startRevision: revision)
            } catch {
                failures.append("replica \(peer.replica) at \(peer.info.address): \(error)")
                logger.warning("Could not fetch a peer's snapshot", metadata: ["peer": "\(peer.replica)", "error": "\(error)"])
            }
        }
        if let local, local >= compacted {
            return Outcome(action: .keptLocalState, localRevision: local, compactedRevision: compacted, startRevision: local)
        }
        if compacted == 0 {
            if local == nil {
                return Outcome(action: .replayWholeLog, localRevision: 0, compactedRevision: 0, startRevision: 0)
            }
            return Outcome(action: .keptLocalState, localRevision: localRevision, compactedRevision: 0, startRevision: localRevision)
        }
        throw SnapshotTransferError.noSnapshotAvailable(
            "the ensemble's log is compacted up to revision \(compacted), and this replica's state "
                + (local.map { "ends at revision \($0)" } ?? "is empty")
                + ", so it needs a snapshot from a live replica, but "
                + (peers.isEmpty
                    ? "no live replica serves one at or after that revision (members: \(members.kvs.map { "\($0.keyString)=\(String(decoding: $0.value, as: UTF8.self))" }.joined(separator: ", ")))"
                    : "none could be fetched (\(failures.joined(separator: "; ")))")
                + ". Start a replica that still has its dataDir first, or copy a snapshot.* file from a replica's dataDir into this one's.")
    }
}
