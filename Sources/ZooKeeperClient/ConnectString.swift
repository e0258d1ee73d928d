/// One server of a connect string.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A parsed connect string: `host:port,host:port[/chroot]`, as ZooKeeper's Java client takes it.
///
/// A missing port means 2181; an IPv6 address is written in brackets (`[::1]:2181`). The chroot, when there is
/// one, is a valid absolute path other than `/`; every path the client sends is prefixed with it and every path
/// it receives has it removed.
public struct ConnectString: Sendable, Hashable, CustomStringConvertible {
    public var servers: [ServerAddress]
    /// The chroot, without a trailing slash; nil when there is none (or it is `/`).
    public var chroot: String?

    public init(servers: [ServerAddress], chroot: String? = nil) {
        self.servers = servers
        self.chroot = chroot
    }

    /// Parses `host:port,host:port[/chroot]`.
    public init(parsing text: String) throws {
        var hostsPart = Substring(text)
        var chroot: String?
        if let slash = text.firstIndex(of: "/") {
            hostsPart = text[..<slash]
            let root = String(text[slash...])
            if root != "/" {
                try ZNodePath.validate(root)
                chroot = root
            }
        }
        var servers: [ServerAddress] = []
        for item in hostsPart.split(separator: ",", omittingEmptySubsequences: true) {
            let entry = item.trimmingSpaces()
            if entry.isEmpty { continue }
            servers.append(try Self.parseServer(entry, whole: text))
        }
        guard !servers.isEmpty else {
            throw ZooKeeperError(code: .badArguments, message: "no server in the connect string '\(text)'")
        }
        self.servers = servers
        self.chroot = chroot
    }

    public var description: String {
        servers.map(\.description).joined(separator: ",") + (chroot ?? "")
    }

    private static func parseServer(_ entry: Substring, whole: String) throws -> ServerAddress {
        func bad() -> ZooKeeperError {
            ZooKeeperError(code: .badArguments, message: "invalid server '\(entry)' in the connect string '\(whole)'")
        }
        var host: Substring
        var portText: Substring?
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { throw bad() }
            host = entry[entry.index(after: entry.startIndex)..<close]
            let rest = entry[entry.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw bad() }
                portText = rest.dropFirst()
            }
        } else if let colon = entry.lastIndex(of: ":") {
            host = entry[..<colon]
            portText = entry[entry.index(after: colon)...]
        } else {
            host = entry
        }
        guard !host.isEmpty else { throw bad() }
        var port = 2181
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad() }
            port = p
        }
        return ServerAddress(host: String(host), port: port)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
