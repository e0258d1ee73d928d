import ZooKeeperWire

/// The client's side of ZooKeeper's path rules (`ZNodePath`, shared with the server): validation as a
/// `ZooKeeperError`, and the chroot arithmetic of ZooKeeper's Java client.
extension ZNodePath {
    /// Throws `badArguments` unless `path` is a valid znode path. A sequential create's path is checked with the
    /// sequence number it will get (as ZooKeeper's PathUtils does: path + "1"), so it may end in '/'.
    static func validate(_ path: String, isSequential: Bool = false) throws {
        if let problem = ZNodePath.problem(with: isSequential ? path + "1" : path) {
            throw ZooKeeperError(code: .badArguments, path: path, message: "invalid path: \(problem)")
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
}
