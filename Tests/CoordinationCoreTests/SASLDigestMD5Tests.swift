import Testing

@testable import CoordinationCore

/// DIGEST-MD5 (RFC 2831) as ZooKeeper's server runs it, and the JAAS file its DigestLoginModule reads. Vectors:
/// RFC 2831 section 4's example, and ones computed independently with Python's hashlib.
@Suite struct SASLDigestMD5Tests {
    @Test func rfc2831Example() {
        // username "chris", realm "elwood.innosoft.com", password "secret", digest-uri "imap/elwood.innosoft.com".
        let ha1 = DigestMD5Server.ha1(
            user: "chris", realm: "elwood.innosoft.com", password: "secret", nonce: "OA6MG9tEQGm2hh",
            cnonce: "OA6MHXh6VqTrRk", authzid: nil)
        let response = DigestMD5Server.kd(
            ha1, nonce: "OA6MG9tEQGm2hh", nc: "00000001", cnonce: "OA6MHXh6VqTrRk", qop: "auth",
            a2: "AUTHENTICATE:imap/elwood.innosoft.com")
        #expect(response == "d388dad90d4bbd760a152321f2143af7")
        let rspauth = DigestMD5Server.kd(
            ha1, nonce: "OA6MG9tEQGm2hh", nc: "00000001", cnonce: "OA6MHXh6VqTrRk", qop: "auth",
            a2: ":imap/elwood.innosoft.com")
        #expect(rspauth == "ea40f60335c427b5527b84dbabcdfffd")
    }

    static let users = JAASDigestUsers(passwords: ["alice": "secret"])

    static func clientResponse(user: String = "alice", nonce: String = "n0nce-xyz", response: String) -> [UInt8] {
        Array((
            "charset=utf-8,username=\"\(user)\",realm=\"zk-sasl-md5\",nonce=\"\(nonce)\",nc=00000001,"
                + "cnonce=\"cn0nce-abc\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,response=\(response),qop=auth"
        ).utf8)
    }

    @Test func aZooKeeperExchange() throws {
        var server = DigestMD5Server(users: Self.users, nonce: "n0nce-xyz")
        #expect(String(decoding: server.challenge(), as: UTF8.self)
            == "realm=\"zk-sasl-md5\",nonce=\"n0nce-xyz\",qop=\"auth\",charset=utf-8,algorithm=md5-sess")
        let final = try server.respond(to: Self.clientResponse(response: "36dad926f6d196bdc1da1d68fe0ad0a0"))
        #expect(String(decoding: final, as: UTF8.self) == "rspauth=ec4700a89e8ef5797b2a96a88aa2f98b")
        #expect(server.authorizationID == "alice")
    }

    @Test func wrongPasswordUnknownUserAndReplayedNonceFail() {
        var server = DigestMD5Server(users: Self.users, nonce: "n0nce-xyz")
        #expect(throws: DigestMD5Server.Failure.badResponse) {
            try server.respond(to: Self.clientResponse(response: "00000000000000000000000000000000"))
        }
        #expect(throws: DigestMD5Server.Failure.unknownUser) {
            try server.respond(to: Self.clientResponse(user: "mallory", response: "36dad926f6d196bdc1da1d68fe0ad0a0"))
        }
        #expect(throws: DigestMD5Server.Failure.wrongNonce) {
            try server.respond(to: Self.clientResponse(nonce: "other", response: "36dad926f6d196bdc1da1d68fe0ad0a0"))
        }
        #expect(throws: DigestMD5Server.Failure.malformed("missing directive")) {
            try server.respond(to: Array("username=\"alice\"".utf8))
        }
        #expect(server.authorizationID == nil)
    }

    @Test func jaasFile() throws {
        let text = """
            /* ZooKeeper's server section */
            Server {
                   org.apache.zookeeper.server.auth.DigestLoginModule required
                   user_super="adminsecret"  // the superuser
                   user_alice="secret"
                   user_bob=plain;
            };
            Client {
                   org.apache.zookeeper.server.auth.DigestLoginModule required
                   username="alice"
                   password="secret";
            };
            """
        let users = try JAASDigestUsers(parsing: text)
        #expect(users.passwords == ["super": "adminsecret", "alice": "secret", "bob": "plain"])
        #expect(try JAASDigestUsers(parsing: text, section: "Client").passwords == [:])
        #expect(throws: JAASDigestUsers.ParseError.noSection("Server")) { try JAASDigestUsers(parsing: "Client { m required; };") }
        #expect(throws: JAASDigestUsers.ParseError.self) { try JAASDigestUsers(parsing: "Server { m required user_a=\"x\" }") }
    }
}
