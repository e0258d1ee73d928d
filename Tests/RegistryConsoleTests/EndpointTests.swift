import AdminHTTP
import CoordinationServer
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import ServiceRegistry
import Testing
import TestKit
import ZooKeeperClient

@testable import RegistryConsole

// The console's JSON and SSE endpoints against an in-process server (TestKit): the console runs as a Service in a
// ServiceGroup, requests go straight to its route.

final class ConsoleFixture: Sendable {
    let server: InProcessServer
    let console: RegistryConsole
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let client: ZooKeeperClient

    static func run(
        editEnabled: Bool = false, writesRequireCredentials: Bool = false, idleTimeout: Duration? = .seconds(60),
        _ body: (ConsoleFixture) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let server = InProcessServer(dataDir: dir, tickTime: 50)
        try await server.start()
        let port = server.port
        var configuration = RegistryConsole.Configuration(
            connectString: { "127.0.0.1:\(port)" }, basePath: "/services", commandURL: "/commands",
            editEnabled: editEnabled, writesRequireCredentials: writesRequireCredentials)
        configuration.sessionTimeout = .seconds(4)
        configuration.heartbeatInterval = .milliseconds(200)
        configuration.idleTimeout = idleTimeout
        let console = RegistryConsole(configuration: configuration, logger: testLogger("console"))
        let group = ServiceGroup(configuration: .init(services: [console], logger: testLogger("group")))
        let task = Task { try await group.run() }
        let client = try ZooKeeperClient(connectString: "127.0.0.1:\(port)", sessionTimeout: .seconds(4), logger: testLogger("client"))
        try await client.connect(timeout: .seconds(5))
        let fixture = ConsoleFixture(server: server, console: console, group: group, task: task, client: client)
        do {
            try await body(fixture)
        } catch {
            await fixture.tearDown(dir)
            throw error
        }
        await fixture.tearDown(dir)
    }

    private init(server: InProcessServer, console: RegistryConsole, group: ServiceGroup, task: Task<Void, any Error>, client: ZooKeeperClient) {
        self.server = server
        self.console = console
        self.group = group
        self.task = task
        self.client = client
    }

    func tearDown(_ dir: String) async {
        await client.close()
        await group.triggerGracefulShutdown()
        _ = try? await withTimeout(10, "the console to stop") { try await self.task.value }
        try? await server.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    struct Answer {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: String
        var json: JSONValue? { try? JSONValue.parse(body) }
    }

    func request(
        _ method: HTTPMethod = .GET, _ uri: String, headers: [(String, String)] = [], body: String = ""
    ) async throws -> Answer {
        let request = HTTPRequest(method: method, uri: uri, headers: HTTPHeaders(headers), body: ByteBuffer(string: body))
        guard let response = await console.respond(to: request) else { throw TestTimeout(what: "an answer for \(uri)") }
        guard case .full(let status, let headers, let buffer) = response else {
            throw TestTimeout(what: "a full response for \(uri)")
        }
        return Answer(status: status, headers: headers, body: String(buffer: buffer))
    }

    /// Waits until the console's tree endpoints have a session.
    func waitUntilConnected() async throws {
        try await eventually(10, "the console's session") {
            (try await self.request(.GET, "/api/tree/children?path=/")).status == .ok
        }
    }

    func register(_ service: String, _ id: String, port: Int, client: ZooKeeperClient? = nil) async throws {
        let zk = client ?? self.client
        for path in ["/services", "/services/\(service)"] {
            do { try await zk.create(path, mode: .container) } catch ZooKeeperError.nodeExists {}
        }
        let instance = ServiceInstance(name: service, id: id, address: "127.0.0.1", port: port, serviceType: .dynamic)
        try await zk.create("/services/\(service)/\(id)", data: instance.encoded(), mode: .ephemeral)
    }
}

/// The events a live stream wrote, parsed.
final class EventLog: Sendable {
    private let box = NIOLockedValueBox<(text: String, events: [(event: String, data: String)])>(("", []))

    var events: [(event: String, data: String)] { box.withLockedValue { $0.events } }
    var raw: String { box.withLockedValue { $0.text } }

    func append(_ buffer: ByteBuffer) {
        box.withLockedValue { state in
            state.text += String(buffer: buffer)
            while let range = state.text.range(of: "\n\n") {
                let block = String(state.text[..<range.lowerBound])
                state.text = String(state.text[range.upperBound...])
                var event = "message"
                var data: [String] = []
                var comment = false
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
                    if line.hasPrefix(":") { comment = true }
                }
                if comment { state.events.append(("comment", String(block))) }
                if !data.isEmpty { state.events.append((event, data.joined(separator: "\n"))) }
            }
        }
    }

    /// Every instance path the log shows present at its end (the snapshot, then the deltas).
    var presentPaths: Set<String> {
        var present: Set<String> = []
        for (event, data) in events {
            guard let json = try? JSONValue.parse(data) else { continue }
            if event == "snapshot", case .array(let instances)? = json["instances"] {
                present = Set(instances.compactMap { $0["path"]?.stringValue })
            } else if event == "delta", case .array(let changes)? = json["changes"] {
                for change in changes {
                    switch change["op"]?.stringValue {
                    case "upsert": if let p = change["instance"]?["path"]?.stringValue { present.insert(p) }
                    case "remove": if let p = change["path"]?.stringValue { present.remove(p) }
                    default: break
                    }
                }
            }
        }
        return present
    }
}

@Suite(.serialized) struct EndpointTests {
    @Test func servicesPageAndLiveStreamFollowRegistrations() async throws {
        try await ConsoleFixture.run { f in
            try await f.waitUntilConnected()
            try await f.register("api", "a1", port: 8081)

            // The live stream: a snapshot, then deltas as instances come and go.
            let response = try #require(await f.console.respond(to: HTTPRequest(method: .GET, uri: "/api/services/stream")))
            guard case .stream(let status, let headers, let producer) = response else {
                Issue.record("the stream is not a stream")
                return
            }
            #expect(status == .ok)
            #expect(headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
            let log = EventLog()
            let streaming = Task { try await producer(HTTPStreamWriter { log.append($0) }) }
            try await eventually(10, "the snapshot with a1") { log.presentPaths == ["/services/api/a1"] }
            #expect(log.events.first { $0.event != "comment" }?.event == "snapshot")
            #expect(f.console.liveSubscribers == 1)

            let other = try ZooKeeperClient(connectString: "127.0.0.1:\(f.server.port)", sessionTimeout: .seconds(4), logger: testLogger("other"))
            try await other.connect(timeout: .seconds(5))
            try await f.register("web", "w1", port: 9090, client: other)
            try await eventually(10, "w1 in a delta") { log.presentPaths == ["/services/api/a1", "/services/web/w1"] }
            let snapshots = log.events.filter { $0.event == "snapshot" }.count
            #expect(snapshots == 1, "deltas, not the whole list again")

            // The page endpoint sees the same.
            let page = try await f.request(.GET, "/api/services?q=web")
            #expect(page.status == .ok)
            #expect(page.json?["total"] == .number(1))
            let owner = try #require(other.sessionID.flatMap(ConsoleJSON.sessionHex))
            #expect(page.json?["instances"].flatMap { value -> JSONValue? in
                if case .array(let rows) = value { return rows.first?["ephemeralOwner"] }
                return nil
            } == .string(owner))

            // The owning session ends: the instance leaves the stream.
            await other.close()
            try await eventually(10, "w1 removed") { log.presentPaths == ["/services/api/a1"] }
            // Heartbeats keep an idle stream alive.
            try await eventually(5, "a heartbeat") { log.events.contains { $0.event == "comment" } }

            streaming.cancel()
            _ = try? await streaming.value
            try await eventually(5, "the subscriber to go") { f.console.liveSubscribers == 0 }
        }
    }

    @Test func treeEndpointsShowDataStatACLAndOwner() async throws {
        try await ConsoleFixture.run { f in
            try await f.waitUntilConnected()
            try await f.register("api", "a1", port: 8081)
            try await f.client.create("/blob", data: Data([0, 1, 2, 0xff]))

            let children = try await f.request(.GET, "/api/tree/children?path=%2Fservices%2Fapi")
            #expect(children.status == .ok)
            guard case .array(let list)? = children.json?["children"] else {
                Issue.record("no children: \(children.body)")
                return
            }
            #expect(list.map { $0["name"] } == [.string("a1")])
            #expect(list.first?["ephemeralOwner"] == f.client.sessionID.flatMap(ConsoleJSON.sessionHex).map(JSONValue.string))

            let node = try await f.request(.GET, "/api/tree/node?path=/services/api/a1")
            #expect(node.status == .ok)
            let json = try #require(node.json)
            #expect(json["data"]?["kind"] == .string("json"))
            #expect(json["data"]?["json"]?.stringValue?.contains("\"port\": 8081") == true)
            #expect(json["stat"]?["version"] == .number(0))
            #expect(json["ephemeralOwner"] == f.client.sessionID.flatMap(ConsoleJSON.sessionHex).map(JSONValue.string))
            #expect(json["acl"] == .array([.object([("scheme", .string("world")), ("id", .string("anyone")), ("perms", .string("cdrwa"))])]))
            #expect(json["instance"]?["health"] == .string("healthy"))

            let blob = try await f.request(.GET, "/api/tree/node?path=/blob")
            #expect(blob.json?["data"]?["kind"] == .string("binary"))
            #expect(blob.json?["data"]?["hex"]?.stringValue?.hasPrefix("00000000  00 01 02 ff") == true)

            // Bad input is a JSON error, never a crash.
            for (uri, status) in [
                ("/api/tree/node?path=/nope", HTTPResponseStatus.notFound), ("/api/tree/node", .badRequest),
                ("/api/tree/node?path=relative", .badRequest), ("/api/tree/node?path=/a//b", .badRequest),
                ("/api/tree/node?path=/blob&limit=0", .badRequest), ("/api/tree/children?path=/&limit=x", .badRequest),
                ("/api/tree/children?path=/nope", .notFound), ("/api/services?health=meh", .badRequest),
                ("/api/unknown", .notFound),
            ] {
                let answer = try await f.request(.GET, uri)
                #expect(answer.status == status, "\(uri)")
                #expect(answer.json?["error"]?.stringValue != nil, "\(uri): \(answer.body)")
            }
            #expect(try await f.request(.POST, "/api/services").status == .methodNotAllowed)
            #expect(await f.console.respond(to: HTTPRequest(method: .GET, uri: "/commands/monitor")) == nil)
        }
    }

    @Test func assetsAreServedWithTypesAndETags() async throws {
        try await ConsoleFixture.run { f in
            let index = try await f.request(.GET, "/")
            #expect(index.status == .ok)
            #expect(index.headers.first(name: "Content-Type") == "text/html; charset=utf-8")
            #expect(index.body.contains("<title>zooreg console</title>"))
            let etag = try #require(index.headers.first(name: "ETag"))
            #expect(try await f.request(.GET, "/ui", headers: [("If-None-Match", etag)]).status == .notModified)
            let js = try await f.request(.GET, "/ui/app.js")
            #expect(js.headers.first(name: "Content-Type") == "text/javascript; charset=utf-8")
            #expect(try await f.request(.GET, "/ui/missing.js").status == .notFound)
            #expect(try await f.request(.GET, "/ui/../Package.swift").status == .notFound)
            let config = try await f.request(.GET, "/api/console")
            #expect(config.json?["editEnabled"] == .bool(false))
            #expect(config.json?["commandURL"] == .string("/commands"))
        }
    }

    @Test func editingIsOffByDefault() async throws {
        try await ConsoleFixture.run { f in
            try await f.waitUntilConnected()
            let answer = try await f.request(
                .PUT, "/api/tree/node?path=/x", headers: [("Content-Type", "application/json")], body: #"{"data":"v"}"#)
            #expect(answer.status == .forbidden)
            #expect(try await f.client.exists("/x") == nil)
        }
    }

    @Test func editsNeedCredentialsAndObeyACLs() async throws {
        try await ConsoleFixture.run(editEnabled: true, writesRequireCredentials: true) { f in
            try await f.waitUntilConnected()
            let json = ("Content-Type", "application/json")
            func basic(_ text: String) -> (String, String) { ("Authorization", "Basic " + Data(text.utf8).base64EncodedString()) }

            let anonymous = try await f.request(.POST, "/api/tree/node?path=/cfg", headers: [json], body: #"{"data":"v1"}"#)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers.first(name: "WWW-Authenticate") != nil)
            #expect(try await f.client.exists("/cfg") == nil)

            // alice creates a node only she may change.
            let created = try await f.request(
                .POST, "/api/tree/node?path=/cfg", headers: [json, basic("alice:pw")], body: #"{"data":"v1","acl":"creator"}"#)
            #expect(created.status == .ok, "\(created.body)")
            // The ACL applies to everyone else, the console's own session included.
            await #expect(throws: ZooKeeperError.self) { try await f.client.getData("/cfg") }
            #expect(try await f.request(.GET, "/api/tree/node?path=/cfg").status == .forbidden)
            let read = try await f.request(.GET, "/api/tree/node?path=/cfg", headers: [basic("alice:pw")])
            #expect(read.json?["data"]?["text"] == .string("v1"), "\(read.body)")

            let mallory = try await f.request(.PUT, "/api/tree/node?path=/cfg", headers: [json, basic("mallory:x")], body: #"{"data":"evil"}"#)
            #expect(mallory.status == .forbidden, "\(mallory.body)")

            let updated = try await f.request(.PUT, "/api/tree/node?path=/cfg", headers: [json, basic("alice:pw")], body: #"{"data":"v2","version":0}"#)
            #expect(updated.status == .ok, "\(updated.body)")
            let stale = try await f.request(.PUT, "/api/tree/node?path=/cfg", headers: [json, basic("alice:pw")], body: #"{"data":"v3","version":0}"#)
            #expect(stale.status == .conflict)
            #expect(try await f.request(.PUT, "/api/tree/node?path=/cfg", headers: [json, basic("alice:pw")], body: "[1]").status == .badRequest)
            #expect(try await f.request(.PUT, "/api/tree/node?path=/cfg", headers: [json, basic("alice:pw")], body: "{").status == .badRequest)

            let deleted = try await f.request(.DELETE, "/api/tree/node?path=/cfg", headers: [json, basic("alice:pw")])
            #expect(deleted.status == .ok, "\(deleted.body)")
            #expect(try await f.client.exists("/cfg") == nil)
        }
    }
}

@Suite(.serialized) struct RestartTests {
    @Test func theLiveStreamSurvivesAServerRestart() async throws {
        try await ConsoleFixture.run { f in
            try await f.waitUntilConnected()
            let response = try #require(await f.console.respond(to: HTTPRequest(method: .GET, uri: "/api/services/stream")))
            guard case .stream(_, _, let producer) = response else {
                Issue.record("the stream is not a stream")
                return
            }
            let log = EventLog()
            let streaming = Task { try await producer(HTTPStreamWriter { log.append($0) }) }
            try await eventually(10, "the snapshot") { log.events.contains { $0.event == "snapshot" } }

            try await f.server.stop()
            try await eventually(10, "the console to see the connection go") {
                log.events.contains { $0.event == "delta" && $0.data.contains(#""connection":"disconnected""#) }
            }
            try await f.server.start()
            // A client of its own (the fixture's may still be reconnecting) registers after the restart.
            let late = try ZooKeeperClient(connectString: "127.0.0.1:\(f.server.port)", sessionTimeout: .seconds(4), logger: testLogger("late"))
            try await late.connect(timeout: .seconds(10))
            try await f.register("after", "r1", port: 7000, client: late)
            try await eventually(15, "the instance registered after the restart") {
                log.presentPaths.contains("/services/after/r1")
            }
            #expect(try await f.request(.GET, "/api/services?service=after").json?["total"] == .number(1))
            await late.close()
            streaming.cancel()
            _ = try? await streaming.value
        }
    }
}
