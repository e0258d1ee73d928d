/// A key's value that cannot be used; becomes a ``ConfigurationError`` once the source is known.
struct InvalidSetting: Error, Equatable {
    var reason: ConfigurationError.Reason
}

/// The zoo.cfg keys zooreg understands, how their values are read and checked, and the keys it rejects with
/// an explanation.
enum ConfigurationKeys {
    /// Every key ``ServerConfiguration/parse(contents:fileName:overrides:)`` accepts.
    static let accepted: [String] = [
        "dataDir", "dataLogDir",
        "clientPort", "clientPortAddress", "clientPortListenBacklog", "maxClientCnxns",
        "tickTime", "minSessionTimeout", "maxSessionTimeout",
        "autopurge.snapRetainCount", "autopurge.purgeInterval",
        "4lw.commands.whitelist", "jute.maxbuffer", "globalOutstandingLimit",
        "clientOutputHighWaterMark", "clientOutputCloseLimit",
        "snapCount", "preAllocSize", "forceSync", "syncEnabled", "commitPacing",
        "DigestAuthenticationProvider.superDigest", "extendedTypesEnabled",
        "znode.container.checkIntervalMs", "znode.container.maxPerMinute", "znode.container.maxNeverUsedIntervalMs",
        "admin.enableServer", "admin.serverAddress", "admin.serverPort", "admin.commandURL", "admin.idleTimeout",
        "console.enabled", "console.editEnabled", "localSessionsEnabled", "localSessionsUpgradingEnabled",
        "metricsProvider.className", "metricsProvider.httpHost", "metricsProvider.httpPort",
        "metricsProvider.exportJvmInfo",
        "standaloneEnabled", "reconfigEnabled", "initLimit", "syncLimit",
        "mdns.enabled", "mdns.services", "mdns.interfaces", "mdns.protocols", "mdns.basePath",
        "ensemble.etcd", "ensemble.cluster", "ensemble.replicaId", "ensemble.unavailableCloseMs",
        "ensemble.snapshotPort", "ensemble.advertiseHost", "ensemble.compactionIntervalMs",
    ] + TLSConfigurationKeys.accepted + SASLConfigurationKeys.accepted

    private static let quorumOnly =
        "ZooKeeper's quorum protocol is not used; a zooreg ensemble replicates through etcd (remove the quorum settings and set ensemble.etcd, ensemble.cluster and ensemble.replicaId)"

    /// Real ZooKeeper keys whose feature zooreg does not have, with what to tell the operator.
    static func unsupportedExplanation(for key: String) -> String? {
        if key.hasPrefix("server.") || key.hasPrefix("group.") || key.hasPrefix("weight.") {
            return "ZooKeeper's quorum protocol is not used; a zooreg ensemble replicates through etcd (remove the server.N lines and set ensemble.etcd, ensemble.cluster and ensemble.replicaId)"
        }
        if key.hasPrefix("authProvider.") {
            return "authentication providers cannot be loaded; digest, ip, world, x509 and sasl are built in"
        }
        if let explanation = TLSConfigurationKeys.unsupportedExplanation(for: key) {
            return explanation
        }
        if key.hasPrefix("quorum.") || key.hasPrefix("multiAddress.") || key.hasPrefix("ssl.") {
            return quorumOnly
        }
        switch key {
        case "dynamicConfigFile", "peerType", "electionAlg", "electionPort", "quorumListenOnAllIPs",
            "observerMasterPort", "connectToLearnerMasterLimit", "sslQuorum", "sslQuorumReloadCertFiles",
            "portUnification", "oraclePath":
            return quorumOnly
        case "client.secure":
            return "client.secure is a client setting (zkCli's -Dzookeeper.client.secure); the server's TLS port is secureClientPort"
        case "localSessionsEnabled", "localSessionsUpgradingEnabled":
            return "local sessions are not supported (only false, ZooKeeper's default, is accepted); every session is global"
        default:
            return nil
        }
    }

    /// Reads one key's value into the configuration. `notes` collects warnings prefixed with `location`.
    static func assign(
        key: String,
        value: String,
        to configuration: inout ServerConfiguration,
        notes: inout [String],
        location: ConfigurationError.Source
    ) throws(InvalidSetting) {
        if try TLSConfigurationKeys.assign(key: key, value: value, to: &configuration, notes: &notes, location: location) {
            return
        }
        if try SASLConfigurationKeys.assign(key: key, value: value, to: &configuration) { return }
        switch key {
        case "dataDir":
            configuration.dataDir = try path(key, value)
        case "dataLogDir":
            configuration.dataLogDir = try path(key, value)
        case "clientPort":
            configuration.clientPort = try port(key, value)
        case "clientPortAddress":
            configuration.clientPortAddress = try host(key, value)
        case "clientPortListenBacklog":
            configuration.clientPortListenBacklog = try int(key, value, atLeast: -1)
        case "maxClientCnxns":
            configuration.maxClientCnxns = try int(key, value, atLeast: 0, expected: "0 (unlimited) or more")
        case "tickTime":
            configuration.tickTime = try int(key, value, atLeast: 1, expected: "a positive number of milliseconds")
        case "minSessionTimeout":
            configuration.minSessionTimeout = try sessionTimeout(key, value)
        case "maxSessionTimeout":
            configuration.maxSessionTimeout = try sessionTimeout(key, value)
        case "autopurge.snapRetainCount":
            let count = try int(key, value)
            if count < 3 {
                notes.append("\(location): autopurge.snapRetainCount=\(count) is below the minimum 3; using 3")
            }
            configuration.autopurgeSnapRetainCount = max(count, 3)
        case "autopurge.purgeInterval":
            configuration.autopurgePurgeIntervalHours = try int(
                key, value, atLeast: 0, expected: "a number of hours, 0 to disable autopurge")
        case "4lw.commands.whitelist":
            configuration.fourLetterWordWhitelist = try whitelist(key, value)
        case "jute.maxbuffer":
            configuration.juteMaxBuffer = try juteMaxBuffer(key, value)
        case "globalOutstandingLimit":
            configuration.globalOutstandingLimit = try int(key, value, atLeast: 1)
        case "clientOutputHighWaterMark":
            configuration.clientOutputHighWaterMark = try int(
                key, value, atLeast: 1024, expected: "a number of bytes, at least 1024")
        case "clientOutputCloseLimit":
            configuration.clientOutputCloseLimit = try int(
                key, value, atLeast: 1024, expected: "a number of bytes, at least 1024")
        case "snapCount":
            let count = try int(key, value)
            if count < 2 {
                notes.append("\(location): snapCount=\(count) is below the minimum 2; using 2")
            }
            configuration.snapCount = max(count, 2)
        case "preAllocSize":
            configuration.preAllocSizeKB = try int(
                key, value, atLeast: 1, expected: "a positive size in KiB", bits: 64)
        case "forceSync":
            configuration.forceSync = try yesNo(key, value)
        case "commitPacing":
            configuration.commitPacing.delayFactor = try yesNo(key, value) ? CommitPacingSettings().delayFactor : 0
        case "syncEnabled":
            configuration.syncEnabled = try bool(key, value)
        case "DigestAuthenticationProvider.superDigest":
            configuration.superDigest = try superDigest(key, value)
        case "extendedTypesEnabled":
            configuration.extendedTypesEnabled = try bool(key, value)
        case "znode.container.checkIntervalMs":
            configuration.containerCheckIntervalMs = try int(
                key, value, atLeast: 1, expected: "a positive number of milliseconds")
        case "znode.container.maxPerMinute":
            configuration.containerMaxPerMinute = try int(key, value, atLeast: 1)
        case "znode.container.maxNeverUsedIntervalMs":
            configuration.containerMaxNeverUsedIntervalMs = try int(
                key, value, atLeast: 0, expected: "milliseconds, 0 to never delete unused containers", bits: 64)
        case "admin.enableServer":
            configuration.adminServerEnabled = try bool(key, value)
        case "admin.serverAddress":
            configuration.adminServerAddress = try host(key, value)
        case "admin.serverPort":
            configuration.adminServerPort = try port(key, value, zeroMeans: "0 for any free port")
        case "admin.commandURL":
            guard value.hasPrefix("/"), value.count > 1, !value.hasSuffix("/"), !value.contains("?") else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a path such as /commands"))
            }
            configuration.adminCommandURL = value
        case "admin.idleTimeout":
            _ = try int(key, value, atLeast: 0, expected: "milliseconds")
        case "console.enabled":
            configuration.consoleEnabled = try bool(key, value)
        case "console.editEnabled":
            configuration.consoleEditEnabled = try bool(key, value)
        case "metricsProvider.className":
            configuration.metricsProviderClassName = value
        case "metricsProvider.httpHost":
            configuration.metricsHTTPHost = try host(key, value)
        case "metricsProvider.httpPort":
            configuration.metricsHTTPPort = try port(key, value, zeroMeans: "0 to disable the endpoint")
        case "metricsProvider.exportJvmInfo":
            _ = try bool(key, value)
        case "standaloneEnabled":
            configuration.standaloneEnabled = try bool(key, value)
        case "reconfigEnabled":
            configuration.reconfigEnabled = try bool(key, value)
        case "initLimit":
            configuration.initLimit = try int(key, value, atLeast: 0)
        case "syncLimit":
            configuration.syncLimit = try int(key, value, atLeast: 0)
        case "mdns.enabled":
            configuration.mdnsEnabled = try bool(key, value)
        case "mdns.services":
            configuration.mdnsServices = try nameList(key, value, expected: "registry service names, comma-separated")
        case "mdns.interfaces":
            configuration.mdnsInterfaces = try nameList(key, value, expected: "interface names, comma-separated")
        case "mdns.protocols":
            configuration.mdnsProtocols = try ipProtocols(key, value)
        case "mdns.basePath":
            configuration.mdnsBasePath = try absolutePath(key, value)
        case "ensemble.etcd":
            configuration.ensembleEtcd = try etcdEndpoints(key, value)
        case "ensemble.cluster":
            let name = value
            guard !name.isEmpty, name.count <= 64,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
            else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a cluster name of letters, digits, '-', '_' and '.' (at most 64)"))
            }
            configuration.ensembleCluster = name
        case "ensemble.replicaId":
            let id = try int(key, value, atLeast: 1)
            guard id <= 127 else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a replica id from 1 to 127"))
            }
            configuration.ensembleReplicaId = id
        case "ensemble.unavailableCloseMs":
            configuration.ensembleUnavailableCloseMs = try int(key, value, atLeast: 100)
        case "ensemble.compactionIntervalMs":
            configuration.ensembleCompactionIntervalMs = try int(key, value, atLeast: 100)
        case "ensemble.snapshotPort":
            let port = try int(key, value, atLeast: 0)
            guard port <= 65535 else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a TCP port, or 0 for any free port"))
            }
            configuration.ensembleSnapshotPort = port
        case "localSessionsEnabled", "localSessionsUpgradingEnabled":
            // false is ZooKeeper's default and what zooreg does; true asks for a feature zooreg does not have.
            if try bool(key, value) {
                throw InvalidSetting(reason: .unsupportedKey(key, explanation: unsupportedExplanation(for: key)!))
            }
        case "ensemble.advertiseHost":
            guard !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "/" }) else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a host name or address peers reach this replica at"))
            }
            configuration.ensembleAdvertiseHost = value
        default:
            if let explanation = unsupportedExplanation(for: key) {
                throw InvalidSetting(reason: .unsupportedKey(key, explanation: explanation))
            }
            throw InvalidSetting(reason: .unknownKey(key))
        }
    }

    /// Checks that involve several keys. Returns the problem and the keys involved.
    static func crossCheck(
        _ configuration: ServerConfiguration
    ) -> (reason: ConfigurationError.Reason, keys: [String])? {
        let minimum = configuration.minSessionTimeout ?? 2 * configuration.tickTime
        let maximum = configuration.maxSessionTimeout ?? 20 * configuration.tickTime
        if minimum > maximum {
            return (
                .inconsistent(
                    "minSessionTimeout (\(minimum) ms) must not be larger than maxSessionTimeout (\(maximum) ms)"),
                ["minSessionTimeout", "maxSessionTimeout", "tickTime"]
            )
        }
        if !configuration.ensembleEtcd.isEmpty && configuration.ensembleReplicaId == nil {
            return (
                .inconsistent("ensemble.etcd is set, so this server is a replica: give it ensemble.replicaId (1-127, unique in the ensemble)"),
                ["ensemble.etcd", "ensemble.replicaId"]
            )
        }
        if !configuration.ensembleEtcd.isEmpty && configuration.juteMaxBuffer > 1_400_000 {
            // One request must fit one etcd append (etcd refuses requests over 1.5 MiB by default).
            return (
                .inconsistent(
                    "jute.maxbuffer is \(configuration.juteMaxBuffer) bytes, but an ensemble replica appends each request to etcd, "
                        + "which refuses requests over 1.5 MiB: keep jute.maxbuffer at or below 1400000"),
                ["jute.maxbuffer", "ensemble.etcd"]
            )
        }
        if configuration.ensembleEtcd.isEmpty && configuration.ensembleReplicaId != nil {
            return (.inconsistent("ensemble.replicaId is set without ensemble.etcd (the etcd endpoints of the log)"), ["ensemble.etcd", "ensemble.replicaId"])
        }
        if let problem = TLSConfigurationKeys.crossCheck(configuration) {
            return problem
        }
        if configuration.clientPort != 0, configuration.clientPort == configuration.metricsHTTPPort {
            return (
                .inconsistent(
                    "clientPort and metricsProvider.httpPort are both \(configuration.clientPort); "
                        + "give the Prometheus endpoint another port (or 0 to turn it off)"),
                ["clientPort", "metricsProvider.httpPort"]
            )
        }
        return nil
    }

    // MARK: Values

    /// Reads an integer the way Java's `Integer.parseInt` (or `Long.parseLong` for 64 bits) does: an optional
    /// sign and decimal digits, nothing else.
    static func javaInteger(_ value: String, bits: Int = 32) -> Int? {
        var digits = Substring(value)
        var negative = false
        if let first = digits.first, first == "+" || first == "-" {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let magnitude = UInt64(digits)
        else { return nil }
        let limit: UInt64 = (bits == 32 ? UInt64(Int32.max) : UInt64(Int64.max)) + (negative ? 1 : 0)
        guard magnitude <= limit else { return nil }
        if negative {
            return magnitude == UInt64(Int64.max) + 1 ? Int(Int64.min) : -Int(magnitude)
        }
        return Int(magnitude)
    }

    static func int(
        _ key: String,
        _ value: String,
        atLeast lowerBound: Int? = nil,
        expected: String? = nil,
        bits: Int = 32
    ) throws(InvalidSetting) -> Int {
        let description = expected ?? (lowerBound.map { "an integer of at least \($0)" } ?? "an integer")
        guard let number = javaInteger(value, bits: bits) else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: description))
        }
        if let lowerBound, number < lowerBound {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: description))
        }
        return number
    }

    static func port(_ key: String, _ value: String, zeroMeans: String = "0 for any free port")
        throws(InvalidSetting) -> Int
    {
        let expected = "a port number from 0 to 65535 (\(zeroMeans))"
        guard let number = javaInteger(value), (0...65535).contains(number) else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: expected))
        }
        return number
    }

    static func checkPort(_ key: String, _ number: Int) throws(InvalidSetting) {
        guard (0...65535).contains(number) else {
            throw InvalidSetting(
                reason: .invalidValue(key: key, value: String(number), expected: "a port number from 0 to 65535"))
        }
    }

    static func checkAtLeast(_ key: String, _ number: Int, _ lowerBound: Int) throws(InvalidSetting) {
        guard number >= lowerBound else {
            throw InvalidSetting(
                reason: .invalidValue(key: key, value: String(number), expected: "an integer of at least \(lowerBound)"))
        }
    }

    /// -1 means "the default" in ZooKeeper; anything else must be positive.
    static func sessionTimeout(_ key: String, _ value: String) throws(InvalidSetting) -> Int? {
        let number = try int(key, value, atLeast: -1, expected: "a positive number of milliseconds")
        if number == -1 { return nil }
        guard number > 0 else {
            throw InvalidSetting(
                reason: .invalidValue(key: key, value: value, expected: "a positive number of milliseconds"))
        }
        return number
    }

    static func path(_ key: String, _ value: String) throws(InvalidSetting) -> String {
        guard !value.isEmpty else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a directory path"))
        }
        return value
    }

    static func host(_ key: String, _ value: String) throws(InvalidSetting) -> String {
        guard !value.isEmpty, !value.contains(where: { $0.isWhitespace }) else {
            throw InvalidSetting(
                reason: .invalidValue(key: key, value: value, expected: "an IP address or host name"))
        }
        return value
    }

    /// A comma-separated list of names without white space inside (empty: none).
    static func nameList(_ key: String, _ value: String, expected: String) throws(InvalidSetting) -> [String] {
        let names = value.split(separator: ",", omittingEmptySubsequences: false).map { part in
            String(part.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        }
        if value.allSatisfy(\.isWhitespace) { return [] }
        guard names.allSatisfy({ !$0.isEmpty && !$0.contains(where: \.isWhitespace) }) else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: expected))
        }
        return names
    }

    /// etcd client endpoints, comma-separated: `http://host:port` or `host:port` (plain text).
    static func etcdEndpoints(_ key: String, _ value: String) throws(InvalidSetting) -> [String] {
        let expected = "etcd client endpoints, comma-separated, like http://10.0.0.1:2379,http://10.0.0.2:2379"
        let names = try nameList(key, value, expected: expected)
        for name in names {
            var rest = Substring(name)
            if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
            guard let colon = rest.lastIndex(of: ":"), !rest[..<colon].isEmpty,
                let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port)
            else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: expected))
            }
        }
        return names
    }

    /// `any`, `ipv4` or `ipv6`.
    static func ipProtocols(_ key: String, _ value: String) throws(InvalidSetting) -> String {
        let lower = value.lowercased()
        guard ["any", "ipv4", "ipv6"].contains(lower) else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "any, ipv4 or ipv6"))
        }
        return lower
    }

    /// A znode path: starts with '/', no trailing '/' (except the root), no empty segment.
    static func absolutePath(_ key: String, _ value: String) throws(InvalidSetting) -> String {
        let valid = value.hasPrefix("/") && (value == "/" || (!value.hasSuffix("/") && !value.contains("//")))
        guard valid else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "an absolute znode path"))
        }
        return value
    }

    /// `true` or `false`, in any case, as ZooKeeper's `parseBoolean` accepts.
    static func bool(_ key: String, _ value: String) throws(InvalidSetting) -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "true or false"))
        }
    }

    /// `yes`/`no` (ZooKeeper's spelling for forceSync), or `true`/`false`.
    static func yesNo(_ key: String, _ value: String) throws(InvalidSetting) -> Bool {
        switch value.lowercased() {
        case "yes", "true": return true
        case "no", "false": return false
        default: throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "yes or no"))
        }
    }

    /// A comma-separated list of four-letter words, or `*` for all of them, as ZooKeeper reads it.
    static func whitelist(_ key: String, _ value: String) throws(InvalidSetting) -> Set<FourLetterWord> {
        do {
            return try FourLetterWord.parseWhitelist(value)
        } catch {
            throw InvalidSetting(
                reason: .invalidValue(
                    key: key,
                    value: error.word,
                    expected: "a comma-separated list of "
                        + FourLetterWord.allCases.map(\.rawValue).joined(separator: ", ") + ", or *"
                ))
        }
    }

    /// Java's `Integer.decode`: an optional sign, then `0x`, `0X` or `#` for hexadecimal, a leading `0` for
    /// octal, else decimal. Must be positive.
    static func juteMaxBuffer(_ key: String, _ value: String) throws(InvalidSetting) -> Int {
        let expected = "a positive number of bytes (decimal, or hexadecimal with 0x)"
        var text = Substring(value)
        var negative = false
        if let first = text.first, first == "+" || first == "-" {
            negative = first == "-"
            text = text.dropFirst()
        }
        var radix = 10
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            radix = 16
            text = text.dropFirst(2)
        } else if text.hasPrefix("#") {
            radix = 16
            text = text.dropFirst()
        } else if text.hasPrefix("0"), text.count > 1 {
            radix = 8
            text = text.dropFirst()
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isHexDigit }),
            let magnitude = Int32(text, radix: radix), !negative, magnitude > 0
        else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: expected))
        }
        return Int(magnitude)
    }

    /// `user:base64digest`, the form `DigestAuthenticationProvider.generateDigest` prints.
    static func superDigest(_ key: String, _ value: String) throws(InvalidSetting) -> String {
        let expected = "user:base64digest, e.g. super:<base64 of sha1(\"super:password\")>"
        guard let colon = value.firstIndex(of: ":") else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: expected))
        }
        let user = value[..<colon]
        let digest = value[value.index(after: colon)...]
        let base64 = digest.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+/=".contains($0)) }
        guard !user.isEmpty, !digest.isEmpty, base64, digest.count % 4 == 0 else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: expected))
        }
        return value
    }
}
