import Foundation
import NIOConcurrencyHelpers
import Testing
import TestKit
import ZooKeeperRecipes

// The data recipes against a real server: the in-process zooreg by default, or ZK_TEST_CONNECT=host:port (the
// zooreg binary, Apache ZooKeeper). Every wait is bounded; nothing sleeps to assert.
//
// Reconnects and session expiry are forced with TestKit's TCPProxy between one client and the server: it works
// the same in-process and against an external server on 127.0.0.1 (the client API has no hook to drop a
// connection, and no way to share a session id with a second client).

@Suite(.serialized) struct DataRecipesEndToEndTests {
    /// A client whose connection goes through a proxy that the test can cut.
    struct ProxiedClient {
        let client: ZooKeeperClient
        let proxy: TCPProxy

        func close() async {
            await client.close()
            try? await proxy.stop()
        }
    }

    static func proxiedClient(_ env: RecipeTestEnvironment, sessionTimeout: Duration = .seconds(4)) async throws
        -> ProxiedClient
    {
        let port = Int(env.hostPort.split(separator: ":").last.map(String.init) ?? "") ?? 2181
        let proxy = TCPProxy(upstreamPort: port)
        try await proxy.start()
        var configuration = ZooKeeperClient.Configuration()
        configuration.maxReconnectBackoff = .milliseconds(100)
        let client = try ZooKeeperClient(
            connectString: "127.0.0.1:\(proxy.port)", sessionTimeout: sessionTimeout,
            logger: recipeTestLogger("proxied"), configuration: configuration)
        try await client.connect(timeout: .seconds(5))
        return ProxiedClient(client: client, proxy: proxy)
    }

    static func last<T>(_ recorder: Recorder<WatchedValueUpdate<T>>) -> WatchedValueUpdate<T>? {
        recorder.items.last
    }

    // MARK: Watched value

    @Test func watchedValueSeesNeverExistedSetDeleteAndRecreate() async throws {
        try await RecipeTestEnvironment.run { env in
            let watcher = try await env.client(label: "watcher")
            let writer = try await env.client(label: "writer")
            try await writer.create(env.basePath)
            let path = env.basePath + "/config"
            let recorder = Recorder(watcher.watchedValue(at: path, as: String.self))
            defer { recorder.cancel() }
            try await eventually(10, "neverExisted") { recorder.items.first.map { if case .neverExisted = $0 { true } else { false } } ?? false }
            try await writer.create(path, data: Data("v1".utf8))
            try await eventually(10, "v1") { Self.last(recorder)?.value == "v1" }
            try await writer.setData(path, data: Data("v2".utf8))
            try await eventually(10, "v2") { Self.last(recorder)?.value == "v2" }
            try await writer.delete(path)
            try await eventually(10, "deleted") { if case .deleted = Self.last(recorder) { true } else { false } }
            try await writer.create(path, data: Data("v3".utf8))
            try await eventually(10, "v3") { Self.last(recorder)?.value == "v3" }
            let kinds = recorder.items.map { update -> String in
                switch update {
                case .neverExisted: return "never"
                case .deleted: return "deleted"
                case .value(let value, _): return value
                case .undecodable: return "undecodable"
                }
            }
            #expect(kinds == ["never", "v1", "v2", "deleted", "v3"])
        }
    }

    @Test func watchedValueOfAnExistingNodeStartsWithItsValueAndBytesWork() async throws {
        try await RecipeTestEnvironment.run { env in
            let client = try await env.client()
            try await client.create(env.basePath, data: Data([0, 1, 255]))
            let recorder = Recorder(client.watchedValue(at: env.basePath, as: [UInt8].self))
            defer { recorder.cancel() }
            try await eventually(10, "the bytes") { Self.last(recorder)?.value == [0, 1, 255] }
            #expect(recorder.items.count == 1)
        }
    }

    @Test func watchedValueReportsADecodeFailureAndGoesOn() async throws {
        struct Config: Codable, Sendable, Equatable { var limit: Int }
        try await RecipeTestEnvironment.run { env in
            let client = try await env.client()
            let path = env.basePath
            try await client.create(path, data: Data(#"{"limit":1}"#.utf8))
            let recorder = Recorder(client.watchedValue(at: path, as: Config.self))
            defer { recorder.cancel() }
            try await eventually(10, "limit 1") { Self.last(recorder)?.value == Config(limit: 1) }
            try await client.setData(path, data: Data("not json".utf8))
            try await eventually(10, "a decode failure") {
                if case .undecodable(let data, _, _) = Self.last(recorder) { return data == Data("not json".utf8) }
                return false
            }
            try await client.setData(path, data: Data(#"{"limit":2}"#.utf8))
            try await eventually(10, "limit 2") { Self.last(recorder)?.value == Config(limit: 2) }
        }
    }

    @Test func watchedValueCatchesUpAfterAReconnect() async throws {
        try await RecipeTestEnvironment.run { env in
            let writer = try await env.client(label: "writer")
            try await writer.create(env.basePath, data: Data("before".utf8))
            let proxied = try await Self.proxiedClient(env)
            let states = Recorder(proxied.client.states)
            let recorder = Recorder(proxied.client.watchedValue(at: env.basePath, as: String.self))
            try await eventually(10, "before") { Self.last(recorder)?.value == "before" }
            proxied.proxy.block()
            try await eventually(10, "suspended") { states.items.contains(.suspended) }
            try await writer.setData(env.basePath, data: Data("while away".utf8))
            proxied.proxy.unblock()
            try await eventually(15, "the change made while disconnected") { Self.last(recorder)?.value == "while away" }
            #expect(states.items.contains(.reconnected))
            try await writer.setData(env.basePath, data: Data("after".utf8))
            try await eventually(10, "after") { Self.last(recorder)?.value == "after" }
            recorder.cancel()
            states.cancel()
            await proxied.close()
        }
    }

    @Test func watchedValueSurvivesSessionExpiry() async throws {
        try await RecipeTestEnvironment.run { env in
            let writer = try await env.client(label: "writer")
            try await writer.create(env.basePath, data: Data("before".utf8))
            // The shortest timeout the server grants (it raises it to 2 ticks: 4 s on a stock ZooKeeper).
            let proxied = try await Self.proxiedClient(env, sessionTimeout: .milliseconds(500))
            let marker = env.basePath + "/session-marker"
            try await proxied.client.create(marker, mode: .ephemeral)
            let states = Recorder(proxied.client.states)
            let recorder = Recorder(proxied.client.watchedValue(at: env.basePath, as: String.self))
            try await eventually(10, "before") { Self.last(recorder)?.value == "before" }
            proxied.proxy.block()
            // The server expires the session once the timeout passes with no connection: its ephemeral goes.
            try await eventually(40, "the session to expire on the server") { try await writer.exists(marker) == nil }
            try await writer.setData(env.basePath, data: Data("after expiry".utf8))
            proxied.proxy.unblock()
            try await eventually(20, "the value after expiry") { Self.last(recorder)?.value == "after expiry" }
            #expect(states.items.contains(.expired))
            try await writer.setData(env.basePath, data: Data("later".utf8))
            try await eventually(10, "later") { Self.last(recorder)?.value == "later" }
            recorder.cancel()
            states.cancel()
            await proxied.close()
        }
    }

    // MARK: Tree cache

    static func contains(_ recorder: Recorder<TreeCacheEvent>, _ predicate: (TreeCacheEvent) -> Bool) -> Bool {
        recorder.items.contains(where: predicate)
    }

    /// Both modes: persistent recursive (what both servers support) and one-shot watches (the fallback for servers
    /// without addWatch, forced here since neither server under test lacks it).
    @Test(arguments: [false, true]) func treeCacheLoadsThenFollowsAddsChangesAndRemoves(oneShot: Bool) async throws {
        try await RecipeTestEnvironment.run { env in
            let writer = try await env.client(label: "writer")
            let root = env.basePath + "/tree"
            try await writer.create(env.basePath)
            try await writer.create(root, data: Data("root".utf8))
            try await writer.create(root + "/a", data: Data("1".utf8))
            try await writer.create(root + "/a/b", data: Data("2".utf8))
            let cache = TreeCache(
                client: try await env.client(label: "cache"), path: root, oneShotWatches: oneShot,
                logger: recipeTestLogger("cache"))
            let events = Recorder(cache.events())
            cache.start()
            try await eventually(10, "initialized") { events.items.contains(.initialized) }
            #expect(cache.mode == (oneShot ? .oneShot : .persistentRecursive))
            #expect(cache.isInitialized)
            #expect(Set(cache.snapshot.keys) == [root, root + "/a", root + "/a/b"])
            #expect(cache.node(at: root + "/a/b")?.data == Data("2".utf8))
            #expect(cache.children(of: root) == ["a"])
            let beforeInitialized = events.items.prefix { $0 != .initialized }.compactMap(\.path)
            #expect(Set(beforeInitialized) == [root, root + "/a", root + "/a/b"])

            try await writer.create(root + "/c", data: Data("3".utf8))
            try await eventually(10, "added c") {
                Self.contains(events) { if case .added(root + "/c", let n) = $0 { n.data == Data("3".utf8) } else { false } }
            }
            try await writer.setData(root + "/a", data: Data("1b".utf8))
            try await eventually(10, "changed a") {
                Self.contains(events) { if case .changed(root + "/a", let n) = $0 { n.data == Data("1b".utf8) } else { false } }
            }
            try await writer.delete(root + "/a/b")
            try await eventually(10, "removed a/b") {
                Self.contains(events) { if case .removed(root + "/a/b", _) = $0 { true } else { false } }
            }
            #expect(cache.node(at: root + "/a/b") == nil)
            // A new grandchild and a removed subtree.
            try await writer.create(root + "/c/d", data: Data("4".utf8))
            try await eventually(10, "added c/d") {
                Self.contains(events) { if case .added(root + "/c/d", _) = $0 { true } else { false } }
            }
            try await writer.delete(root + "/c/d")
            try await writer.delete(root + "/c")
            try await eventually(10, "removed c") {
                Self.contains(events) { if case .removed(root + "/c", _) = $0 { true } else { false } }
            }
            #expect(Set(cache.snapshot.keys) == [root, root + "/a"])
            #expect(events.items.filter { $0 == .initialized }.count == 1)
            cache.close()
            try await events.waitUntilFinished()
        }
    }

    @Test func treeCacheResyncsAfterAReconnect() async throws {
        try await RecipeTestEnvironment.run { env in
            let writer = try await env.client(label: "writer")
            let root = env.basePath
            try await writer.create(root)
            try await writer.create(root + "/keep", data: Data("k".utf8))
            try await writer.create(root + "/gone", data: Data("g".utf8))
            let proxied = try await Self.proxiedClient(env)
            let states = Recorder(proxied.client.states)
            let cache = TreeCache(client: proxied.client, path: root, logger: recipeTestLogger("cache"))
            let events = Recorder(cache.events())
            cache.start()
            try await eventually(10, "initialized") { events.items.contains(.initialized) }
            proxied.proxy.block()
            try await eventually(10, "suspended") { states.items.contains(.suspended) }
            try await writer.delete(root + "/gone")
            try await writer.create(root + "/new", data: Data("n".utf8))
            try await writer.setData(root + "/keep", data: Data("k2".utf8))
            proxied.proxy.unblock()
            try await eventually(15, "the cache to catch up") {
                let snapshot = cache.snapshot
                return snapshot[root + "/gone"] == nil && snapshot[root + "/new"]?.data == Data("n".utf8)
                    && snapshot[root + "/keep"]?.data == Data("k2".utf8)
            }
            // The snapshot changes before the events reach the recorder (an AsyncStream consumer): wait for them.
            try await eventually(10, "the resync's events") {
                Self.contains(events) { if case .removed(root + "/gone", _) = $0 { true } else { false } }
                    && Self.contains(events) { if case .added(root + "/new", _) = $0 { true } else { false } }
            }
            cache.close()
            states.cancel()
            await proxied.close()
        }
    }

    // MARK: Shared count

    @Test func sharedCountCompareAndSet() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = env.basePath + "/count"
            let one = SharedCount(client: try await env.client(label: "one"), path: path, seed: 0)
            let two = SharedCount(client: try await env.client(label: "two"), path: path, seed: 99)
            try await one.start()
            try await two.start()  // exists already: keeps the first seed
            let changes = Recorder(two.changes())
            defer { changes.cancel() }
            let initial = try await one.versionedValue()
            #expect(initial.value == 0)
            #expect(try await one.trySetCount(5, expectedVersion: initial.version))
            #expect(try await !two.trySetCount(6, expectedVersion: initial.version))
            let now = try await two.versionedValue()
            #expect(now == VersionedCount(value: 5, version: initial.version + 1))
            // Curator's bytes: 4 big-endian bytes.
            #expect([UInt8](try await one.client.getData(path).data) == [0, 0, 0, 5])
            try await one.setCount(-7)
            #expect(try await two.count == -7)
            try await eventually(10, "the changes") { changes.items.map(\.value).last == -7 }
        }
    }

    // MARK: Barriers

    @Test func barrierHoldsWaitersUntilRemoved() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = env.basePath + "/gate"
            let coordinator = DistributedBarrier(client: try await env.client(label: "coordinator"), path: path)
            try await coordinator.setBarrier()
            try await coordinator.setBarrier()  // idempotent
            let waiters = [
                DistributedBarrier(client: try await env.client(label: "w1"), path: path),
                DistributedBarrier(client: try await env.client(label: "w2"), path: path),
            ]
            // Closed: a bounded wait gives up.
            #expect(try await !waiters[0].waitOnBarrier(timeout: .milliseconds(200)))
            let passed = NIOLockedValueBox(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for waiter in waiters {
                    group.addTask {
                        let opened = try await waiter.waitOnBarrier(timeout: .seconds(20))
                        #expect(opened)
                        passed.withLockedValue { $0 += 1 }
                    }
                }
                #expect(passed.withLockedValue { $0 } == 0)
                try await coordinator.removeBarrier()
                try await group.waitForAll()  // each waiter has its own timeout
            }
            #expect(passed.withLockedValue { $0 } == 2)
            #expect(try await waiters[1].waitOnBarrier(timeout: .milliseconds(1)))
            try await coordinator.removeBarrier()  // already open: fine
        }
    }

    @Test func doubleBarrierEntersWithAllMembersAndLeavesTogether() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = env.basePath + "/double"
            var members: [DistributedDoubleBarrier] = []
            for index in 0..<3 {
                members.append(
                    DistributedDoubleBarrier(client: try await env.client(label: "m\(index)"), path: path, memberQuantity: 3))
            }
            let observer = try await env.client(label: "observer")
            let entered = NIOLockedValueBox(0)
            let first = members[0], second = members[1], third = members[2]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for member in [first, second] {
                    group.addTask {
                        let passed = try await member.enter(timeout: .seconds(30))
                        #expect(passed)
                        entered.withLockedValue { $0 += 1 }
                    }
                }
                try await eventually(10, "two members waiting") {
                    ((try? await observer.getChildren(path)) ?? []).count == 2
                }
                #expect(try await observer.exists(path + "/ready") == nil)
                #expect(entered.withLockedValue { $0 } == 0)
                #expect(try await third.enter(timeout: .seconds(30)))
                try await group.waitForAll()  // each enter has its own timeout
            }
            #expect(entered.withLockedValue { $0 } == 2)
            #expect(try await observer.exists(path + "/ready") != nil)

            let left = NIOLockedValueBox(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for member in [first, second] {
                    group.addTask {
                        let passed = try await member.leave(timeout: .seconds(30))
                        #expect(passed)
                        left.withLockedValue { $0 += 1 }
                    }
                }
                // Nobody can leave while the third is still inside.
                try await eventually(10, "the two to delete or keep their nodes") {
                    ((try? await observer.getChildren(path)) ?? []).filter { $0 != "ready" }.count <= 2
                }
                #expect(left.withLockedValue { $0 } == 0)
                #expect(try await third.leave(timeout: .seconds(30)))
                try await group.waitForAll()  // each leave has its own timeout
            }
            #expect(left.withLockedValue { $0 } == 2)
            #expect(((try? await observer.getChildren(path)) ?? []) == [])
        }
    }

    // MARK: Queue

    @Test func queueIsFIFOAndTwoConsumersNeverTakeTheSameItem() async throws {
        try await RecipeTestEnvironment.run { env in
            let path = env.basePath + "/queue"
            let producer = DistributedQueue(client: try await env.client(label: "producer"), path: path)
            let consumerA = DistributedQueue(client: try await env.client(label: "a"), path: path)
            let consumerB = DistributedQueue(client: try await env.client(label: "b"), path: path)
            #expect(try await consumerA.poll() == nil)
            for word in ["one", "two", "three"] { try await producer.offer(Data(word.utf8)) }
            #expect(try await consumerA.peek() == Data("one".utf8))
            var taken: [String] = []
            for _ in 0..<3 { taken.append(String(decoding: try await consumerA.take(timeout: .seconds(5)) ?? Data(), as: UTF8.self)) }
            #expect(taken == ["one", "two", "three"])
            #expect(try await consumerA.take(timeout: .milliseconds(100)) == nil)

            // A take waiting on an empty queue gets the next offer.
            async let waiting = consumerB.take(timeout: .seconds(20))
            try await eventually(10, "the queue to exist") { try await producer.client.exists(path) != nil }
            try await producer.offer(Data("late".utf8))
            #expect(try await waiting == Data("late".utf8))

            let count = 40
            for index in 0..<count { try await producer.offer(Data(String(format: "%03d", index).utf8)) }
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for consumer in [consumerA, consumerB] {
                    group.addTask {
                        var mine: [Int] = []
                        while let data = try await consumer.take(timeout: .milliseconds(300)) {
                            mine.append(Int(String(decoding: data, as: UTF8.self))!)
                        }
                        return mine
                    }
                }
                var all: [[Int]] = []
                for try await mine in group { all.append(mine) }
                return all
            }
            let everything = results.flatMap { $0 }
            #expect(everything.count == count)
            #expect(Set(everything) == Set(0..<count))
            for mine in results { #expect(mine == mine.sorted()) }
        }
    }
}
