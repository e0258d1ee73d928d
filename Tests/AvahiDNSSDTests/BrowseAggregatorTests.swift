import Testing

@testable import AvahiDNSSD

@Suite struct BrowseAggregatorTests {
    func raw(_ name: String, _ ipProtocol: DNSSDIPProtocol = .ipv4, interface: Int32 = 2) -> BrowseAggregator.RawKey {
        BrowseAggregator.RawKey(interface: interface, ipProtocol: ipProtocol, name: name, type: "_api._tcp", domain: "local")
    }

    func resolution(_ address: String, port: UInt16 = 80, txt: [DNSSDTXTItem] = []) -> BrowseAggregator.Resolution {
        BrowseAggregator.Resolution(host: "a.local", address: address, port: port, txt: txt)
    }

    @Test func withoutResolvingAServiceIsAddedOnceAndRemovedWithItsLastReport() {
        var aggregator = BrowseAggregator(resolving: false)
        let added = aggregator.appeared(raw("x"))
        #expect(added.count == 1)
        guard case .added(let service)? = added.first else { return }
        #expect(service.name == "x" && service.type == "_api._tcp" && service.interfaces == [2])
        // The same service over IPv6 on the same interface adds nothing new.
        #expect(aggregator.appeared(raw("x", .ipv6)) == [])
        #expect(aggregator.services.count == 1)
        #expect(aggregator.disappeared(raw("x")) == [])
        #expect(aggregator.disappeared(raw("x", .ipv6)).count == 1)
        #expect(aggregator.services.isEmpty)
        #expect(aggregator.disappeared(raw("x")) == [])
    }

    @Test func resolvingAddsOnTheFirstResolutionAndMergesAddresses() {
        var aggregator = BrowseAggregator(resolving: true)
        #expect(aggregator.appeared(raw("x", .ipv6)) == [])
        #expect(aggregator.appeared(raw("x", .ipv4)) == [])
        let first = aggregator.resolved(raw("x", .ipv6), resolution("fd42::1", txt: [DNSSDTXTItem("k", "v")]))
        guard case .added(let service)? = first.first else {
            Issue.record("expected added, got \(first)")
            return
        }
        #expect(service.addresses == ["fd42::1"] && service.port == 80 && service.txtDictionary == ["k": "v"])
        let second = aggregator.resolved(raw("x", .ipv4), resolution("169.254.1.1", txt: [DNSSDTXTItem("k", "v")]))
        guard case .updated(let merged)? = second.first else {
            Issue.record("expected updated, got \(second)")
            return
        }
        #expect(merged.addresses == ["169.254.1.1", "fd42::1"])
        // The same resolution again changes nothing.
        #expect(aggregator.resolved(raw("x", .ipv4), resolution("169.254.1.1", txt: [DNSSDTXTItem("k", "v")])) == [])
        // A TXT change is an update.
        let txt = aggregator.resolved(raw("x", .ipv4), resolution("169.254.1.1", txt: [DNSSDTXTItem("k", "w")]))
        guard case .updated(let updated)? = txt.first else {
            Issue.record("expected updated, got \(txt)")
            return
        }
        #expect(updated.txtDictionary == ["k": "w"])
    }

    @Test func failedResolutionsStillAnnounceTheService() {
        var aggregator = BrowseAggregator(resolving: true)
        _ = aggregator.appeared(raw("x"))
        let events = aggregator.resolveFailed(raw("x"))
        guard case .added(let service)? = events.first else {
            Issue.record("expected added")
            return
        }
        #expect(!service.isResolved)
    }

    @Test func aResyncDropsWhatDidNotComeBack() {
        var aggregator = BrowseAggregator(resolving: false)
        _ = aggregator.appeared(raw("stays"))
        _ = aggregator.appeared(raw("goes"))
        aggregator.beginResync()
        // Old reports are gone with the old browser: no removal yet.
        #expect(aggregator.disappeared(raw("stays")) == [])
        #expect(aggregator.appeared(raw("stays")) == [])
        let events = aggregator.allForNow()
        #expect(events.count == 2)
        guard case .removed(let gone)? = events.first else {
            Issue.record("expected removed")
            return
        }
        #expect(gone.name == "goes")
        #expect(events.last == .allForNow)
        #expect(aggregator.services.map(\.name) == ["stays"])
    }

    @Test func typesAreMergedToo() {
        var types = TypeBrowseAggregator()
        let v4 = TypeBrowseAggregator.RawKey(interface: 2, ipProtocol: .ipv4, type: "_http._tcp", domain: "local")
        let v6 = TypeBrowseAggregator.RawKey(interface: 2, ipProtocol: .ipv6, type: "_http._tcp", domain: "local")
        #expect(types.appeared(v4) == [.typeAdded(type: "_http._tcp", domain: "local")])
        #expect(types.appeared(v6) == [])
        #expect(types.disappeared(v4) == [])
        #expect(types.disappeared(v6) == [.typeRemoved(type: "_http._tcp", domain: "local")])
        _ = types.appeared(v4)
        types.beginResync()
        #expect(types.allForNow() == [.typeRemoved(type: "_http._tcp", domain: "local"), .allForNow])
    }
}
