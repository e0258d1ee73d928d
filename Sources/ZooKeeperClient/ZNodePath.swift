/// Path rules of ZooKeeper's PathUtils, and the chroot arithmetic of its Java client.
enum ZNodePath {
    /// Throws `badArguments` unless `path` is a valid znode path: absolute, no empty, `.` or `..` segment, no
    /// trailing slash (except `/` itself, or before the suffix of a sequential create), no NUL or control
    /// characters that ZooKeeper refuses.
    static func validate(_ path: String, isSequential: Bool = false) throws {
        func bad(_ reason: String) -> ZooKeeperError {
            ZooKeeperError(code: .badArguments, path: path, message: "invalid path: \(reason)")
        }
        guard !path.isEmpty else { throw bad("empty") }
        guard path.first == "/" else { throw bad("not absolute") }
        if path == "/" { return }
        let checked = isSequential ? path + "1" : path
        if checked.last == "/" { throw bad("trailing slash") }
        for segment in checked.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { throw bad("empty segment") }
            if segment == "." || segment == ".." { throw bad("relative segment") }
        }
        for scalar in checked.unicodeScalars {
            let v = scalar.value
            if v <= 0x1f || (0x7f...0x9f).contains(v) || (0xd800...0xf8ff).contains(v) || (0xfff0...0xffff).contains(v) {
                throw bad("invalid character")
            }
        }
    }

    /// The path the server sees for a client `path` under `chroot`.
    static func serverPath(_ path: String, chroot: String?) -> String {
        guard let chroot else { return path }
        return path == "/" ? chroot : chroot + path
    }

    /// The client path for a `serverPath` under `chroot` (unchanged when it lies outside the chroot).
    static func clientPath(_ serverPath: String, chroot: String?) -> String {
        guard let chroot else { return serverPath }
        if serverPath == chroot { return "/" }
        if serverPath.hasPrefix(chroot), serverPath.utf8.dropFirst(chroot.utf8.count).first == UInt8(ascii: "/") {
            return String(serverPath.dropFirst(chroot.count))
        }
        return serverPath
    }

    /// The path and each of its ancestors up to `/`, nearest first.
    static func selfAndAncestors(_ path: String) -> [String] {
        var result = [path]
        var current = Substring(path)
        while current != "/" {
            guard let slash = current.lastIndex(of: "/") else { break }
            current = slash == current.startIndex ? "/" : current[..<slash]
            result.append(String(current))
        }
        return result
    }
}
