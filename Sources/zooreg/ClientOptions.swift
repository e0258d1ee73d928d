import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ServiceRegistry
import ZooKeeperClient

/// Options shared by the client-side commands (register, resolve, services, ls, get, ...).
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("server"), help: "ZooKeeper servers, host:port,host:port[/chroot].")
    var server: String = "127.0.0.1:2181"

    @Option(
        name: .customLong("session-timeout"),
        help: "Session timeout asked for (e.g. 10s, 2500ms; a bare number is milliseconds).",
        transform: parseDuration)
    var sessionTimeout: Duration = .seconds(10)

    @Option(name: .customLong("connect-timeout"), help: "Give up connecting after this long.", transform: parseDuration)
    var connectTimeout: Duration = .seconds(15)

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (stderr).")
    var logLevel: String = "warning"

    @Option(
        name: .customLong("auth"),
        help: "scheme:credentials added to the session, as zkCli's addauth (e.g. digest:user:password); repeatable.")
    var auth: [String] = []

    @Flag(name: .customLong("tls"), help: "Connect with TLS (the server's secureClientPort); never falls back to plaintext.")
    var tls = false

    @Option(name: .customLong("tls-ca"), help: "PEM file of the CA certificates the server's certificate must chain to (implies --tls; default: the system's).")
    var tlsCA: String?

    @Option(name: .customLong("tls-cert"), help: "PEM file of this client's certificate, for servers with ssl.clientAuth (the x509 ACL id; implies --tls).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM file of the private key of --tls-cert (default: in the --tls-cert file).")
    var tlsKey: String?

    @Flag(name: .customLong("tls-no-verify-hostname"), help: "Do not check the server certificate's names (the chain is still checked).")
    var tlsNoVerifyHostname = false

    mutating func validate() throws {
        for entry in auth { _ = try Self.splitAuth(entry) }
        if tlsKey != nil && tlsCert == nil {
            throw ValidationError("--tls-key needs --tls-cert")
        }
    }

    /// Whether TLS is on: `--tls`, or any of its files.
    var usesTLS: Bool { tls || tlsCA != nil || tlsCert != nil || tlsKey != nil }

    /// The client configuration of the flags (TLS when asked for).
    func clientConfiguration() throws -> ZooKeeperClient.Configuration {
        var configuration = ZooKeeperClient.Configuration()
        if usesTLS {
            do {
                configuration.tls = try ZooKeeperClientTLS(
                    caFile: tlsCA, certificateFile: tlsCert, keyFile: tlsKey, verifyHostname: !tlsNoVerifyHostname)
            } catch {
                throw ValidationError("invalid TLS settings: \(error)")
            }
        }
        return configuration
    }

    /// `digest:user:password` → ("digest", "user:password").
    static func splitAuth(_ entry: String) throws -> (scheme: String, credentials: String) {
        guard let colon = entry.firstIndex(of: ":"), colon != entry.startIndex else {
            throw ValidationError("invalid --auth '\(entry)' (expected scheme:credentials, e.g. digest:user:password)")
        }
        return (String(entry[..<colon]), String(entry[entry.index(after: colon)...]))
    }

    /// Adds the `--auth` identities to the session (the client re-sends them after a reconnect). A refusal is
    /// printed and ends the command with exit status 4.
    func authenticate(_ client: ZooKeeperClient) async throws {
        for entry in auth {
            let (scheme, credentials) = try Self.splitAuth(entry)
            do {
                try await client.addAuth(scheme: scheme, auth: credentials)
            } catch {
                await client.close()
                CLIOutput.error("zooreg: the server refused --auth \(scheme):…: \(error)")
                throw ExitCode(4)
            }
        }
    }

    /// Bootstraps logging to stderr (once per process) and returns a logger.
    func bootstrapLogging(label: String = "zooreg") -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    func makeClient(logger: Logger) throws -> ZooKeeperClient {
        do {
            let configuration = try clientConfiguration()
            return try ZooKeeperClient(
                connectString: server, sessionTimeout: sessionTimeout, logger: logger, configuration: configuration)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("invalid --server '\(server)': \(error)")
        }
    }

    /// A client, connected.
    func connectedClient(logger: Logger) async throws -> ZooKeeperClient {
        let client = try makeClient(logger: logger)
        do {
            try await client.connect(timeout: connectTimeout)
        } catch {
            await client.close()
            CLIOutput.error("zooreg: cannot connect to \(server): \(error)")
            throw ExitCode(4)
        }
        try await authenticate(client)
        return client
    }
}

/// Options of the registry commands.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("base-path"), help: "Where the registry lives in ZooKeeper.")
    var basePath: String = RegistryLayout.defaultBasePath
}

/// `10s`, `250ms`, `1.5s`, `2m`, or a bare number of milliseconds.
func parseDuration(_ text: String) throws -> Duration {
    let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let value = Double(text.dropLast(suffix.count)), value >= 0 {
            return .nanoseconds(Int64((value * scale * 1e9).rounded()))
        }
    }
    if let ms = Double(text), ms >= 0 { return .nanoseconds(Int64((ms * 1e6).rounded())) }
    throw ValidationError("invalid duration '\(text)' (e.g. 10s, 500ms)")
}

/// Unbuffered output, so that a process reading our stdout sees each line at once.
enum CLIOutput {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Runs `body` as a Service of a ServiceGroup with the client (and more services), shutting down gracefully on
/// SIGTERM/SIGINT: the services after the client shut down first, then the client closes its session.
struct ClosureService: Service {
    let body: @Sendable () async throws -> Void
    func run() async throws { try await body() }
}

func runGroup(
    client: ZooKeeperClient, services: [any Service], logger: Logger
) async throws {
    var configured: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: client)]
    for service in services { configured.append(.init(service: service)) }
    let group = ServiceGroup(
        configuration: .init(services: configured, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
}

extension ServiceRegistryError {
    /// The exit status a command ends with for this error: 3 no (healthy) instance, 4 unreachable, 1 otherwise.
    var exitCode: ExitCode {
        switch self {
        case .noInstances, .noHealthyInstances: return ExitCode(3)
        case .unreachable: return ExitCode(4)
        default: return ExitCode(1)
        }
    }
}
