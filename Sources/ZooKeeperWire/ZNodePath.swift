/// ZooKeeper's path rules (PathUtils.validatePath) and helpers to split paths: the one set of rules the server's
/// core and the client share.
public enum ZNodePath {
    /// Why a path is not a valid znode path.
    public enum Problem: String, Sendable, Hashable, CustomStringConvertible {
        case empty = "empty"
        case notAbsolute = "not absolute"
        case trailingSlash = "trailing slash"
        case emptySegment = "empty segment"
        case relativeSegment = "relative segment"
        case invalidCharacter = "invalid character"

        public var description: String { rawValue }
    }

    /// Whether `path` is a valid znode path: absolute, no trailing slash (except the root), no empty, `.` or `..`
    /// segments, and none of the characters ZooKeeper forbids.
    @inlinable
    public static func isValid(_ path: String) -> Bool { problem(with: path) == nil }

    /// What is wrong with `path`, nil when it is valid.
    public static func problem(with path: String) -> Problem? {
        guard let first = path.utf8.first else { return .empty }
        guard first == UInt8(ascii: "/") else { return .notAbsolute }
        if path.utf8.count == 1 { return nil }
        if path.utf8.last == UInt8(ascii: "/") { return .trailingSlash }
        for scalar in path.unicodeScalars {
            let v = scalar.value
            // Java's validatePath works on UTF-16 units: any surrogate (so any non-BMP character) is refused.
            if v == 0 || (v <= 0x1F) || (v >= 0x7F && v <= 0x9F) || (v >= 0xD800 && v <= 0xF8FF) || v >= 0xFFF0 {
                return .invalidCharacter
            }
        }
        for segment in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            if segment.isEmpty { return .emptySegment }
            if segment.allSatisfy({ $0 == UInt8(ascii: ".") }) && segment.count <= 2 { return .relativeSegment }
        }
        return nil
    }

    /// The path and each of its ancestors up to `/`, nearest first.
    public static func selfAndAncestors(_ path: String) -> [String] {
        var result = [path]
        var current = Substring(path)
        while current != "/" {
            guard let slash = current.lastIndex(of: "/") else { break }
            current = slash == current.startIndex ? "/" : current[..<slash]
            result.append(String(current))
        }
        return result
    }

    /// The parent of an absolute path: "/" for "/a", "/a" for "/a/b". Nil for the root or a path without '/'.
    @inlinable
    public static func parent(of path: String) -> String? {
        guard path != "/", let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        if slash == path.utf8.startIndex { return "/" }
        return String(path[path.startIndex..<slash])
    }

    /// The last segment of a path ("b" for "/a/b"); "" for the root.
    @inlinable
    public static func name(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    /// Joins a parent path and a child name.
    @inlinable
    public static func child(_ parent: String, _ name: String) -> String {
        parent == "/" ? "/" + name : parent + "/" + name
    }

    /// Whether `path` equals `ancestor` or lies below it.
    @inlinable
    public static func isSelfOrDescendant(_ path: String, of ancestor: String) -> Bool {
        if ancestor == "/" { return true }
        guard path.hasPrefix(ancestor) else { return false }
        if path.utf8.count == ancestor.utf8.count { return true }
        return path.utf8[path.utf8.index(path.utf8.startIndex, offsetBy: ancestor.utf8.count)] == UInt8(ascii: "/")
    }
}
