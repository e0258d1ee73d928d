import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// The core's side of ZooKeeperServer.processSasl: opcode 102 tokens answered at once under zxid 0, the
/// connection authenticated as `sasl:<user>` once the DIGEST-MD5 response checks out, AUTHFAILED and a closed
/// connection otherwise. Driven with a manual clock; the nonce is the test's.
@Suite struct SASLExchangeTests {
    static let nonce = "n0nce-xyz"
    /// alice/secret's digest response to the challenge with `nonce` (SASLDigestMD5Tests.aZooKeeperExchange).
    static let aliceResponse = SASLDigestMD5Tests.clientResponse(response: "36dad926f6d196bdc1da1d68fe0ad0a0")
    static let config = CoreConfiguration(
        saslUsers: JAASDigestUsers(passwords: ["alice": "secret", "root": "rootpw"]), saslSuperUsers: ["root"])

    /// A DIGEST-MD5 response computed as a client does (for users without a published vector).
    static func response(user: String, password: String, nonce: String = nonce) -> [UInt8] {
        let ha1 = DigestMD5Server.ha1(
            user: user, realm: DigestMD5Server.realm, password: password, nonce: nonce, cnonce: "cn0nce-abc", authzid: nil)
        let digest = DigestMD5Server.kd(
            ha1, nonce: nonce, nc: "00000001", cnonce: "cn0nce-abc", qop: "auth", a2: "AUTHENTICATE:" + DigestMD5Server.digestURI)
        return SASLDigestMD5Tests.clientResponse(user: user, nonce: nonce, response: digest)
    }

    static func sasl(_ token: [UInt8]) -> ZooKeeperRequest { .sasl(GetSASLRequest(token: token)) }

    /// Sends one SASL token and returns its reply.
    static func token(
        _ d: inout CoreDriver, _ c: Client, _ token: [UInt8], xid: Int32, nonce: String = nonce,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Reply? {
        let actions = d.send(c.connection, sasl(token), xid: xid, saslNonce: nonce)
        let reply = actions.reply(xid: xid, on: c.connection)
        #expect(reply != nil, "no reply: \(actions)", sourceLocation: sourceLocation)
        return reply
    }

    @Test func exchangeAuthenticatesAsSASLUser() throws {
        var d = CoreDriver(config: Self.config)
        let c = d.connect()
        let challenge = try #require(Self.token(&d, c, [], xid: 1))
        #expect(challenge.err == .ok && challenge.zxid == 0)
        #expect(challenge.response == .sasl(SetSASLResponse(token: Array(
            "realm=\"zk-sasl-md5\",nonce=\"n0nce-xyz\",qop=\"auth\",charset=utf-8,algorithm=md5-sess".utf8))))
        let final = try #require(Self.token(&d, c, Self.aliceResponse, xid: 2, nonce: "another-nonce"))
        #expect(final == Reply(xid: 2, zxid: 0, err: .ok, response: .sasl(SetSASLResponse(
            token: Array("rspauth=ec4700a89e8ef5797b2a96a88aa2f98b".utf8)))))
        #expect(d.last.contains(.authentication(c.connection, .succeeded(Id(scheme: "sasl", id: "alice"), superUser: false))))
        #expect(d.history.closes.isEmpty)
        #expect(d.machine.authInfo(of: c.connection) == [Id(scheme: "ip", id: "127.0.0.1"), Id(scheme: "sasl", id: "alice")])
        #expect(d.call(c, .whoAmI).response == .whoAmI(WhoAmIResponse(clientInfo: [
            ClientInfo(authScheme: "ip", user: "127.0.0.1"), ClientInfo(authScheme: "sasl", user: "alice"),
        ])))
    }

    @Test func saslACLAdmitsItsUserOnly() throws {
        var d = CoreDriver(config: Self.config)
        let alice = d.connect()
        _ = Self.token(&d, alice, [], xid: 1)
        _ = Self.token(&d, alice, Self.aliceResponse, xid: 2)
        let other = d.connect()
        #expect(d.create(alice, "/a", [1], acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "sasl", id: "alice"))]).err == .ok)
        #expect(d.getData(alice, "/a").err == .ok)
        #expect(d.getData(other, "/a").err == .noAuth)
        // `auth` expands to the session's sasl id.
        #expect(d.create(alice, "/b", acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "auth", id: ""))]).err == .ok)
        #expect(d.tree.acl(of: try #require(d.tree.node(at: "/b"))) == [ACL(perms: Perms.all.rawValue, id: Id(scheme: "sasl", id: "alice"))])
        // An invalid Kerberos-style id is refused.
        #expect(d.create(alice, "/c", acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "sasl", id: "a@b@c"))]).err == .invalidACL)
    }

    @Test(arguments: [
        ("wrong password", response(user: "alice", password: "guess")),
        ("unknown user", response(user: "mallory", password: "secret")),
        ("wrong nonce", response(user: "alice", password: "secret", nonce: "stale")),
    ])
    func failedResponseRepliesAuthFailedAndCloses(reason: String, token: [UInt8]) throws {
        var d = CoreDriver(config: Self.config)
        let c = d.connect()
        _ = Self.token(&d, c, [], xid: 1)
        let reply = try #require(Self.token(&d, c, token, xid: 2))
        #expect(reply == Reply(xid: 2, zxid: 0, err: .authFailed, response: .empty))
        #expect(d.last.contains(.authentication(c.connection, .failed(scheme: "sasl", reason: reason))))
        #expect(d.history.closes.map(\.1) == [.authFailed])
        #expect(d.machine.authInfo(of: c.connection) == [Id(scheme: "ip", id: "127.0.0.1")])
        // The session lives on (ZooKeeper closes the connection, not the session).
        #expect(d.isAlive(c.sessionId))
        #expect(d.logged.count == 1)  // its createSession only
    }

    @Test func initialResponseAndTokensAfterCompletionFail() throws {
        var d = CoreDriver(config: Self.config)
        let eager = d.connect()
        #expect(Self.token(&d, eager, Self.aliceResponse, xid: 1)?.err == .authFailed)
        let done = d.connect()
        _ = Self.token(&d, done, [], xid: 1)
        #expect(Self.token(&d, done, Self.aliceResponse, xid: 2)?.err == .ok)
        #expect(Self.token(&d, done, [], xid: 3)?.err == .authFailed)
        #expect(d.history.closes.map(\.0) == [eager.connection, done.connection])
    }

    @Test func withoutJAASUsersSASLIsRefused() throws {
        var d = CoreDriver()
        let c = d.connect()
        #expect(Self.token(&d, c, [], xid: 1) == Reply(xid: 1, zxid: 0, err: .authFailed, response: .empty))
        #expect(d.last.contains(.authentication(c.connection, .failed(scheme: "sasl", reason: "SASL is not configured"))))
        #expect(d.history.closes.map(\.1) == [.authFailed])
    }

    @Test func superUserGetsSuper() throws {
        var d = CoreDriver(config: Self.config)
        let alice = d.connect()
        _ = Self.token(&d, alice, [], xid: 1)
        _ = Self.token(&d, alice, Self.aliceResponse, xid: 2)
        #expect(d.create(alice, "/private", acl: [ACL(perms: Perms.all.rawValue, id: Id(scheme: "sasl", id: "alice"))]).err == .ok)
        let root = d.connect()
        _ = Self.token(&d, root, [], xid: 1)
        #expect(Self.token(&d, root, Self.response(user: "root", password: "rootpw"), xid: 2)?.err == .ok)
        #expect(d.last.contains(.authentication(root.connection, .succeeded(Id(scheme: "sasl", id: "root"), superUser: true))))
        #expect(d.machine.authInfo(of: root.connection)?.contains(Id(scheme: "super", id: "")) == true)
        #expect(d.getData(root, "/private").err == .ok)
    }

    @Test func tokensAreContactThatKeepsTheSessionAlive() throws {
        var d = CoreDriver(config: Self.config)
        let c = d.connect(timeout: 10_000)
        d.tick(at: 7_000)
        _ = Self.token(&d, c, [], xid: 1)
        d.tick(at: 14_000)
        _ = Self.token(&d, c, Self.aliceResponse, xid: 2)
        d.tick(at: 21_000)
        #expect(d.isAlive(c.sessionId))
        d.tick(at: 40_000)
        #expect(!d.isAlive(c.sessionId))
    }

    @Test func schemeRules() {
        #expect(SASLScheme.matches(authId: "bob", aclExpression: "bob"))
        #expect(!SASLScheme.matches(authId: "bob", aclExpression: "alice"))
        // SASLAuthenticationProvider.matches: an authenticated `super` matches every sasl entry.
        #expect(SASLScheme.matches(authId: "super", aclExpression: "alice"))
        for valid in ["bob", "", "svc/host@REALM", "bob@REALM", "a/b", "a/b/c", "@R"] { #expect(SASLScheme.isValid(valid), "\(valid)") }
        for invalid in ["a@b@c", "a/b/c@R", "a@R/x"] { #expect(!SASLScheme.isValid(invalid), "\(invalid)") }
    }

    @Test func usersNeverPrintTheirPasswords() {
        let users = JAASDigestUsers(passwords: ["alice": "secret-pw"])
        #expect(!"\(users)".contains("secret-pw"))
        #expect(!String(reflecting: users).contains("secret-pw"))
        var dumped = ""
        dump(users, to: &dumped)
        #expect(!dumped.contains("secret-pw"))
        #expect(!"\(Self.config)".contains("rootpw"))
    }
}
