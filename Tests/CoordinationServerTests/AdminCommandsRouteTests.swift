import AdminHTTP
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import CoordinationServer

/// The route's HTTP behaviour, on a server that is not running (so no engine: the commands that need one answer
/// ZooKeeper's "not currently serving" error). The running server is covered by Tests/Interop/test_admin_server.py.
@Suite struct AdminCommandsRouteTests {
    let route = AdminCommandsRoute(
        server: ZooKeeperServer(configuration: ServerConfiguration(dataDir: "/nonexistent"), logger: Logger(label: "test")),
        commandURL: "/commands")

    func get(_ uri: String, _ method: HTTPMethod = .GET) async -> (status: HTTPResponseStatus, headers: HTTPHeaders, body: String)? {
        guard let response = await route.respond(to: HTTPRequest(method: method, uri: uri)) else { return nil }
        guard case .full(let status, let headers, let body) = response else {
            Issue.record("streamed response")
            return nil
        }
        return (status, headers, String(buffer: body))
    }

    @Test func otherPathsAreLeftToTheNextRoute() async {
        for uri in ["/", "/command", "/commandsX/ruok", "/api/tree", "/commands.json"] {
            #expect(await get(uri) == nil, "\(uri)")
        }
    }

    @Test func listingAndCommands() async throws {
        let listing = try #require(await get("/commands"))
        #expect(listing.status == .ok)
        #expect(listing.body == AdminCommandRenderer.listing(commandURL: "/commands"))
        #expect(try #require(await get("/commands/")).body == listing.body)
        let ruok = try #require(await get("/commands/ruok"))
        #expect(ruok.status == .ok)
        #expect(ruok.headers["Content-Type"] == ["application/json"])
        // Not serving: ruok needs the server, gtmk and envi do not.
        #expect(ruok.body == "{\n  \"command\" : \"ruok\",\n  \"error\" : \"This ZooKeeper instance is not currently serving requests\"\n}")
        #expect(try #require(await get("/commands/gtmk")).body.contains("\"tracemask\" : 306"))
        #expect(try #require(await get("/commands/envi")).body.contains("\"zookeeper.version\" : \"3.8.0-zooreg"))
        let unknown = try #require(await get("/commands/no%20such?x=1"))
        #expect(unknown.status == .ok)
        #expect(unknown.body == "{\n  \"command\" : \"no such\",\n  \"error\" : \"Unknown command: no such\"\n}")
    }

    @Test func traceMaskIsKeptByTheServer() async throws {
        #expect(try #require(await get("/commands/stmk?traceMask=x")).body.contains("got x"))
        #expect(try #require(await get("/commands/gtmk")).body.contains("\"tracemask\" : 306"))
        #expect(try #require(await get("/commands/stmk?traceMask=12")).body.contains("\"tracemask\" : 12"))
        #expect(try #require(await get("/commands/get_trace_mask")).body.contains("\"tracemask\" : 12"))
    }

    @Test func methodsAndBadInput() async throws {
        for method in [HTTPMethod.POST, .PUT, .DELETE] {
            let r = try #require(await get("/commands/ruok", method))
            #expect(r.status == .methodNotAllowed)
            #expect(r.headers["Allow"] == ["GET, HEAD, OPTIONS"])
            #expect(r.body.hasPrefix("{\"error\":"))
        }
        #expect(try #require(await get("/commands", .OPTIONS)).status == .ok)
        #expect(try #require(await get("/commands/ruok", .TRACE)).status == .forbidden)
        #expect(try #require(await get("/commands/ruok", .PATCH)).status == .notImplemented)
        #expect(try #require(await get("/commands/ruok", .HEAD)).status == .ok)
        let malformed = try #require(await get("/commands/%ZZ"))
        #expect(malformed.status == .badRequest)
        #expect(malformed.body.hasPrefix("{\"error\":\"Bad request"))
        #expect(try #require(await get("/commands/%FF")).status == .badRequest)
        let huge = try #require(await get("/commands/" + String(repeating: "y", count: 100_000)))
        #expect(huge.status == .ok)
        #expect(huge.body.count < 1000)
        #expect(huge.body.contains("Unknown command: yyyy"))
    }
}
