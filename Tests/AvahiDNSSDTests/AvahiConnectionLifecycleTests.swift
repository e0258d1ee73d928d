import Logging
import Testing

@testable import AvahiDNSSD

/// Lifecycle without a daemon (these run everywhere): closing ends every stream, whether the connection ever
/// started or not, and a closed connection refuses new work.
@Suite struct AvahiConnectionLifecycleTests {
    let logger = Logger(label: "avahi-lifecycle-test")

    @Test func closingANeverStartedConnectionEndsItsStreams() async {
        let connection = AvahiConnection(logger: logger)
        let events = connection.publicationEvents()
        await connection.closeAndWait()
        var count = 0
        for await _ in events { count += 1 }
        #expect(count == 0)
        #expect(connection.status == .closed)
        #expect(await connection.waitUntilRunning() == false)
    }

    @Test func aClosedConnectionEndsNewStreamsAtOnce() async {
        let connection = AvahiConnection(logger: logger)
        await connection.closeAndWait()
        for await _ in connection.publicationEvents() { Issue.record("an event after close") }
        for await _ in connection.browse(type: "_x._tcp") { Issue.record("an event after close") }
        connection.publish(DNSSDServiceEntry(name: "x", type: "_x._tcp", port: 1), id: "x")
        await connection.flush()
        await connection.closeAndWait()
    }
}
