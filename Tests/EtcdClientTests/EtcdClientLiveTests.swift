import EnsembleEtcd
import EtcdClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import ReplicatedLog
import Testing
import ZooKeeperWire

/// Against a real etcd 3.4 (one member per test).
@Suite(.timeLimit(.minutes(1)))
struct EtcdClientLiveTests {
    static let logger: Logger = {
        var l = Logger(label: "etcd-test")
        l.logLevel = ProcessInfo.processInfo.environment["ZK_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return l
    }()

    /// Runs `body` with a started etcd and a connected client.
    func withEtcd(endpoints extra: [String] = [], _ body: @Sendable (EtcdClient, EtcdProcess) async throws -> Void) async throws {
        let etcd = try EtcdProcess()
        defer { etcd.stop() }
        let client = try EtcdClient(endpoints: extra + [etcd.endpoint], callTimeout: .seconds(2), logger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            // Ready when a linearizable read succeeds (etcd elected itself).
            let deadline = ContinuousClock.now + .seconds(20)
            while true {
                do {
                    _ = try await client.range(key: Array("/ready".utf8))
                    break
                } catch {
                    if ContinuousClock.now > deadline { throw error }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await body(client, etcd)
        }
    }

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// etcd sends a bandwidth-estimation PING after most requests; swift-nio-http2 closes a connection that
    /// receives more than 200 PINGs in 30 s unless `PingAnswerer` answers them first. 1,000 calls on one connection
    /// must all succeed (before the fix the connection broke every ~200 calls: "Stream unexpectedly closed").
    @Test func aThousandCallsOnOneConnectionDoNotTripHTTP2sPingLimit() async throws {
        try await withEtcd { client, _ in
            var failures = 0
            for i in 0..<1000 {
                do {
                    if i % 2 == 0 {
                        _ = try await client.put(key: bytes("/ping/\(i % 10)"), value: bytes("\(i)"))
                    } else {
                        _ = try await client.range(key: bytes("/ping/\(i % 10)"))
                    }
                } catch {
                    failures += 1
                }
            }
            #expect(failures == 0)
        }
    }

    @Test func putRangeDeleteAndPutIfAbsent() async throws {
        try await withEtcd { client, _ in
            let r1 = try await client.put(key: bytes("/t/a"), value: bytes("1"))
            let r2 = try await client.put(key: bytes("/t/b"), value: bytes("2"))
            #expect(r2 == r1 + 1)
            let all = try await client.range(key: bytes("/t/"), rangeEnd: EtcdClient.prefixEnd("/t/"))
            #expect(all.kvs.map(\.keyString) == ["/t/a", "/t/b"])
            #expect(all.kvs.map { String(decoding: $0.value, as: UTF8.self) } == ["1", "2"])
            #expect(all.revision == r2)

            // Put-if-absent, as the log appends batches: the second attempt changes nothing.
            let key = bytes("/t/batch")
            let first = try await client.txn(compare: [.createRevision(key: key, equals: 0)], success: [.put(key: key, value: bytes("x"), lease: 0)])
            let second = try await client.txn(compare: [.createRevision(key: key, equals: 0)], success: [.put(key: key, value: bytes("y"), lease: 0)])
            #expect(first.succeeded)
            #expect(!second.succeeded)
            #expect(second.revision == first.revision)
            let got = try await client.range(key: key)
            #expect(got.kvs.first?.value == bytes("x"))

            let deleted = try await client.deleteRange(key: bytes("/t/"), rangeEnd: EtcdClient.prefixEnd("/t/"))
            #expect(deleted == 3)
            #expect(try await client.range(key: bytes("/t/"), rangeEnd: EtcdClient.prefixEnd("/t/")).kvs.isEmpty)
        }
    }

    @Test func watchDeliversHistoryThenLiveEventsInOrder() async throws {
        try await withEtcd { client, _ in
            var revisions: [Int64] = []
            for i in 0..<5 { revisions.append(try await client.put(key: bytes("/w/\(i)"), value: bytes("\(i)"))) }
            let stream = client.watch(key: bytes("/w/"), rangeEnd: EtcdClient.prefixEnd("/w/"), startRevision: revisions[1])
            let writer = Task {
                for i in 5..<10 { _ = try await client.put(key: self.bytes("/w/\(i)"), value: self.bytes("\(i)")) }
                _ = try await client.deleteRange(key: self.bytes("/w/0"))
            }
            var seen: [(String, EtcdEvent.Kind, Int64)] = []
            for try await response in stream {
                for e in response.events { seen.append((e.kv.keyString, e.kind, e.kv.modRevision)) }
                if seen.count >= 10 { break }
            }
            try await writer.value
            #expect(seen.map(\.0) == (1..<10).map { "/w/\($0)" } + ["/w/0"])
            #expect(seen.last?.1 == .delete)
            #expect(seen.map(\.2) == seen.map(\.2).sorted())
            #expect(seen.first?.2 == revisions[1])
        }
    }

    @Test func watchBelowCompactionFailsWithCompacted() async throws {
        try await withEtcd { client, _ in
            var last: Int64 = 0
            for i in 0..<5 { last = try await client.put(key: bytes("/c/\(i)"), value: bytes("\(i)")) }
            try await client.compact(revision: last - 1)
            await #expect(throws: EtcdError.self) { try await client.compact(revision: last - 2) }
            let stream = client.watch(key: bytes("/c/"), rangeEnd: EtcdClient.prefixEnd("/c/"), startRevision: 2)
            do {
                for try await _ in stream {}
                Issue.record("the watch ended without an error")
            } catch let error as EtcdError {
                guard case .compacted(let at) = error else {
                    Issue.record("expected .compacted, got \(error)")
                    return
                }
                #expect(at == last - 1)
            }
        }
    }

    @Test func leasesWithChosenIdsKeepAliveAndExpiry() async throws {
        try await withEtcd { client, _ in
            let id: Int64 = 0x0100_0000_0000_0042
            let granted = try await client.leaseGrant(id: id, ttlSeconds: 3)
            #expect(granted.id == id)
            await #expect(throws: EtcdError.leaseExists) { _ = try await client.leaseGrant(id: id, ttlSeconds: 3) }
            let other: Int64 = 0x0100_0000_0000_0043
            _ = try await client.leaseGrant(id: other, ttlSeconds: 2)
            try await client.put(key: bytes("/l/kept"), value: bytes("k"), lease: id)
            try await client.put(key: bytes("/l/dropped"), value: bytes("d"), lease: other)
            let ttl = try await client.leaseTimeToLive(id: id)
            #expect(ttl.grantedTTL == 3)
            #expect(ttl.keys == [bytes("/l/kept")])

            let stream = client.watch(key: bytes("/l/"), rangeEnd: EtcdClient.prefixEnd("/l/"), startRevision: 0)
            // Keep `id` alive for 5 s (longer than its TTL); `other` runs out.
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(5) {
                let ttls = try await client.leaseKeepAlive(ids: [id])
                #expect((ttls[id] ?? 0) > 0)
                try await Task.sleep(for: .milliseconds(500))
            }
            let left = try await client.range(key: bytes("/l/"), rangeEnd: EtcdClient.prefixEnd("/l/"))
            #expect(left.kvs.map(\.keyString) == ["/l/kept"])
            for try await response in stream {
                if let e = response.events.first {
                    #expect(e.kind == .delete)
                    #expect(e.kv.keyString == "/l/dropped")
                    break
                }
            }
            await #expect(throws: EtcdError.leaseNotFound) { try await client.leaseKeepAlive(id: other) }
            try await client.leaseRevoke(id: id)
            #expect(try await client.range(key: bytes("/l/kept")).kvs.isEmpty)
        }
    }

    @Test func failsOverFromADeadEndpoint() async throws {
        let dead = try EtcdProcess.freePort()
        try await withEtcd(endpoints: ["http://127.0.0.1:\(dead)"]) { client, etcd in
            // withEtcd's readiness loop already needed the move to the live endpoint.
            #expect(client.currentEndpoint.port == etcd.clientPort)
            let status = try await client.status()
            #expect(status.version.hasPrefix("3."))
            #expect(status.isLeader)
        }
    }

    @Test func refusesTLSAndMalformedEndpoints() throws {
        #expect(throws: EtcdError.self) { _ = try EtcdClient(endpoints: ["https://h:2379"], logger: Self.logger) }
        #expect(throws: EtcdError.self) { _ = try EtcdClient(endpoints: ["h"], logger: Self.logger) }
        #expect(throws: EtcdError.self) { _ = try EtcdClient(endpoints: [], logger: Self.logger) }
        #expect(throws: Never.self) { _ = try EtcdClient(endpoints: ["http://[::1]:2379", "10.0.0.1:2379/"], logger: Self.logger) }
    }

    @Test func prefixEnd() {
        #expect(EtcdClient.prefixEnd([0x61, 0x62]) == [0x61, 0x63])
        #expect(EtcdClient.prefixEnd([0x61, 0xFF]) == [0x62])
        #expect(EtcdClient.prefixEnd([0xFF]) == [0])
    }
}

/// Two replicas' shared logs over one etcd deliver the same entries at the same revisions.
@Suite(.timeLimit(.minutes(1)))
struct EtcdSharedLogLiveTests {
    final class Sink: SharedLogSink {
        let box = NIOLockedBox()
        func deliver(_ deliveries: [LogDelivery]) { box.append(deliveries) }
        func availabilityChanged(_ available: Bool) {}
    }

    @Test func twoReplicasSeeOneOrderAndSessionExpiry() async throws {
        let etcd = try EtcdProcess()
        defer { etcd.stop() }
        let logger = EtcdClientLiveTests.logger
        let cluster = "t\(UInt32.random(in: 0...UInt32.max))"
        func makeLog(_ replica: UInt8) throws -> EtcdSharedLog {
            let client = try EtcdClient(endpoints: [etcd.endpoint], logger: logger)
            return EtcdSharedLog(client: client, settings: .init(replicaId: replica, cluster: cluster, minSessionTimeoutMs: 2000, maxSessionTimeoutMs: 4000), logger: logger)
        }
        let logs = [try makeLog(1), try makeLog(2)]
        let sinks = [Sink(), Sink()]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<2 { group.addTask { try await logs[i].run(after: 0, sink: sinks[i]) } }
            defer { group.cancelAll() }
            func write(_ path: String, sid: Int64) -> LogEntry {
                LogEntry(connection: 1, kind: .request(xid: 1, .setData(SetDataRequest(path: path, data: [1], version: -1)), sessionId: sid, authInfo: []), wallMillis: 1, monotonicNanos: 0)
            }
            let sid1: Int64 = 0x0100_0000_0000_0001
            let connect = LogEntry(connection: 1, kind: .connect(ConnectRequest(lastZxidSeen: 0, timeOut: 2000, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16), readOnly: false), password: [7], sessionId: sid1, remoteAddress: "a"), wallMillis: 1, monotonicNanos: 0)
            logs[0].append([connect] + (0..<20).map { write("/a\($0)", sid: sid1) })
            logs[1].append((0..<20).map { write("/b\($0)", sid: 0x0200_0000_0000_0001) })
            // Nobody renews session 1 (no heardFrom): its lease runs out after ~2 s, and both see the expiry.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let done = sinks.allSatisfy { sink in sink.box.entries.contains { if case .expire(sid1) = $0.kind { return true }; return false } }
                if done { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let a = sinks[0].box.positions
            let b = sinks[1].box.positions
            #expect(a.count == 41 + 1)
            #expect(a == b)
            let entries = sinks[0].box.entries
            #expect(entries.count == 42)
            if case .expire(let sid) = entries.last?.kind { #expect(sid == sid1) } else { Issue.record("expected the expiry last") }
            // Each replica's own entries stay in its order.
            let paths = entries.compactMap { e -> String? in if case .request(_, .setData(let r), _, _) = e.kind { return r.path }; return nil }
            #expect(paths.filter { $0.hasPrefix("/a") } == (0..<20).map { "/a\($0)" })
            #expect(paths.filter { $0.hasPrefix("/b") } == (0..<20).map { "/b\($0)" })
            #expect(logs[0].status.appendedEntries == 21)
        }
    }
}

final class NIOLockedBox: Sendable {
    private let deliveries = NIOLockedValueBox<[LogDelivery]>([])
    func append(_ d: [LogDelivery]) { deliveries.withLockedValue { $0 += d } }
    /// (revision, index in it) of every entry, with a description of the entry.
    var positions: [String] {
        deliveries.withLockedValue { $0.flatMap { d in d.entries.enumerated().map { "\(d.revision).\($0.offset) \($0.element.kind)" } } }
    }
    var entries: [LogEntry] { deliveries.withLockedValue { $0.flatMap(\.entries) } }
}

@Suite struct MemberInfoTests {
    @Test func roundTripsAndParsesAddresses() {
        let info = MemberInfo(snapshotRevision: 42, address: "10.0.0.7:2890")
        #expect(MemberInfo(decoding: Array(info.encoded.utf8)) == info)
        #expect(info.hostPort?.host == "10.0.0.7")
        #expect(info.hostPort?.port == 2890)
        #expect(MemberInfo(decoding: Array("[fd00::1]:7".utf8)) == nil, "the revision comes first")
        #expect(MemberInfo(decoding: Array("9 [fd00::1]:7".utf8))?.hostPort?.host == "fd00::1")
        #expect(MemberInfo(decoding: Array("17".utf8)) == MemberInfo(snapshotRevision: 17, address: ""), "the older format")
        #expect(MemberInfo(decoding: Array("17".utf8))?.hostPort == nil)
    }
}

extension EtcdClientLiveTests {
    /// The compaction record only grows: a second compactor with an older floor leaves it where it is (CI once
    /// saw a lower record sent a replica behind etcd's real compaction point into a restart loop).
    @Test func theCompactionRecordOnlyGrows() async throws {
        try await withEtcd { client, _ in
            let key = Array("/zooreg/t/compacted".utf8)
            func raise(_ revision: Int64) async throws -> Bool {
                try await EtcdSharedLog.raiseCompactedRecord(client: client, key: key, to: revision)
            }
            func recorded() async throws -> String {
                String(decoding: try await client.range(key: key).kvs.first?.value ?? [], as: UTF8.self)
            }
            let first = try await raise(1151)
            let lower = try await raise(1028)
            let same = try await raise(1151)
            #expect(first && !lower && !same)
            #expect(try await recorded() == "1151")
            let higher = try await raise(1200)
            #expect(higher)
            #expect(try await recorded() == "1200")
        }
    }
}
