import ArgumentParser
import Foundation
import ZooKeeperClient
import ZooKeeperRecipes

/// `zooreg counter get|add <path>`: a shared counter in Curator's SharedCount format (4 bytes, big-endian), so that
/// shell scripts, Curator's SharedCount and the Swift recipe count together.
struct CounterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "counter",
        abstract: "Read or add to a shared counter (Curator's SharedCount format: 4 bytes, big-endian).",
        discussion: "Exit status: 0 ok, 1 ZooKeeper error or a node that is not a counter, 4 unreachable.",
        subcommands: [CounterGet.self, CounterAdd.self])
}

struct CounterGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print the counter's value and version.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The znode path.") var path: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            let value = try await SharedCount(client: zk, path: path, seed: 0).versionedValue()
            CLIOutput.line("\(value.value) (version \(value.version))")
        }
    }
}

struct CounterAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add to the counter with compare-and-set (creating it at --seed if missing); prints the new value.",
        discussion: """
            Each addition reads the value and its version and writes value + --by at that version, again \
            until no other writer came in between. --times repeats it.
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "What to add.") var by: Int32 = 1
    @Option(help: "How many additions, one compare-and-set each.") var times = 1
    @Option(help: "The value a missing counter starts at.") var seed: Int32 = 0
    @Argument(help: "The znode path.") var path: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            let counter = SharedCount(client: zk, path: path, seed: seed)
            try await counter.start()
            var last: Int32 = 0
            for _ in 0..<max(times, 0) {
                while true {
                    let current = try await counter.versionedValue()
                    if try await counter.trySetCount(current.value &+ by, expectedVersion: current.version) {
                        last = current.value &+ by
                        break
                    }
                }
            }
            CLIOutput.line("\(last)")
        }
    }
}
