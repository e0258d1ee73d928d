import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ZooKeeperClient
import ZooKeeperRecipes

/// `zooreg config get|set|watch <path>`: a configuration value in one znode, read, written with optional
/// compare-and-set, and followed as it changes (the watched value recipe).
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read, write and watch a configuration value stored in a znode.",
        discussion: """
            Exit status: 0 ok, 1 ZooKeeper error (e.g. the node does not exist), 3 compare-and-set failed \
            (--version did not match), 4 unreachable.
            """,
        subcommands: [ConfigGet.self, ConfigSet.self, ConfigWatch.self])
}

struct ConfigGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print the value (UTF-8); with --stat also its Stat (dataVersion = the version).")

    @OptionGroup var client: ClientOptions
    @Flag(help: "Print the Stat after the value (zkCli's format; dataVersion is what --version of set expects).")
    var stat = false
    @Argument(help: "The znode path.") var path: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            let (data, stat) = try await zk.getData(path)
            CLIOutput.line(String(decoding: data, as: UTF8.self))
            if self.stat { ZNodeCommand.render(stat).forEach(CLIOutput.line) }
        }
    }
}

struct ConfigSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Write the value; creates the node and its parents if missing (unless --version is given).",
        discussion: """
            With --version N the write is a compare-and-set: it succeeds only if the node is at data version N \
            (see `config get --stat`), else it exits with status 3 and writes nothing. A value of - reads stdin.
            """)

    @OptionGroup var client: ClientOptions
    @Flag(help: "Refuse a value that is not valid JSON.") var json = false
    @Option(help: "Compare-and-set: write only if the node's data version is this.") var version: Int32?
    @Argument(help: "The znode path.") var path: String
    @Argument(help: "The value (- reads standard input).") var value: String

    mutating func validate() throws {
        if value == "-" {
            value = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        if json {
            do {
                _ = try JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])
            } catch {
                throw ValidationError("the value is not valid JSON: \(Self.reason(error))")
            }
        }
        if let version, version < 0 { throw ValidationError("--version must be a data version (≥ 0)") }
    }

    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }

    func run() async throws {
        let data = Data(value.utf8)
        let logger = client.bootstrapLogging()
        let zk = try await client.connectedClient(logger: logger)
        do {
            if let version {
                try await zk.setData(path, data: data, version: version)
            } else {
                try await Self.upsert(zk, path, data)
            }
        } catch let error as ZooKeeperError where error.code == .badVersion {
            let current: Stat? = try? await zk.exists(path)
            await zk.close()
            let actual = current.map { "at version \($0.version)" } ?? "missing"
            CLIOutput.error(
                "zooreg: compare-and-set failed: \(path) is \(actual), not at version \(version ?? -1); nothing written")
            throw ExitCode(3)
        } catch let error as ZooKeeperError {
            await zk.close()
            CLIOutput.error(ZNodeCommand.message(for: error))
            throw ExitCode(1)
        }
        await zk.close()
    }

    /// setData, or create with the parents when the node is missing (persistent parents, as zkCli users expect).
    static func upsert(_ zk: ZooKeeperClient, _ path: String, _ data: Data) async throws {
        while true {
            do {
                try await zk.setData(path, data: data)
                return
            } catch let error as ZooKeeperError where error.code == .noNode {
                if try await zk.createIfMissing(path, data: data, parentMode: .persistent) { return }
            }
        }
    }
}

struct ConfigWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print the value now and after every change, until interrupted.",
        discussion: """
            One line per change: the value (UTF-8), `deleted` when the node is deleted, `absent` when it does not \
            exist yet. Reconnects and session expiry are survived (the node is read again). With --stat each value \
            line is followed by `version=N`.
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "Stop after printing this many values (deleted/absent count too).") var count: Int?
    @Flag(help: "Print the data version after each value.") var stat = false
    @Argument(help: "The znode path.") var path: String

    mutating func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let logger = client.bootstrapLogging()
        let zk = try await client.connectedClient(logger: logger)
        let updates = zk.watchedValue(at: path, as: [UInt8].self)
        let limit = count
        let printStat = stat
        let printer = ClosureService {
            var printed = 0
            for await update in updates.cancelOnGracefulShutdown() {
                switch update {
                case .value(let bytes, let stat):
                    CLIOutput.line(String(decoding: bytes, as: UTF8.self))
                    if printStat { CLIOutput.line("version=\(stat.version)") }
                case .deleted:
                    CLIOutput.line("deleted")
                case .neverExisted:
                    CLIOutput.line("absent")
                case .undecodable(_, _, let error):
                    CLIOutput.line("undecodable: \(error)")
                }
                printed += 1
                if let limit, printed >= limit { return }
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: zk),
                    .init(service: printer, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
