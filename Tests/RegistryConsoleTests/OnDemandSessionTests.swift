import AdminHTTP
import NIOHTTP1
import Testing
import TestKit

@testable import RegistryConsole

/// The console opens its ZooKeeper session at the first API request and closes it when idle, so that a server
/// nobody looks at carries no console session, watch or cache.
@Suite struct OnDemandSessionTests {
    @Test func theSessionOpensOnDemandAndClosesWhenIdle() async throws {
        try await ConsoleFixture.run(idleTimeout: .milliseconds(400)) { fixture in
            // The run loop is waiting for demand (it says so), and has opened nothing.
            try await eventually(10, "the console to wait for demand") { fixture.console.hub.status.connection == "idle" }
            #expect(!fixture.console.hasSession)

            // A tree request opens the session and is answered through it.
            let first = try await fixture.request(.GET, "/api/tree/children?path=/")
            #expect(first.status == .ok)
            #expect(fixture.console.hasSession)

            // Nobody streams or asks: the session closes, the model is forgotten.
            try await eventually(10, "the idle session to close") { !fixture.console.hasSession }
            #expect(fixture.console.hub.status.connection == "idle")

            // And opens again for the next request.
            try await fixture.register("web", "a", port: 80)
            let again = try await fixture.request(.GET, "/api/tree/children?path=/services/web")
            #expect(again.status == .ok)
            #expect(again.body.contains("\"name\":\"a\""))
        }
    }

    @Test func anOpenStreamKeepsTheSessionOpen() async throws {
        try await ConsoleFixture.run(idleTimeout: .milliseconds(300)) { fixture in
            try await fixture.register("web", "a", port: 80)
            guard let response = await fixture.console.respond(to: .init(method: .GET, uri: "/api/services/stream")),
                case .stream(_, _, let producer) = response
            else {
                Issue.record("no stream")
                return
            }
            let log = EventLog()
            let streaming = Task { try await producer(HTTPStreamWriter { log.append($0) }) }
            try await eventually(10, "the stream to show the instance") { log.presentPaths.contains("/services/web/a") }
            // Well past the idle timeout, the subscriber keeps the session.
            try await eventually(10, "several heartbeats") { log.events.filter { $0.event == "comment" }.count > 4 }
            #expect(fixture.console.hasSession)
            streaming.cancel()
            _ = try? await streaming.value
            try await eventually(10, "the session to close once the page went") { !fixture.console.hasSession }
        }
    }
}
