import ArgumentParser
import Foundation
import Logging
import ServiceRegistry
import ZooKeeperClient

/// zkCli-style commands: ls, get, set, create, rm, stat. Output follows zkCli's; errors go to stderr with exit
/// status 1 (4 when ZooKeeper is unreachable).
enum ZNodeCommand {
    /// Connects, runs `body`, closes; maps ZooKeeper errors to zkCli's messages.
    static func withClient(
        _ options: ClientOptions, _ body: (ZooKeeperClient) async throws -> Void
    ) async throws {
        let logger = options.bootstrapLogging()
        let client = try await options.connectedClient(logger: logger)
        do {
            try await body(client)
        } catch let error as ZooKeeperError {
            await client.close()
            CLIOutput.error(message(for: error))
            throw ExitCode(1)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    static func message(for error: ZooKeeperError) -> String {
        let path = error.path ?? ""
        switch error.code {
        case .noNode: return "Node does not exist: \(path)"
        case .nodeExists: return "Node already exists: \(path)"
        case .notEmpty: return "Node not empty: \(path)"
        case .badVersion: return "version No is not valid : \(path)"
        case .noAuth: return "Insufficient permission : \(path)"
        case .noChildrenForEphemerals: return "Ephemerals cannot have children: \(path)"
        default: return "zooreg: \(error)"
        }
    }

    /// Waits for a one-shot watch and prints its event as zkCli does.
    static func printEvent(of watch: OneShotWatch) async throws {
        let event = try await watch.event()
        CLIOutput.line("WATCHER::")
        CLIOutput.line("")
        CLIOutput.line("WatchedEvent state:SyncConnected type:\(javaName(event.type)) path:\(event.path)")
    }

    static func javaName(_ type: EventType) -> String {
        switch type {
        case .none: return "None"
        case .nodeCreated: return "NodeCreated"
        case .nodeDeleted: return "NodeDeleted"
        case .nodeDataChanged: return "NodeDataChanged"
        case .nodeChildrenChanged: return "NodeChildrenChanged"
        case .dataWatchRemoved: return "DataWatchRemoved"
        case .childWatchRemoved: return "ChildWatchRemoved"
        case .persistentWatchRemoved: return "PersistentWatchRemoved"
        }
    }

    /// zkCli's stat output.
    static func render(_ stat: Stat) -> [String] {
        func hex(_ v: Int64) -> String { "0x" + String(UInt64(bitPattern: v), radix: 16) }
        return [
            "cZxid = \(hex(stat.czxid))",
            "ctime = \(date(stat.ctime))",
            "mZxid = \(hex(stat.mzxid))",
            "mtime = \(date(stat.mtime))",
            "pZxid = \(hex(stat.pzxid))",
            "cversion = \(stat.cversion)",
            "dataVersion = \(stat.version)",
            "aclVersion = \(stat.aversion)",
            "ephemeralOwner = \(hex(stat.ephemeralOwner))",
            "dataLength = \(stat.dataLength)",
            "numChildren = \(stat.numChildren)",
        ]
    }

    static func date(_ ms: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM dd HH:mm:ss zzz yyyy"
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/\(child)" : "\(parent)/\(child)"
    }
}

struct LsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List a znode's children (zkCli's ls).")

    @OptionGroup var client: ClientOptions
    @Flag(name: .short, help: "Print the Stat too.") var s = false
    @Flag(name: .short, help: "Wait for the children to change and print the event.") var w = false
    @Flag(name: .customShort("R"), help: "List recursively (every descendant path).") var recursive = false
    @Argument var path: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            if recursive {
                var queue = [path]
                while !queue.isEmpty {
                    let current = queue.removeFirst()
                    CLIOutput.line(current)
                    let children = (try? await zk.getChildren(current)) ?? []
                    queue.append(contentsOf: children.sorted().map { ZNodeCommand.join(current, $0) })
                }
                return
            }
            if w {
                let (children, stat, watch) = try await zk.getChildrenAndWatch(path)
                CLIOutput.line("[" + children.sorted().joined(separator: ", ") + "]")
                if s { ZNodeCommand.render(stat).forEach(CLIOutput.line) }
                try await ZNodeCommand.printEvent(of: watch)
            } else {
                let (children, stat) = try await zk.getChildrenWithStat(path)
                CLIOutput.line("[" + children.sorted().joined(separator: ", ") + "]")
                if s { ZNodeCommand.render(stat).forEach(CLIOutput.line) }
            }
        }
    }
}

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print a znode's data (zkCli's get).")

    @OptionGroup var client: ClientOptions
    @Flag(name: .short, help: "Print the Stat too.") var s = false
    @Flag(name: .short, help: "Wait for the data to change and print the event.") var w = false
    @Argument var path: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            let data: Data
            let stat: Stat
            var watch: OneShotWatch?
            if w {
                (data, stat, watch) = try await zk.getDataAndWatch(path)
            } else {
                (data, stat) = try await zk.getData(path)
            }
            CLIOutput.line(stat.dataLength < 0 ? "null" : String(decoding: data, as: UTF8.self))
            if s { ZNodeCommand.render(stat).forEach(CLIOutput.line) }
            if let watch { try await ZNodeCommand.printEvent(of: watch) }
        }
    }
}

struct SetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set a znode's data (zkCli's set).")

    @OptionGroup var client: ClientOptions
    @Flag(name: .short, help: "Print the new Stat.") var s = false
    @Option(name: .short, help: "Only if the data version is this.") var v: Int32 = -1
    @Argument var path: String
    @Argument var data: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            let stat = try await zk.setData(path, data: Data(data.utf8), version: v)
            if s { ZNodeCommand.render(stat).forEach(CLIOutput.line) }
        }
    }
}

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a znode (zkCli's create).",
        discussion: "-e ephemeral (exists only while this command runs), -s sequential, -c container, -t TTL in ms.")

    @OptionGroup var client: ClientOptions
    @Flag(name: .short, help: "Ephemeral.") var e = false
    @Flag(name: .short, help: "Sequential.") var s = false
    @Flag(name: .short, help: "Container.") var c = false
    @Option(name: .short, help: "TTL in milliseconds (a persistent node with TTL).") var t: Int64?
    @Argument var path: String
    @Argument var data: String?

    func validate() throws {
        if c && (e || s || t != nil) { throw ValidationError("-c cannot be combined with -e, -s or -t") }
        if e && t != nil { throw ValidationError("-e cannot be combined with -t") }
        if let t, t <= 0 { throw ValidationError("-t needs a positive TTL") }
    }

    func run() async throws {
        let mode: CreateMode
        switch (e, s, c, t != nil) {
        case (_, _, true, _): mode = .container
        case (true, true, _, _): mode = .ephemeralSequential
        case (true, false, _, _): mode = .ephemeral
        case (false, true, _, true): mode = .persistentSequentialWithTTL
        case (false, false, _, true): mode = .persistentWithTTL
        case (false, true, _, false): mode = .persistentSequential
        case (false, false, _, false): mode = .persistent
        }
        try await ZNodeCommand.withClient(client) { zk in
            let created = try await zk.create(
                path, data: Data((data ?? "").utf8), mode: mode, ttl: t.map { .milliseconds($0) })
            CLIOutput.line("Created \(created)")
        }
    }
}

struct RmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Delete a znode (zkCli's delete; -r for deleteall).")

    @OptionGroup var client: ClientOptions
    @Option(name: .short, help: "Only if the data version is this.") var v: Int32 = -1
    @Flag(name: .short, help: "Delete the node and all its descendants.") var r = false
    @Argument var path: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            if r {
                try await Self.deleteAll(path, zk)
            } else {
                try await zk.delete(path, version: v)
            }
        }
    }

    static func deleteAll(_ path: String, _ zk: ZooKeeperClient) async throws {
        let children: [String]
        do {
            children = try await zk.getChildren(path)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return
        }
        for child in children { try await deleteAll(ZNodeCommand.join(path, child), zk) }
        do {
            try await zk.delete(path)
        } catch let error as ZooKeeperError where error.code == .noNode {}
    }
}

struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat", abstract: "Print a znode's Stat (zkCli's stat).")

    @OptionGroup var client: ClientOptions
    @Flag(name: .short, help: "Wait for the node to change (or appear) and print the event.") var w = false
    @Argument var path: String

    func run() async throws {
        try await ZNodeCommand.withClient(client) { zk in
            if w {
                let (stat, watch) = try await zk.existsAndWatch(path)
                if let stat {
                    ZNodeCommand.render(stat).forEach(CLIOutput.line)
                } else {
                    CLIOutput.error("Node does not exist: \(path)")
                }
                try await ZNodeCommand.printEvent(of: watch)
                return
            }
            guard let stat = try await zk.exists(path) else {
                throw ZooKeeperError(code: .noNode, path: path)
            }
            ZNodeCommand.render(stat).forEach(CLIOutput.line)
        }
    }
}
