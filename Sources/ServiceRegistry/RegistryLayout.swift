/// Where the registry lives in the ZooKeeper tree, as Curator's discovery lays it out:
/// `{basePath}/{service name}/{instance znode}`, the base path and service nodes being containers.
public struct RegistryLayout: Sendable, Hashable {
    /// The default base path, `/services`.
    public static let defaultBasePath = "/services"

    /// The base path: absolute, without a trailing slash (`/` itself is allowed).
    public let basePath: String

    /// Throws `ServiceRegistryError.invalidArgument` unless `basePath` is an absolute znode path.
    public init(basePath: String = RegistryLayout.defaultBasePath) throws {
        var path = basePath
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        guard path.hasPrefix("/") else {
            throw ServiceRegistryError.invalidArgument("the base path '\(basePath)' is not absolute")
        }
        if path != "/" {
            for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
                guard Self.isValidSegment(segment) else {
                    throw ServiceRegistryError.invalidArgument("invalid base path '\(basePath)'")
                }
            }
        }
        self.basePath = path
    }

    /// Whether `name` can be one znode name: not empty, no `/`, not `.` or `..`, no control characters.
    public static func isValidSegment(_ name: some StringProtocol) -> Bool {
        guard !name.isEmpty, name != ".", name != ".." else { return false }
        return !name.unicodeScalars.contains { $0 == "/" || $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }
    }

    /// Throws unless `name` is a valid service name (one znode name).
    public static func validateServiceName(_ name: String) throws {
        guard isValidSegment(name) else { throw ServiceRegistryError.invalidArgument("invalid service name '\(name)'") }
    }

    public func servicePath(_ service: String) -> String {
        basePath == "/" ? "/\(service)" : "\(basePath)/\(service)"
    }

    public func instancePath(service: String, node: String) -> String {
        "\(servicePath(service))/\(node)"
    }

    /// What a path in the tree is to the registry.
    public enum Location: Sendable, Hashable {
        case base
        case service(String)
        case instance(service: String, node: String)
        /// Deeper than an instance, or outside the base path.
        case other
    }

    public func locate(_ path: String) -> Location {
        if path == basePath { return .base }
        let prefix = basePath == "/" ? "/" : basePath + "/"
        guard path.hasPrefix(prefix) else { return .other }
        let rest = path.dropFirst(prefix.count)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where !parts[0].isEmpty: return .service(String(parts[0]))
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty: return .instance(service: String(parts[0]), node: String(parts[1]))
        default: return .other
        }
    }

    /// The base path and its ancestors below `/`, outermost first (`/a/b` → `/a`, `/a/b`).
    var baseAndAncestors: [String] {
        guard basePath != "/" else { return [] }
        var result: [String] = []
        var current = ""
        for segment in basePath.dropFirst().split(separator: "/") {
            current += "/" + segment
            result.append(current)
        }
        return result
    }
}

/// Names of znodes created in Curator's "protected" mode: `_c_<guid>-<name>` (a sequential create then appends
/// its 10-digit suffix). After a create whose reply was lost, listing the parent finds the node by its GUID.
public enum ProtectedName {
    public static let prefix = "_c_"

    /// `_c_<guid>-<name>`.
    public static func make(guid: String, name: String) -> String { "\(prefix)\(guid)-\(name)" }

    /// Whether `child` (a znode name) was created with this GUID.
    public static func matches(_ child: String, guid: String) -> Bool {
        child.hasPrefix("\(prefix)\(guid)-")
    }

    /// The GUID of a protected name (Curator's GUIDs are 36-character UUIDs), or nil.
    public static func guid(of child: String) -> String? {
        guard child.hasPrefix(prefix) else { return nil }
        let rest = child.dropFirst(prefix.count)
        guard rest.count > 36, rest[rest.index(rest.startIndex, offsetBy: 36)] == "-" else { return nil }
        return String(rest.prefix(36))
    }
}
