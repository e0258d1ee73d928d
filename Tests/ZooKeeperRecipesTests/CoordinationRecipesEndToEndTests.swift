import Foundation
import NIOConcurrencyHelpers
import Testing
import TestKit
@testable import ZooKeeperRecipes

/// The coordination recipes against a real server: the in-process one, or ZK_TEST_CONNECT's. Every wait is bounded.
@Suite(.serialized) struct CoordinationRecipesEndToEndTests {
    /// Acquire/release times of lock holders, to check that no two intervals overlap.
    final class History: Sendable {
        private let box = NIOLockedValueBox<[(who: String, start: ContinuousClock.Instant, end: ContinuousClock.Instant)]>([])
        private let inside = NIOLockedValueBox<(now: Int, max: Int)>((0, 0))

        func enter() {
            inside.withLockedValue { $0.now += 1; $0.max = max($0.max, $0.now) }
        }

        func leave(_ who: String, since start: ContinuousClock.Instant) {
            inside.withLockedValue { $0.now -= 1 }
            box.withLockedValue { $0.append((who, start, .now)) }
        }

        var count: Int { box.withLockedValue { $0.count } }
        var maxInside: Int { inside.withLockedValue { $0.max } }

        /// Whether any two intervals overlap.
        var overlaps: Bool {
            let sorted = box.withLockedValue { $0 }.sorted { $0.start < $1.start }
            return zip(sorted, sorted.dropFirst()).contains { $0.end > $1.start }
        }
    }

    private func proxyClient(
        _ env: RecipeTestEnvironment, proxy: TCPProxy, sessionTimeout: Duration = .seconds(2)
    ) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration()
        configuration.maxReconnectBackoff = .milliseconds(100)
        let client = try ZooKeeperClient(
            connectString: "127.0.0.1:\(proxy.port)", sessionTimeout: sessionTimeout,
            logger: recipeTestLogger("proxied"), configuration: configuration)
        try await client.connect(timeout: .seconds(5))
        return client
    }

    private func withProxy(
        _ env: RecipeTestEnvironment, _ body: (TCPProxy) async throws -> Void
    ) async throws {
        let port = Int(env.hostPort.split(separator: ":").last!)!
        let proxy = TCPProxy(upstreamPort: port)
        try await proxy.start()
        do {
            try await body(proxy)
        } catch {
            try? await proxy.stop()
            throw error
        }
        try await proxy.stop()
    }

    /// The children of `path` as the server has them now, read by a client that may be on another replica of an
    /// ensemble (so it syncs first). An empty lock directory is a container that the server may already have
    /// reaped: NONODE is no children.
    static func childrenNow(_ client: ZooKeeperClient, _ path: String) async throws -> [String] {
        _ = try await client.sync("/")
        do {
            return try await client.getChildren(path)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return []
        }
    }

    // MARK: Mutex

    @Test func mutexExcludesAcrossClients() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = "\(env.basePath)/mutex"
            let history = History()
            var tasks: [Task<Void, any Error>] = []
            do {
                for worker in 0..<4 {
                    let client = try await env.client(label: "worker\(worker)")
                    tasks.append(Task {
                        let lock = InterProcessMutex(client: client, path: path)
                        for _ in 0..<3 {
                            try await lock.withLock(timeout: .seconds(20)) {
                                let start = ContinuousClock.now
                                history.enter()
                                try await Task.sleep(for: .milliseconds(20))
                                history.leave("worker\(worker)", since: start)
                            }
                        }
                    })
                }
                for task in tasks { try await withTimeout(30, "the workers") { try await task.value } }
            }
            #expect(history.count == 12)
            #expect(history.maxInside == 1)
            #expect(!history.overlaps)
            let checker = try await env.client(label: "checker")
            #expect(try await Self.childrenNow(checker, path).isEmpty)
        }
    }

    @Test func waitersWatchOnlyTheirPredecessor() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = "\(env.basePath)/herd"
            let events = NIOLockedValueBox<[LockDriverEvent]>([])
            let holderClient = try await env.client(label: "holder")
            let holder = InterProcessMutex(client: holderClient, path: path)
            try await holder.acquire()
            let order = NIOLockedValueBox<[Int]>([])
            var tasks: [Task<Void, any Error>] = []
            do {
                for waiter in 0..<4 {
                    let client = try await env.client(label: "waiter\(waiter)")
                    let lock = InterProcessMutex(
                        client: client, path: path, schema: .mutex, lossPolicy: .sessionLoss, nodeData: Data(),
                        logger: recipeTestLogger("lock"), observer: { event in events.withLockedValue { $0.append(event) } })
                    tasks.append(Task {
                        try await lock.acquire()
                        order.withLockedValue { $0.append(waiter) }
                        try await Task.sleep(for: .milliseconds(10))
                        try await lock.release()
                    })
                    // Queue in a known order.
                    try await eventually(5, "waiter \(waiter) to queue") {
                        try await holderClient.getChildren(path).count == waiter + 2
                    }
                }
                let nodes = LockSchema.mutex.sorted(try await holderClient.getChildren(path)).map { "\(path)/\($0)" }
                // Each waiter watches exactly its predecessor. A waiter's node is listed before it sets its watch.
                @Sendable func watches() -> [[String]] {
                    events.withLockedValue { $0 }.compactMap { event -> [String]? in
                        if case .watching(let node, let watched) = event { return [node, watched] }
                        return nil
                    }
                }
                try await eventually(5, "every waiter watching") { Set(watches().map { $0[0] }).count == 4 }
                let watches = watches()
                #expect(Set(watches.map { $0[0] }).count == 4)
                for pair in watches {
                    let index = try #require(nodes.firstIndex(of: pair[0]))
                    #expect(pair[1] == nodes[index - 1])
                }
                try await holder.release()
                for task in tasks { try await withTimeout(20, "the waiters") { try await task.value } }
            }
            #expect(order.withLockedValue { $0 } == [0, 1, 2, 3])
            // One wake-up per hand-over: no herd.
            let wakes = events.withLockedValue { $0 }.filter { if case .woke = $0 { return true } else { return false } }
            #expect(wakes.count == 4)
        }
    }

    @Test func timeoutReentrancyAndRelease() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = "\(env.basePath)/reentrant"
            let a = InterProcessMutex(client: try await env.client(label: "a"), path: path)
            let other = try await env.client(label: "b")
            let b = InterProcessMutex(client: other, path: path)
            #expect(try await a.acquire(timeout: .seconds(5)))
            #expect(try await a.acquire(timeout: .seconds(5)))
            #expect(try await Self.childrenNow(other, path).count == 1)
            let node = try #require(await a.lockNodePath)
            #expect(node.hasPrefix("\(path)/_c_") && node.contains("-lock-"))
            #expect(try await !b.acquire(timeout: .milliseconds(300)))
            // The timed-out waiter left nothing behind.
            #expect(try await Self.childrenNow(other, path).count == 1)
            try await a.release()
            #expect(await a.isAcquired)
            #expect(try await !b.acquire(timeout: .milliseconds(200)))
            try await a.release()
            #expect(await !a.isAcquired)
            await #expect(throws: LockError.notHeld) { try await a.release() }
            #expect(try await b.acquire(timeout: .seconds(5)))
            try await b.release()
            #expect(try await Self.childrenNow(other, path).isEmpty)
        }
    }

    @Test func lockIsLostWhenTheHolderIsCutOffAndPassesOn() async throws {
        try await RecipeTestEnvironment.run { env in
            try await withProxy(env) { proxy in
                let path = "\(env.basePath)/lost"
                let doomed = try await proxyClient(env, proxy: proxy)
                defer { Task { await doomed.close() } }
                let lock = InterProcessMutex(client: doomed, path: path, lossPolicy: .sessionLoss)
                let states = Recorder(lock.states)
                let bodyCancelled = NIOLockedValueBox(false)
                let holding = Task {
                    try await lock.withLock(timeout: .seconds(5)) {
                        do {
                            try await Task.sleep(for: .seconds(60))
                        } catch {
                            bodyCancelled.withLockedValue { $0 = true }
                        }
                    }
                }
                try await states.waitFor(.acquired)
                let other = InterProcessMutex(client: try await env.client(label: "successor"), path: path)
                let successor = Task { try await other.acquire(timeout: .seconds(30)) }
                try await Task.sleep(for: .milliseconds(100))
                proxy.block()
                try await states.waitFor(.suspended, 5)
                // The holder gives up after the session timeout of disconnection; the server expires the session
                // and the waiter gets the lock.
                try await states.waitFor(.lost(.suspendedTooLong), 10)
                let result = await holding.result
                #expect(throws: LockError.lost(.suspendedTooLong)) { try result.get() }
                #expect(bodyCancelled.withLockedValue { $0 })
                #expect(try await withTimeout(30, "the successor") { try await successor.value })
                try await other.release()
            }
        }
    }

    @Test func lockIsLostOnSuspensionUnderTheSuspensionPolicy() async throws {
        try await RecipeTestEnvironment.run { env in
            try await withProxy(env) { proxy in
                let client = try await proxyClient(env, proxy: proxy, sessionTimeout: .seconds(10))
                defer { Task { await client.close() } }
                let lock = InterProcessMutex(client: client, path: "\(env.basePath)/strict", lossPolicy: .suspension)
                let states = Recorder(lock.states)
                try await lock.acquire(timeout: .seconds(5))
                proxy.block()
                try await states.waitFor(.lost(.connectionSuspended), 5)
                #expect(await !lock.isAcquired)
                proxy.unblock()
                try await client.connect(timeout: .seconds(10))
                try await lock.release()  // tidies up: the node is deleted
                #expect(try await Self.childrenNow(client, "\(env.basePath)/strict").isEmpty)
            }
        }
    }

    // MARK: Read-write lock and semaphore

    @Test func readersShareAndWritersExclude() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = "\(env.basePath)/rw"
            let r1 = InterProcessReadWriteLock(client: try await env.client(label: "r1"), path: path)
            let r2 = InterProcessReadWriteLock(client: try await env.client(label: "r2"), path: path)
            let w = InterProcessReadWriteLock(client: try await env.client(label: "w"), path: path)
            #expect(try await r1.readLock.acquire(timeout: .seconds(5)))
            #expect(try await r2.readLock.acquire(timeout: .seconds(5)))
            #expect(try await !w.writeLock.acquire(timeout: .milliseconds(300)))
            try await r1.readLock.release()
            try await r2.readLock.release()
            #expect(try await w.writeLock.acquire(timeout: .seconds(5)))
            let node = try #require(await w.writeLock.lockNodePath)
            #expect(node.contains("-__WRIT__"))
            #expect(try await !r1.readLock.acquire(timeout: .milliseconds(300)))
            #expect(try await !w.writeLock.acquire(timeout: .zero) == false)  // reentrant
            try await w.writeLock.release()
            // A reader queued behind a writer waits for it.
            let readerDone = Task { try await r1.readLock.acquire(timeout: .seconds(10)) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(await !r1.readLock.isAcquired)
            try await w.writeLock.release()
            #expect(try await withTimeout(10, "the reader") { try await readerDone.value })
            try await r1.readLock.release()
        }
    }

    @Test func semaphoreGrantsAtMostMaxLeases() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = "\(env.basePath)/sem"
            var made: [InterProcessSemaphoreV2] = []
            for i in 0..<3 {
                made.append(InterProcessSemaphoreV2(client: try await env.client(label: "s\(i)"), path: path, maxLeases: 2))
            }
            let semaphores = made
            let first = try #require(try await semaphores[0].acquire(timeout: .seconds(5)))
            let second = try #require(try await semaphores[1].acquire(timeout: .seconds(5)))
            #expect(first.path.hasPrefix("\(path)/leases/_c_") && first.path.contains("-lease-"))
            #expect(try await semaphores[2].acquire(timeout: .milliseconds(300)) == nil)
            let checker = try await env.client(label: "checker")
            #expect(try await Self.childrenNow(checker, "\(path)/leases").count == 2)
            #expect(try await Self.childrenNow(checker, "\(path)/locks").isEmpty)
            let third = Task { try await semaphores[2].acquire(timeout: .seconds(10)) }
            try await Task.sleep(for: .milliseconds(100))
            await first.release()
            let lease = try #require(try await withTimeout(10, "the third lease") { try await third.value })
            #expect(try await Self.childrenNow(checker, "\(path)/leases").count == 2)
            await lease.release()
            await second.release()
            // All or nothing.
            let pair = try #require(try await semaphores[0].acquire(2, timeout: .seconds(5)))
            #expect(pair.count == 2)
            #expect(try await semaphores[1].acquire(2, timeout: .milliseconds(200)) == nil)
            for lease in pair { await lease.release() }
            #expect(try await Self.childrenNow(checker, "\(path)/leases").isEmpty)
        }
    }

    // MARK: Leader election

    @Test func leaderLatchElectsOneAndHandsOver() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = "\(env.basePath)/latch"
            var latches: [LeaderLatch] = []
            var clients: [ZooKeeperClient] = []
            for i in 0..<3 {
                clients.append(try await env.client(label: "l\(i)"))
                latches.append(LeaderLatch(client: clients[i], path: path, id: "p\(i)"))
            }
            let firstChanges = Recorder(latches[0].leadershipChanges)
            for latch in latches {
                latch.start()
                try await eventually(5, "the latch node") { latch.nodePath != nil }
            }
            #expect(try await latches[0].awaitLeadership(timeout: .seconds(5)))
            #expect(latches.filter(\.hasLeadership).count == 1)
            _ = try await clients[1].sync("/")  // the other latches' nodes may have come through other replicas
            #expect(try await latches[1].participants() == ["p0", "p1", "p2"])
            #expect(try #require(latches[0].nodePath).contains("/_c_") && latches[0].nodePath!.contains("-latch-"))
            await latches[0].close()
            try await firstChanges.waitUntilFinished()
            #expect(firstChanges.items == [false, true, false])
            #expect(try await latches[1].awaitLeadership(timeout: .seconds(5)))
            #expect(!latches[2].hasLeadership)
            await latches[1].close()
            #expect(try await latches[2].awaitLeadership(timeout: .seconds(5)))
            await latches[2].close()
            let checker = try await env.client(label: "checker")
            #expect(try await Self.childrenNow(checker, path).isEmpty)
        }
    }

    @Test func leaderLatchLosesLeadershipOnSuspensionAndRegainsIt() async throws {
        try await RecipeTestEnvironment.run { env in
            try await withProxy(env) { proxy in
                let client = try await proxyClient(env, proxy: proxy, sessionTimeout: .seconds(10))
                defer { Task { await client.close() } }
                let latch = LeaderLatch(client: client, path: "\(env.basePath)/flaky")
                let changes = Recorder(latch.leadershipChanges)
                latch.start()
                #expect(try await latch.awaitLeadership(timeout: .seconds(5)))
                let node = latch.nodePath
                proxy.block()
                try await eventually(5, "leadership to go") { !latch.hasLeadership }
                proxy.unblock()
                #expect(try await latch.awaitLeadership(timeout: .seconds(10)))
                #expect(latch.nodePath == node)  // same session, same node
                await latch.close()
                try await changes.waitUntilFinished()
                #expect(changes.items == [false, true, false, true, false])
            }
        }
    }

    @Test func leaderSelectorLeadsWhileTheClosureRuns() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = "\(env.basePath)/selector"
            let history = History()
            let turns = NIOLockedValueBox<[String]>([])
            var made: [LeaderSelector] = []
            for i in 0..<3 {
                let client = try await env.client(label: "s\(i)")
                made.append(LeaderSelector(client: client, path: path, id: "s\(i)") { selector in
                    let start = ContinuousClock.now
                    history.enter()
                    #expect(selector.hasLeadership)
                    turns.withLockedValue { $0.append(selector.id) }
                    try await Task.sleep(for: .milliseconds(50))
                    history.leave(selector.id, since: start)
                })
            }
            let selectors = made
            for selector in selectors { selector.start() }
            try await eventually(10, "three turns") { turns.withLockedValue { $0.count } == 3 }
            try await eventually(5, "the last turn to end") { !selectors.contains(where: \.hasLeadership) }
            #expect(Set(turns.withLockedValue { $0 }) == ["s0", "s1", "s2"])
            #expect(history.maxInside == 1 && !history.overlaps)
            // Without autoRequeue, nobody leads again until requeue().
            try await Task.sleep(for: .milliseconds(100))
            #expect(turns.withLockedValue { $0.count } == 3)
            #expect(selectors[1].requeue())
            try await eventually(5, "the requeued turn") { turns.withLockedValue { $0.count } == 4 }
            #expect(turns.withLockedValue { $0 }.last == "s1")

            // close() cancels a running closure and releases.
            let cancelled = NIOLockedValueBox(false)
            let long = LeaderSelector(client: try await env.client(label: "long"), path: path, autoRequeue: true) { _ in
                do { try await Task.sleep(for: .seconds(60)) } catch { cancelled.withLockedValue { $0 = true } }
            }
            long.start()
            try await eventually(5, "the long leader") { long.hasLeadership }
            await long.close()
            #expect(cancelled.withLockedValue { $0 })
            for selector in selectors { await selector.close() }
            let checker = try await env.client(label: "checker")
            #expect(try await Self.childrenNow(checker, path).isEmpty)
        }
    }
}
