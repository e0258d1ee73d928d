import ArgumentParser
import CoordinationServer
import Logging
import Prometheus
import ServiceLifecycle
import Foundation
import ServiceRegistryLAN
import EtcdClient
import EnsembleEtcd
import AdminHTTP
import RegistryConsole

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the ZooKeeper-compatible server.",
        discussion: """
            Without a configuration file it keeps its data in ./data and listens on 127.0.0.1:2181. A zoo.cfg-style \
            file may be given with --config or positionally, as zkServer.sh takes it; flags win over the file.
            """
    )

    @Argument(help: "A zoo.cfg-compatible configuration file.")
    var configPath: String?

    @Option(name: .customLong("config"), help: "A zoo.cfg-compatible configuration file.")
    var configOption: String?

    @Option(name: .customLong("data-dir"), help: "Snapshot directory (dataDir).")
    var dataDir: String?

    @Option(name: .customLong("data-log-dir"), help: "Transaction log directory (dataLogDir).")
    var dataLogDir: String?

    @Option(name: .customLong("port"), help: "Client port (clientPort).")
    var port: Int?

    @Option(name: .customLong("address"), help: "Client listen address (clientPortAddress).")
    var address: String?

    @Option(name: .customLong("tick-time"), help: "tickTime in milliseconds.")
    var tickTime: Int?

    @Option(name: .customLong("metrics-port"), help: "Prometheus metrics port (metricsProvider.httpPort); 0 turns it off.")
    var metricsPort: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(
        name: .customLong("mdns"), inversion: .prefixedNo,
        help: "Publish this host's registry instances on the LAN through avahi-daemon (mdns.enabled; default on).")
    var mdns: Bool?

    @Option(name: .customLong("mdns-services"), help: "Registry services to publish, comma-separated (mdns.services; default all).")
    var mdnsServices: String?

    @Option(name: .customLong("mdns-interfaces"), help: "Interfaces to publish on, comma-separated (mdns.interfaces; default all).")
    var mdnsInterfaces: String?

    @Option(name: .customLong("mdns-protocols"), help: "any, ipv4 or ipv6 (mdns.protocols; default any).")
    var mdnsProtocols: String?

    @Option(
        name: .customLong("ensemble-etcd"),
        help: "Join an ensemble: its etcd endpoints, comma-separated http://host:port (ensemble.etcd).")
    var ensembleEtcd: String?

    @Option(name: .customLong("ensemble-cluster"), help: "The ensemble's name, its key prefix in etcd (ensemble.cluster; default zooreg).")
    var ensembleCluster: String?

    @Option(
        name: .customLong("jaas-config"),
        help: "JAAS file whose Server section lists the SASL DIGEST-MD5 users (jaasLoginConfig).")
    var jaasConfig: String?

    @Flag(
        name: .customLong("admin"), inversion: .prefixedNo,
        help: "Serve the AdminServer commands and the web console over HTTP (admin.enableServer; default on).")
    var admin: Bool?

    @Option(name: .customLong("admin-address"), help: "The AdminServer's address (admin.serverAddress; default 127.0.0.1).")
    var adminAddress: String?

    @Option(name: .customLong("admin-port"), help: "The AdminServer's port (admin.serverPort; default 8080, 0 for any free port).")
    var adminPort: Int?

    @Flag(
        name: .customLong("console-edit"), inversion: .prefixedNo,
        help: "Let the web console change znodes, with digest credentials (console.editEnabled; default off).")
    var consoleEdit: Bool?

    @Option(name: .customLong("replica-id"), help: "This replica's id in the ensemble, 1-127 (ensemble.replicaId).")
    var replicaId: String?

    func run() async throws {
        if configPath != nil && configOption != nil {
            throw ValidationError("Give the configuration file either positionally or with --config, not both.")
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "zooreg")
        let overrides = ServerConfiguration.Overrides(
            dataDir: dataDir, dataLogDir: dataLogDir, clientPort: port, clientPortAddress: address, tickTime: tickTime,
            metricsHTTPPort: metricsPort, mdnsEnabled: mdns, mdnsServices: mdnsServices, mdnsInterfaces: mdnsInterfaces,
            mdnsProtocols: mdnsProtocols, ensembleEtcd: ensembleEtcd, ensembleCluster: ensembleCluster,
            ensembleReplicaId: replicaId, jaasLoginConfig: jaasConfig, adminEnableServer: admin,
            adminServerAddress: adminAddress, adminServerPort: adminPort, consoleEditEnabled: consoleEdit)
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.resolve(configFile: configPath ?? configOption, overrides: overrides)
        } catch {
            FileHandleOutput.standardError("zooreg: invalid configuration: \(error)\n")
            throw ExitCode(2)
        }
        for warning in configuration.warnings {
            logger.warning("Configuration", metadata: ["warning": "\(warning)"])
        }
        if configuration.tls.isEnabled {
            do {
                try configuration.tls.validateFiles()
            } catch {
                FileHandleOutput.standardError("zooreg: invalid configuration: \(configPath ?? configOption ?? "TLS"): \(error)\n")
                throw ExitCode(2)
            }
        }
        do {
            _ = try configuration.sasl.loadUsers()
        } catch {
            FileHandleOutput.standardError("zooreg: invalid configuration: \(error)\n")
            throw ExitCode(2)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var metrics: ServerMetrics?
        if configuration.metricsEnabled {
            let registry = PrometheusCollectorRegistry()
            metrics = ServerMetrics(registry: registry)
            services.append(.init(service: MetricsHTTPServer(
                host: configuration.metricsHTTPHost, port: configuration.metricsHTTPPort, registry: registry,
                logger: logger)))
        }
        var sharedLog: EtcdSharedLog?
        if configuration.isEnsembleReplica, let replicaId = configuration.ensembleReplicaId {
            let settings = EtcdSharedLog.Settings(
                replicaId: UInt8(replicaId), cluster: configuration.ensembleCluster,
                minSessionTimeoutMs: configuration.sessionTimeoutRange.lowerBound,
                maxSessionTimeoutMs: configuration.sessionTimeoutRange.upperBound,
                unavailableCloseMs: configuration.ensembleUnavailableCloseMs,
                compactionIntervalMs: configuration.ensembleCompactionIntervalMs)
            logger.info("Joining the ensemble", metadata: [
                "etcd": "\(configuration.ensembleEtcd.joined(separator: ","))", "cluster": "\(configuration.ensembleCluster)",
                "replica": "\(replicaId)",
            ])
            let outcome: EnsembleBootstrap.Outcome
            do {
                try FileManager.default.createDirectory(atPath: configuration.dataDir, withIntermediateDirectories: true)
                outcome = try await EnsembleBootstrap.prepare(
                    endpoints: configuration.ensembleEtcd, layout: settings.layout, replicaId: settings.replicaId,
                    directory: configuration.dataDir, logger: logger)
            } catch {
                logger.critical("Could not join the ensemble", metadata: ["error": "\(error)"])
                FileHandleOutput.standardError("zooreg: could not join the ensemble: \(error)\n")
                throw ExitCode(1)
            }
            logger.info("Ensemble state", metadata: ["bootstrap": "\(outcome)"])
            do {
                let client = try EtcdClient(endpoints: configuration.ensembleEtcd, logger: logger)
                sharedLog = EtcdSharedLog(client: client, settings: settings, logger: logger)
            } catch {
                FileHandleOutput.standardError("zooreg: invalid configuration: \(error)\n")
                throw ExitCode(2)
            }
            sharedLog?.startingSnapshot(atRevision: outcome.startRevision)
            let listen = configuration.clientPortAddress
            let wildcard = ["0.0.0.0", "::", "[::]"].contains(listen)
            let advertise = configuration.ensembleAdvertiseHost ?? (wildcard ? ProcessInfo.processInfo.hostName : listen)
            let log = sharedLog
            services.append(.init(service: SnapshotHTTPServer(
                host: listen, port: configuration.ensembleSnapshotPort, directory: configuration.dataDir, logger: logger,
                onServerRunning: { address in
                    let host = advertise.contains(":") ? "[\(advertise)]" : advertise
                    log?.advertiseSnapshots(at: "\(host):\(address.port ?? 0)")
                })))
        }
        let server = ZooKeeperServer(configuration: configuration, logger: logger, metrics: metrics, sharedLog: sharedLog)
        services.insert(.init(service: server), at: 0)
        if configuration.adminServerEnabled {
            services += adminServices(configuration: configuration, server: server, logger: logger)
        }
        if configuration.mdnsEnabled {
            // Last in the group, so that it shuts down first: its entries are withdrawn while the server still runs.
            let lan = LANOptions(
                services: configuration.mdnsServices, interfaces: configuration.mdnsInterfaces,
                protocols: configuration.mdnsProtocols, basePath: configuration.mdnsBasePath)
            do {
                try lan.validate()
            } catch {
                FileHandleOutput.standardError("zooreg: invalid configuration: \(error)\n")
                throw ExitCode(2)
            }
            let listen = configuration.clientPortAddress
            let host = ["0.0.0.0", "::", "[::]"].contains(listen) ? "127.0.0.1" : listen
            services.append(.init(service: ClosureService {
                // The publisher reads the registry through this server's own client port (known once bound).
                var port = server.port
                while port == nil {
                    try await Task.sleep(for: .milliseconds(20))
                    port = server.port
                }
                let publisher = try lan.makePublisher(
                    server: "\(host.contains(":") ? "[\(host)]" : host):\(port!)", logger: logger)
                try await publisher.run()
            }))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as SharedLogError {
            // Behind the log's compaction: start again, which bootstraps from a live peer's snapshot.
            logger.warning("Restarting to rejoin the ensemble", metadata: ["reason": "\(error)"])
            Reexec.restartSelf()
            FileHandleOutput.standardError("zooreg: \(error)\n")
            throw ExitCode(1)
        } catch {
            logger.critical("Server stopped with an error", metadata: ["error": "\(error)"])
            FileHandleOutput.standardError("zooreg: \(error)\n")
            throw ExitCode(1)
        }
    }
}

extension Serve {
    /// The AdminServer (ZooKeeper's `/commands`) and the web console, on one HTTP server. A port that cannot be
    /// bound is logged and the ZooKeeper server keeps serving, as ZooKeeper's does.
    func adminServices(
        configuration: ServerConfiguration, server: ZooKeeperServer, logger: Logger
    ) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var routes: [any HTTPRoute] = [AdminCommandsRoute(server: server, commandURL: configuration.adminCommandURL)]
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if configuration.consoleEnabled {
            let listen = configuration.clientPortAddress
            let clientHost = ["0.0.0.0", "::", "[::]"].contains(listen) ? "127.0.0.1" : listen
            let adminHost = configuration.adminServerAddress
            let loopback = adminHost == "localhost" || adminHost.hasPrefix("127.") || adminHost == "::1"
            let console = RegistryConsole(
                configuration: .init(
                    connectString: {
                        let port = try await server.boundClientPort()
                        return "\(clientHost.contains(":") ? "[\(clientHost)]" : clientHost):\(port)"
                    },
                    basePath: configuration.mdnsBasePath, commandURL: configuration.adminCommandURL,
                    editEnabled: configuration.consoleEditEnabled, writesRequireCredentials: !loopback),
                logger: logger)
            routes.append(console)
            services.append(.init(service: console))
        }
        let http = AdminHTTPServer(
            host: configuration.adminServerAddress, port: configuration.adminServerPort, routes: routes, logger: logger)
        services.append(.init(service: ClosureService {
            do {
                try await http.run()
            } catch {
                logger.error(
                    "Problem starting the AdminServer; the server keeps serving without it",
                    metadata: [
                        "admin.address": "\(configuration.adminServerAddress):\(configuration.adminServerPort)",
                        "error": "\(error)",
                    ])
                try? await gracefulShutdown()
            }
        }))
        return services
    }
}

/// Replaces this process with a fresh run of the same command line (same pid, same arguments).
enum Reexec {
    static func restartSelf() {
        let args = CommandLine.arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cArgs.append(nil)
        execv("/proc/self/exe", &cArgs)
        // Only reached if execv failed: the caller exits with an error.
    }
}

enum FileHandleOutput {
    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
