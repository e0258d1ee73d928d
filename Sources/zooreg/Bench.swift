import ArgumentParser
import Foundation
import LoadGenerator

/// `zooreg bench`: load generator and scenarios for comparing servers (ours, Apache ZooKeeper) over the wire.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark a ZooKeeper-compatible server (zooreg or Apache ZooKeeper) over the wire protocol.",
        discussion: """
            `run` (the default) drives a workload and reports throughput, latency percentiles (HdrHistogram) and, \
            with --server-pid, the server's CPU time per operation. The other subcommands are the scenarios of \
            Benchmarks/compare.sh: populate (many znodes), fanout (watch notification), storm (session storm), \
            propagation (a registry change reaching a watching Resolver) and \
            ready (time until a starting server serves).
            """,
        subcommands: [
            BenchRun.self, BenchPopulate.self, BenchFanout.self, BenchStorm.self, BenchPropagation.self, BenchReady.self,
        ],
        defaultSubcommand: BenchRun.self
    )
}

/// Where to connect and what to watch, shared by the bench subcommands.
struct BenchTargetOptions: ParsableArguments {
    @Option(name: .customLong("server"), help: "host:port of the server.")
    var server: String = "127.0.0.1:2181"

    @Option(name: .customLong("server-pid"), help: "The server's process id: its CPU time and memory are read from /proc.")
    var serverPID: Int32?

    @Option(name: .customLong("session-timeout"), help: "Session timeout asked for, in milliseconds.")
    var sessionTimeoutMs: Int32 = 30_000

    @Option(name: .customLong("root"), help: "The znode under which the benchmark works.")
    var root: String = "/bench"

    @Flag(name: .customLong("json"), help: "Print the result as JSON on stdout instead of a table.")
    var json = false

    @Option(name: .customLong("output"), help: "Also write the JSON result to this file.")
    var output: String?

    @Flag(name: .customLong("quiet"), help: "No progress lines on stderr.")
    var quiet = false

    func hostPort() throws -> (String, Int) {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw ValidationError("--server must be host:port, got '\(server)'") }
        return (String(server[..<colon]), port)
    }

    func target() throws -> Target {
        let (host, port) = try hostPort()
        return Target(host: host, port: port, serverPID: serverPID, sessionTimeoutMs: sessionTimeoutMs)
    }

    /// Prints `table` (or the JSON) and writes the JSON file.
    func emit<R: Encodable>(_ result: R, table: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(result)
        if let output { try data.write(to: URL(fileURLWithPath: output)) }
        if json {
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            print(table)
        }
    }
}

func benchDuration(_ text: String) throws -> Double {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let value = Double(text.dropLast(suffix.count)) { return value * scale }
    }
    guard let value = Double(text) else { throw ValidationError("bad duration '\(text)' (e.g. 10, 10s, 500ms, 2m)") }
    return value
}

struct BenchRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive a workload: saturating, or at a fixed rate without coordinated omission.",
        discussion: """
            Op kinds for --mix: get, set, create-delete (ephemeral-sequential create then delete), exists-watch, \
            register-resolve (ephemeral-sequential create, getChildren2 of the service, delete) and multi \
            (--multi-size setData). Example: --mix get=90,set=10. An operation that takes several requests counts \
            once; its latency runs from its intended start (the schedule time in --rate mode) to its last reply.
            """)

    @OptionGroup var target: BenchTargetOptions

    @Option(name: .customLong("connections"), help: "Connections (one session each).")
    var connections = 32

    @Option(name: .customLong("depth"), help: "Operations in flight per connection (the most allowed with --rate).")
    var depth = 16

    @Option(name: .customLong("threads"), help: "Event-loop threads of the generator.")
    var threads = 2

    @Option(name: .customLong("mix"), help: "Op mix, kind[=weight],... (default get).")
    var mix = "get"

    @Option(name: .customLong("value-size"), help: "Bytes of data per node and per write.")
    var valueSize = 100

    @Option(name: .customLong("keys"), help: "Key-space size (<root>/k/0 ..< keys).")
    var keys = 10_000

    @Option(name: .customLong("multi-size"), help: "setData operations per multi.")
    var multiSize = 4

    @Option(name: .customLong("warmup"), help: "Warm-up before measuring (e.g. 2s).", transform: benchDuration)
    var warmup: Double = 2

    @Option(name: .customLong("duration"), help: "Measured time (e.g. 10s); ignored with --ops.", transform: benchDuration)
    var duration: Double = 10

    @Option(name: .customLong("ops"), help: "Measure this many operations instead of a duration.")
    var ops: Int?

    @Option(name: .customLong("rate"), help: "Fixed rate in operations per second over all connections (default: saturate).")
    var rate: Double?

    @Flag(name: .customLong("no-setup"), help: "Do not create or refresh the keys first.")
    var noSetup = false

    @Option(name: .customLong("seed"), help: "Random seed.")
    var seed: UInt64 = 0x5EED

    @Option(name: .customLong("driver"), help: "raw (pipelined sessions on the wire codec) or client (the ZooKeeperClient library).")
    var driver = "raw"

    func run() async throws {
        let (host, port) = try target.hostPort()
        var configuration = LoadConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.connections = connections
        configuration.depth = depth
        configuration.threads = threads
        do {
            configuration.mix = try OpMix(parsing: mix)
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.valueSize = valueSize
        configuration.keySpace = keys
        configuration.multiSize = multiSize
        configuration.root = target.root
        configuration.warmupSeconds = warmup
        configuration.durationSeconds = duration
        configuration.operations = ops
        configuration.rate = rate
        configuration.setup = !noSetup
        configuration.sessionTimeoutMs = target.sessionTimeoutMs
        configuration.serverPID = target.serverPID
        configuration.seed = seed
        configuration.progressInterval = target.quiet ? nil : 1
        do {
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        let result: LoadResult
        switch driver {
        case "raw": result = try await LoadRunner.run(configuration)
        case "client": result = try await LibraryDriver.run(configuration)
        default: throw ValidationError("--driver must be raw or client")
        }
        try target.emit(result, table: result.table())
        if result.connectionsLost > 0 { throw ExitCode(1) }
    }
}

struct BenchPopulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "populate", abstract: "Create many persistent znodes quickly (pipelined multi batches).")

    @OptionGroup var target: BenchTargetOptions

    @Option(name: .customLong("count"), help: "Nodes to create, <root>/m/0 ..< count.")
    var count = 1_000_000

    @Option(name: .customLong("value-size"), help: "Bytes of data per node.")
    var valueSize = 100

    @Option(name: .customLong("batch"), help: "Creates per multi.")
    var batch = 100

    @Option(name: .customLong("window"), help: "Multis in flight per connection.")
    var window = 8

    @Option(name: .customLong("connections"), help: "Connections.")
    var connections = 4

    func run() async throws {
        let result = try await Populate.run(
            target: try target.target(), parent: target.root + "/m", count: count, valueSize: valueSize, batch: batch,
            window: window, connections: connections, progress: !target.quiet)
        var table = "populate: \(result.count) nodes of \(result.valueSize) B under \(result.parent) in \(fixed(result.seconds, 2)) s (\(fixed(result.rate, 0)) nodes/s)"
        if let server = result.server {
            table += "\n  server RSS \(mib(server.rssBeforeBytes)) → \(mib(server.rssAfterBytes)) MiB"
            if result.count > 0 {
                table += ", \(fixed((Double(server.rssAfterBytes) - Double(server.rssBeforeBytes)) / Double(result.count), 1)) B per node"
            }
        }
        try target.emit(result, table: table)
    }
}

struct BenchFanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout", abstract: "Watch fan-out: many sessions watch one node; time until all are notified of a setData.")

    @OptionGroup var target: BenchTargetOptions

    @Option(name: .customLong("sessions"), help: "Watching sessions.")
    var sessions = 1000

    @Option(name: .customLong("rounds"), help: "setData rounds (watches re-armed each round).")
    var rounds = 5

    @Option(name: .customLong("threads"), help: "Event-loop threads of the generator.")
    var threads = 2

    func run() async throws {
        let result = try await Fanout.run(
            target: try target.target(), root: target.root, sessions: sessions, rounds: rounds, threads: threads,
            progress: !target.quiet)
        let rounds = result.allNotifiedMillis.map { fixed($0, 2) }.joined(separator: ", ")
        let table = "fanout: \(result.sessions) watchers, all notified in a median \(fixed(result.medianAllNotifiedMillis, 2)) ms (rounds: \(rounds) ms)"
        try target.emit(result, table: table)
    }
}

struct BenchStorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storm", abstract: "Session storm: many sessions connect and each creates an ephemeral node.")

    @OptionGroup var target: BenchTargetOptions

    @Option(name: .customLong("sessions"), help: "Sessions.")
    var sessions = 10_000

    @Option(name: .customLong("concurrency"), help: "Sessions being set up at once.")
    var concurrency = 100

    @Option(name: .customLong("value-size"), help: "Bytes of data per ephemeral node.")
    var valueSize = 100

    @Option(name: .customLong("threads"), help: "Event-loop threads of the generator.")
    var threads = 2

    func run() async throws {
        let result = try await Storm.run(
            target: try target.target(), root: target.root, sessions: sessions, concurrency: concurrency,
            valueSize: valueSize, threads: threads, progress: !target.quiet)
        var table = "storm: \(result.sessions) sessions registered in \(fixed(result.registerSeconds, 2)) s (\(fixed(result.registerRate, 0))/s, p50 \(fixed(result.latencyMillis.p50, 2)) ms, p99 \(fixed(result.latencyMillis.p99, 2)) ms), closed in \(fixed(result.closeSeconds, 2)) s"
        if let server = result.server, let perSession = result.rssPerSessionBytes {
            table += "\n  server RSS \(mib(server.rssBeforeBytes)) → \(mib(server.rssAfterBytes)) MiB, \(fixed(perSession, 0)) B per session"
        }
        try target.emit(result, table: table)
    }
}

struct BenchReady: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ready", abstract: "Wait until a (starting) server serves; print how long since it was started.")

    @OptionGroup var target: BenchTargetOptions

    @Option(name: .customLong("timeout"), help: "Give up after this long.", transform: benchDuration)
    var timeout: Double = 120

    @Option(name: .customLong("since-unix-ns"), help: "When the server was started (`date +%s%N`); default: now.")
    var since: UInt64?

    @Option(name: .customLong("count-path"), help: "Once ready, count the descendants of this node (getAllChildrenNumber).")
    var countPath: String?

    func run() async throws {
        let result = try await Ready.run(
            target: try target.target(), timeoutSeconds: timeout, sinceUnixNanoseconds: since, checkPath: countPath)
        var table = "ready: serving after \(fixed(result.seconds, 3)) s (\(result.attempts) attempts)"
        if let count = result.checkCount, let path = result.checkPath { table += ", \(count) nodes under \(path)" }
        try target.emit(result, table: table)
    }
}

private func fixed(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}

private func mib(_ bytes: UInt64) -> String {
    fixed(Double(bytes) / 1_048_576, 1)
}
