import Foundation
import ServiceRegistry
import ZooKeeperClient

/// A request the console refuses, with the HTTP status and a message for the JSON error body.
public enum ConsoleError: Error, Sendable, Hashable {
    case badRequest(String)
    case unauthorized(String)
    case forbidden(String)
    case notFound(String)
    case conflict(String)
    case unavailable(String)
    case tooLarge(String)

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict: 409
        case .unavailable: 503
        case .tooLarge: 413
        }
    }

    public var message: String {
        switch self {
        case .badRequest(let m), .unauthorized(let m), .forbidden(let m), .notFound(let m), .conflict(let m),
            .unavailable(let m), .tooLarge(let m):
            m
        }
    }

    /// `{"error": "...", "status": 400}`.
    public var json: JSONValue {
        .object([("error", .string(message)), ("status", .number(status))])
    }

    /// The console's answer to a ZooKeeper error of an operation on `path`.
    public static func from(_ error: any Error, path: String) -> ConsoleError {
        guard let error = error as? ZooKeeperError else {
            if let error = error as? ConsoleError { return error }
            return .unavailable("\(error)")
        }
        let name = error.code.javaName
        switch error.code {
        case .noNode: return .notFound("\(path): no such znode (\(name))")
        case .noAuth, .authFailed: return .forbidden("\(path): not allowed by the znode's ACL (\(name))")
        case .nodeExists, .badVersion, .notEmpty, .noChildrenForEphemerals:
            return .conflict("\(path): \(name)")
        case .badArguments, .invalidACL: return .badRequest("\(path): \(name)")
        default: return .unavailable("\(path): \(name)")
        }
    }
}

/// JSON shapes shared by the console's endpoints.
public enum ConsoleJSON {
    /// A session id as ZooKeeper's tools print it (`0x` and lowercase hex), nil for 0 (not ephemeral).
    public static func sessionHex(_ owner: Int64) -> String? {
        owner == 0 ? nil : "0x" + String(UInt64(bitPattern: owner), radix: 16)
    }

    public static func zxidHex(_ zxid: Int64) -> String {
        "0x" + String(UInt64(bitPattern: zxid), radix: 16)
    }

    public static func stat(_ stat: Stat) -> JSONValue {
        .object([
            ("czxid", .string(zxidHex(stat.czxid))),
            ("mzxid", .string(zxidHex(stat.mzxid))),
            ("pzxid", .string(zxidHex(stat.pzxid))),
            ("ctime", .number(stat.ctime)),
            ("mtime", .number(stat.mtime)),
            ("version", .number(Int(stat.version))),
            ("cversion", .number(Int(stat.cversion))),
            ("aversion", .number(Int(stat.aversion))),
            ("ephemeralOwner", sessionHex(stat.ephemeralOwner).map(JSONValue.string) ?? .null),
            ("dataLength", .number(Int(stat.dataLength))),
            ("numChildren", .number(Int(stat.numChildren))),
        ])
    }

    /// ACL permissions as ZooKeeper's CLI prints them: `cdrwa` letters.
    public static func perms(_ perms: Int32) -> String {
        var text = ""
        if perms & 4 != 0 { text += "c" }
        if perms & 8 != 0 { text += "d" }
        if perms & 1 != 0 { text += "r" }
        if perms & 2 != 0 { text += "w" }
        if perms & 16 != 0 { text += "a" }
        return text
    }

    public static func acl(_ acl: [ACL]) -> JSONValue {
        .array(acl.map {
            .object([("scheme", .string($0.id.scheme)), ("id", .string($0.id.id)), ("perms", .string(perms($0.perms)))])
        })
    }

    /// Checks a znode path from a request: absolute, no empty, `.` or `..` segment, no trailing `/` (but `/`),
    /// no control characters, at most 4,096 bytes.
    public static func validatePath(_ path: String?) throws(ConsoleError) -> String {
        guard let path, !path.isEmpty else { throw .badRequest("missing 'path' (an absolute znode path such as /services)") }
        guard path.utf8.count <= 4096 else { throw .badRequest("the path is longer than 4096 bytes") }
        guard path.hasPrefix("/") else { throw .badRequest("'\(path.prefix(80))' is not an absolute znode path") }
        if path == "/" { return path }
        guard !path.hasSuffix("/") else { throw .badRequest("'\(path.prefix(80))' ends with '/'") }
        for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty, segment != ".", segment != ".." else {
                throw .badRequest("'\(path.prefix(80))' has an empty, '.' or '..' segment")
            }
            guard !segment.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) })
            else { throw .badRequest("the path has control characters") }
        }
        return path
    }

    /// The parent of `/a/b` is `/a`; of `/a`, `/`.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }
}
