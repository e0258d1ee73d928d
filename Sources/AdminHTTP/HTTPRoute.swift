import NIOCore
import NIOHTTP1

/// One HTTP request, its body read in full (bounded by the server's `maxBodyBytes`).
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query, percent-decoded, e.g. `/commands/mntr`.
    public var path: String
    /// The raw request target, e.g. `/api/tree?path=%2Fservices`.
    public var uri: String
    /// Query parameters, percent-decoded (`+` is a space); the last of a repeated name wins.
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// The peer, when known.
    public var remoteAddress: SocketAddress?

    public init(
        method: HTTPMethod, uri: String, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer = ByteBuffer(),
        remoteAddress: SocketAddress? = nil
    ) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = HTTPRequest.percentDecode(String(parts.first ?? ""), plusIsSpace: false) ?? String(parts.first ?? "")
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = HTTPRequest.percentDecode(String(kv[0]), plusIsSpace: true) else { continue }
                let value = kv.count == 2 ? HTTPRequest.percentDecode(String(kv[1]), plusIsSpace: true) ?? "" : ""
                query[name] = value
            }
        }
        self.query = query
    }

    /// Percent-decodes `text` as UTF-8; nil when an escape is malformed or the bytes are not UTF-8.
    public static func percentDecode(_ text: String, plusIsSpace: Bool) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8).makeIterator()
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while let c = iterator.next() {
            if c == UInt8(ascii: "%") {
                guard let h = iterator.next().flatMap(hex), let l = iterator.next().flatMap(hex) else { return nil }
                bytes.append(h << 4 | l)
            } else if plusIsSpace && c == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Writes the chunks of a streamed response (server-sent events, for one). A write throws once the client has gone:
/// the producer should then return.
public struct HTTPStreamWriter: Sendable {
    let sink: @Sendable (ByteBuffer) async throws -> Void

    public init(_ sink: @escaping @Sendable (ByteBuffer) async throws -> Void) {
        self.sink = sink
    }

    public func write(_ buffer: ByteBuffer) async throws {
        try await sink(buffer)
    }

    public func write(_ text: String) async throws {
        try await sink(ByteBuffer(string: text))
    }

    /// One server-sent event: `event:` (when given), `data:` lines (one per line of `data`), then a blank line.
    public func writeEvent(_ event: String? = nil, data: String, id: String? = nil) async throws {
        var text = ""
        if let event { text += "event: \(event)\n" }
        if let id { text += "id: \(id)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            text += "data: \(line)\n"
        }
        text += "\n"
        try await write(text)
    }
}

/// What a route answers.
public enum HTTPResponse: Sendable {
    /// A complete response; `Content-Length` is added by the server.
    case full(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer)
    /// A chunked response whose body `producer` writes until it returns (or the client goes, or the server shuts
    /// down: the producer's task is then cancelled).
    case stream(status: HTTPResponseStatus, headers: HTTPHeaders, producer: @Sendable (HTTPStreamWriter) async throws -> Void)

    public static func text(_ text: String, status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        return .full(status: status, headers: headers, body: ByteBuffer(string: text))
    }

    public static func bytes(_ bytes: [UInt8], status: HTTPResponseStatus = .ok, contentType: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        return .full(status: status, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    public static func json(_ json: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        text(json, status: status, contentType: "application/json")
    }
}

/// A part of the HTTP server: it answers the requests it knows and returns nil for the others, which go to the
/// next route (the server answers 404 when none knows a request).
public protocol HTTPRoute: Sendable {
    func respond(to request: HTTPRequest) async -> HTTPResponse?
}
