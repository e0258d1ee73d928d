import NIOCore
import NIOHTTP1
import Testing
@testable import AdminHTTP

@Suite struct HTTPRequestTests {
    @Test func pathAndQueryAreDecoded() {
        let request = HTTPRequest(method: .GET, uri: "/api/tree?path=%2Fservices%2Fa+b&limit=10&flag")
        #expect(request.path == "/api/tree")
        #expect(request.query["path"] == "/services/a b")
        #expect(request.query["limit"] == "10")
        #expect(request.query["flag"] == "")
    }

    @Test func aPlusInThePathStaysAPlus() {
        #expect(HTTPRequest(method: .GET, uri: "/a+b%20c").path == "/a+b c")
    }

    @Test func malformedEscapesAreRejected() {
        #expect(HTTPRequest.percentDecode("%zz", plusIsSpace: false) == nil)
        #expect(HTTPRequest.percentDecode("%4", plusIsSpace: false) == nil)
        #expect(HTTPRequest.percentDecode("%ff", plusIsSpace: false) == nil)  // not UTF-8
        #expect(HTTPRequest.percentDecode("%C3%A9", plusIsSpace: false) == "é")
    }

    @Test func jsonStringsEscapeControlCharacters() {
        #expect(AdminHTTPServer.jsonString("a\"b\\c\nd\u{01}") == #""a\"b\\c\nd\u0001""#)
    }
}
