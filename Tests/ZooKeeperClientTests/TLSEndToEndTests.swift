import CoordinationServer
import Foundation
import Logging
import ServiceLifecycle
import Testing
import TestKit
import ZooKeeperClient
import ZooKeeperWire

/// The Swift client against a real in-process server over TLS (secureClientPort only): certificates made by
/// openssl in a temporary directory, a client certificate giving the `x509` id, and no plaintext fallback.
@Suite(.serialized) struct TLSEndToEndTests {
    static let clientDN = "CN=swift client,O=ZooRegistry"

    /// Makes a CA, a server certificate for 127.0.0.1 and a client certificate; returns the directory.
    static func makeCertificates() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zkc-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func openssl(_ args: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = args
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw TestTimeout(what: "openssl \(args.joined(separator: " "))") }
        }
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA"])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
        for (name, subject, ext) in [("server", "/CN=localhost", true), ("client", "/O=ZooRegistry/CN=swift client", false)] {
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try openssl(
                ["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "\(name).crt", "-days", "2"]
                    + (ext ? ["-extfile", "san.ext"] : []))
        }
        let pem = try String(contentsOfFile: dir + "/server.key", encoding: .utf8) + String(contentsOfFile: dir + "/server.crt", encoding: .utf8)
        try pem.write(toFile: dir + "/server.pem", atomically: true, encoding: .utf8)
        return dir
    }

    @Test func clientCertificateGivesTheX509Id() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return }
        let certs = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certs) }
        var configuration = ServerConfiguration(dataDir: certs + "/data")
        configuration.clientPortAddress = "127.0.0.1"
        configuration.plaintextClientPortEnabled = false
        configuration.metricsHTTPPort = 0
        configuration.forceSync = false
        configuration.tls.secureClientPort = 0
        configuration.tls.keyStoreLocation = certs + "/server.pem"
        configuration.tls.trustStoreLocation = certs + "/ca.pem"
        configuration.tls.clientAuth = .want
        let logger = testLogger("tls")
        let server = ZooKeeperServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let task = Task { try await group.run() }
        defer { task.cancel() }
        try await eventually(10, "the TLS port") { server.securePort != nil }
        #expect(server.port == nil)
        let hostPort = "127.0.0.1:\(server.securePort!)"

        var withCert = ZooKeeperClient.Configuration()
        withCert.tls = try ZooKeeperClientTLS(
            caFile: certs + "/ca.pem", certificateFile: certs + "/client.crt", keyFile: certs + "/client.key")
        let owner = try ZooKeeperClient(connectString: hostPort, logger: logger, configuration: withCert)
        try await owner.connect(timeout: .seconds(10))
        #expect(try await owner.whoAmI().contains(ClientInfo(authScheme: "x509", user: Self.clientDN)))
        let acl = [ACL(perms: Perms.all.rawValue, id: Id(scheme: "x509", id: Self.clientDN))]
        try await owner.create("/mine", data: Data("tls".utf8), acl: acl)
        #expect(try await owner.getData("/mine").data == Data("tls".utf8))

        var noCert = ZooKeeperClient.Configuration()
        noCert.tls = try ZooKeeperClientTLS(caFile: certs + "/ca.pem")
        let other = try ZooKeeperClient(connectString: hostPort, logger: logger, configuration: noCert)
        try await other.connect(timeout: .seconds(10))
        let denied = await #expect(throws: ZooKeeperError.self) { try await other.getData("/mine") }
        #expect(denied?.code == .noAuth)

        // A plaintext client on the TLS port never gets a session.
        let plain = try ZooKeeperClient(connectString: hostPort, logger: logger)
        let refused = await #expect(throws: ZooKeeperError.self) { try await plain.connect(timeout: .milliseconds(500)) }
        #expect(refused?.code == .operationTimeout)
        await plain.close()
        await other.close()
        await owner.close()
        await group.triggerGracefulShutdown()
        try await task.value
    }

    @Test func unreadableFilesAreBadArguments() {
        let missing = #expect(throws: ZooKeeperError.self) { try ZooKeeperClientTLS(caFile: "/nonexistent/ca.pem") }
        #expect(missing?.code == .badArguments)
        #expect(missing?.message?.contains("/nonexistent/ca.pem") == true)
        let keyOnly = #expect(throws: ZooKeeperError.self) {
            try ZooKeeperClientTLS(caFile: nil, certificateFile: nil, keyFile: "/nonexistent/client.key")
        }
        #expect(keyOnly?.code == .badArguments)
    }
}
