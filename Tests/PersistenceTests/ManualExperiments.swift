import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

/// Real full-disk check on a tiny file system, run by hand (needs root to mount):
/// ```
/// mkdir -p /tmp/zr-full && mount -t tmpfs -o size=64k tmpfs /tmp/zr-full
/// PERSISTENCE_FULL_DISK_DIR=/tmp/zr-full swift test --filter PersistenceTests.FullDiskExperiment
/// umount /tmp/zr-full
/// ```
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PERSISTENCE_FULL_DISK_DIR"] != nil))
struct FullDiskExperiment {
    @Test func realENOSPC() async throws {
        let root = ProcessInfo.processInfo.environment["PERSISTENCE_FULL_DISK_DIR"]!
        let dir = root + "/log-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try GroupCommitLog(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "full"))
        var zxid: Int64 = 0
        var failure: PersistenceError?
        while failure == nil, zxid < 100_000 {
            zxid += 1
            do {
                try await log.append([record(zxid, size: 1000)])
            } catch {
                failure = error
            }
        }
        await log.shutdown()
        guard case .io(let operation, let path, let errno, let message)? = failure else {
            Issue.record("expected an io error, got \(String(describing: failure))")
            return
        }
        print("full disk after \(zxid - 1) records: \(operation) \(path): \(message) (errno \(errno))")
        #expect(errno == ENOSPC)
        let recovered = try TransactionLogReader(configuration: TransactionLogConfiguration(directory: dir), logger: Logger(label: "full")).readAllRecords()
        #expect(recovered == (1..<zxid).map { record($0, size: 1000) })
    }
}
