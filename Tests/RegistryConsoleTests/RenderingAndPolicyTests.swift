import Foundation
import ServiceRegistry
import Testing
import ZooKeeperClient

@testable import RegistryConsole

@Suite struct DataRenderingTests {
    @Test func jsonObjectsArePrettyPrintedInOrder() {
        let r = DataRendering(Array(#"{"b":1,"a":[true,null,"x"],"e":{},"n":1.50}"#.utf8))
        #expect(r.kind == .json)
        #expect(r.prettyJSON == """
            {
              "b": 1,
              "a": [
                true,
                null,
                "x"
              ],
              "e": {},
              "n": 1.50
            }
            """)
    }

    @Test func plainTextAndScalarsAreText() {
        #expect(DataRendering(Array("hello\nworld\t!".utf8)).kind == .text)
        #expect(DataRendering(Array("42".utf8)).kind == .text)
        #expect(DataRendering(Array("{not json".utf8)).kind == .text)
        #expect(DataRendering(Array("héllo".utf8)).text == "héllo")
    }

    @Test func binaryAndEmpty() {
        let binary = DataRendering([0x00, 0xff, 0x41])
        #expect(binary.kind == .binary)
        #expect(binary.text == nil)
        #expect(DataRendering(Array("a\u{1}b".utf8)).kind == .binary)
        let empty = DataRendering([UInt8]())
        #expect(empty.kind == .empty)
        #expect(empty.hex == "")
        #expect(empty.size == 0)
    }

    @Test func hexDumpLines() {
        let dump = DataRendering.hexDump(Array("0123456789abcdefXYZ".utf8) + [0x00])
        let lines = dump.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0] == "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|")
        #expect(lines[1].hasPrefix("00000010  58 59 5a 00 "))
        #expect(lines[1].hasSuffix("|XYZ.|"))
    }

    @Test func aHugeNodeIsTruncated() {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        let r = DataRendering(big, limit: 1000)
        #expect(r.size == 1 << 20)
        #expect(r.truncated)
        #expect(r.text?.count == 1000)
        #expect(r.hex.split(separator: "\n").count == 63)
        #expect(r.kind == .text)
        // A truncated JSON document is not pretty-printed (it would not parse).
        let json = Array(("[" + String(repeating: "1,", count: 1000) + "1]").utf8)
        #expect(DataRendering(json, limit: 100).kind == .text)
        #expect(DataRendering(json).kind == .json)
    }
}

@Suite struct EditPolicyTests {
    let json = "application/json; charset=utf-8"
    func basic(_ text: String) -> String { "Basic " + Data(text.utf8).base64EncodedString() }

    @Test func editingOffRefusesEverything() {
        let policy = EditPolicy(editEnabled: false, writesRequireCredentials: false)
        #expect(throws: ConsoleError.forbidden("editing is disabled (start the server with --console-edit, console.editEnabled=true)")) {
            try policy.authorize(.init(authorization: basic("u:p"), contentType: json))
        }
    }

    @Test func loopbackWithoutCredentialsUsesTheConsoleSession() throws {
        let policy = EditPolicy(editEnabled: true, writesRequireCredentials: false)
        #expect(try policy.authorize(.init(contentType: json)) == nil)
        #expect(try policy.authorize(.init(authorization: basic("alice:s3:cret"), contentType: json))
            == DigestCredentials(user: "alice", password: "s3:cret"))
    }

    @Test func nonLoopbackNeedsCredentials() throws {
        let policy = EditPolicy(editEnabled: true, writesRequireCredentials: true)
        do {
            _ = try policy.authorize(.init(contentType: json))
            Issue.record("a write without credentials was accepted")
        } catch {
            #expect(error.status == 401)
        }
        #expect(try policy.authorize(.init(authorization: basic("bob:pw"), contentType: json))?.authString == "bob:pw")
    }

    @Test func malformedCredentialsAreBadRequests() {
        let policy = EditPolicy(editEnabled: true, writesRequireCredentials: true)
        for header in ["Bearer abc", "Basic !!!", basic("nocolon"), basic(":pw"), basic("user:"), "Basic"] {
            do {
                _ = try policy.authorize(.init(authorization: header, contentType: json))
                Issue.record("accepted \(header)")
            } catch {
                #expect(error.status == 400, "\(header)")
            }
        }
    }

    @Test func writesMustBeJSONAndSameOrigin() throws {
        let policy = EditPolicy(editEnabled: true, writesRequireCredentials: false)
        #expect(throws: ConsoleError.self) { try policy.authorize(.init(contentType: "text/plain")) }
        #expect(throws: ConsoleError.self) { try policy.authorize(.init()) }
        #expect(throws: ConsoleError.self) {
            try policy.authorize(.init(contentType: json, origin: "http://evil.example", host: "127.0.0.1:8080"))
        }
        #expect(try policy.authorize(.init(contentType: json, origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080")) == nil)
    }

    @Test func credentialsNeverPrintThePassword() {
        #expect("\(DigestCredentials(user: "u", password: "topsecret"))".contains("topsecret") == false)
    }
}

@Suite struct ConsoleJSONTests {
    @Test func pathsAreValidated() throws {
        #expect(try ConsoleJSON.validatePath("/") == "/")
        #expect(try ConsoleJSON.validatePath("/services/api/x-1") == "/services/api/x-1")
        for bad in [nil, "", "services", "/a/", "/a//b", "/a/./b", "/a/../b", "/a\u{0}b", "/" + String(repeating: "x", count: 5000)] {
            #expect(throws: ConsoleError.self, "\(String(describing: bad))") { try ConsoleJSON.validatePath(bad) }
        }
    }

    @Test func sessionsPermsAndStat() {
        #expect(ConsoleJSON.sessionHex(0) == nil)
        #expect(ConsoleJSON.sessionHex(0x100_0000_abcd) == "0x1000000abcd")
        #expect(ConsoleJSON.sessionHex(-1) == "0xffffffffffffffff")
        #expect(ConsoleJSON.perms(31) == "cdrwa")
        #expect(ConsoleJSON.perms(1) == "r")
        let json = ConsoleJSON.stat(stat(owner: 0x42, version: 3))
        #expect(json["ephemeralOwner"] == .string("0x42"))
        #expect(json["version"] == .number(3))
        #expect(ConsoleJSON.join("/", "a") == "/a")
        #expect(ConsoleJSON.join("/a", "b") == "/a/b")
    }

    @Test func zooKeeperErrorsMapToStatuses() {
        #expect(ConsoleError.from(ZooKeeperError(code: .noNode), path: "/x").status == 404)
        #expect(ConsoleError.from(ZooKeeperError(code: .noAuth), path: "/x").status == 403)
        #expect(ConsoleError.from(ZooKeeperError(code: .badVersion), path: "/x").status == 409)
        #expect(ConsoleError.from(ZooKeeperError(code: .connectionLoss), path: "/x").status == 503)
    }
}

@Suite struct AssetTests {
    @Test func everyAssetDecodesWithItsType() throws {
        let index = try #require(ConsoleAssets.asset(named: "index.html"))
        #expect(index.contentType.hasPrefix("text/html"))
        #expect(String(decoding: index.bytes, as: UTF8.self).contains("/ui/app.js"))
        #expect(ConsoleAssets.asset(named: "app.js")?.contentType.hasPrefix("text/javascript") == true)
        #expect(ConsoleAssets.asset(named: "style.css")?.contentType.hasPrefix("text/css") == true)
        #expect(ConsoleAssets.asset(named: "../Package.swift") == nil)
        for file in ConsoleAssets.files {
            #expect(ConsoleAssets.asset(named: file.name)?.bytes.isEmpty == false, "\(file.name)")
            #expect(file.etag.hasPrefix("\"") && file.etag.hasSuffix("\""))
        }
    }
}
