import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ServiceRegistry
import ServiceRegistryLAN
import AvahiDNSSD
import ZooKeeperClient

struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Register a service instance and keep it registered until SIGTERM/SIGINT (then deregister).",
        discussion: """
            The instance is stored as Apache Curator's curator-x-discovery does, at {base-path}/{name}/…: an \
            ephemeral sequential znode for a generated id, an ephemeral znode at the id with --id. It stays \
            registered across reconnects, server restarts and session expiry. With --check, the check runs every \
            --check-interval; a failing instance is marked unhealthy ("enabled":false), which resolvers skip. \
            Prints one line per event on stdout ("ready" once registered). The instance is also published on the \
            LAN through avahi-daemon (unless --no-mdns; see `zooreg browse --help` for the DNS-SD mapping), with \
            the lines published "<name>" <type>, renamed "<old>" "<new>" and withdrawn "<name>" <type>; it is \
            withdrawn when deregistered, while unhealthy, and on SIGTERM. Without a daemon it warns once and \
            publishes when one appears.
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var registry: RegistryOptions

    @Option(help: "The service name.")
    var name: String

    @Option(help: "The instance's port.")
    var port: Int?

    @Option(name: .customLong("ssl-port"), help: "The instance's TLS port.")
    var sslPort: Int?

    @Option(help: "The instance's address (default: the first non-loopback IPv4 address, else 127.0.0.1).")
    var address: String?

    @Option(help: "A fixed instance id (an ephemeral znode at the id); default a random UUID (ephemeral sequential).")
    var id: String?

    @Option(help: "A JSON payload.")
    var payload: String?

    @Option(name: .customLong("uri-spec"), help: "A Curator URI spec, e.g. '{scheme}://{address}:{port}'.")
    var uriSpec: String?

    @Option(help: "A health check: http://host:port/path (GET, 2xx passes), tcp://host:port or exec:command.")
    var check: String?

    @Option(name: .customLong("check-interval"), help: "Time between checks.", transform: parseDuration)
    var checkInterval: Duration = .seconds(10)

    @Option(name: .customLong("check-timeout"), help: "A check taking longer fails.", transform: parseDuration)
    var checkTimeout: Duration = .seconds(5)

    @Option(name: .customLong("failures-before-critical"), help: "Consecutive failures that make it unhealthy.")
    var failuresBeforeCritical: Int = 1

    @Option(name: .customLong("successes-before-passing"), help: "Consecutive successes that make it healthy.")
    var successesBeforePassing: Int = 1

    @Option(
        name: .customLong("deregister-critical-after"),
        help: "Deregister when unhealthy this long (registered again on recovery).", transform: parseDuration)
    var deregisterCriticalAfter: Duration?

    @Flag(name: .customLong("mdns"), inversion: .prefixedNo, help: "Publish the instance on the LAN (default on).")
    var mdns = true

    @Option(
        name: .customLong("dns-sd-type"),
        help: "Publish on the LAN as this DNS-SD type (e.g. _http._tcp), written to the payload as dnsSdType.")
    var dnsSdType: String?

    @Flag(help: "The service is UDP: published as _<name>._udp (payload dnsSdProtocol=udp).")
    var udp = false

    @Option(name: .customLong("replicas"), help: .hidden)
    var replicas: Int = 1

    @Option(name: .customLong("spread"), help: .hidden)
    var spread: Int = 1

    func validate() throws {
        try RegistryLayout.validateServiceName(name)
        if let id, !RegistryLayout.isValidSegment(id) { throw ValidationError("invalid --id '\(id)'") }
        if replicas < 1 || spread < 1 || spread > replicas { throw ValidationError("invalid --replicas/--spread") }
        if replicas > 1, id != nil { throw ValidationError("--replicas cannot be used with --id") }
        for port in [port, sslPort].compactMap({ $0 }) where !(0...65535).contains(port) {
            throw ValidationError("invalid port \(port)")
        }
        if let dnsSdType, !DNSSDNames.isValidServiceType(dnsSdType) {
            throw ValidationError("invalid --dns-sd-type '\(dnsSdType)' (expected _name._tcp or _name._udp, name per RFC 6335)")
        }
        if dnsSdType != nil || udp, let payload, (try? JSONValue.parse(payload))?.members == nil {
            throw ValidationError("--dns-sd-type and --udp need an object --payload (or none)")
        }
    }

    func run() async throws {
        let logger = client.bootstrapLogging()
        var payloadValue: JSONValue?
        if let payload {
            do {
                payloadValue = try JSONValue.parse(payload)
            } catch {
                throw ValidationError("--payload is not JSON: \(error)")
            }
        }
        if dnsSdType != nil || udp {
            var members = payloadValue?.members ?? []
            if let dnsSdType { members.append((DNSSDMapping.payloadTypeKey, .string(dnsSdType))) }
            if udp { members.append((DNSSDMapping.payloadProtocolKey, .string("udp"))) }
            payloadValue = .object(members)
        }
        var spec: UriSpec?
        if let uriSpec { spec = try UriSpec(uriSpec) }
        var healthCheck: HealthCheck?
        if let check {
            do {
                healthCheck = try HealthCheck(parsing: check)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let policy = HealthCheckPolicy(
            interval: checkInterval, timeout: checkTimeout, failuresBeforeCritical: failuresBeforeCritical,
            successesBeforePassing: successesBeforePassing, deregisterCriticalAfter: deregisterCriticalAfter)
        let address = self.address ?? Self.defaultAddress()

        var instances: [ServiceInstance] = []
        for index in 0..<replicas {
            let serviceName = replicas == 1 ? name : (spread == 1 ? name : "\(name)-\(index % spread)")
            instances.append(ServiceInstance(
                name: serviceName, id: id, address: address, port: port.map { replicas == 1 ? $0 : $0 + index },
                sslPort: sslPort, payload: payloadValue, uriSpec: spec))
        }

        let toRegister = instances
        let check = healthCheck
        let zk = try client.makeClient(logger: logger)
        let configuration = Registrar.Configuration(basePath: registry.basePath)
        let registrar: Registrar
        do {
            registrar = try Registrar(client: zk, configuration: configuration, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        let connectTimeout = client.connectTimeout
        let server = client.server
        let options = client
        // "ready" must follow the "registered" line: the printer reports each first registration it printed, and
        // the starter waits for it (the registrar yields the event before `register` returns).
        let (printedRegistrations, printedRegistration) = AsyncStream<Void>.makeStream()
        let (lanEvents, lanSink) = AsyncStream<RegistrarEvent>.makeStream()
        let printer = ClosureService {
            for await event in registrar.events {
                if toRegister.count == 1 { CLIOutput.line(Self.render(event)) }
                if case .registered = event { printedRegistration.yield() }
                lanSink.yield(event)
            }
            lanSink.finish()
            printedRegistration.finish()
            // The registrar ends its events while it shuts down, before the group signals this service; returning
            // now would count as an unexpected exit during graceful shutdown.
            try? await gracefulShutdown()
        }
        let starter = ClosureService {
            do {
                try await zk.connect(timeout: connectTimeout)
            } catch {
                CLIOutput.error("zooreg: cannot connect to \(server): \(error)")
                throw ExitCode(4)
            }
            try await options.authenticate(zk)
            let started = ContinuousClock.now
            let registeredOne = try await withThrowingTaskGroup(of: Bool.self) { group in
                var registered = false
                var next = 0
                while next < min(256, toRegister.count) {
                    let instance = toRegister[next]
                    group.addTask { try await registrar.register(instance, healthCheck: check, policy: policy).path != nil }
                    next += 1
                }
                while let done = try await group.next() {
                    registered = registered || done
                    if next < toRegister.count {
                        let instance = toRegister[next]
                        group.addTask { try await registrar.register(instance, healthCheck: check, policy: policy).path != nil }
                        next += 1
                    }
                }
                return registered
            }
            let elapsed = ContinuousClock.now - started
            if toRegister.count == 1, registeredOne {
                var printed = printedRegistrations.makeAsyncIterator()
                _ = await printed.next()
            }
            if toRegister.count > 1 {
                let ms = elapsed.zkMilliseconds
                CLIOutput.line("registered \(toRegister.count) instances in \(String(format: "%.1f", ms)) ms")
            }
            CLIOutput.line("ready")
            try? await gracefulShutdown()
        }
        // On the LAN: the connection, and a follower that publishes what the registrar registers. They shut down
        // after the printer (the registrar's deregistrations reach the follower first), before the client.
        var lanServices: [any Service] = []
        if mdns {
            let connection = AvahiConnection(logger: logger)
            let lan = RegistrarPublisher(connection: connection, logger: logger)
            let byID = Dictionary(toRegister.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            if toRegister.count == 1, let only = toRegister.first, !lan.publishes(only) {
                CLIOutput.error("zooreg: not publishing on the LAN: \(only.address ?? "-") is not an address of this host")
            }
            let events = connection.publicationEvents()
            let lanPrinter = ClosureService {
                for await event in events where toRegister.count == 1 {
                    switch event {
                    case .established(_, let name, let type): CLIOutput.line("published \(LANOptions.quoted(name)) \(type)")
                    case .renamed(_, let from, let to): CLIOutput.line("renamed \(LANOptions.quoted(from)) \(LANOptions.quoted(to))")
                    case .withdrawn(_, let name, let type): CLIOutput.line("withdrawn \(LANOptions.quoted(name)) \(type)")
                    case .failed(_, let reason): CLIOutput.line("lan-failed \(reason)")
                    }
                }
                // The follower closes the connection (ending these events) before this service is told to stop.
                try? await gracefulShutdown()
            }
            let follower = ClosureService {
                await lan.follow(lanEvents, instances: byID)
                await connection.flush()
                await connection.closeAndWait()
                try? await gracefulShutdown()
            }
            lanServices = [lanPrinter, follower]
        }
        do {
            // Shutdown runs in reverse: the starter, then the registrar (deregisters and ends its events), then the
            // printer (which prints those events and hands them to the LAN follower), then the client.
            try await runGroup(client: zk, services: lanServices + [printer, registrar, starter], logger: logger)
        } catch let error as ExitCode {
            throw error
        } catch {
            CLIOutput.error("zooreg: \(error)")
            throw ExitCode(1)
        }
    }

    static func render(_ event: RegistrarEvent) -> String {
        switch event {
        case .registered(let id, let path): return "registered \(id) \(path)"
        case .reregistered(let id, let path): return "reregistered \(id) \(path)"
        case .updated(let id, let path): return "updated \(id) \(path)"
        case .health(let id, let status, let result): return "health \(id) \(status) \(result)"
        case .deregistered(let id, let path, let reason): return "deregistered \(id) \(path) \(reason)"
        case .failed(let id, let error): return "failed \(id) \(error)"
        }
    }

    /// The first non-loopback IPv4 address of an interface that is up, as Curator's builder picks one.
    static func defaultAddress() -> String {
        let devices = (try? System.enumerateDevices()) ?? []
        for device in devices {
            guard let address = device.address, case .v4 = address, let ip = address.ipAddress else { continue }
            if ip.hasPrefix("127.") { continue }
            return ip
        }
        return "127.0.0.1"
    }
}
