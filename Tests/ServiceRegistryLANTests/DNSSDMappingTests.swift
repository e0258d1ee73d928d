import AvahiDNSSD
import ServiceRegistry
import Testing

@testable import ServiceRegistryLAN

@Suite struct DNSSDMappingTests {
    func instance(
        _ name: String, id: String = "0123456789abcdef-long-uuid", address: String = "169.254.77.1", port: Int? = 8080,
        payload: JSONValue? = nil, enabled: Bool = true
    ) -> ServiceInstance {
        ServiceInstance(
            name: name, id: id, address: address, port: port, payload: payload, registrationTimeUTC: 1, enabled: enabled)
    }

    @Test func validLowerCaseNamesGetTheirOwnType() throws {
        let entry = try DNSSDMapping.entry(for: instance("billing"), path: "/services/billing/n1")
        #expect(entry.type == "_billing._tcp")
        #expect(entry.subtypes.isEmpty)
        #expect(entry.name == "billing 01234567")
        #expect(entry.port == 8080)
        #expect(DNSSDMapping.browseType(for: "billing") == "_billing._tcp")
    }

    @Test func namesThatDoNotFitUseTheUmbrellaTypeWithAStableSubtype() throws {
        for name in ["com.example.Billing", "billing-api-version-2", "Billing", "a--b", "x_y", "123", "bïlling"] {
            let entry = try DNSSDMapping.entry(for: instance(name), path: "/services/\(name)/n1")
            #expect(entry.type == "_zooreg._tcp", "\(name)")
            #expect(entry.subtypes.count == 1)
            let label = entry.subtypes[0]
            #expect(DNSSDNames.isValidSubtypeLabel(label), "\(label)")
            #expect(label == DNSSDMapping.subtypeLabel(name), "stable")
            #expect(entry.txt.contains(DNSSDTXTItem("service", name)))
            #expect(DNSSDMapping.browseType(for: name) == "\(label)._sub._zooreg._tcp")
        }
        #expect(DNSSDMapping.subtypeLabel("com.example.Billing").hasPrefix("_com-example-billing-"))
        // Names that read alike still get distinct labels.
        let labels = ["com.example.Billing", "com-example-billing", "com.example.billing", "Com.Example.Billing"]
            .map(DNSSDMapping.subtypeLabel)
        #expect(Set(labels).count == labels.count)
        // A very long name keeps the label within a DNS label.
        let long = String(repeating: "service.", count: 30)
        #expect(DNSSDMapping.subtypeLabel(long).utf8.count <= 50)
    }

    @Test func thePayloadMayNameTheTypeAndUDP() throws {
        let web = try DNSSDMapping.entry(
            for: instance("billing", payload: .object([("dnsSdType", .string("_http._tcp"))])), path: "/p")
        #expect(web.type == "_http._tcp" && web.subtypes == ["_billing"])
        let udp = try DNSSDMapping.entry(
            for: instance("syslog", payload: .object([("dnsSdProtocol", .string("udp"))])), path: "/p")
        #expect(udp.type == "_syslog._udp")
        let odd = try DNSSDMapping.entry(
            for: instance("com.example.Web", payload: .object([("dnsSdType", .string("_http._tcp"))])), path: "/p")
        #expect(odd.type == "_http._tcp" && odd.subtypes == [DNSSDMapping.subtypeLabel("com.example.Web")])
        #expect(throws: DNSSDMapping.MappingError.invalidType("http")) {
            try DNSSDMapping.entry(for: instance("x", payload: .object([("dnsSdType", .string("http"))])), path: "/p")
        }
        #expect(throws: DNSSDMapping.MappingError.noPort) {
            try DNSSDMapping.entry(for: instance("x", port: nil), path: "/p")
        }
    }

    @Test func shortIDsAndInstanceNames() {
        #expect(DNSSDMapping.shortID("web-1") == "web-1")
        #expect(DNSSDMapping.shortID("057f109d-fe4c-432f-b3d2-3eb6686f1fc4") == "057f109d")
        let name = DNSSDMapping.instanceName(service: String(repeating: "s", count: 70), id: "id1")
        #expect(name.utf8.count == 63 && name.hasSuffix(" id1"))
    }

    @Test func txtCarriesIdentityHealthAndScalarMetadata() {
        let payload: JSONValue = .object([
            ("@class", .string("java.util.LinkedHashMap")), ("region", .string("eu")), ("weight", .number(3)),
            ("tls", .bool(true)), ("nested", .object([("a", .null)])), ("dnsSdType", .string("_http._tcp")),
            ("id", .string("spoofed")),
        ])
        let txt = DNSSDMapping.txt(for: instance("billing", id: "b1", payload: payload), path: "/services/billing/b1")
        #expect(
            txt == [
                DNSSDTXTItem("txtvers", "1"), DNSSDTXTItem("service", "billing"), DNSSDTXTItem("id", "b1"),
                DNSSDTXTItem("path", "/services/billing/b1"), DNSSDTXTItem("health", "passing"),
                DNSSDTXTItem("region", "eu"), DNSSDTXTItem("tls", "true"), DNSSDTXTItem("weight", "3"),
            ])
        let critical = DNSSDMapping.txt(for: instance("billing", enabled: false), path: nil)
        #expect(critical.contains(DNSSDTXTItem("health", "critical")))
    }

    @Test func oversizedMetadataIsTruncatedByRule() {
        var members: [(key: String, value: JSONValue)] = [("huge", .string(String(repeating: "h", count: 1000)))]
        for index in 0..<50 { members.append(("k\(index)", .string(String(repeating: "v", count: 20)))) }
        members.append(("bad=key", .string("x")))
        let txt = DNSSDMapping.txt(for: instance("billing", payload: .object(members)), path: "/services/billing/n")
        #expect(DNSSDTXTRecord.wireSize(txt) <= DNSSDTXTRecord.defaultBudget)
        #expect(txt.prefix(5).map(\.key) == DNSSDMapping.requiredTXTKeys)
        #expect(txt.last?.key == "truncated")
        for item in txt {
            #expect(item.bytes.count <= 255)
            #expect(DNSSDTXTRecord.isValidKey(item.key))
        }
        #expect(!txt.contains { $0.key == "bad=key" })
    }

    @Test func mDNSAnswersBecomeInstances() {
        let service = DNSSDService(
            name: "billing b1", type: "_zooreg._tcp", domain: "local", host: "a.local",
            addresses: ["169.254.77.1", "fd42::1"], port: 9090,
            txt: [DNSSDTXTItem("service", "com.example.Billing"), DNSSDTXTItem("id", "b1"), DNSSDTXTItem("k", "v")])
        let instance = DNSSDMapping.instance(from: service)
        #expect(instance.name == "com.example.Billing" && instance.id == "b1")
        #expect(instance.address == "169.254.77.1" && instance.port == 9090 && instance.enabled)
        #expect(instance.payloadValue?.members?.first { $0.key == "k" }?.value == .string("v"))
        let foreign = DNSSDMapping.instance(
            from: DNSSDService(name: "Office Printer", type: "_ipp._tcp", domain: "local", port: 631))
        #expect(foreign.name == "ipp" && foreign.id == "Office Printer" && foreign.port == 631)
    }
}

@Suite struct LANPublisherStateTests {
    let layout = try! RegistryLayout(basePath: "/services")

    func instance(_ name: String, _ id: String, address: String, port: Int = 80, enabled: Bool = true) -> ServiceInstance {
        ServiceInstance(name: name, id: id, address: address, port: port, registrationTimeUTC: 1, enabled: enabled)
    }

    func cache(_ instances: [(node: String, ServiceInstance)]) -> ServiceCacheState {
        var services: [String: [String: ServiceInstance]] = [:]
        for (node, instance) in instances { services[instance.name, default: [:]][node] = instance }
        return ServiceCacheState(services: services)
    }

    @Test func onlyThisHostsHealthyInstancesArePublished() {
        var state = LANPublisherState(
            configuration: .init(), layout: layout, localIdentities: ["169.254.77.1", "fd42:77::1", "host-a"])
        let changes = state.update(cache: cache([
            ("n1", instance("api", "1", address: "169.254.77.1")),
            ("n2", instance("api", "2", address: "169.254.77.2")),  // another host
            ("n3", instance("api", "3", address: "127.0.0.1")),  // loopback: left to its registrar
            ("n4", instance("api", "4", address: "FD42:77::1")),
            ("n5", instance("api", "5", address: "host-a.local")),
            ("n6", instance("api", "6", address: "169.254.77.1", enabled: false)),
        ]))
        let ids = changes.compactMap { change -> String? in
            if case .publish(let id, _) = change { return id }
            return nil
        }
        #expect(ids == ["/services/api/n1", "/services/api/n4", "/services/api/n5"])
        #expect(state.update(cache: cache([("n1", instance("api", "1", address: "169.254.77.1"))])) == [
            .withdraw(id: "/services/api/n4"), .withdraw(id: "/services/api/n5"),
        ])
    }

    @Test func changesAreMinimal() {
        var state = LANPublisherState(configuration: .init(), layout: layout, localIdentities: ["10.0.0.1"])
        let one = instance("api", "1", address: "10.0.0.1")
        _ = state.update(cache: cache([("n1", one)]))
        #expect(state.update(cache: cache([("n1", one)])) == [])
        var moved = one
        moved.port = 81
        guard case .publish(_, let entry)? = state.update(cache: cache([("n1", moved)])).first else {
            Issue.record("expected a publish")
            return
        }
        #expect(entry.port == 81)
        var sick = moved
        sick.enabled = false
        #expect(state.update(cache: cache([("n1", sick)])) == [.withdraw(id: "/services/api/n1")])
        #expect(state.update(cache: cache([])) == [])
    }

    @Test func servicesInterfacesAndProtocolsAreConfigurable() {
        var state = LANPublisherState(
            configuration: .init(services: ["web"], interfaces: [.index(2), .index(3)], ipProtocol: .ipv4),
            layout: layout, localIdentities: ["10.0.0.1"])
        let changes = state.update(cache: cache([
            ("n1", instance("web", "1", address: "10.0.0.1")), ("n2", instance("api", "2", address: "10.0.0.1")),
        ]))
        #expect(changes.count == 2)
        for change in changes {
            guard case .publish(let id, let entry) = change else { continue }
            #expect(id.hasPrefix("/services/web/n1@"))
            #expect(entry.ipProtocol == .ipv4)
        }
    }

    @Test func addressChangesRepublish() {
        var state = LANPublisherState(configuration: .init(), layout: layout, localIdentities: ["10.0.0.1"])
        _ = state.update(cache: cache([("n1", instance("api", "1", address: "10.0.0.2"))]))
        #expect(state.published.isEmpty)
        #expect(state.updateLocalIdentities(["10.0.0.1", "10.0.0.2"]).count == 1)
        #expect(state.updateLocalIdentities(["10.0.0.1"]) == [.withdraw(id: "/services/api/n1")])
    }

    @Test func dnssdNamesAreToldFromRegistryNames() {
        #expect(Resolver.isDNSSDName("Office Printer._ipp._tcp.local"))
        #expect(Resolver.isDNSSDName("_http._tcp"))
        #expect(Resolver.isDNSSDName("_printer._sub._ipp._tcp"))
        #expect(!Resolver.isDNSSDName("billing"))
        #expect(!Resolver.isDNSSDName("com.example.Billing"))
        #expect(!Resolver.isDNSSDName("tcp._tcp"))
    }
}

@Suite struct RegistrarPublicationStateTests {
    @Test func publishedWhileRegisteredAndNotCritical() {
        var state = RegistrarPublicationState()
        #expect(state.handle(.registered(id: "a", path: "/s/api/a")) == [.publish(id: "a", path: "/s/api/a")])
        #expect(state.handle(.health(id: "a", status: .critical, result: .failed("down"))) == [.withdraw(id: "a")])
        #expect(state.handle(.health(id: "a", status: .critical, result: .failed("down"))) == [])
        #expect(state.handle(.health(id: "a", status: .passing, result: .passed)) == [.publish(id: "a", path: "/s/api/a")])
        #expect(state.handle(.reregistered(id: "a", path: "/s/api/a2")) == [.publish(id: "a", path: "/s/api/a2")])
        #expect(state.handle(.deregistered(id: "a", path: "/s/api/a2", reason: "deregistered")) == [.withdraw(id: "a")])
        #expect(state.handle(.deregistered(id: "a", path: "/s/api/a2", reason: "again")) == [])
    }

    @Test func anInstanceThatStartsCriticalIsNotPublishedUntilItPasses() {
        var state = RegistrarPublicationState()
        // The first check's result comes before the registration.
        #expect(state.handle(.health(id: "b", status: .critical, result: .failed("refused"))) == [])
        #expect(state.handle(.registered(id: "b", path: "/s/api/b")) == [])
        #expect(state.handle(.health(id: "b", status: .passing, result: .passed)) == [.publish(id: "b", path: "/s/api/b")])
    }
}
