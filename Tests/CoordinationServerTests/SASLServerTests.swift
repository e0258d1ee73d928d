import CoordinationCore
import Foundation
import Logging
import NIOCore
import ReplicatedLog
import Testing
import ZooKeeperWire

@testable import CoordinationCore
@testable import CoordinationServer

/// SASL in the engine (tokens answered at once, with fresh nonces; in ordered mode the sasl id travels with the
/// connection's later requests into the log) and its zoo.cfg keys and JAAS file.
@Suite struct SASLServerTests {
    static let users = JAASDigestUsers(passwords: ["alice": "secret"])

    /// The client's side: the digest response to `challenge` (a DIGEST-MD5 challenge token).
    static func response(to challenge: [UInt8], user: String = "alice", password: String = "secret") throws -> [UInt8] {
        let text = String(decoding: challenge, as: UTF8.self)
        let nonce = try #require(try DigestMD5Server.directives(text)["nonce"] as String?)
        let ha1 = DigestMD5Server.ha1(
            user: user, realm: DigestMD5Server.realm, password: password, nonce: nonce, cnonce: "c1", authzid: nil)
        let digest = DigestMD5Server.kd(
            ha1, nonce: nonce, nc: "00000001", cnonce: "c1", qop: "auth", a2: "AUTHENTICATE:" + DigestMD5Server.digestURI)
        return Array((
            "charset=utf-8,username=\"\(user)\",realm=\"zk-sasl-md5\",nonce=\"\(nonce)\",nc=00000001,cnonce=\"c1\","
                + "digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,response=\(digest),qop=auth").utf8)
    }

    static func token(_ reply: ParsedOutput.Reply?) throws -> [UInt8] {
        var body = try #require(reply).body
        return try SetSASLResponse(juteFrom: &body).token
    }

    static func sasl(_ token: [UInt8]) -> ZooKeeperRequest { .sasl(GetSASLRequest(token: token)) }

    @Test func localModeExchangeWithFreshNonces() throws {
        var h = EngineHarness(saslUsers: Self.users)
        let a = h.open()
        h.handshake(a)
        let b = h.open()
        h.handshake(b)
        h.readComplete()
        h.completeAllAppends()
        #expect(h.outputs[a]?.session != nil && h.outputs[b]?.session != nil)
        h.send(a, Self.sasl([]))
        h.readComplete()
        h.send(b, Self.sasl([]))
        h.readComplete()
        let challengeA = try Self.token(h.replies(a).last)
        let challengeB = try Self.token(h.replies(b).last)
        #expect(challengeA != challengeB, "each connection gets its own nonce")
        #expect(h.replies(a).last?.zxid == 0)
        h.send(a, Self.sasl(try Self.response(to: challengeA)))
        h.readComplete()
        #expect(h.replies(a).last?.err == 0)
        #expect(String(decoding: try Self.token(h.replies(a).last), as: UTF8.self).hasPrefix("rspauth="))
        #expect(h.machine.core.authInfo(of: a)?.contains(Id(scheme: "sasl", id: "alice")) == true)
        // b answers a's challenge: the nonce does not match, so b fails and is closed.
        h.send(b, Self.sasl(try Self.response(to: challengeA)))
        h.readComplete()
        #expect(h.replies(b).last?.err == ErrorCode.authFailed.rawValue)
        #expect(h.closed.contains(b))
        #expect(!h.closed.contains(a))
        #expect(h.violations.isEmpty, "\(h.violations)")
    }

    @Test func orderedModeAuthenticatesAtOnceAndCarriesTheIdIntoTheLog() throws {
        var h = EngineHarness(ordering: .ordered(replicaId: 1), saslUsers: Self.users)
        let c = h.open()
        h.handshake(c)
        h.readComplete()
        h.deliverOrdered()
        h.send(c, Self.sasl([]))
        h.readComplete()
        let challenge = try Self.token(h.replies(c).last)
        h.send(c, Self.sasl(try Self.response(to: challenge)))
        h.readComplete()
        #expect(h.replies(c).map(\.err) == [0, 0])
        h.readComplete()
        #expect(h.ordered.isEmpty, "SASL tokens are not log entries")
        h.send(c, .create2(CreateRequest(
            path: "/mine", data: [], acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "auth", id: ""))], flags: 0)))
        h.readComplete()
        guard case .request(_, _, _, let authInfo) = try #require(h.ordered.last).kind else {
            Issue.record("no request entry: \(h.ordered)")
            return
        }
        #expect(authInfo.contains(Id(scheme: "sasl", id: "alice")))
        h.deliverOrdered()
        #expect(h.replies(c).last?.err == 0)
        let node = try #require(h.machine.core.state.tree.node(at: "/mine"))
        #expect(h.machine.core.state.tree.acl(of: node) == [ACL(perms: Perms.all.rawValue, id: Id(scheme: "sasl", id: "alice"))])
        #expect(h.violations.isEmpty, "\(h.violations)")
    }

    // MARK: Configuration

    func parse(_ text: String) throws(ConfigurationError) -> ServerConfiguration {
        try ServerConfiguration.parse(contents: "dataDir=/d\n" + text, fileName: "zoo.cfg")
    }

    @Test func zooCfgKeys() throws {
        let c = try parse("""
            authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
            authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
            jaasLoginConfig=/etc/zk/jaas.conf
            sasl.serverconfig=ZkServer
            superUser=admin
            zookeeper.superUser=root
            """)
        #expect(c.sasl.jaasLoginConfig == "/etc/zk/jaas.conf")
        #expect(c.sasl.loginSection == "ZkServer")
        #expect(c.sasl.superUsers == ["admin", "root"])
        #expect(c.coreConfiguration.saslSuperUsers == ["admin", "root"])
        #expect(c.warnings.isEmpty)
        #expect(try parse("java.security.auth.login.config=/j.conf\n").sasl.jaasLoginConfig == "/j.conf")
        #expect(try parse("zookeeper.sasl.serverconfig=Other\n").sasl.loginSection == "Other")
        #expect(try parse("").sasl == ServerSASLSettings())
        for bad in ["authProvider.1=com.example.Provider", "jaasLoginConfig=", "sasl.serverconfig=", "superUser="] {
            #expect(throws: ConfigurationError.self, "\(bad)") { _ = try parse(bad + "\n") }
        }
    }

    @Test func serveFlagOverridesTheFile() throws {
        let base = try parse("jaasLoginConfig=/from/file.conf\n")
        let flagged = try ServerConfiguration.Overrides(jaasLoginConfig: "/from/flag.conf").apply(to: base)
        #expect(flagged.sasl.jaasLoginConfig == "/from/flag.conf")
        #expect(throws: ConfigurationError.self) { _ = try ServerConfiguration.Overrides(jaasLoginConfig: "").apply(to: base) }
    }

    func settings(_ file: String, section: String = "Server") -> ServerSASLSettings {
        var s = ServerSASLSettings()
        s.jaasLoginConfig = file
        s.loginSection = section
        return s
    }

    func withFile(_ text: String, _ body: (String) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "zooreg-jaas-\(UUID().uuidString).conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    @Test func jaasFileLoadsItsSectionsUsers() throws {
        try withFile("""
            Server {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                user_alice="secret"
                user_bob="bobpw";
            };
            Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="x" password="y"; };
            """) { (path: String) throws in
            #expect(try settings(path).loadUsers() == JAASDigestUsers(passwords: ["alice": "secret", "bob": "bobpw"]))
            #expect(try ServerSASLSettings().loadUsers() == nil)
            #expect(throws: SASLSetupError(file: path, "no JAAS section named 'Missing' (sasl.serverconfig)")) {
                _ = try settings(path, section: "Missing").loadUsers()
            }
            #expect(throws: SASLSetupError(file: path, "section Client has no user_<name>=\"<password>\" option (DigestLoginModule users)")) {
                _ = try settings(path, section: "Client").loadUsers()
            }
        }
    }

    @Test func unusableJAASFilesAreErrorsNamingTheFile() throws {
        let missing = "/nonexistent/zooreg/jaas.conf"
        do {
            _ = try settings(missing).loadUsers()
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.description.hasPrefix("jaasLoginConfig \(missing): cannot read the JAAS file"))
        }
        try withFile("Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_a=\"pw-1\"\n") { (path: String) throws in
            do {
                _ = try settings(path).loadUsers()
                Issue.record("a malformed file loaded")
            } catch let error as SASLSetupError {
                #expect(error.description.hasPrefix("jaasLoginConfig \(path): malformed JAAS file"))
                #expect(!error.description.contains("pw-1"))
            }
        }
    }
}
