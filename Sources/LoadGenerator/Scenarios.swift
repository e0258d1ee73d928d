#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperWire

/// Where a scenario connects, and the server process to watch.
public struct Target: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var serverPID: Int32?
    public var sessionTimeoutMs: Int32

    public init(host: String = "127.0.0.1", port: Int = 2181, serverPID: Int32? = nil, sessionTimeoutMs: Int32 = 30_000) {
        self.host = host
        self.port = port
        self.serverPID = serverPID
        self.sessionTimeoutMs = sessionTimeoutMs
    }

    func connect(on loop: any EventLoop) async throws -> NIOLoopBound<RawClient> {
        try await RawClient.connect(host: host, port: port, on: loop, sessionTimeoutMs: sessionTimeoutMs).get()
    }

    func sample() -> ProcessSample? {
        serverPID.flatMap { try? ProcessStats.sample(pid: $0) }
    }
}

/// Memory and CPU of the server before and after a scenario.
public struct ServerDelta: Sendable, Codable, Hashable {
    public var rssBeforeBytes: UInt64
    public var rssAfterBytes: UInt64
    public var peakRSSBytes: UInt64
    public var cpuSeconds: Double

    init?(before: ProcessSample?, after: ProcessSample?) {
        guard let before, let after else { return nil }
        rssBeforeBytes = before.rssBytes
        rssAfterBytes = after.rssBytes
        peakRSSBytes = after.peakRSSBytes
        cpuSeconds = Double(after.cpuNanoseconds &- before.cpuNanoseconds) / 1e9
    }
}

func seconds(since start: NIODeadline) -> Double {
    Double((NIODeadline.now() - start).nanoseconds) / 1e9
}

func closeClients(_ clients: [NIOLoopBound<RawClient>]) async {
    var index = 0
    while index < clients.count {
        let batch = clients[index..<min(clients.count, index + 256)]
        for future in batch.map({ c in c.eventLoop.flatSubmit { c.value.connection.close() } }) {
            _ = try? await future.get()
        }
        index += 256
    }
}

func closeWatchers(_ watchers: [NIOLoopBound<FanoutWatcher>]) async {
    var index = 0
    while index < watchers.count {
        let batch = watchers[index..<min(watchers.count, index + 256)]
        for future in batch.map({ w in
            w.eventLoop.flatSubmit {
                w.value.cancel()
                return w.value.client.connection.close()
            }
        }) {
            _ = try? await future.get()
        }
        index += 256
    }
}

/// Makes every ancestor of `path` and `path` itself (persistent), ignoring NODEEXISTS.
func ensurePath(_ path: String, client: NIOLoopBound<RawClient>) async throws {
    var prefixes: [String] = []
    var current = ""
    for component in path.split(separator: "/") {
        current += "/" + component
        prefixes.append(current)
    }
    try await Setup.ensurePersistent(prefixes, client: client)
}

/// Raises the open-file limit to the hard limit (many sessions need many sockets).
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

// MARK: - Populate

/// Creates `count` persistent nodes `<parent>/<i>` of `valueSize` bytes, in multi batches pipelined over a few
/// sessions: what rows 5 and 6 (memory per znode, recovery) need.
public struct PopulateResult: Sendable, Codable, Hashable {
    public var parent: String
    public var count: Int
    public var valueSize: Int
    public var seconds: Double
    public var rate: Double
    public var server: ServerDelta?
}

public enum Populate {
    public static func run(
        target: Target, parent: String, count: Int, valueSize: Int, batch: Int = 100, window: Int = 8, connections: Int = 4,
        progress: Bool = true
    ) async throws -> PopulateResult {
        guard count >= 0, batch > 0, window > 0, connections > 0 else { throw BenchError.invalidOption("populate sizes") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let loop = group.next()
        let before = target.sample()
        let value = [UInt8](repeating: 0x61, count: valueSize)
        var clients: [NIOLoopBound<RawClient>] = []
        do {
            for _ in 0..<connections { clients.append(try await target.connect(on: loop)) }
            try await ensurePath(parent, client: clients[0])
            let start = NIODeadline.now()
            let batches = (count + batch - 1) / batch
            let done = NIOLockedCounter()
            var futures: [EventLoopFuture<Void>] = []
            for (c, client) in clients.enumerated() {
                // Connection c does batches c, c + connections, ...
                let mine = stride(from: c, to: batches, by: connections).map { $0 }
                futures.append(loop.flatSubmit {
                    WindowedPipeline.run(
                        client: client.value, count: mine.count, window: window,
                        make: { j in
                            let first = mine[j] * batch
                            let ops = (first..<min(count, first + batch)).map { i -> ZooKeeperRequest in
                                .create(CreateRequest(path: "\(parent)/\(i)", data: value, acl: ACL.openUnsafe, flags: 0))
                            }
                            return .multi(ops)
                        },
                        handle: { j, reply in
                            if let code = reply.error { throw BenchError.requestFailed("populate multi \(mine[j])", code) }
                            let firstType = reply.body.getInteger(at: reply.body.readerIndex, endianness: .big, as: Int32.self)
                            if firstType == OpCode.error.rawValue {
                                throw BenchError.requestFailed("populate multi \(mine[j]) failed (nodes exist?)", nil)
                            }
                            done.add(min(batch, count - mine[j] * batch))
                            return nil
                        })
                })
            }
            let all = EventLoopFuture.andAllSucceed(futures, on: loop)
            let finished = NIOLockedValueBox(false)
            all.whenComplete { _ in finished.withLockedValue { $0 = true } }
            var ticks = 0
            while !finished.withLockedValue({ $0 }) {
                try await Task.sleep(for: .milliseconds(50))
                ticks += 1
                if progress && ticks % 20 == 0 {
                    let created = done.value
                    StandardError.progress(
                        "populate \(Format.fixed(seconds(since: start), 1)) s: \(created) nodes, \(Format.compact(Double(created) / seconds(since: start))) nodes/s")
                }
            }
            try await all.get()
            let elapsed = seconds(since: start)
            if progress { StandardError.endProgress() }
            await closeClients(clients)
            return PopulateResult(
                parent: parent, count: count, valueSize: valueSize, seconds: elapsed, rate: Double(count) / elapsed,
                server: ServerDelta(before: before, after: target.sample()))
        } catch {
            await closeClients(clients)
            throw error
        }
    }
}

/// A counter shared across threads.
final class NIOLockedCounter: Sendable {
    private let box = NIOLockedValueBox(0)
    var value: Int { box.withLockedValue { $0 } }
    func add(_ n: Int) { box.withLockedValue { $0 += n } }
}

// MARK: - Watch fan-out

/// Row 7: `sessions` sessions watch one node; one more sets its data; the time until every watcher got its
/// NodeDataChanged, per round.
public struct FanoutResult: Sendable, Codable, Hashable {
    public var sessions: Int
    public var rounds: Int
    /// Per round, milliseconds from sending setData until the last watcher was notified.
    public var allNotifiedMillis: [Double]
    /// Per round, milliseconds until half the watchers were notified.
    public var medianNotifiedMillis: [Double]
    public var medianAllNotifiedMillis: Double
    public var connectSeconds: Double
    public var server: ServerDelta?
}

/// A watcher session of the fan-out: arms a data watch and reports when it fires. Lives on its loop.
final class FanoutWatcher {
    let client: RawClient
    private var fired: EventLoopPromise<UInt64>?

    init(client: RawClient) {
        self.client = client
        client.onNotification = { [unowned self] event, _ in
            guard event.type == EventType.nodeDataChanged.rawValue else { return }
            fired?.succeed(NIODeadline.now().uptimeNanoseconds)
            fired = nil
        }
    }

    /// Fails a watch that has not fired (before closing).
    func cancel() {
        fired?.fail(BenchError.connectionLost("fan-out watcher closed"))
        fired = nil
    }

    /// Sets the watch; the first future completes when the watch is set, the second when it fires.
    func arm(path: String) -> (EventLoopFuture<Void>, EventLoopFuture<UInt64>) {
        let promise = client.eventLoop.makePromise(of: UInt64.self)
        fired?.fail(BenchError.timedOut("watch re-armed before it fired"))
        fired = promise
        let set = client.request(.exists(ExistsRequest(path: path, watch: true))).flatMapThrowing { reply in
            if let code = reply.error { throw BenchError.requestFailed("exists \(path)", code) }
        }
        return (set, promise.futureResult)
    }
}

public enum Fanout {
    public static func run(target: Target, root: String, sessions: Int, rounds: Int, threads: Int = 2, progress: Bool = true) async throws -> FanoutResult {
        guard sessions > 0, rounds > 0 else { throw BenchError.invalidOption("fanout sizes") }
        raiseOpenFileLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { group.shutdownGracefully { _ in } }
        let loops = Array(group.makeIterator())
        let path = root + "/fan"
        var writer: NIOLoopBound<RawClient>?
        var watchers: [NIOLoopBound<FanoutWatcher>] = []
        let before = target.sample()
        do {
            let writerClient = try await target.connect(on: loops[0])
            writer = writerClient
            try await ensurePath(path, client: writerClient)
            let connectStart = NIODeadline.now()
            var index = 0
            while index < sessions {
                let batch = index..<min(sessions, index + 64)
                let futures = batch.map { i -> EventLoopFuture<NIOLoopBound<FanoutWatcher>> in
                    let loop = loops[i % loops.count]
                    return RawClient.connect(host: target.host, port: target.port, on: loop, sessionTimeoutMs: target.sessionTimeoutMs)
                        .map { NIOLoopBound(FanoutWatcher(client: $0.value), eventLoop: loop) }
                }
                for future in futures { watchers.append(try await future.get()) }
                index = batch.upperBound
            }
            let connectSeconds = seconds(since: connectStart)
            var all: [Double] = []
            var medians: [Double] = []
            for round in 0..<rounds {
                var armed: [EventLoopFuture<Void>] = []
                var fired: [EventLoopFuture<UInt64>] = []
                for watcher in watchers {
                    let (set, fire) = try await watcher.eventLoop.submit { () -> (EventLoopFuture<Void>, EventLoopFuture<UInt64>) in
                        let (a, b) = watcher.value.arm(path: path)
                        return (a, b)
                    }.get()
                    armed.append(set)
                    fired.append(fire)
                }
                for future in armed { try await future.get() }
                let sent = NIODeadline.now().uptimeNanoseconds
                let reply = try await loops[0].flatSubmit {
                    writerClient.value.request(.setData(SetDataRequest(path: path, data: [UInt8]("round \(round)".utf8), version: -1)))
                }.get()
                if let code = reply.error { throw BenchError.requestFailed("setData \(path)", code) }
                var times: [UInt64] = []
                times.reserveCapacity(fired.count)
                for future in fired { times.append(try await withDeadline(seconds: 30, future)) }
                times.sort()
                all.append(Double(times.last! &- sent) / 1e6)
                medians.append(Double(times[times.count / 2] &- sent) / 1e6)
                if progress { StandardError.write("fan-out round \(round + 1): all \(sessions) notified in \(Format.fixed(all.last!, 2)) ms\n") }
            }
            let after = target.sample()
            await closeWatchers(watchers)
            await closeClients([writerClient])
            return FanoutResult(
                sessions: sessions, rounds: rounds, allNotifiedMillis: all, medianNotifiedMillis: medians,
                medianAllNotifiedMillis: median(all), connectSeconds: connectSeconds,
                server: ServerDelta(before: before, after: after))
        } catch {
            await closeWatchers(watchers)
            await closeClients(writer.map { [$0] } ?? [])
            throw error
        }
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

// MARK: - Session storm

/// Row 8: `sessions` sessions connect and each creates an ephemeral node, `concurrency` at a time.
public struct StormResult: Sendable, Codable, Hashable {
    public var sessions: Int
    public var concurrency: Int
    /// From the first connect to the last ephemeral created.
    public var registerSeconds: Double
    public var registerRate: Double
    /// Per session, from its connect to its create's reply, in milliseconds.
    public var latencyMillis: LatencySummary
    /// Closing every session (closeSession answered).
    public var closeSeconds: Double
    /// Server memory with every session registered.
    public var server: ServerDelta?
    public var rssPerSessionBytes: Double?
}

public enum Storm {
    public static func run(
        target: Target, root: String, sessions: Int, concurrency: Int, valueSize: Int = 100, threads: Int = 2, progress: Bool = true
    ) async throws -> StormResult {
        guard sessions > 0, concurrency > 0 else { throw BenchError.invalidOption("storm sizes") }
        raiseOpenFileLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { group.shutdownGracefully { _ in } }
        let loops = Array(group.makeIterator())
        let parent = root + "/storm"
        let setup = try await target.connect(on: loops[0])
        try await ensurePath(parent, client: setup)
        await closeClients([setup])
        let value = [UInt8](repeating: 0x62, count: valueSize)
        let before = target.sample()
        var clients: [NIOLoopBound<RawClient>] = []
        clients.reserveCapacity(sessions)
        var latencies = LatencyRecorder()
        let start = NIODeadline.now()
        do {
            var index = 0
            var inFlight: [(Int, UInt64, EventLoopFuture<NIOLoopBound<RawClient>>)] = []
            // A sliding window of `concurrency` sessions being set up.
            func launch(_ i: Int) -> (Int, UInt64, EventLoopFuture<NIOLoopBound<RawClient>>) {
                let loop = loops[i % loops.count]
                let begun = NIODeadline.now().uptimeNanoseconds
                let future = RawClient.connect(host: target.host, port: target.port, on: loop, sessionTimeoutMs: target.sessionTimeoutMs)
                    .flatMap { client in
                        client.value.request(.create(CreateRequest(
                            path: "\(parent)/s-\(i)", data: value, acl: ACL.openUnsafe, flags: CreateMode.ephemeral.rawValue)))
                            .flatMapThrowing { reply -> NIOLoopBound<RawClient> in
                                if let code = reply.error { throw BenchError.requestFailed("create \(parent)/s-\(i)", code) }
                                return client
                            }
                    }
                return (i, begun, future)
            }
            while index < min(concurrency, sessions) {
                inFlight.append(launch(index))
                index += 1
            }
            var head = 0
            while head < inFlight.count {
                let (_, begun, future) = inFlight[head]
                head += 1
                let client = try await withDeadline(seconds: 60, future)
                latencies.record(nanoseconds: NIODeadline.now().uptimeNanoseconds &- begun)
                clients.append(client)
                if index < sessions {
                    inFlight.append(launch(index))
                    index += 1
                }
                if progress && clients.count % 1000 == 0 {
                    StandardError.progress("storm \(Format.fixed(seconds(since: start), 1)) s: \(clients.count) sessions registered")
                }
            }
            let registerSeconds = seconds(since: start)
            if progress { StandardError.endProgress() }
            let during = target.sample()
            let closeStart = NIODeadline.now()
            await closeClients(clients)
            let closeSeconds = seconds(since: closeStart)
            let delta = ServerDelta(before: before, after: during)
            let summary = latencies.summary
            return StormResult(
                sessions: sessions, concurrency: concurrency, registerSeconds: registerSeconds,
                registerRate: Double(sessions) / registerSeconds,
                latencyMillis: LatencySummary(
                    count: summary.count, mean: summary.mean / 1000, p50: summary.p50 / 1000, p90: summary.p90 / 1000,
                    p99: summary.p99 / 1000, p999: summary.p999 / 1000, max: summary.max / 1000),
                closeSeconds: closeSeconds, server: delta,
                rssPerSessionBytes: delta.map { (Double($0.rssAfterBytes) - Double($0.rssBeforeBytes)) / Double(sessions) })
        } catch {
            await closeClients(clients)
            throw error
        }
    }
}

// MARK: - Ready

/// Row 6: polls until the server serves (a session and a getData of "/"), and optionally counts a subtree.
public struct ReadyResult: Sendable, Codable, Hashable {
    /// Seconds from `since` (or from the start of polling) until the server served.
    public var seconds: Double
    public var attempts: Int
    public var checkPath: String?
    public var checkCount: Int?
    public var serverRSSBytes: UInt64?
}

public enum Ready {
    /// - Parameter sinceUnixNanoseconds: the wall-clock time the server was started at (the script's `date +%s%N`).
    public static func run(target: Target, timeoutSeconds: Double, sinceUnixNanoseconds: UInt64?, checkPath: String?) async throws -> ReadyResult {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let loop = group.next()
        let startWall = sinceUnixNanoseconds ?? wallClockNanoseconds()
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeoutSeconds * 1e9))
        var attempts = 0
        while NIODeadline.now() < deadline {
            attempts += 1
            do {
                // ZooKeeper may accept a connection while it loads and then neither answer nor close it: give up on
                // such an attempt after half a second (and close it if it comes through later).
                let client = try await withDeadline(
                    seconds: 0.5,
                    RawClient.connect(host: target.host, port: target.port, on: loop, sessionTimeoutMs: target.sessionTimeoutMs,
                                      connectTimeout: .milliseconds(500)),
                    onLate: { late in late.value.connection.abort() })
                let reply = try await withDeadline(seconds: 5, loop.flatSubmit {
                    client.value.request(.getData(GetDataRequest(path: "/", watch: false)))
                })
                let readyWall = wallClockNanoseconds()
                guard reply.error == nil else {
                    await closeClients([client])
                    continue
                }
                var count: Int?
                if let checkPath {
                    let counted = try await withDeadline(seconds: 60, loop.flatSubmit {
                        client.value.request(.getAllChildrenNumber(GetAllChildrenNumberRequest(path: checkPath)))
                    })
                    if counted.error == nil {
                        var body = counted.body
                        count = (try? body.readWireRecord(GetAllChildrenNumberResponse.self)).map { Int($0.totalNumber) }
                    }
                }
                await closeClients([client])
                return ReadyResult(
                    seconds: Double(readyWall &- startWall) / 1e9, attempts: attempts, checkPath: checkPath, checkCount: count,
                    serverRSSBytes: target.sample()?.rssBytes)
            } catch {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        throw BenchError.timedOut("the server did not serve within \(timeoutSeconds) s")
    }

    static func wallClockNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
