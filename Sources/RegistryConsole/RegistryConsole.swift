import AdminHTTP
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import ServiceRegistry
import ZooKeeperClient
import ZooKeeperRecipes

/// The web console, served by the AdminServer's HTTP server: the static page at `/` (and `/ui`), its assets under
/// `/ui/`, and a JSON API under `/api/`:
///
/// - `GET /api/console`: the console's settings (base path, command URL, editing).
/// - `GET /api/services?q=&service=&health=&offset=&limit=`: one page of the instances (`ServicesQuery`).
/// - `GET /api/services/stream`: server-sent events: `snapshot` (every service and instance), then `delta`
///   (the changes since), fed by a `TreeCache` of the base path; a comment every 15 s keeps it alive.
/// - `GET /api/tree/children?path=&offset=&limit=`, `GET /api/tree/node?path=&limit=`: the znode tree.
/// - `POST|PUT|DELETE /api/tree/node?path=`: create, set data, delete, when editing is on (`EditPolicy`).
///
/// As a `Service` it opens its ZooKeeper session and the cache on demand: at the first API request, kept while a
/// page streams or asks, closed after `idleTimeout` without either (so a server nobody looks at carries no console
/// session, watch or cache). While open, the client reconnects and the cache resyncs on its own after a connection
/// loss or a server restart. `idleTimeout` nil keeps the session from start to graceful shutdown.
public final class RegistryConsole: Service, HTTPRoute {
    public struct Configuration: Sendable {
        /// Waits until the server's client port is known and returns the connect string, e.g. `127.0.0.1:2181`.
        public var connectString: @Sendable () async throws -> String
        /// The registry's base path (`mdns.basePath`, default `/services`).
        public var basePath: String
        /// Where the AdminServer commands are (`admin.commandURL`), for the Server page.
        public var commandURL: String
        /// `console.editEnabled`.
        public var editEnabled: Bool
        /// True when the HTTP server listens on a non-loopback address: then no write is accepted without
        /// digest credentials.
        public var writesRequireCredentials: Bool
        /// The console's session timeout.
        public var sessionTimeout: Duration = .seconds(10)
        /// How long a tree request waits for ZooKeeper before answering 503.
        public var requestTimeout: Duration = .seconds(10)
        /// Between two SSE heartbeats (comments).
        public var heartbeatInterval: Duration = .seconds(15)
        /// How long the session stays open with no page streaming and no API request; nil: always open.
        public var idleTimeout: Duration? = .seconds(60)

        public init(
            connectString: @escaping @Sendable () async throws -> String, basePath: String, commandURL: String,
            editEnabled: Bool, writesRequireCredentials: Bool
        ) {
            self.connectString = connectString
            self.basePath = basePath
            self.commandURL = commandURL
            self.editEnabled = editEnabled
            self.writesRequireCredentials = writesRequireCredentials
        }
    }

    let configuration: Configuration
    let logger: Logger
    let layout: RegistryLayout
    let hub: LiveHub
    let policy: EditPolicy
    private let connection = NIOLockedValueBox<(client: ZooKeeperClient?, connectString: String?)>((nil, nil))

    /// Whether a session is open (or opening) and when the console was last used; `demand` wakes the run loop.
    struct Usage {
        var sessionActive = false
        var lastUse: ContinuousClock.Instant = .now
    }
    private let usage = NIOLockedValueBox(Usage())
    private let demand = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let layout = (try? RegistryLayout(basePath: configuration.basePath)) ?? (try! RegistryLayout())
        if layout.basePath != configuration.basePath && configuration.basePath != layout.basePath + "/" {
            logger.warning("Console: invalid base path, using /services", metadata: ["basePath": "\(configuration.basePath)"])
        }
        self.layout = layout
        self.hub = LiveHub(layout: layout)
        self.policy = EditPolicy(
            editEnabled: configuration.editEnabled, writesRequireCredentials: configuration.writesRequireCredentials)
    }

    /// Whether the console's ZooKeeper session is open (it opens on demand).
    var hasSession: Bool { connection.withLockedValue { $0.client != nil } }

    /// Subscribers of the live stream right now (for tests).
    public var liveSubscribers: Int { hub.subscriberCount }

    // MARK: Service

    public func run() async throws {
        let connectString: String
        do {
            connectString = try await cancelWhenGracefulShutdown { try await self.configuration.connectString() }
        } catch {
            hub.close()
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            logger.error("Console: no ZooKeeper connect string; the console has no data", metadata: ["error": "\(error)"])
            hub.setConnection("failed", error: "\(error)")
            try? await gracefulShutdown()
            return
        }
        let hub = self.hub
        guard let idleTimeout = configuration.idleTimeout else {
            usage.withLockedValue { $0.sessionActive = true }
            await runSession(connectString: connectString, idleTimeout: nil)
            hub.close()
            return
        }
        hub.setConnection("idle")
        // Until a page or an API request wants the registry; then a session until idle; again.
        for await _ in demand.stream.cancelOnGracefulShutdown() {
            guard !Task.isCancelled, !Task.isShuttingDownGracefully else { break }
            logger.debug("Console: opening its ZooKeeper session")
            await runSession(connectString: connectString, idleTimeout: idleTimeout)
            logger.debug("Console: idle, its ZooKeeper session closed")
            hub.reset(connection: "idle")
        }
        hub.close()
    }

    /// Marks the console as used now; wakes the run loop when no session is open.
    func touch() {
        let wake = usage.withLockedValue { usage in
            usage.lastUse = .now
            defer { usage.sessionActive = true }
            return !usage.sessionActive
        }
        if wake { demand.continuation.yield() }
    }

    /// One session with its cache, until graceful shutdown or, with `idleTimeout`, until no page has streamed or
    /// asked for that long.
    private func runSession(connectString: String, idleTimeout: Duration?) async {
        var clientConfiguration = ZooKeeperClient.Configuration()
        clientConfiguration.maxReconnectBackoff = .milliseconds(500)
        let client: ZooKeeperClient
        do {
            client = try ZooKeeperClient(
                connectString: connectString, sessionTimeout: configuration.sessionTimeout, logger: logger,
                configuration: clientConfiguration)
        } catch {
            logger.error("Console: invalid connect string", metadata: ["error": "\(error)"])
            hub.setConnection("failed", error: "\(error)")
            if idleTimeout == nil { try? await gracefulShutdown() }
            usage.withLockedValue { $0.sessionActive = false }
            return
        }
        connection.withLockedValue { $0 = (client, connectString) }
        let cache = TreeCache(client: client, path: layout.basePath, logger: logger)
        let events = cache.events()
        let states = client.states
        let hub = self.hub
        let usage = self.usage
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await state in states {
                    switch state {
                    case .connected, .reconnected: hub.setConnection("connected")
                    case .readOnly: hub.setConnection("read-only")
                    case .suspended: hub.setConnection("disconnected")
                    case .expired: hub.setConnection("expired")
                    case .closed: hub.setConnection("closed")
                    }
                }
            }
            group.addTask {
                for await event in events { hub.apply(event) }
            }
            group.addTask { try? await client.run() }
            group.addTask { try? await cache.run() }
            if let idleTimeout {
                group.addTask {
                    // Ends the session once idle: no subscriber and no request for idleTimeout. The decision and
                    // `sessionActive = false` are one step under the lock, so a request that comes after it wakes
                    // the run loop again (`touch`).
                    let check = min(idleTimeout / 4, .seconds(5))
                    while (try? await Task.sleep(for: check)) != nil {
                        let subscribers = hub.subscriberCount
                        let idle = usage.withLockedValue { usage in
                            guard subscribers == 0, ContinuousClock.now - usage.lastUse >= idleTimeout else { return false }
                            usage.sessionActive = false
                            return true
                        }
                        if idle { return }
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
        cache.close()
        await client.close()
        connection.withLockedValue { $0.client = nil }
        usage.withLockedValue { $0.sessionActive = false }
    }

    // MARK: HTTPRoute

    public func respond(to request: HTTPRequest) async -> HTTPResponse? {
        let path = request.path
        if path == "/" || path == "/ui" || path == "/ui/" || path == "/index.html" {
            guard request.method == .GET || request.method == .HEAD else { return methodNotAllowed() }
            return asset("index.html", request: request)
        }
        if path.hasPrefix("/ui/") {
            guard request.method == .GET || request.method == .HEAD else { return methodNotAllowed() }
            return asset(String(path.dropFirst(4)), request: request)
        }
        if path == "/favicon.ico" {
            return asset("favicon.svg", request: request)
        }
        guard path == "/api" || path.hasPrefix("/api/") else { return nil }
        touch()
        do {
            switch (request.method, path) {
            case (.GET, "/api/console"):
                return json(consoleJSON())
            case (.GET, "/api/services"):
                let query = try ServicesQuery(parameters: request.query)
                return json(hub.model.query(query).json)
            case (.GET, "/api/services/stream"):
                return stream()
            case (.GET, "/api/tree/children"):
                return json(try await children(request))
            case (.GET, "/api/tree/node"):
                return json(try await node(request))
            case (.POST, "/api/tree/node"), (.PUT, "/api/tree/node"), (.DELETE, "/api/tree/node"):
                return json(try await write(request))
            case (_, "/api/console"), (_, "/api/services"), (_, "/api/services/stream"), (_, "/api/tree/children"),
                (_, "/api/tree/node"):
                return methodNotAllowed()
            default:
                throw ConsoleError.notFound("no such console endpoint: \(path.prefix(200))")
            }
        } catch {
            let consoleError = error as? ConsoleError ?? .unavailable("\(error)")
            return errorResponse(consoleError)
        }
    }

    func consoleJSON() -> JSONValue {
        .object([
            ("basePath", .string(layout.basePath)),
            ("commandURL", .string(configuration.commandURL)),
            ("editEnabled", .bool(configuration.editEnabled)),
            ("writesRequireCredentials", .bool(configuration.writesRequireCredentials)),
            ("sessionId", connection.withLockedValue { $0.client?.sessionID }.flatMap(ConsoleJSON.sessionHex)
                .map(JSONValue.string) ?? .null),
            ("status", hub.status.json),
            ("assetsETag", .string(ConsoleAssets.etag)),
        ])
    }

    // MARK: Responses

    func json(_ value: JSONValue, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        return .full(status: status, headers: headers, body: ByteBuffer(string: value.serialized()))
    }

    func errorResponse(_ error: ConsoleError) -> HTTPResponse {
        var response = json(error.json, status: HTTPResponseStatus(statusCode: error.status))
        if case .unauthorized = error, case .full(let status, var headers, let body) = response {
            // Not "Basic": the page asks for the credentials itself, without the browser's dialog.
            headers.add(name: "WWW-Authenticate", value: "ZooKeeperDigest realm=\"zooreg console\"")
            response = .full(status: status, headers: headers, body: body)
        }
        return response
    }

    func methodNotAllowed() -> HTTPResponse {
        json(.object([("error", .string("method not allowed")), ("status", .number(405))]), status: .methodNotAllowed)
    }

    func asset(_ name: String, request: HTTPRequest) -> HTTPResponse {
        guard let asset = ConsoleAssets.asset(named: name) else {
            return errorResponse(.notFound("no such console asset: \(name.prefix(200))"))
        }
        var headers = HTTPHeaders()
        headers.add(name: "ETag", value: asset.etag)
        headers.add(name: "Cache-Control", value: "no-cache")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        if name == "index.html" {
            headers.add(
                name: "Content-Security-Policy",
                value: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
            headers.add(name: "Referrer-Policy", value: "no-referrer")
        }
        let tags = request.headers[canonicalForm: "If-None-Match"].map(String.init)
        if tags.contains(asset.etag) || tags.contains("*") {
            return .full(status: .notModified, headers: headers, body: ByteBuffer())
        }
        headers.add(name: "Content-Type", value: asset.contentType)
        return .full(status: .ok, headers: headers, body: ByteBuffer(bytes: asset.bytes))
    }

    // MARK: Live stream

    func stream() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Accel-Buffering", value: "no")
        let hub = self.hub
        let heartbeat = configuration.heartbeatInterval
        return .stream(status: .ok, headers: headers) { writer in
            guard let (id, wakes) = hub.subscribe() else {
                try await writer.writeEvent("error", data: ConsoleError.unavailable("the console is shutting down").json.serialized())
                return
            }
            defer { hub.unsubscribe(id) }
            try await writer.write("retry: 2000\n\n")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: heartbeat)
                        hub.poke(id)
                    }
                }
                group.addTask {
                    for await _ in wakes {
                        switch hub.take(id) {
                        case .snapshot(let snapshot):
                            try await writer.writeEvent("snapshot", data: snapshot.serialized())
                        case .delta(let seq, let changes, let status):
                            // Big batches go out in slices so that the page applies them progressively.
                            var start = 0
                            repeat {
                                let end = min(start + 2000, changes.count)
                                let slice = Array(changes[start..<end])
                                try await writer.writeEvent(
                                    "delta",
                                    data: LiveHub.deltaJSON(seq: seq, changes: slice, status: end == changes.count ? status : nil)
                                        .serialized())
                                start = end
                            } while start < changes.count
                        case .nothing:
                            try await writer.write(": keepalive\n\n")
                        }
                    }
                }
                // The wake-ups end when the hub closes (shutdown); the heartbeat is then cancelled.
                try await group.next()
                group.cancelAll()
            }
        }
    }

    // MARK: Tree

    private func withZooKeeper<T: Sendable>(
        credentials: DigestCredentials?, path: String,
        _ body: @escaping @Sendable (ZooKeeperClient) async throws -> T
    ) async throws -> T {
        let timeout = configuration.requestTimeout
        // The session opens on demand (`touch`): wait for it, within the request's timeout.
        let clock = ContinuousClock()
        let openBy = clock.now + timeout
        var current = connection.withLockedValue { ($0.client, $0.connectString) }
        while current.0 == nil && clock.now < openBy {
            touch()
            try await Task.sleep(for: .milliseconds(10))
            current = connection.withLockedValue { ($0.client, $0.connectString) }
        }
        guard let shared = current.0, let connectString = current.1 else {
            throw ConsoleError.unavailable("the console is not connected to ZooKeeper yet")
        }
        let logger = self.logger
        do {
            return try await Self.deadline(timeout) {
                guard let credentials else { return try await body(shared) }
                // A session of its own for these credentials, closed after the request.
                let client = try ZooKeeperClient(connectString: connectString, sessionTimeout: .seconds(10), logger: logger)
                do {
                    try await client.connect(timeout: timeout)
                    try await client.addAuth(scheme: "digest", auth: credentials.authString)
                    let result = try await body(client)
                    await client.close()
                    return result
                } catch {
                    await client.close()
                    throw error
                }
            }
        } catch is DeadlineExceeded {
            throw ConsoleError.unavailable("ZooKeeper did not answer within \(timeout)")
        } catch {
            throw ConsoleError.from(error, path: path)
        }
    }

    struct DeadlineExceeded: Error {}

    static func deadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw DeadlineExceeded()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    func readCredentials(_ request: HTTPRequest) throws -> DigestCredentials? {
        try DigestCredentials.parse(authorization: request.headers.first(name: "Authorization"))
    }

    func children(_ request: HTTPRequest) async throws -> JSONValue {
        let path = try ConsoleJSON.validatePath(request.query["path"] ?? "/")
        func integer(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = request.query[name], !text.isEmpty else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw ConsoleError.badRequest("'\(name)' must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        let offset = try integer("offset", 0, 0...Int(Int32.max))
        let limit = try integer("limit", 500, 1...5000)
        let credentials = try readCredentials(request)
        return try await withZooKeeper(credentials: credentials, path: path) { client in
            let (names, stat) = try await client.getChildrenWithStat(path)
            let sorted = names.sorted()
            let start = min(offset, sorted.count)
            let page = Array(sorted[start..<min(start + limit, sorted.count)])
            let stats = try await withThrowingTaskGroup(of: (Int, Stat?).self) { group in
                for (index, name) in page.enumerated() {
                    group.addTask { (index, try await client.exists(ConsoleJSON.join(path, name))) }
                }
                var stats = [Stat?](repeating: nil, count: page.count)
                for try await (index, stat) in group { stats[index] = stat }
                return stats
            }
            let children: [JSONValue] = zip(page, stats).compactMap { name, stat in
                guard let stat else { return nil }  // deleted meanwhile
                return .object([
                    ("name", .string(name)),
                    ("path", .string(ConsoleJSON.join(path, name))),
                    ("numChildren", .number(Int(stat.numChildren))),
                    ("dataLength", .number(Int(stat.dataLength))),
                    ("ephemeralOwner", ConsoleJSON.sessionHex(stat.ephemeralOwner).map(JSONValue.string) ?? .null),
                ])
            }
            return .object([
                ("path", .string(path)), ("total", .number(sorted.count)), ("offset", .number(start)),
                ("limit", .number(limit)), ("stat", ConsoleJSON.stat(stat)), ("children", .array(children)),
            ])
        }
    }

    func node(_ request: HTTPRequest) async throws -> JSONValue {
        let path = try ConsoleJSON.validatePath(request.query["path"])
        var limit = DataRendering.defaultLimit
        if let text = request.query["limit"], !text.isEmpty {
            guard let value = Int(text), (1...(1 << 20)).contains(value) else {
                throw ConsoleError.badRequest("'limit' must be an integer in 1...1048576")
            }
            limit = value
        }
        let credentials = try readCredentials(request)
        let layout = self.layout
        let renderLimit = limit
        return try await withZooKeeper(credentials: credentials, path: path) { client in
            let (data, stat) = try await client.getData(path)
            let acl: JSONValue
            do {
                acl = ConsoleJSON.acl(try await client.getACL(path).acl)
            } catch {
                acl = .null
            }
            var members: [(key: String, value: JSONValue)] = [
                ("path", .string(path)),
                ("data", DataRendering(data, limit: renderLimit).json),
                ("stat", ConsoleJSON.stat(stat)),
                ("acl", acl),
                ("ephemeralOwner", ConsoleJSON.sessionHex(stat.ephemeralOwner).map(JSONValue.string) ?? .null),
            ]
            if case .instance(let service, let node) = layout.locate(path) {
                members.append(("instance", InstanceRow(service: service, node: node, path: path, data: data, stat: stat).json))
            }
            return .object(members)
        }
    }

    func write(_ request: HTTPRequest) async throws -> JSONValue {
        let credentials = try policy.authorize(EditPolicy.Request(
            authorization: request.headers.first(name: "Authorization"),
            contentType: request.headers.first(name: "Content-Type"),
            origin: request.headers.first(name: "Origin"),
            host: request.headers.first(name: "Host")))
        let path = try ConsoleJSON.validatePath(request.query["path"])
        guard path != "/" || request.method == .PUT else { throw ConsoleError.badRequest("the root cannot be created or deleted") }
        var body: JSONValue = .object([])
        if request.body.readableBytes > 0 {
            do {
                body = try JSONValue.parse(request.body.readableBytesView)
            } catch {
                throw ConsoleError.badRequest("the body is not JSON: \(error)")
            }
            guard body.members != nil else { throw ConsoleError.badRequest("the body must be a JSON object") }
        }
        let version: Int32
        switch body["version"] ?? request.query["version"].map({ JSONValue.number($0) }) {
        case nil, .null?: version = -1
        case .number(let text)?:
            guard let value = Int32(text), value >= -1 else { throw ConsoleError.badRequest("'version' must be an integer ≥ -1") }
            version = value
        default: throw ConsoleError.badRequest("'version' must be an integer")
        }
        let data: Data
        switch body["data"] {
        case nil, .null?: data = Data()
        case .string(let text)?: data = Data(text.utf8)
        default: throw ConsoleError.badRequest("'data' must be a string")
        }
        let acl: [ACL]
        switch body["acl"]?.stringValue ?? "open" {
        case "open": acl = ACL.openUnsafe
        case "creator":
            guard credentials != nil else { throw ConsoleError.badRequest("the 'creator' ACL needs credentials") }
            acl = ACL.creatorAll
        default: throw ConsoleError.badRequest("'acl' must be open or creator")
        }
        let method = request.method
        let who = credentials.map { "\($0.user)" } ?? "console session"
        logger.notice("Console write", metadata: ["method": "\(method)", "path": "\(path)", "as": "\(who)"])
        return try await withZooKeeper(credentials: credentials, path: path) { client in
            switch method {
            case .POST:
                let (created, stat) = try await client.createWithStat(path, data: data, acl: acl, mode: .persistent)
                return .object([("path", .string(created)), ("stat", ConsoleJSON.stat(stat))])
            case .PUT:
                let stat = try await client.setData(path, data: data, version: version)
                return .object([("path", .string(path)), ("stat", ConsoleJSON.stat(stat))])
            default:
                try await client.delete(path, version: version)
                return .object([("path", .string(path)), ("deleted", .bool(true))])
            }
        }
    }
}
