import ArgumentParser
import Foundation
import Logging
import ZooKeeperClient
import ZooKeeperRecipes

/// `--lose-on`: when a held lock or leadership counts as lost.
enum LossPolicyOption: String, ExpressibleByArgument, CaseIterable {
    case suspension
    case session

    var policy: LockLossPolicy { self == .suspension ? .suspension : .sessionLoss }
}

/// Exit statuses of `zooreg lock` and `zooreg elect` besides the command's own.
enum RecipeExit {
    /// The lock (or leadership) was not obtained within --timeout.
    static let timedOut: Int32 = 1
    /// ZooKeeper unreachable (as the other client commands).
    static let unreachable: Int32 = 4
    /// The lock or leadership was lost while the command ran; the command was sent SIGTERM.
    static let lost: Int32 = 5
    /// The command could not be started.
    static let cannotRun: Int32 = 127
}

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Run a command while holding a distributed lock (like flock), compatible with Curator's InterProcessMutex.",
        discussion: """
            Takes the lock at <path> (nodes _c_<uuid>-lock-<seq>, so Curator processes exclude us and we them), runs \
            the command, waits for it, releases the lock and exits with the command's status (128+N when it was \
            killed by signal N). If the lock is lost while the command runs (--lose-on: the connection is lost \
            (suspension, the default), or the session is (session)), the command gets SIGTERM (SIGKILL 10 s later) \
            and zooreg exits with status 5. Status 1: no lock within --timeout; 4: ZooKeeper unreachable; 127: the \
            command could not be started. SIGTERM/SIGINT are passed on to the command.
            """)

    @OptionGroup var client: ClientOptions

    @Argument(help: "The lock's path (its directory of lock nodes).")
    var path: String

    @Option(help: "Give up waiting for the lock after this long (e.g. 30s); default: wait forever.", transform: parseDuration)
    var timeout: Duration?

    @Option(name: .customLong("lose-on"), help: "When the lock counts as lost: suspension or session.")
    var loseOn: LossPolicyOption = .suspension

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. zooreg lock /locks/job -- make deploy") }
        if !path.hasPrefix("/") { throw ValidationError("the lock path must start with /") }
    }

    func run() async throws {
        let logger = client.bootstrapLogging()
        let zk = try await client.connectedClient(logger: logger)
        let lock = InterProcessMutex(client: zk, path: path, lossPolicy: loseOn.policy, logger: logger)
        let acquired: Bool
        do {
            acquired = try await lock.acquire(timeout: timeout)
        } catch {
            await zk.close()
            CLIOutput.error("zooreg: cannot take the lock \(path): \(error)")
            throw ExitCode(RecipeExit.unreachable)
        }
        guard acquired else {
            await zk.close()
            CLIOutput.error("zooreg: timed out waiting for the lock \(path)")
            throw ExitCode(RecipeExit.timedOut)
        }
        let states = lock.states
        let status = await ChildCommand.run(command) {
            for await state in states {
                if case .lost(let reason) = state { return "lost the lock \(path): \(reason)" }
            }
            return nil
        }
        try? await lock.release()
        await zk.close()
        throw ExitCode(status)
    }
}

struct ElectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elect",
        abstract: "Run a command only while leader (a LeaderLatch, compatible with Curator's).",
        discussion: """
            Joins the election at <path> (nodes _c_<uuid>-latch-<seq>, data = --id) and waits to lead; then runs the \
            command. When the command exits, zooreg leaves the election and exits with its status (128+N when killed \
            by signal N). If leadership is lost first (--lose-on suspension, the default, or session), the command \
            gets SIGTERM (SIGKILL 10 s later) and zooreg exits with status 5. Status 1: not leader within \
            --timeout; 4: ZooKeeper unreachable; 127: the command could not be started.
            """)

    @OptionGroup var client: ClientOptions

    @Argument(help: "The election's path.")
    var path: String

    @Option(help: "This participant's id, stored in its latch node (default: host:pid).")
    var id: String?

    @Option(help: "Give up waiting for leadership after this long; default: wait forever.", transform: parseDuration)
    var timeout: Duration?

    @Option(name: .customLong("lose-on"), help: "When leadership counts as lost: suspension or session.")
    var loseOn: LossPolicyOption = .suspension

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --, e.g. zooreg elect /election/cron -- ./cron.sh") }
        if !path.hasPrefix("/") { throw ValidationError("the election path must start with /") }
    }

    func run() async throws {
        let logger = client.bootstrapLogging()
        let zk = try await client.connectedClient(logger: logger)
        let participant = id ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        let latch = LeaderLatch(client: zk, path: path, id: participant, lossPolicy: loseOn.policy, logger: logger)
        latch.start()
        let leads = (try? await latch.awaitLeadership(timeout: timeout)) ?? false
        guard leads else {
            await latch.close()
            await zk.close()
            CLIOutput.error("zooreg: not leader of \(path) within the timeout")
            throw ExitCode(RecipeExit.timedOut)
        }
        let changes = latch.leadershipChanges
        let status = await ChildCommand.run(command) {
            for await isLeader in changes where !isLeader {
                return "lost leadership of \(path)"
            }
            return nil
        }
        await latch.close()
        await zk.close()
        throw ExitCode(status)
    }
}

/// Runs a child command until it exits, or until `lost` returns a message (then SIGTERM, and SIGKILL after a
/// grace period). SIGTERM and SIGINT sent to zooreg are passed on to the child.
enum ChildCommand {
    static func run(_ command: [String], lost: @escaping @Sendable () async -> String?) async -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let (exits, exited) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            let status = process.terminationReason == .uncaughtSignal
                ? 128 + process.terminationStatus : process.terminationStatus
            exited.yield(status)
            exited.finish()
        }
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { if process.isRunning { kill(process.processIdentifier, sig) } }
            source.resume()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }
        do {
            try process.run()
        } catch {
            CLIOutput.error("zooreg: cannot run \(command.joined(separator: " ")): \(error)")
            return RecipeExit.cannotRun
        }
        enum Outcome: Sendable {
            case exited(Int32)
            case lost(String)
        }
        let outcome: Outcome = await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                for await status in exits { return .exited(status) }
                return .exited(1)
            }
            group.addTask {
                if let message = await lost() { return .lost(message) }
                return nil
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .exited(1)
        }
        switch outcome {
        case .exited(let status):
            return status
        case .lost(let message):
            CLIOutput.error("zooreg: \(message); terminating the command (pid \(process.processIdentifier))")
            let pid = process.processIdentifier
            kill(pid, SIGTERM)
            let killer = Task {
                try await Task.sleep(for: .seconds(10))
                kill(pid, SIGKILL)
            }
            process.waitUntilExit()
            killer.cancel()
            return RecipeExit.lost
        }
    }
}
