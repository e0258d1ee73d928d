import AdminHTTP
import Foundation
import NIOHTTP1

/// ZooKeeper's AdminServer commands over HTTP: `GET {admin.commandURL}` lists them, `GET {admin.commandURL}/<name>`
/// runs one and answers ZooKeeper 3.8's JSON (``AdminCommandRenderer``).
///
/// As in ZooKeeper 3.8.0:
/// - there is no authentication;
/// - an unknown name answers 200 with `{"command": name, "error": "Unknown command: name"}`;
/// - GET and HEAD run the command (HEAD too: a reset command resets), OPTIONS answers the allowed methods,
///   POST, PUT and DELETE answer 405, TRACE 403 and other methods 501 (here with a JSON error body);
/// - a malformed percent escape in the path answers 400.
/// Paths outside `{commandURL}` are left to the next route.
public struct AdminCommandsRoute: HTTPRoute {
    let server: ZooKeeperServer
    let commandURL: String

    public init(server: ZooKeeperServer, commandURL: String) {
        self.server = server
        self.commandURL = commandURL
    }

    /// Names longer than this are echoed cut short in the error (ZooKeeper echoes them whole).
    static let maxEchoedNameLength = 256

    public func respond(to request: HTTPRequest) async -> HTTPResponse? {
        let base = commandURL.count > 1 && commandURL.hasSuffix("/") ? String(commandURL.dropLast()) : commandURL
        let rawPath = String(request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let name: String?
        if request.path == base || request.path == base + "/" {
            name = nil
        } else if request.path.hasPrefix(base == "/" ? "/" : base + "/") {
            name = String(request.path.dropFirst(base == "/" ? 1 : base.count + 1))
        } else {
            return nil
        }
        if HTTPRequest.percentDecode(rawPath, plusIsSpace: false) == nil {
            return AdminHTTPServer.error(.badRequest, "Bad request: malformed percent escape or invalid UTF-8 in \(rawPath.prefix(Self.maxEchoedNameLength))")
        }
        switch request.method {
        case .GET, .HEAD:
            break
        case .OPTIONS:
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: "GET, HEAD, OPTIONS")
            return .full(status: .ok, headers: headers, body: .init())
        case .POST, .PUT, .DELETE:
            var response = AdminHTTPServer.error(.methodNotAllowed, "HTTP method \(request.method.rawValue) is not supported by this URL")
            if case .full(let status, var headers, let body) = response {
                headers.add(name: "Allow", value: "GET, HEAD, OPTIONS")
                response = .full(status: status, headers: headers, body: body)
            }
            return response
        case .TRACE:
            return AdminHTTPServer.error(.forbidden, "HTTP method TRACE is not allowed")
        default:
            return AdminHTTPServer.error(.notImplemented, "HTTP method \(request.method.rawValue) is not implemented")
        }
        guard let name else {
            return .text(AdminCommandRenderer.listing(commandURL: base == "/" ? "" : base), contentType: "text/html; charset=utf-8")
        }
        return .json(await run(name: name, arguments: request.query).text)
    }

    /// The JSON response of the command called `name`.
    func run(name: String, arguments: [String: String]) async -> AdminJSON {
        guard let command = AdminCommand(name: name) else {
            let echoed = name.count > Self.maxEchoedNameLength ? String(name.prefix(Self.maxEchoedNameLength)) + "…" : name
            return AdminCommandRenderer.unknownCommand(echoed)
        }
        let configuration = server.configuration
        if command == .setTraceMask, case .success(let mask) = AdminCommandRenderer.traceMask(from: arguments) {
            server.traceMask.withLockedValue { $0 = mask }
        }
        var snapshot: ServerStatusSnapshot
        if let live = await server.adminStatusSnapshot(for: command) {
            snapshot = live
        } else {
            // Not serving: the commands that need no server still answer (environment, trace mask, properties).
            snapshot = ServerStatusSnapshot(
                version: ServerVersion.full(zooregVersion: ServerEngine.version),
                configuration: ConfigurationReport(configuration, boundClientPort: server.port))
            snapshot.isServing = false
            if command == .environment { snapshot.environment = EnvironmentEntry.current(zookeeperVersion: snapshot.version) }
        }
        snapshot.traceMask = server.traceMask.withLockedValue { $0 }
        var context = AdminCommandContext()
        switch command {
        case .dirs, .serverStats, .stats:
            snapshot.configuration.dataDirSize = Self.directorySize(configuration.dataDir)
            snapshot.configuration.dataLogSize =
                configuration.transactionLogDir == configuration.dataDir
                ? snapshot.configuration.dataDirSize : Self.directorySize(configuration.transactionLogDir)
        case .initialConfiguration:
            context.initialConfiguration = Self.initialConfiguration(configuration, boundClientPort: server.port)
        case .lastSnapshot:
            context.lastSnapshot = Self.lastSnapshot(in: configuration.dataDir)
        case .systemProperties:
            context.systemProperties = Self.systemProperties(configuration)
        default:
            break
        }
        return AdminCommandRenderer.response(name: name, snapshot: snapshot, context: context, arguments: arguments)
    }

    // MARK: What the engine does not know

    /// The bytes of the regular files under `path` (recursively), as ZooKeeper's dirs sums its directories.
    static func directorySize(_ path: String) -> Int64 {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let relative = enumerator.nextObject() as? String {
            guard let attributes = try? manager.attributesOfItem(atPath: path + "/" + relative),
                  attributes[.type] as? FileAttributeType == .typeRegular,
                  let size = attributes[.size] as? NSNumber
            else { continue }
            total += size.int64Value
        }
        return total
    }

    /// The newest `snapshot.<hex zxid>` file of `directory` and its modification time in seconds.
    static func lastSnapshot(in directory: String) -> AdminCommandContext.LastSnapshot? {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return nil }
        var newest: (zxid: Int64, name: String)?
        for name in names where name.hasPrefix("snapshot.") {
            let suffix = name.dropFirst("snapshot.".count)
            guard !suffix.isEmpty, suffix.allSatisfy(\.isHexDigit), let zxid = Int64(suffix, radix: 16) else { continue }
            if newest == nil || zxid > newest!.zxid { newest = (zxid, name) }
        }
        guard let newest,
              let modified = (try? manager.attributesOfItem(atPath: directory + "/" + newest.name))?[.modificationDate] as? Date
        else { return nil }
        return .init(zxid: newest.zxid, timestampSeconds: Int64(modified.timeIntervalSince1970))
    }

    /// initial_configuration: the main settings the server started with, as zoo.cfg lines. (ZooKeeper answers the
    /// file's text; the server is not given the file, so the settings are written out instead.)
    static func initialConfiguration(_ c: ServerConfiguration, boundClientPort: Int?) -> String {
        var lines = [
            "tickTime=\(c.tickTime)",
            "dataDir=\(c.dataDir)",
        ]
        if let dataLogDir = c.dataLogDir { lines.append("dataLogDir=\(dataLogDir)") }
        if c.plaintextClientPortEnabled {
            lines.append("clientPort=\(boundClientPort ?? c.clientPort)")
            lines.append("clientPortAddress=\(c.clientPortAddress)")
        }
        if let secure = c.tls.secureClientPort { lines.append("secureClientPort=\(secure)") }
        let range = c.sessionTimeoutRange
        lines += [
            "maxClientCnxns=\(c.maxClientCnxns)",
            "minSessionTimeout=\(range.lowerBound)",
            "maxSessionTimeout=\(range.upperBound)",
            "autopurge.snapRetainCount=\(c.autopurgeSnapRetainCount)",
            "autopurge.purgeInterval=\(c.autopurgePurgeIntervalHours)",
            "4lw.commands.whitelist=\(FourLetterWord.allCases.filter(c.isEnabled).map(\.rawValue).joined(separator: ","))",
            "admin.enableServer=\(c.adminServerEnabled)",
            "admin.serverAddress=\(c.adminServerAddress)",
            "admin.serverPort=\(c.adminServerPort)",
            "admin.commandURL=\(c.adminCommandURL)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// system_properties: the Java system properties that mean something for this process (there is no JVM),
    /// under Java's names.
    static func systemProperties(_ c: ServerConfiguration) -> [String: String] {
        var properties: [String: String] = [
            "file.encoding": "UTF-8",
            "file.separator": "/",
            "line.separator": "\n",
            "path.separator": ":",
            "native.encoding": "UTF-8",
            "sun.jnu.encoding": "UTF-8",
        ]
        let environmentKeys: Set = ["os.name", "os.arch", "os.version", "user.name", "user.home", "user.dir", "java.io.tmpdir"]
        for entry in EnvironmentEntry.current(zookeeperVersion: "") where environmentKeys.contains(entry.key) && entry.value != "<NA>" {
            properties[entry.key] = entry.value
        }
        properties["user.timezone"] = TimeZone.current.identifier
        properties["zookeeper.admin.enableServer"] = String(c.adminServerEnabled)
        properties["zookeeper.admin.serverAddress"] = c.adminServerAddress
        properties["zookeeper.admin.serverPort"] = String(c.adminServerPort)
        return properties
    }
}
