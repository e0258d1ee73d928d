import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing
import TestKit
import ZooKeeperClient

// The client against a real server: the in-process `zooreg` server by default, or Apache ZooKeeper when
// ZK_TEST_CONNECT names one (see TestEnvironment). Every wait is bounded.

func expectError<T>(
    _ code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code), got a result", sourceLocation: sourceLocation)
    } catch let error as ZooKeeperError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

private func bytes(_ text: String) -> Data { Data(text.utf8) }

@Suite(.serialized, .timeLimit(.minutes(1)))
struct EndToEndTests {
    @Test func crudCreateModesAndErrors() async throws {
        try await TestEnvironment.run { env in
            let zk = try await env.connectedClient()
            #expect(try await zk.create("/a", data: bytes("one")) == "/a")
            let (data, stat) = try await zk.getData("/a")
            #expect(data == bytes("one"))
            #expect(stat.version == 0 && stat.dataLength == 3)
            #expect(try await zk.setData("/a", data: bytes("two"), version: 0).version == 1)
            await expectError(.badVersion) { try await zk.setData("/a", data: bytes("x"), version: 0) }
            #expect(try await zk.exists("/a")?.version == 1)
            #expect(try await zk.exists("/missing") == nil)
            await expectError(.noNode) { try await zk.getData("/missing") }
            await expectError(.nodeExists) { try await zk.create("/a") }
            await expectError(.noNode) { try await zk.create("/missing/child") }

            let (path, created) = try await zk.createWithStat("/b", data: bytes("bee"))
            #expect(path == "/b" && created.czxid > 0 && created.dataLength == 3)
            try await zk.create("/a/c")
            await expectError(.notEmpty) { try await zk.delete("/a") }
            await expectError(.badVersion) { try await zk.delete("/a/c", version: 3) }
            try await zk.delete("/a/c", version: 0)
            await expectError(.noNode) { try await zk.delete("/a/c") }
            #expect(try await zk.getChildren("/").sorted() == ["a", "b"])
            let (children, parent) = try await zk.getChildrenWithStat("/")
            #expect(children.count == 2 && parent.numChildren == 2)
            #expect(try await zk.sync("/") == "/")

            // Create modes.
            try await zk.create("/e", mode: .ephemeral)
            #expect(try await zk.exists("/e")?.ephemeralOwner == zk.sessionID)
            await expectError(.noChildrenForEphemerals) { try await zk.create("/e/x") }
            #expect(try await zk.getEphemerals() == ["/e"])
            let seq = try await zk.create("/seq-", mode: .persistentSequential)
            #expect(seq.hasPrefix("/seq-") && seq.count == "/seq-".count + 10)
            let eseq = try await zk.create("/eseq-", mode: .ephemeralSequential)
            #expect(eseq.hasPrefix("/eseq-") && eseq != seq)
            #expect(Set(try await zk.getEphemerals("/")) == ["/e", eseq])
            try await zk.create("/ctr", mode: .container)
            try await zk.create("/ctr/child")
            let ttl = try await zk.createWithStat("/ttl", data: bytes("t"), mode: .persistentWithTTL, ttl: .seconds(30))
            #expect(ttl.path == "/ttl" && ttl.stat.ephemeralOwner == 0)
            await expectError(.badArguments) { try await zk.create("/ttl2", ttl: .seconds(1)) }
            await expectError(.badArguments) { try await zk.create("relative") }
            await expectError(.badArguments) { try await zk.create("/trailing/") }
            #expect(try await zk.getAllChildrenNumber("/") == 8)  // a b e seq eseq ctr ctr/child ttl

            // ACLs and identity.
            #expect(try await zk.getACL("/b").acl == ACL.openUnsafe)
            #expect(try await zk.setACL("/b", acl: ACL.readUnsafe, version: 0).aversion == 1)
            await expectError(.noAuth) { try await zk.setData("/b", data: bytes("no")) }
            await expectError(.noAuth) { try await zk.setACL("/b", acl: ACL.openUnsafe) }  // no ADMIN any more
            #expect(try await zk.whoAmI().contains { $0.authScheme == "ip" })

            // multiRead: each read on its own.
            let reads = try await zk.multiRead([.getData("/b"), .getChildren("/a"), .getData("/missing")])
            #expect(reads.count == 3)
            if case .data(let d, let s) = reads[0] { #expect(d == bytes("bee") && s.aversion == 1) } else {
                Issue.record("\(reads[0])")
            }
            #expect(reads[1] == .children([]))
            #expect(reads[2] == .error(.noNode))
        }
    }

    @Test func oneShotWatchesAndCallbacks() async throws {
        try await TestEnvironment.run { env in
            let zk = try await env.connectedClient(label: "watcher")
            let other = try await env.connectedClient(label: "writer")
            try await zk.create("/w", data: bytes("0"))

            let (_, _, dataWatch) = try await zk.getDataAndWatch("/w")
            #expect(!dataWatch.hasFired)
            try await other.setData("/w", data: bytes("1"))
            #expect(try await withTimeout { try await dataWatch.event() } == WatchEvent(type: .nodeDataChanged, path: "/w"))

            let (missing, existsWatch) = try await zk.existsAndWatch("/n")
            #expect(missing == nil)
            try await other.create("/n")
            #expect(try await withTimeout { try await existsWatch.event() } == WatchEvent(type: .nodeCreated, path: "/n"))

            let (children, _, childWatch) = try await zk.getChildrenAndWatch("/w")
            #expect(children.isEmpty)
            try await other.create("/w/c")
            #expect(
                try await withTimeout { try await childWatch.event() } == WatchEvent(type: .nodeChildrenChanged, path: "/w"))

            // Callback variant.
            let received = NIOLockedValueBox<[WatchEvent]>([])
            _ = try await zk.getData("/w") { event in received.withLockedValue { $0.append(event) } }
            try await other.delete("/w/c")
            try await other.setData("/w", data: bytes("2"))
            try await other.setData("/w", data: bytes("3"))
            try await eventually(5, "the callback") { !received.withLockedValue { $0 }.isEmpty }
            try await zk.sync("/")
            #expect(received.withLockedValue { $0 } == [WatchEvent(type: .nodeDataChanged, path: "/w")])

            // checkWatches / removeWatches.
            let (_, _, removable) = try await zk.getDataAndWatch("/w")
            try await zk.checkWatches("/w", type: .data)
            await expectError(.noWatcher) { try await zk.checkWatches("/w", type: .children) }
            try await zk.removeWatches("/w", type: .data)
            #expect(try await withTimeout { try await removable.event() } == WatchEvent(type: .dataWatchRemoved, path: "/w"))
            await expectError(.noWatcher) { try await zk.checkWatches("/w", type: .data) }
            await expectError(.noWatcher) { try await zk.removeWatches("/w", type: .data) }

            // Local removal only.
            let (_, _, local) = try await zk.getDataAndWatch("/w")
            try await zk.removeWatches("/w", type: .any, local: true)
            #expect(local.result == .success(WatchEvent(type: .dataWatchRemoved, path: "/w")))
            await expectError(.noWatcher) { try await zk.removeWatches("/w", type: .any, local: true) }

            // A watch on a deleted node fires NodeDeleted for data and child watches.
            let (_, _, deleted) = try await zk.getDataAndWatch("/n")
            let (_, _, deletedChildren) = try await zk.getChildrenAndWatch("/n")
            try await other.delete("/n")
            #expect(try await withTimeout { try await deleted.event() } == WatchEvent(type: .nodeDeleted, path: "/n"))
            #expect(try await withTimeout { try await deletedChildren.event() } == WatchEvent(type: .nodeDeleted, path: "/n"))
        }
    }

    @Test func persistentAndRecursiveWatches() async throws {
        try await TestEnvironment.run { env in
            let zk = try await env.connectedClient(label: "watcher")
            let other = try await env.connectedClient(label: "writer")
            let recursive = Recorder(try await zk.addWatch("/", mode: .persistentRecursive))
            try await other.create("/p")
            let persistent = Recorder(try await zk.addWatch("/p", mode: .persistent))
            try await other.create("/p/q", data: bytes("1"))
            try await other.setData("/p/q", data: bytes("2"))
            try await other.setData("/p", data: bytes("3"))
            try await other.delete("/p/q")
            try await recursive.waitFor(count: 5)
            #expect(
                recursive.items == [
                    WatchEvent(type: .nodeCreated, path: "/p"),
                    WatchEvent(type: .nodeCreated, path: "/p/q"),
                    WatchEvent(type: .nodeDataChanged, path: "/p/q"),
                    WatchEvent(type: .nodeDataChanged, path: "/p"),
                    WatchEvent(type: .nodeDeleted, path: "/p/q"),
                ])
            try await persistent.waitFor(count: 3)
            #expect(
                persistent.items == [
                    WatchEvent(type: .nodeChildrenChanged, path: "/p"),
                    WatchEvent(type: .nodeDataChanged, path: "/p"),
                    WatchEvent(type: .nodeChildrenChanged, path: "/p"),
                ])

            // Stopping the iteration stops delivery; the other stream keeps going.
            persistent.cancel()
            try await persistent.waitUntilFinished()
            try await other.setData("/p", data: bytes("4"))
            try await recursive.waitFor(count: 6)
            try await zk.sync("/")
            #expect(persistent.items.count == 3)
            #expect(recursive.items.last == WatchEvent(type: .nodeDataChanged, path: "/p"))
        }
    }

    @Test func multiWithBuilderAndArray() async throws {
        try await TestEnvironment.run { env in
            let zk = try await env.connectedClient()
            try await zk.create("/m", data: bytes("0"))
            let includeDelete = true
            let results = try await zk.multi {
                ZooKeeperOperation.check("/m", version: 0)
                ZooKeeperOperation.create("/m/a", data: bytes("a"))
                ZooKeeperOperation.create("/m/s-", mode: .persistentSequential)
                ZooKeeperOperation.setData("/m", data: bytes("1"), version: 0)
                if includeDelete { ZooKeeperOperation.delete("/m/a") }
            }
            #expect(results.count == 5)
            #expect(results[0] == .checked)
            if case .created(let path, _) = results[1] { #expect(path == "/m/a") } else { Issue.record("\(results[1])") }
            if case .created(let path, _) = results[2] { #expect(path.hasPrefix("/m/s-")) } else {
                Issue.record("\(results[2])")
            }
            if case .dataSet(let stat) = results[3] { #expect(stat.version == 1) } else { Issue.record("\(results[3])") }
            #expect(results[4] == .deleted)
            #expect(try await zk.exists("/m/a") == nil)

            do {
                try await zk.multi([
                    .create("/m/x"), .delete("/m/missing"), .setData("/m", data: bytes("never")),
                ])
                Issue.record("the multi should fail")
            } catch let error as ZooKeeperError {
                #expect(error.code == .noNode)
                #expect(error.path == "/m/missing")
                #expect(error.failedOperationIndex == 1)
                #expect(error.results == [.error(.ok), .error(.noNode), .error(.runtimeInconsistency)])
            }
            #expect(try await zk.exists("/m/x") == nil)
            #expect(try await zk.getData("/m").data == bytes("1"))
            #expect(try await zk.multi([]) == [])
        }
    }

    @Test func authDigestAndRefusedCredentials() async throws {
        try await TestEnvironment.run { env in
            let alice = try await env.connectedClient(label: "alice")
            try await alice.addAuth(scheme: "digest", auth: "alice:secret")
            try await alice.create("/secret", data: bytes("s"), acl: ACL.creatorAll)
            #expect(try await alice.getData("/secret").data == bytes("s"))
            #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "digest", user: "alice")))
            let acl = try await alice.getACL("/secret").acl
            #expect(acl.count == 1 && acl[0].id.scheme == "digest" && acl[0].id.id.hasPrefix("alice:"))

            let other = try await env.connectedClient(label: "other")
            _ = try await other.sync("/")  // another session, maybe on another server of an ensemble
            await expectError(.noAuth) { try await other.getData("/secret") }
            let states = Recorder(other.states)
            await expectError(.authFailed) { try await other.addAuth(scheme: "nosuchscheme", auth: "x") }
            // The server drops the connection after AUTHFAILED; the client comes back with the same session.
            try await states.waitFor(.reconnected)
            #expect(try await other.exists("/secret") != nil)
            try await other.addAuth(scheme: "digest", auth: "alice:secret")
            #expect(try await other.getData("/secret").data == bytes("s"))
        }
    }

    @Test func chrootIsAddedAndRemoved() async throws {
        try await TestEnvironment.run { env in
            let root = try await env.connectedClient(chroot: false, label: "root")
            try await root.create(env.base + "/app")
            let app = try ZooKeeperClient(
                connectString: env.hostPort + env.base + "/app", sessionTimeout: .seconds(5),
                logger: testLogger("app"))
            try await app.connect(timeout: .seconds(5))
            #expect(app.connectString.chroot == env.base + "/app")
            #expect(try await app.create("/x", data: bytes("x")) == "/x")
            _ = try await root.sync("/")  // another session: through an ensemble, maybe on a replica behind app's
            #expect(try await root.getData(env.base + "/app/x").data == bytes("x"))
            let seq = try await app.create("/s-", mode: .ephemeralSequential)
            #expect(seq.hasPrefix("/s-"))
            #expect(try await app.getEphemerals() == [seq])
            #expect(Set(try await app.getChildren("/")) == ["x", String(seq.dropFirst())])
            #expect(try await app.sync("/") == "/")
            let results = try await app.multi([.create("/y")])
            if case .created(let path, _) = results[0] { #expect(path == "/y") } else { Issue.record("\(results)") }

            let (_, _, watch) = try await app.getDataAndWatch("/x")
            let stream = Recorder(try await app.addWatch("/", mode: .persistentRecursive))
            try await root.setData(env.base + "/app/x", data: bytes("changed"))
            #expect(try await withTimeout { try await watch.event() } == WatchEvent(type: .nodeDataChanged, path: "/x"))
            try await stream.waitFor(WatchEvent(type: .nodeDataChanged, path: "/x"))
            try await root.setData(env.base + "/app", data: bytes("root"))
            try await stream.waitFor(WatchEvent(type: .nodeDataChanged, path: "/"))
            await app.close()
        }
    }

    @Test func thousandConcurrentRequestsArePipelined() async throws {
        try await TestEnvironment.run { env in
            let zk = try await env.connectedClient()
            try await zk.create("/p", data: bytes("payload"))
            let clock = ContinuousClock()
            let started = clock.now
            let count = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<1000 {
                    group.addTask {
                        let (data, _) = try await zk.getData("/p")
                        return data == bytes("payload") ? 1 : 0
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = clock.now - started
            #expect(count == 1000)
            // Writes pipelined too: 200 concurrent creates.
            let created = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<200 { group.addTask { try await zk.create("/p/c\(i)") } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(created.count == 200)
            #expect(try await zk.getAllChildrenNumber("/p") == 200)
            print("1000 concurrent getData through one client: \(elapsed)")
        }
    }

    /// Eight sessions writing at once: on zooreg this is where commit pacing spaces the fsyncs. Every acknowledged
    /// write must be there, in order per node, after a restart.
    @Test(.enabled(if: TestEnvironment.canRestartServer, "needs ZK_TEST_STOP_CMD and ZK_TEST_START_CMD"))
    func concurrentWritersAreAllDurable() async throws {
        try await TestEnvironment.run { env in
            var writers: [ZooKeeperClient] = []
            for i in 0..<8 { writers.append(try await env.connectedClient(label: "writer-\(i)")) }
            try await writers[0].create("/c")
            let rounds = 40
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, zk) in writers.enumerated() {
                    group.addTask {
                        try await zk.create("/c/n\(i)", data: bytes("0"))
                        for round in 1...rounds {
                            let stat = try await zk.setData("/c/n\(i)", data: bytes("\(round)"), version: Int32(round - 1))
                            #expect(stat.version == Int32(round))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await env.stopServer()
            try await env.startServer()
            let reader = try await env.connectedClient(label: "reader")
            for i in 0..<writers.count {
                let (data, stat) = try await reader.getData("/c/n\(i)")
                #expect(data == bytes("\(rounds)"))
                #expect(stat.version == Int32(rounds))
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.canRestartServer, "needs ZK_TEST_STOP_CMD and ZK_TEST_START_CMD"))
    func sessionSurvivesAServerRestart() async throws {
        try await TestEnvironment.run { env in
            let zk = try await env.connectedClient(sessionTimeout: .seconds(10), label: "survivor")
            let states = Recorder(zk.states)
            let session = zk.sessionID
            try await zk.create("/eph", mode: .ephemeral)
            try await zk.create("/w", data: bytes("0"))
            try await zk.create("/r")
            let (_, _, watch) = try await zk.getDataAndWatch("/w")
            let stream = Recorder(try await zk.addWatch("/r", mode: .persistentRecursive))

            try await env.stopServer()
            try await states.waitFor(.suspended)
            await expectError(.connectionLoss) { try await zk.getData("/w") }

            try await env.startServer()
            try await states.waitFor(.reconnected, 10)
            #expect(zk.sessionID == session)
            #expect(try await zk.exists("/eph") != nil)

            let other = try await env.connectedClient(label: "writer")
            try await other.setData("/w", data: bytes("1"))
            #expect(try await withTimeout { try await watch.event() } == WatchEvent(type: .nodeDataChanged, path: "/w"))
            try await other.create("/r/x")
            try await stream.waitFor(WatchEvent(type: .nodeCreated, path: "/r/x"))
            #expect(states.items == [.suspended, .reconnected])
        }
    }

    /// Runs `body` with a proxy in front of the environment's server.
    private func withProxy(_ body: (TestEnvironment, TCPProxy) async throws -> Void) async throws {
        try await TestEnvironment.run { env in
            let proxy = TCPProxy(upstreamPort: Int(env.hostPort.split(separator: ":").last!)!)
            try await proxy.start()
            do {
                try await body(env, proxy)
            } catch {
                try? await proxy.stop()
                throw error
            }
            try await proxy.stop()
        }
    }

    @Test func reconnectKeepsTheSessionAndCatchesUpOnWatches() async throws {
        try await withProxy { env, proxy in
            let zk = try await env.connectedClient(hostPort: "127.0.0.1:\(proxy.port)", label: "cut-off")
            let other = try await env.connectedClient(label: "writer")
            let states = Recorder(zk.states)
            let session = zk.sessionID
            try await zk.create("/d", data: bytes("0"))
            try await zk.create("/c")
            let (_, _, dataWatch) = try await zk.getDataAndWatch("/d")
            let (_, existsWatch) = try await zk.existsAndWatch("/new")
            let (_, _, childWatch) = try await zk.getChildrenAndWatch("/c")
            let stream = Recorder(try await zk.addWatch("/c", mode: .persistentRecursive))

            proxy.block()
            try await states.waitFor(.suspended)
            // Changes made while the client is away fire its watches when it comes back (setWatches is
            // relative to the last zxid it saw).
            try await other.setData("/d", data: bytes("1"))
            try await other.create("/new")
            try await other.create("/c/x")
            proxy.unblock()
            try await states.waitFor(.reconnected)
            #expect(zk.sessionID == session)
            #expect(try await withTimeout { try await dataWatch.event() } == WatchEvent(type: .nodeDataChanged, path: "/d"))
            #expect(try await withTimeout { try await existsWatch.event() } == WatchEvent(type: .nodeCreated, path: "/new"))
            #expect(
                try await withTimeout { try await childWatch.event() } == WatchEvent(type: .nodeChildrenChanged, path: "/c"))
            // The persistent recursive watch was re-registered.
            try await other.setData("/c/x", data: bytes("2"))
            try await stream.waitFor(WatchEvent(type: .nodeDataChanged, path: "/c/x"))
            #expect(states.items == [.suspended, .reconnected])
        }
    }

    @Test func expiredSessionIsReportedAndReplaced() async throws {
        try await withProxy { env, proxy in try await expireThroughProxy(env, proxy) }
    }

    // 1.2 s: long enough that a loaded machine's stalls do not suspend the client before the proxy cuts it.
    private func expireThroughProxy(_ env: TestEnvironment, _ proxy: TCPProxy) async throws {
        let zk = try await env.connectedClient(
            hostPort: "127.0.0.1:\(proxy.port)", sessionTimeout: .milliseconds(1200), label: "doomed")
        let observer = try await env.connectedClient(label: "observer")
        let states = Recorder(zk.states)
        let oldSession = zk.sessionID
        #expect(zk.negotiatedSessionTimeout == .milliseconds(1200))
        try await zk.create("/eph", mode: .ephemeral)
        let (_, _, watch) = try await zk.getDataAndWatch("/eph")
        let stream = Recorder(try await zk.addWatch("/", mode: .persistentRecursive))
        _ = try await observer.sync("/")
        let (_, gone) = try await observer.existsAndWatch("/eph")

        proxy.block()
        try await states.waitFor(.suspended)
        // The server expires the session and deletes its ephemeral node.
        #expect(try await withTimeout(5, "the ephemeral node to go") { try await gone.event() }.type == .nodeDeleted)
        proxy.unblock()
        try await states.waitFor(.expired, 5)
        #expect(zk.currentState == .expired)
        await expectError(.sessionExpired) { try await zk.getData("/") }
        await expectError(.sessionExpired) { try await watch.event() }
        try await stream.waitUntilFinished()
        #expect((stream.error as? ZooKeeperError)?.code == .sessionExpired)

        try await zk.reconnectWithNewSession(timeout: .seconds(5))
        #expect(zk.sessionID != nil && zk.sessionID != oldSession)
        try await zk.create("/eph", mode: .ephemeral)
        _ = try await observer.sync("/")  // another session, maybe on another server of an ensemble
        #expect(try await observer.exists("/eph")?.ephemeralOwner == zk.sessionID)
        try await states.waitFor(count: 3)
        #expect(states.items == [.suspended, .expired, .connected])
    }

    @Test func serviceLifecycleClosesTheSession() async throws {
        try await TestEnvironment.run { env in
            let observer = try await env.connectedClient(label: "observer")
            let zk = try env.client(label: "service")
            let states = Recorder(zk.states)
            let group = ServiceGroup(configuration: .init(services: [zk], logger: testLogger("group")))
            let task = Task { try await group.run() }
            try await zk.connect(timeout: .seconds(5))
            try await zk.create("/eph", mode: .ephemeral)
            try await zk.create("/stay")
            let (_, _, pending) = try await zk.getDataAndWatch("/stay")
            _ = try await observer.sync("/")
            #expect(try await observer.exists("/eph") != nil)

            await group.triggerGracefulShutdown()
            try await withTimeout(5, "run() to return") { try await task.value }
            // closeSession was answered before run() returned: the ephemeral node is gone already.
            _ = try await observer.sync("/")
            #expect(try await observer.exists("/eph") == nil)
            try await states.waitUntilFinished()
            #expect(states.items == [.connected, .closed])
            #expect(zk.currentState == .closed)
            await expectError(.sessionExpired) { try await zk.getData("/") }
            await expectError(.sessionExpired) { try await pending.event() }
            await expectError(.sessionExpired) { try await zk.connect() }
            await zk.close()
            var iterator = zk.states.makeAsyncIterator()
            #expect(await iterator.next() == nil)
        }
    }

    @Test func connectGivesUpAfterItsTimeout() async throws {
        let zk = try ZooKeeperClient(
            connectString: "127.0.0.1:1", sessionTimeout: .seconds(2), logger: testLogger("nowhere"))
        let started = ContinuousClock.now
        await expectError(.operationTimeout) { try await zk.connect(timeout: .milliseconds(300)) }
        #expect(ContinuousClock.now - started < .seconds(2))
        await expectError(.connectionLoss) { try await zk.exists("/") }
        await zk.close()
        await expectError(.sessionExpired) { try await zk.exists("/") }
    }
}
