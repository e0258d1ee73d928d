import Foundation
import Logging
import NIOCore
import Testing
@testable import Persistence

@Suite struct SnapshotStoreTests {
    func body(_ seed: Int, size: Int = 1000) -> ByteBuffer {
        var buffer = ByteBuffer()
        for i in 0..<size { buffer.writeInteger(UInt8(truncatingIfNeeded: seed &* 131 &+ i)) }
        return buffer
    }

    @Test func newestValidIsLoaded() async throws {
        try await withTemporaryDirectory { dir in
            let store = SnapshotStore(directory: dir + "/data", logger: Logger(label: "test"))
            #expect(try store.loadNewestValid() == nil)
            try store.write(zxid: 0x10, body: body(1))
            try store.write(zxid: 0x1_0000_0005, body: body(2))
            try store.write(zxid: 0x20, body: body(3, size: 0))
            #expect(try store.snapshots().map(\.name) == ["snapshot.10", "snapshot.20", "snapshot.100000005"])
            let loaded = try #require(try store.loadNewestValid())
            #expect(loaded.zxid == 0x1_0000_0005)
            #expect(loaded.body == body(2))
            // No temporary files are left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/data").count == 3)
        }
    }

    @Test func corruptedOrPartialNewestIsSkipped() async throws {
        try await withTemporaryDirectory { dir in
            let capture = LogCapture()
            let store = SnapshotStore(directory: dir, logger: capture.logger())
            try store.write(zxid: 1, body: body(1))
            try store.write(zxid: 2, body: body(2))
            let newest = try store.write(zxid: 3, body: body(3))

            // A flipped body byte.
            var bytes = try readBytes(newest.path)
            bytes[SnapshotStore.headerSize + 500] ^= 0x10
            try writeBytes(bytes, to: newest.path)
            var loaded = try #require(try store.loadNewestValid())
            #expect(loaded.zxid == 2)
            #expect(loaded.body == body(2))
            let warning = try #require(capture.warnings.first)
            #expect(warning.metadata["file"] == newest.path)
            #expect(warning.metadata["offset"] == "\(SnapshotStore.headerSize)")

            // A partial file (crash while copying) and a damaged header.
            bytes[SnapshotStore.headerSize + 500] ^= 0x10
            try writeBytes(Array(bytes.dropLast(100)), to: newest.path)
            #expect(try store.loadNewestValid()?.zxid == 2)
            bytes[9] ^= 1
            try writeBytes(bytes, to: newest.path)
            #expect(try store.loadNewestValid()?.zxid == 2)
            try writeBytes([], to: newest.path)
            #expect(try store.loadNewestValid()?.zxid == 2)

            // A file renamed to another zxid does not pass for that zxid.
            try FileManager.default.copyItem(atPath: dir + "/snapshot.1", toPath: dir + "/snapshot.4")
            loaded = try #require(try store.loadNewestValid())
            #expect(loaded.zxid == 2)
        }
    }

    @Test func noValidSnapshotAmongSeveralIsAnError() async throws {
        try await withTemporaryDirectory { dir in
            let store = SnapshotStore(directory: dir, logger: Logger(label: "test"))
            let only = try store.write(zxid: 7, body: body(7))
            try writeBytes(Array(try readBytes(only.path).dropLast()), to: only.path)
            #expect {
                _ = try store.loadNewestValid()
            } throws: { error in
                guard case PersistenceError.corruptSnapshot(let file, _, let reason) = error else { return false }
                return file == only.path && reason.contains("none of the 1")
            }
        }
    }

    @Test func temporaryFilesAreIgnoredAndRemovable() async throws {
        try await withTemporaryDirectory { dir in
            let store = SnapshotStore(directory: dir, logger: Logger(label: "test"))
            try store.write(zxid: 1, body: body(1))
            try writeBytes([1, 2, 3], to: dir + "/snapshot.2.tmp-abc")
            #expect(try store.snapshots().map(\.zxid) == [1])
            #expect(try store.loadNewestValid()?.zxid == 1)
            #expect(try store.removeTemporaryFiles() == [dir + "/snapshot.2.tmp-abc"])
            #expect(!fileExists(dir + "/snapshot.2.tmp-abc"))
        }
    }

    @Test func concurrentWritesFromManyThreads() async throws {
        try await withTemporaryDirectory { dir throws in
            let store = SnapshotStore(directory: dir, logger: Logger(label: "test"))
            DispatchQueue.concurrentPerform(iterations: 16) { i in
                _ = try? store.write(zxid: Int64(i), body: self.body(i, size: 10_000))
            }
            #expect(try store.snapshots().count == 16)
            #expect(try store.loadNewestValid()?.body == body(15, size: 10_000))
        }
    }

    @Test func failedWriteLeavesNoFile() async throws {
        try await withTemporaryDirectory { dir throws in
            let io = FaultInjectingFileIO()
            let store = SnapshotStore(directory: dir, fileIO: io, logger: Logger(label: "test"))
            io.failWrites(after: 100, errno: ENOSPC)
            #expect {
                try store.write(zxid: 1, body: body(1))
            } throws: { error in
                guard case PersistenceError.io(_, _, let errno, _) = error else { return false }
                return errno == ENOSPC
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    /// A body written in pieces is the same snapshot as one written at once; the header is filled in last.
    @Test func piecewiseWriteMatchesOneBuffer() async throws {
        try await withTemporaryDirectory { dir throws in
            let store = SnapshotStore(directory: dir, logger: Logger(label: "test"))
            let whole = body(9, size: 100_000)
            let writer = try store.beginWrite(zxid: 0x42)
            var rest = whole
            while rest.readableBytes > 0 {
                try writer.append(rest.readSlice(length: min(rest.readableBytes, 7_777))!)
            }
            // Nothing is in place before the commit.
            #expect(try store.snapshots().isEmpty)
            let info = try writer.commit()
            #expect(info.name == "snapshot.42")
            try store.write(zxid: 0x41, body: whole)
            // The same body, and the same length and body checksum in the header (bytes 16..<28).
            let piecewise = try readBytes(info.path)
            let atOnce = try readBytes(dir + "/snapshot.41")
            #expect(piecewise.count == atOnce.count)
            #expect(piecewise[16..<28] == atOnce[16..<28])
            #expect(piecewise[32...] == atOnce[32...])
            let loaded = try #require(try store.loadNewestValid())
            #expect(loaded.zxid == 0x42)
            #expect(loaded.body == whole)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["snapshot.41", "snapshot.42"])
        }
    }

    /// A write failing halfway through a piecewise snapshot, and a writer given up before its commit, leave no file.
    @Test func failedOrAbandonedPiecewiseWriteLeavesNoFile() async throws {
        try await withTemporaryDirectory { dir throws in
            let io = FaultInjectingFileIO()
            let store = SnapshotStore(directory: dir, fileIO: io, logger: Logger(label: "test"))
            let writer = try store.beginWrite(zxid: 5)
            try writer.append(body(1, size: 1000))
            io.failWrites(after: 1500, errno: ENOSPC)
            #expect {
                try writer.append(body(2, size: 1000))
                try writer.append(body(3, size: 1000))
            } throws: { error in
                guard case PersistenceError.io(let operation, let path, let errno, _) = error else { return false }
                return operation == "write" && errno == ENOSPC && path.contains("snapshot.5.tmp-")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
            // The writer is finished: it neither writes nor commits any more.
            #expect(throws: PersistenceError.self) { try writer.commit() }

            io.failWrites(after: Int.max)
            do {
                let abandoned = try store.beginWrite(zxid: 6)
                try abandoned.append(body(4))
                let files = try FileManager.default.contentsOfDirectory(atPath: dir)
                withExtendedLifetime(abandoned) {}
                #expect(files.count == 1)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
            #expect(try store.loadNewestValid() == nil)
        }
    }
}
