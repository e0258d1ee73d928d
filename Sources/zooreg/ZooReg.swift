import ArgumentParser

@main
struct ZooReg: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zooreg",
        abstract: "ZooRegistry: a ZooKeeper-compatible coordination server and service registry.",
        subcommands: [Serve.self],
        defaultSubcommand: nil
    )
}
