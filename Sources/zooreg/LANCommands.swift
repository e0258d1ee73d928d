import ArgumentParser
import AvahiDNSSD
import Foundation
import Logging
import ServiceLifecycle
import ServiceRegistry
import ServiceRegistryLAN
import ZooKeeperClient

/// What to publish on the LAN, as `zooreg serve` (zoo.cfg `mdns.*`) and `zooreg publish` take it.
struct LANOptions {
    var services: [String] = []
    var interfaces: [String] = []
    var protocols: String = "any"
    var basePath: String = RegistryLayout.defaultBasePath

    func validate() throws {
        _ = try publishing()
        _ = try RegistryLayout(basePath: basePath)
    }

    /// The publisher's configuration; interface names become indexes (an unknown interface is an error).
    func publishing() throws -> LANPublisherState.Configuration {
        guard let ipProtocol = DNSSDIPProtocol(parsing: protocols) else {
            throw ValidationError("invalid protocols '\(protocols)' (expected any, ipv4 or ipv6)")
        }
        var indexes: [DNSSDInterface] = []
        for name in interfaces {
            let index = if_nametoindex(name)
            guard index != 0 else { throw ValidationError("no network interface named '\(name)'") }
            indexes.append(.index(Int32(index)))
        }
        return LANPublisherState.Configuration(services: Set(services), interfaces: indexes, ipProtocol: ipProtocol)
    }

    /// A publisher reading the registry at `server`, with its own client, resolver and Avahi connection.
    func makePublisher(server: String, logger: Logger) throws -> LANPublisher {
        let client = try ZooKeeperClient(connectString: server, sessionTimeout: .seconds(10), logger: logger)
        let resolver = try Resolver(client: client, basePath: basePath, logger: logger)
        return LANPublisher(
            resolver: resolver, connection: AvahiConnection(logger: logger),
            configuration: .init(publishing: try publishing()), logger: logger)
    }

    static func render(_ event: LANPublisher.Event) -> String {
        switch event {
        case .published(let path, let name, let type): return "published \(quoted(name)) \(type) \(path)"
        case .renamed(let path, let from, let to): return "renamed \(quoted(from)) \(quoted(to)) \(path)"
        case .withdrawn(let path, let name, let type): return "withdrawn \(quoted(name)) \(type) \(path)"
        case .failed(let path, let reason): return "failed \(path) \(reason)"
        }
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

private func commaList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish this host's registry instances on the LAN through avahi-daemon (a sidecar).",
        discussion: """
            The same publisher as inside `zooreg serve`, for a registry served elsewhere (Apache ZooKeeper 3.6+ \
            too): every instance under --base-path whose address is one of this host's is published as a DNS-SD \
            service (see `zooreg browse --help` for the mapping), and withdrawn when it leaves the registry, its \
            session expires or it turns unhealthy. Prints one line per event: published "<name>" <type> <path>, \
            renamed "<old>" "<new>" <path>, withdrawn "<name>" <type> <path>. Runs until SIGTERM/SIGINT.
            """)

    @Option(name: .customLong("server"), help: "ZooKeeper servers, host:port,host:port[/chroot].")
    var server: String = "127.0.0.1:2181"

    @Option(name: .customLong("base-path"), help: "Where the registry lives in ZooKeeper.")
    var basePath: String = RegistryLayout.defaultBasePath

    @Option(help: "Registry services to publish, comma-separated (default all).")
    var services: String?

    @Option(help: "Interfaces to publish on, comma-separated (default all).")
    var interfaces: String?

    @Option(help: "any, ipv4 or ipv6.")
    var protocols: String = "any"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (stderr).")
    var logLevel: String = "warning"

    var options: LANOptions {
        LANOptions(
            services: services.map(commaList) ?? [], interfaces: interfaces.map(commaList) ?? [], protocols: protocols,
            basePath: basePath)
    }

    func validate() throws {
        try options.validate()
    }

    func run() async throws {
        let logger = bootstrapCLILogging(level: logLevel)
        let publisher = try options.makePublisher(server: server, logger: logger)
        let printer = ClosureService {
            for await event in publisher.events() { CLIOutput.line(LANOptions.render(event)) }
            try? await gracefulShutdown()
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: printer), .init(service: publisher)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct BrowseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "browse",
        abstract: "Browse the LAN's DNS-SD services through avahi-daemon.",
        discussion: """
            Without an argument, lists the LAN's service types. With a DNS-SD type (_http._tcp, a subtype such as \
            _printer._sub._ipp._tcp) or a registry name, lists its services: a registry name that is a valid \
            lower-case RFC 6335 service name is browsed as _<name>._tcp, any other one as its subtype of the \
            umbrella type _zooreg._tcp (zooreg publishes it there, with the name in TXT "service"). Services are \
            merged over interfaces and IPv4/IPv6. --timeout (default 3s) prints a snapshot; --watch prints \
            events live (+ added, - removed, ~ updated) until SIGTERM/SIGINT. --resolve adds host, addresses, \
            port and TXT. --json prints one JSON object per line. Exit status 4 when avahi-daemon is not reachable \
            within the timeout.
            """)

    @Argument(help: "A DNS-SD type or a registry name (omit to list the service types).")
    var type: String?

    @Flag(help: "Keep printing events until interrupted.")
    var watch = false

    @Option(help: "How long a snapshot browses (e.g. 3s, 1500ms).", transform: parseDuration)
    var timeout: Duration = .seconds(3)

    @Flag(help: "Resolve each service: host, addresses, port and TXT.")
    var resolve = false

    @Flag(help: "Print JSON lines.")
    var json = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (stderr).")
    var logLevel: String = "error"

    func run() async throws {
        let logger = bootstrapCLILogging(level: logLevel)
        let connection = AvahiConnection(logger: logger)
        connection.start()
        let browseType = type.map(DNSSDMapping.browseType(for:))
        let events =
            if let type { LANBrowser(connection: connection, browsing: type, resolve: resolve) } else {
                LANBrowser(serviceTypesOn: connection)
            }
        let json = self.json
        let resolve = self.resolve
        if watch {
            let printer = ClosureService {
                for await event in events.cancelOnGracefulShutdown() {
                    if let line = Self.line(for: event, json: json, resolve: resolve) { CLIOutput.line(line) }
                }
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: [.init(service: connection), .init(service: printer)],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            return
        }
        let collector = Task {
            var types: [String: String] = [:]
            var services: [String: DNSSDService] = [:]
            for await event in events {
                switch event {
                case .typeAdded(let type, let domain): types["\(type).\(domain)"] = type
                case .typeRemoved(let type, let domain): types["\(type).\(domain)"] = nil
                case .added(let service), .updated(let service): services[service.fullName] = service
                case .removed(let service): services[service.fullName] = nil
                default: break
                }
            }
            return (types, services)
        }
        try? await Task.sleep(for: timeout)
        let reached = connection.status == .running
        await connection.closeAndWait()
        let (types, services) = await collector.value
        guard reached else {
            CLIOutput.error("zooreg: avahi-daemon is not reachable (\(connection.status))")
            throw ExitCode(4)
        }
        Self.printSnapshot(types: types, services: services, listingTypes: browseType == nil, json: json, resolve: resolve)
    }

    static func printSnapshot(
        types: [String: String], services: [String: DNSSDService], listingTypes: Bool, json: Bool, resolve: Bool
    ) {
        if listingTypes {
            for type in types.values.sorted() {
                let object = JSONValue.object([("event", .string("added")), ("type", .string(type)), ("domain", .string("local"))])
                CLIOutput.line(json ? object.serialized() : type)
            }
            return
        }
        let sorted = services.values.sorted { ($0.type, $0.name) < ($1.type, $1.name) }
        if json {
            for service in sorted { CLIOutput.line(jsonObject(service, event: "added", resolve: resolve).serialized()) }
            return
        }
        var rows = [resolve ? ["NAME", "TYPE", "HOST", "ADDRESSES", "PORT", "TXT"] : ["NAME", "TYPE", "DOMAIN"]]
        for service in sorted {
            if resolve {
                rows.append([
                    service.name, service.type, service.host ?? "-", service.addresses.joined(separator: ","),
                    service.port.map(String.init) ?? "-", service.txt.map(\.description).joined(separator: " "),
                ])
            } else {
                rows.append([service.name, service.type, service.domain])
            }
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            CLIOutput.line(cells.joined(separator: "  "))
        }
    }

    static func line(for event: DNSSDBrowseEvent, json: Bool, resolve: Bool) -> String? {
        switch event {
        case .typeAdded(let type, let domain), .typeRemoved(let type, let domain):
            let added = if case .typeAdded = event { true } else { false }
            if json {
                return JSONValue.object([
                    ("event", .string(added ? "added" : "removed")), ("type", .string(type)), ("domain", .string(domain)),
                ]).serialized()
            }
            return "\(added ? "+" : "-") \(type)"
        case .added(let service), .updated(let service), .removed(let service):
            let name: String
            let mark: String
            switch event {
            case .added: (name, mark) = ("added", "+")
            case .updated: (name, mark) = ("updated", "~")
            default: (name, mark) = ("removed", "-")
            }
            if json { return jsonObject(service, event: name, resolve: resolve).serialized() }
            var text = "\(mark) \(service.name)\t\(service.type)"
            if resolve, name != "removed" {
                text += "\t\(service.host ?? "-")\t\(service.addresses.joined(separator: ","))"
                text += "\t\(service.port.map(String.init) ?? "-")\t\(service.txt.map(\.description).joined(separator: " "))"
            }
            return text
        case .allForNow:
            return nil
        case .failure(let reason):
            return json ? JSONValue.object([("event", .string("failure")), ("reason", .string(reason))]).serialized()
                : "! \(reason)"
        }
    }

    static func jsonObject(_ service: DNSSDService, event: String, resolve: Bool) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("event", .string(event))]
        members += [("name", .string(service.name)), ("type", .string(service.type)), ("domain", .string(service.domain))]
        if resolve, event != "removed" {
            members.append(("host", service.host.map(JSONValue.string) ?? .null))
            members.append(("addresses", .array(service.addresses.map(JSONValue.string))))
            members.append(("port", service.port.map { .number(Int($0)) } ?? .null))
            var txt: [(key: String, value: JSONValue)] = []
            for item in service.txt where !txt.contains(where: { $0.key == item.key }) {
                txt.append((item.key, item.value == nil ? .bool(true) : .string(item.text)))
            }
            members.append(("txt", .object(txt)))
        }
        return .object(members)
    }
}

/// Bootstraps logging to stderr once per process at `level`.
func bootstrapCLILogging(level: String) -> Logger {
    let level = Logger.Level(rawValue: level) ?? .warning
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "zooreg")
}
