import Foundation
import Logging
import Testing

@testable import AvahiDNSSD

/// Against a real avahi-daemon: run inside a lab host, where `Scripts/test.sh` runs them (`ZOOREG_AVAHI_LIVE=1
/// Scripts/mdns-lab.sh exec a swift test --skip-build --filter AvahiLiveTests`). Without that variable they are
/// reported as skipped, never as passed. They also ran under AddressSanitizer (see the README's LAN section).
@Suite(.enabled(if: LiveDaemon.enabled, "needs avahi-daemon: set ZOOREG_AVAHI_LIVE=1 inside a lab host"), .serialized)
struct AvahiLiveTests {
    let logger = Logger(label: "avahi-live-test")

    func unique(_ prefix: String) -> String { "\(prefix) \(UInt32.random(in: 0...UInt32.max))" }

    /// The first event matching `predicate`, or nil after `timeout`.
    func first<T: Sendable>(
        _ stream: AsyncStream<T>, within timeout: Duration = .seconds(10), where predicate: @escaping @Sendable (T) -> Bool
    ) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask {
                for await event in stream where predicate(event) { return event }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let result = await group.next() ?? nil
            group.cancelAll()
            return result
        }
    }

    @Test func publishBrowseResolveAndWithdraw() async throws {
        let publisher = AvahiConnection(logger: logger)
        let browser = AvahiConnection(logger: logger)
        defer {
            publisher.close()
            browser.close()
        }
        let name = unique("live")
        let events = publisher.publicationEvents()
        publisher.publish(
            DNSSDServiceEntry(
                name: name, type: "_zrlive._tcp", port: 4242,
                txt: [DNSSDTXTItem("txtvers", "1"), DNSSDTXTItem("k", "v"), DNSSDTXTItem(key: "flag", value: nil)],
                subtypes: ["_special"]),
            id: "one")
        let established = await first(events) { if case .established = $0 { return true } else { return false } }
        #expect(established == .established(id: "one", name: name, type: "_zrlive._tcp"))

        let browse = browser.browse(type: "_zrlive._tcp", resolve: true)
        let added = await first(browse) { if case .added(let s) = $0 { return s.name == name } else { return false } }
        guard case .added(let service)? = added else {
            Issue.record("not seen by a browser")
            return
        }
        #expect(service.port == 4242)
        #expect(!service.addresses.isEmpty)
        #expect(service.txtDictionary["k"] == "v")
        #expect(service.txt.contains(DNSSDTXTItem(key: "flag", value: nil)))

        let sub = await browser.services(ofType: "_special._sub._zrlive._tcp", timeout: .seconds(5))
        #expect(sub.contains { $0.name == name })

        publisher.withdraw(id: "one")
        let removed = await first(browse) { if case .removed(let s) = $0 { return s.name == name } else { return false } }
        #expect(removed != nil)
    }

    @Test func aLocalNameConflictIsRenamedAndReported() async throws {
        let first = AvahiConnection(logger: logger)
        let second = AvahiConnection(logger: logger)
        defer {
            first.close()
            second.close()
        }
        let name = unique("clash")
        let firstEvents = first.publicationEvents()
        first.publish(DNSSDServiceEntry(name: name, type: "_zrlive._tcp", port: 1), id: "a")
        _ = await self.first(firstEvents) { if case .established = $0 { return true } else { return false } }
        let events = second.publicationEvents()
        second.publish(DNSSDServiceEntry(name: name, type: "_zrlive._tcp", port: 2), id: "b")
        let renamed = await self.first(events) { if case .renamed = $0 { return true } else { return false } }
        #expect(renamed == .renamed(id: "b", from: name, to: "\(name) #2"))
        let established = await self.first(events) { if case .established = $0 { return true } else { return false } }
        #expect(established == .established(id: "b", name: "\(name) #2", type: "_zrlive._tcp"))
    }

    @Test func updatesInPlaceAndManyConnectionsFreeCleanly() async throws {
        // Exercises every free path (groups, browsers, resolvers, clients, polls) many times: under
        // AddressSanitizer a double free or leak-after-use shows here.
        for round in 0..<6 {
            let connection = AvahiConnection(logger: logger)
            let events = connection.publicationEvents()
            let entry = DNSSDServiceEntry(name: unique("churn \(round)"), type: "_zrchurn._tcp", port: 7)
            connection.publish(entry, id: "x")
            _ = await first(events) { if case .established = $0 { return true } else { return false } }
            var changed = entry
            changed.txt = [DNSSDTXTItem("round", "\(round)")]
            connection.publish(changed, id: "x")
            let browse = connection.browse(type: "_zrchurn._tcp")
            _ = await first(browse, within: .seconds(3)) { $0 == .allForNow }
            let types = connection.browseTypes()
            _ = await first(types, within: .seconds(3)) { $0 == .allForNow }
            await connection.closeAndWait()
            #expect(connection.status == .closed)
        }
    }
}

enum LiveDaemon {
    static var enabled: Bool {
        ProcessInfo.processInfo.environment["ZOOREG_AVAHI_LIVE"] == "1"
    }
}
