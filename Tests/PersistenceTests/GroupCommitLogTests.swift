import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

/// Collects completion results from any thread.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: Result<Void, PersistenceError>] = [:]
    private var order: [Int] = []

    func record(_ id: Int, _ result: Result<Void, PersistenceError>) {
        lock.lock()
        results[id] = result
        order.append(id)
        lock.unlock()
    }

    var all: [Int: Result<Void, PersistenceError>] {
        lock.lock(); defer { lock.unlock() }
        return results
    }

    var completionOrder: [Int] {
        lock.lock(); defer { lock.unlock() }
        return order
    }
}

/// Hands out zxids and enqueues under one lock, as a server's serial commit path would.
final class Sequencer: @unchecked Sendable {
    private let lock = NSLock()
    private var next: Int64 = 1
    private var callIndex = 0
    static let payload = ByteBuffer(repeating: 0x5A, count: 100)

    func appendNext(to log: GroupCommitLog, results: Results, extra: GroupCommitLog.Completion? = nil) {
        // One shared payload keeps the serial section as short as a server's.
        lock.lock()
        defer { lock.unlock() }
        let zxid = next
        next += 1
        let id = callIndex
        callIndex += 1
        log.append([LogRecord(zxid: zxid, payload: Self.payload)]) { result in
            results.record(id, result)
            extra?(result)
        }
    }
}

@Suite struct GroupCommitLogTests {
    @Test func concurrentAppendsShareFsyncs() async throws {
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir, fileIO: io), logger: Logger(label: "test"))
            let results = Results()
            let sequencer = Sequencer()

            // Hold the first data sync until every writer has queued its appends, so the outcome does not depend
            // on timing: the first round syncs whatever it took, the next round takes everything else.
            io.closeGate()
            sequencer.appendNext(to: log, results: results)
            io.waitUntilSyncIsBlocked()

            let threads = 8
            let perThread = 250
            let group = DispatchGroup()
            for _ in 0..<threads {
                group.enter()
                Thread {
                    for _ in 0..<perThread { sequencer.appendNext(to: log, results: results) }
                    group.leave()
                }.start()
            }
            group.wait()
            io.openGate()
            await log.shutdown()

            let total = threads * perThread + 1
            let all = results.all
            #expect(all.count == total)
            #expect(all.values.allSatisfy { (try? $0.get()) != nil })
            // Completions are delivered in queue order.
            #expect(results.completionOrder == Array(0..<total))
            let stats = log.statistics
            #expect(stats.appendCalls == total)
            #expect(stats.recordsWritten == total)
            #expect(stats.fsyncs < stats.appendCalls)
            #expect(io.fdatasyncCalls <= 3)
            #expect(stats.durableZxid == Int64(total))
            #expect(try reader(dir).readAllRecords() == (1...Int64(total)).map { LogRecord(zxid: $0, payload: Sequencer.payload) })
        }
    }

    @Test func concurrentAppendsWithoutGating() async throws {
        try await withTemporaryDirectory { dir in
            let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir, rollSize: 16 * 1024), logger: Logger(label: "test"))
            let results = Results()
            let sequencer = Sequencer()
            let group = DispatchGroup()
            for _ in 0..<4 {
                group.enter()
                Thread {
                    for _ in 0..<300 { sequencer.appendNext(to: log, results: results) }
                    group.leave()
                }.start()
            }
            group.wait()
            await log.shutdown()
            #expect(results.all.count == 1200)
            #expect(results.all.values.allSatisfy { (try? $0.get()) != nil })
            #expect(try log.logFiles().count > 1)
            #expect(try reader(dir).readAllRecords() == (1...1200).map { LogRecord(zxid: $0, payload: Sequencer.payload) })
        }
    }

    @Test func asyncAppendRollAndReopen() async throws {
        try await withTemporaryDirectory { dir in
            let config = TransactionLogConfiguration(directory: dir)
            let log = try GroupCommitLog(configuration: config, logger: Logger(label: "test"))
            try await log.append([record(1), record(2)])
            #expect(log.currentFile?.name == "log.1")
            try await log.roll()
            try await log.append([record(3)])
            #expect(log.currentFile?.name == "log.3")
            #expect(try log.logFiles().map(\.name) == ["log.1", "log.3"])
            await log.shutdown()
            await log.shutdown()  // idempotent
            log.close()

            let reopened = try GroupCommitLog(configuration: config, logger: Logger(label: "test"))
            #expect(reopened.recovery.lastZxid == 3)
            #expect(reopened.statistics.durableZxid == 3)
            await #expect(throws: PersistenceError.self) { try await reopened.append([record(3)]) }
            try await reopened.append([record(4), record(5)])
            reopened.close()
            #expect(try reader(dir).readAllRecords() == (1...5).map { record($0) })
            #expect(try reopened.logFiles().map(\.name) == ["log.1", "log.3", "log.4"])
        }
    }

    @Test func invalidAppendFailsAloneAndWritesNothingOfIt() async throws {
        try await withTemporaryDirectory { dir in
            let io = FaultInjectingFileIO()
            let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir, fileIO: io), logger: Logger(label: "test"))
            try await log.append([record(1)])
            let results = Results()
            io.closeGate()
            log.append([record(2)]) { results.record(0, $0) }
            io.waitUntilSyncIsBlocked()
            // Queued together into the next round: the middle one repeats zxid 3 inside its own batch.
            log.append([record(3)]) { results.record(1, $0) }
            log.append([record(4), record(4)]) { results.record(2, $0) }
            log.append([record(4)]) { results.record(3, $0) }
            io.openGate()
            await log.shutdown()
            let all = results.all
            #expect((try? all[0]?.get()) != nil)
            #expect((try? all[1]?.get()) != nil)
            guard case .failure(.invalidArgument) = all[2] else {
                Issue.record("expected invalidArgument, got \(String(describing: all[2]))")
                return
            }
            #expect((try? all[3]?.get()) != nil)
            #expect(try reader(dir).readAllRecords() == (1...4).map { record($0) })
        }
    }

    @Test func appendAfterShutdownFailsWithClosed() async throws {
        try await withTemporaryDirectory { dir in
            let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "test"))
            await log.shutdown()
            await #expect(throws: PersistenceError.closed) { try await log.append([record(1)]) }
            await #expect(throws: PersistenceError.closed) { try await log.roll() }
        }
    }

    @Test func shutdownFlushesEverythingQueued() async throws {
        try await withTemporaryDirectory { dir in
            let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "test"))
            let results = Results()
            for zxid in 1...100 { log.append([record(Int64(zxid))]) { results.record(zxid, $0) } }
            log.close()
            #expect(results.all.count == 100)
            #expect(try reader(dir).readAllRecords().count == 100)
        }
    }
}
