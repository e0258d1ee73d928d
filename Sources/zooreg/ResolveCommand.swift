import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ServiceRegistry
import ServiceRegistryLAN
import AvahiDNSSD
import ZooKeeperClient

struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Print the instances of a service (healthy ones, unless --all).",
        discussion: """
            Text output: one line per instance, "address:port<TAB>id" (plus "<TAB>ssl=…" and "<TAB>unhealthy"). \
            --json prints {"service":…,"stale":…,"instances":[…]} with each instance in Curator's JSON. --watch \
            prints the current instances, then again after every change, until SIGTERM/SIGINT. \
            Exit status: 3 when the service has no (healthy) instance, 4 when ZooKeeper is unreachable. \
            A DNS-SD name ("Office Printer._ipp._tcp.local", or a type such as _ipp._tcp) is answered from mDNS \
            through avahi-daemon (JSON "source":"mdns"), unless the registry has a service of that name.
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var registry: RegistryOptions

    @Argument(help: "The service name, or a DNS-SD name or type.")
    var name: String

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Keep printing after every change.")
    var watch = false

    @Flag(help: "Include unhealthy instances.")
    var all = false

    func validate() throws {
        if Resolver.isDNSSDName(name) {
            if watch { throw ValidationError("--watch is for registry names; use `zooreg browse --watch` for DNS-SD") }
            return
        }
        try RegistryLayout.validateServiceName(name)
    }

    func run() async throws {
        let logger = client.bootstrapLogging()
        if Resolver.isDNSSDName(name) { return try await resolveOnLAN(logger: logger) }
        let (zk, resolver) = try await makeResolver(client: client, registry: registry, logger: logger)
        if !watch {
            defer { resolver.close() }
            do {
                let resolution = try await resolver.resolve(name, includeUnhealthy: all)
                output(resolution)
                await zk.close()
            } catch let error as ServiceRegistryError {
                await zk.close()
                if json, case .noInstances = error {
                    output(Resolution(service: name, instances: [], unhealthyCount: 0, isStale: false))
                } else if json, case .noHealthyInstances(_, let unhealthy) = error {
                    output(Resolution(service: name, instances: [], unhealthyCount: unhealthy, isStale: false))
                }
                CLIOutput.error("zooreg: \(error)")
                throw error.exitCode
            }
            return
        }
        let name = self.name
        let all = self.all
        let printer = ClosureService {
            for await resolution in resolver.instances(of: name, includeUnhealthy: all).cancelOnGracefulShutdown() {
                output(resolution)
            }
        }
        try await runGroup(client: zk, services: [resolver, printer], logger: logger)
    }

    /// A DNS-SD name: answered from mDNS unless the registry has a service of that name. The registry is read
    /// if it is reachable; mDNS answers even when it is not.
    func resolveOnLAN(logger: Logger) async throws {
        let connection = AvahiConnection(logger: logger)
        defer { connection.close() }
        let zk = try client.makeClient(logger: logger)
        var configuration = Resolver.Configuration(basePath: registry.basePath, readyTimeout: .seconds(2))
        configuration.lanLookup = MDNSLookup(connection: connection)
        let resolver: Resolver
        do {
            resolver = try Resolver(client: zk, configuration: configuration, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        defer { resolver.close() }
        do {
            output(try await resolver.resolve(name, includeUnhealthy: all))
            await zk.close()
        } catch let error as ServiceRegistryError {
            await zk.close()
            if json, case .noInstances = error {
                output(Resolution(service: name, instances: [], unhealthyCount: 0, isStale: false, source: .mdns))
            }
            if case .noInstances = error, case .noDaemon = connection.status {
                CLIOutput.error("zooreg: avahi-daemon is not reachable (\(connection.status))")
                throw ExitCode(4)
            }
            CLIOutput.error("zooreg: \(error)")
            throw error.exitCode
        }
    }

    func output(_ resolution: Resolution) {
        if json {
            CLIOutput.line(Self.json(resolution).serialized())
            return
        }
        if watch {
            CLIOutput.line("# \(resolution.service): \(resolution.instances.count) instance(s)"
                + (resolution.isStale ? " (stale)" : ""))
        }
        for instance in resolution.instances {
            var line = "\(instance.address ?? "-"):\(instance.port.map(String.init) ?? "-")\t\(instance.id)"
            if let ssl = instance.sslPort { line += "\tssl=\(ssl)" }
            if !instance.enabled { line += "\tunhealthy" }
            CLIOutput.line(line)
        }
    }

    static func json(_ resolution: Resolution) -> JSONValue {
        .object([
            ("service", .string(resolution.service)),
            ("stale", .bool(resolution.isStale)),
            ("source", .string(resolution.source.rawValue)),
            ("unhealthy", .number(resolution.unhealthyCount)),
            ("instances", .array(resolution.instances.map { $0.curatorJSON() })),
        ])
    }
}

struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List the registered service names.",
        discussion: """
            Text output: one name per line, with -l its instance count and unhealthy count. --json prints \
            {"name":[instances in Curator's JSON, unhealthy ones included],…}.
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var registry: RegistryOptions

    @Flag(name: .shortAndLong, help: "Show instance counts.")
    var long = false

    @Flag(help: "Print JSON with every instance.")
    var json = false

    func run() async throws {
        let logger = client.bootstrapLogging()
        let (zk, resolver) = try await makeResolver(client: client, registry: registry, logger: logger)
        defer { resolver.close() }
        do {
            try await resolver.waitUntilLoaded()
        } catch let error as ServiceRegistryError {
            await zk.close()
            CLIOutput.error("zooreg: \(error)")
            throw error.exitCode
        }
        let cache = resolver.snapshot
        await zk.close()
        if json {
            CLIOutput.line(JSONValue.object(cache.serviceNames.map { name in
                (name, .array(cache.instances(of: name).map { $0.curatorJSON() }))
            }).serialized())
            return
        }
        for name in cache.serviceNames {
            if long {
                let instances = cache.instances(of: name)
                let unhealthy = instances.filter { !$0.enabled }.count
                CLIOutput.line("\(name)\t\(instances.count)" + (unhealthy > 0 ? "\t\(unhealthy) unhealthy" : ""))
            } else {
                CLIOutput.line(name)
            }
        }
    }
}

/// A connected client and a resolver on it; the client is closed again when the resolver cannot be made.
private func makeResolver(
    client: ClientOptions, registry: RegistryOptions, logger: Logger
) async throws -> (ZooKeeperClient, Resolver) {
    let zk = try await client.connectedClient(logger: logger)
    do {
        // Through a replica of an ensemble (or a ZooKeeper follower) a read may lag writes other clients have
        // seen acknowledged; a sync first makes this command see everything acknowledged before it started.
        _ = try await zk.sync("/")
        return (zk, try Resolver(client: zk, basePath: registry.basePath, logger: logger))
    } catch {
        await zk.close()
        throw ValidationError("\(error)")
    }
}
