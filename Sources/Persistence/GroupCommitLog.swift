import Foundation
import Logging
import NIOCore

/// Counters of a ``GroupCommitLog``, for metrics.
public struct GroupCommitStatistics: Sendable, Hashable {
    /// `append(_:completion:)` calls processed by the log thread.
    public var appendCalls: Int = 0
    /// Rounds: each drains the queue, writes once and syncs once.
    public var rounds: Int = 0
    /// `fsync`/`fdatasync` calls (record data, new files and the directory).
    public var fsyncs: Int = 0
    /// Records written.
    public var recordsWritten: Int = 0
    /// Bytes written, file and record headers included.
    public var bytesWritten: Int64 = 0
    /// Log files created since opening.
    public var filesCreated: Int = 0
    /// The zxid of the last durable record (including recovered ones).
    public var durableZxid: Int64?

    public init() {}
}

/// A write-ahead log with group commit, owned by one dedicated background thread.
///
/// Callers on any thread call ``append(_:completion:)``. The log thread repeatedly takes everything queued
/// since its last round, encodes it, writes it with one `write(2)`, makes it durable with one `fdatasync(2)`
/// and then calls the completions of that round in the order the appends were queued. Concurrent writers
/// therefore share an fsync. Completions run on the log thread: keep them short and hop to your own executor or
/// event loop.
///
/// Zxids must strictly increase in queue order. An append whose records do not (or that holds an oversized
/// record) fails with ``PersistenceError/invalidArgument(_:)`` without writing any of its records; the others
/// proceed.
///
/// ## Failures
/// If a write, an fsync or the creation of a file fails, every append of that round fails with
/// ``PersistenceError/io(operation:path:errno:message:)`` and so does every later append, until the directory
/// is reopened by a new `GroupCommitLog` (see ``TransactionLog`` for why). A failed append has an unknown
/// outcome: its records may or may not be found after reopening.
///
/// Sendable: all shared state is guarded by one `NSCondition`; the ``TransactionLog`` is touched only by the
/// log thread.
public final class GroupCommitLog: Sendable {
    /// Called once per append with the outcome.
    public typealias Completion = @Sendable (Result<Void, PersistenceError>) -> Void

    /// What opening found at the end of the existing log.
    public let recovery: LogReadSummary
    /// The configuration the log was opened with.
    public let configuration: TransactionLogConfiguration

    private let state: SharedState

    /// Opens the directory, recovers the end of the log on the calling thread and starts the log thread.
    ///
    /// - Throws: what ``TransactionLog/init(configuration:logger:)`` throws.
    /// - Parameter verifiedTail: see ``TransactionLog/init(configuration:logger:verifiedTail:)``.
    public init(configuration: TransactionLogConfiguration, logger: Logger, verifiedTail: LogReadSummary? = nil) throws(PersistenceError) {
        let log = try TransactionLog(configuration: configuration, logger: logger, verifiedTail: verifiedTail)
        self.recovery = log.recovery
        self.configuration = configuration
        let state = SharedState()
        state.statistics.durableZxid = log.durableZxid
        self.state = state
        let owned = UnsafeTransfer(log)
        let thread = Thread {
            LogThread(log: owned.value, state: state, logger: logger).run()
        }
        thread.name = "zooreg-txnlog"
        thread.start()
    }

    deinit {
        state.enqueueShutdown(waiter: nil)
    }

    /// Queues records to be written and made durable; `completion` is called on the log thread once they are
    /// durable or have failed. After ``shutdown()``/``close()`` the completion is called at once, on the calling
    /// thread, with ``PersistenceError/closed``.
    public func append(_ records: [LogRecord], completion: @escaping Completion) {
        if !state.enqueue(.append(records, completion)) {
            completion(.failure(.closed))
        }
    }

    /// Appends and waits until the records are durable.
    public func append(_ records: [LogRecord]) async throws(PersistenceError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, PersistenceError>, Never>) in
            append(records) { continuation.resume(returning: $0) }
        }
        try result.get()
    }

    /// Queues a roll: everything queued before it is made durable, then the current file is closed and the next
    /// append starts a new file.
    public func roll(completion: @escaping Completion) {
        if !state.enqueue(.roll(completion)) {
            completion(.failure(.closed))
        }
    }

    /// Rolls and waits (see ``roll(completion:)``).
    public func roll() async throws(PersistenceError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, PersistenceError>, Never>) in
            roll { continuation.resume(returning: $0) }
        }
        try result.get()
    }

    /// Makes everything queued so far durable, closes the file and stops the log thread. Appends queued before
    /// the call complete normally; later ones fail with ``PersistenceError/closed``. Idempotent.
    public func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            state.enqueueShutdown(waiter: { continuation.resume() })
        }
    }

    /// Blocking variant of ``shutdown()``. Do not call it from the log thread (a completion).
    public func close() {
        state.enqueueShutdown(waiter: nil)
        state.waitUntilExited()
    }

    /// Current counters.
    public var statistics: GroupCommitStatistics {
        state.withLock { $0.statistics }
    }

    /// The file being appended to, if one has been started.
    public var currentFile: LogFileInfo? {
        state.withLock { $0.currentFile }
    }

    /// The `log.*` files of the directory in zxid order.
    public func logFiles() throws(PersistenceError) -> [LogFileInfo] {
        try TransactionLogReader.listLogFiles(directory: configuration.directory, io: configuration.fileIO)
    }
}

// MARK: - Shared state

private enum Command {
    case append([LogRecord], GroupCommitLog.Completion)
    case roll(GroupCommitLog.Completion)
    case shutdown
}

/// Queue and counters shared between callers and the log thread, guarded by `condition`.
private final class SharedState: @unchecked Sendable {
    private let condition = NSCondition()
    var queue: [Command] = []
    var accepting = true
    var exited = false
    var shutdownWaiters: [@Sendable () -> Void] = []
    var statistics = GroupCommitStatistics()
    var currentFile: LogFileInfo?

    func withLock<T>(_ body: (SharedState) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(self)
    }

    /// Returns false when the log no longer accepts work.
    func enqueue(_ command: Command) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { return false }
        queue.append(command)
        condition.broadcast()
        return true
    }

    func enqueueShutdown(waiter: (@Sendable () -> Void)?) {
        condition.lock()
        if exited {
            condition.unlock()
            waiter?()
            return
        }
        if let waiter { shutdownWaiters.append(waiter) }
        if accepting {
            accepting = false
            queue.append(.shutdown)
            condition.broadcast()
        }
        condition.unlock()
    }

    func waitUntilExited() {
        condition.lock()
        while !exited { condition.wait() }
        condition.unlock()
    }

    /// Blocks until work is queued and takes all of it.
    func takeAll() -> [Command] {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty { condition.wait() }
        let taken = queue
        queue.removeAll(keepingCapacity: true)
        return taken
    }

    func markExited() -> [@Sendable () -> Void] {
        condition.lock()
        defer { condition.unlock() }
        exited = true
        condition.broadcast()
        let waiters = shutdownWaiters
        shutdownWaiters = []
        return waiters
    }
}

/// Moves the non-Sendable ``TransactionLog`` to the log thread, which becomes its only user.
private struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

// MARK: - Log thread

private struct LogThread {
    let log: TransactionLog
    let state: SharedState
    let logger: Logger

    /// One entry per completion of a round, in queue order; `result` is nil while it waits for the round's sync.
    private struct Outcome {
        var completion: GroupCommitLog.Completion
        var result: Result<Void, PersistenceError>?
    }

    init(log: TransactionLog, state: SharedState, logger: Logger) {
        self.log = log
        self.state = state
        self.logger = logger
    }

    func run() {
        var stopping = false
        while !stopping {
            let commands = state.takeAll()
            var outcomes: [Outcome] = []
            outcomes.reserveCapacity(commands.count)
            var appendCalls = 0
            for command in commands {
                switch command {
                case .append(let records, let completion):
                    appendCalls += 1
                    outcomes.append(Outcome(completion: completion, result: append(records)))
                case .roll(let completion):
                    syncRound(&outcomes)
                    let result: Result<Void, PersistenceError>
                    do {
                        try log.roll()
                        result = .success(())
                    } catch {
                        result = .failure(error)
                    }
                    outcomes.append(Outcome(completion: completion, result: result))
                case .shutdown:
                    stopping = true
                }
            }
            syncRound(&outcomes)
            if stopping {
                do {
                    try log.close()
                } catch {
                    logger.error("Closing the transaction log failed", metadata: ["error": "\(error)"])
                }
            }
            publish(appendCalls: appendCalls)
            for outcome in outcomes {
                outcome.completion(outcome.result ?? .failure(.closed))
            }
        }
        for waiter in state.markExited() { waiter() }
    }

    /// Validates all records of one append call, then buffers them. nil: waiting for the sync.
    private func append(_ records: [LogRecord]) -> Result<Void, PersistenceError>? {
        do throws(PersistenceError) {
            var previous = log.lastZxid
            for record in records {
                if let previous, record.zxid <= previous {
                    throw .invalidArgument(
                        "zxid \(LogFormat.hex(record.zxid)) does not exceed the previous zxid \(LogFormat.hex(previous))"
                    )
                }
                try log.validate(zxid: record.zxid, payloadSize: record.payload.readableBytes)
                previous = record.zxid
            }
            try log.append(contentsOf: records)
            return nil
        } catch {
            return .failure(error)
        }
    }

    /// Makes every buffered record durable with one sync and resolves the waiting outcomes.
    private func syncRound(_ outcomes: inout [Outcome]) {
        guard outcomes.contains(where: { $0.result == nil }) else { return }
        let result: Result<Void, PersistenceError>
        do {
            try log.sync()
            result = .success(())
        } catch {
            result = .failure(error)
        }
        for index in outcomes.indices where outcomes[index].result == nil {
            outcomes[index].result = result
        }
    }

    private func publish(appendCalls: Int) {
        let logStatistics = log.statistics
        let durableZxid = log.durableZxid
        let currentFile = log.currentFile
        state.withLock { shared in
            shared.statistics.appendCalls += appendCalls
            shared.statistics.rounds += 1
            shared.statistics.fsyncs = logStatistics.fsyncs
            shared.statistics.recordsWritten = logStatistics.recordsWritten
            shared.statistics.bytesWritten = logStatistics.bytesWritten
            shared.statistics.filesCreated = logStatistics.filesCreated
            shared.statistics.durableZxid = durableZxid
            shared.currentFile = currentFile
        }
    }
}
