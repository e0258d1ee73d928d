import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real etcd (Debian's etcd-server) for the live tests: one member on free loopback ports and a temp data dir,
/// killed at the end. Tests that need it fail, not skip, when etcd is missing (Scripts/setup.sh installs it).
final class EtcdProcess: Sendable {
    let clientPort: Int
    let peerPort: Int
    let dataDir: URL
    let process = Process()
    let logFile: URL

    var endpoint: String { "http://127.0.0.1:\(clientPort)" }

    init() throws {
        guard let binary = ["/usr/bin/etcd", "/usr/local/bin/etcd"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw EtcdMissing()
        }
        clientPort = try Self.freePort()
        peerPort = try Self.freePort()
        dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("etcd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        logFile = dataDir.appendingPathComponent("etcd.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        let peer = "http://127.0.0.1:\(peerPort)"
        process.arguments = [
            "--name", "t", "--data-dir", dataDir.appendingPathComponent("data").path,
            "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "t=\(peer)", "--heartbeat-interval", "50", "--election-timeout", "500",
        ]
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dataDir)
    }

    deinit { stop() }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

struct EtcdMissing: Error, CustomStringConvertible {
    var description: String { "etcd is not installed (apt-get install etcd-server, or run Scripts/setup.sh)" }
}
