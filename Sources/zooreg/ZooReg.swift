import ArgumentParser

@main
struct ZooReg: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zooreg",
        abstract: "ZooRegistry: a ZooKeeper-compatible coordination server and service registry.",
        subcommands: [Serve.self, RegisterCommand.self, ResolveCommand.self, ServicesCommand.self, LsCommand.self, GetCommand.self, SetCommand.self, CreateCommand.self, RmCommand.self, StatCommand.self, LockCommand.self, ElectCommand.self, ConfigCommand.self, CounterCommand.self, BrowseCommand.self, PublishCommand.self, Bench.self],
        defaultSubcommand: nil
    )
}
