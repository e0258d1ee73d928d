import CoordinationCore

/// The zoo.cfg keys of TLS on `secureClientPort` and the `x509` scheme (see ``ServerTLSSettings``).
enum TLSConfigurationKeys {
    static let accepted: [String] = [
        "secureClientPort", "secureClientPortAddress",
        "ssl.keyStore.location", "ssl.keyStore.password", "ssl.keyStore.type",
        "ssl.trustStore.location", "ssl.trustStore.password", "ssl.trustStore.type",
        "ssl.clientAuth", "ssl.protocol", "ssl.enabledProtocols", "ssl.ciphersuites",
        "ssl.hostnameVerification", "ssl.authProvider",
        "client.certReload", "client.certReloadIntervalMs",
        "X509AuthenticationProvider.superUser", "authProvider.x509", "serverCnxnFactory",
    ]

    static let x509ProviderClass = "org.apache.zookeeper.server.auth.X509AuthenticationProvider"

    /// Reads one TLS key into the configuration; false when `key` is not a TLS key.
    static func assign(
        key: String,
        value: String,
        to configuration: inout ServerConfiguration,
        notes: inout [String],
        location: ConfigurationError.Source
    ) throws(InvalidSetting) -> Bool {
        switch key {
        case "secureClientPort":
            configuration.tls.secureClientPort = try ConfigurationKeys.port(key, value)
        case "secureClientPortAddress":
            configuration.tls.secureClientPortAddress = try ConfigurationKeys.host(key, value)
        case "ssl.keyStore.location":
            configuration.tls.keyStoreLocation = try ConfigurationKeys.path(key, value)
        case "ssl.keyStore.password":
            configuration.tls.keyStorePassword = value.isEmpty ? nil : value
        case "ssl.keyStore.type":
            configuration.tls.keyStoreType = try storeType(key, value)
        case "ssl.trustStore.location":
            configuration.tls.trustStoreLocation = try ConfigurationKeys.path(key, value)
        case "ssl.trustStore.password":
            configuration.tls.trustStorePassword = value.isEmpty ? nil : value
        case "ssl.trustStore.type":
            configuration.tls.trustStoreType = try storeType(key, value)
        case "ssl.clientAuth":
            // ZooKeeper's ClientAuth.fromPropertyValue: empty means need; the names in any case.
            if value.isEmpty {
                configuration.tls.clientAuth = .need
            } else if let auth = ServerTLSSettings.ClientAuth(rawValue: value.lowercased()) {
                configuration.tls.clientAuth = auth
            } else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "none, want or need"))
            }
        case "ssl.protocol":
            configuration.tls.protocol = try version(key, value)
        case "ssl.enabledProtocols":
            let names = try ConfigurationKeys.nameList(key, value, expected: "TLSv1.2 and/or TLSv1.3, comma-separated")
            var versions: [ServerTLSSettings.ProtocolVersion] = []
            for name in names { versions.append(try version(key, name)) }
            configuration.tls.enabledProtocols = versions.isEmpty ? nil : versions
        case "ssl.ciphersuites":
            let names = try ConfigurationKeys.nameList(
                key, value, expected: "cipher suite names (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), comma-separated")
            for name in names where TLSCipherSuites.isKnown(name) == false {
                throw InvalidSetting(
                    reason: .invalidValue(
                        key: key, value: name,
                        expected: "a cipher suite SwiftNIO SSL offers: " + TLSCipherSuites.knownNames.joined(separator: ", ")))
            }
            configuration.tls.cipherSuites = names.isEmpty ? nil : names
        case "ssl.hostnameVerification":
            // ZooKeeper's server does not check client certificates' host names on the client port either.
            _ = try ConfigurationKeys.bool(key, value)
        case "ssl.authProvider":
            guard value == "x509" else {
                throw InvalidSetting(reason: .unsupportedKey(key, explanation: "only the built-in x509 provider exists"))
            }
        case "client.certReload":
            configuration.tls.certReload = try ConfigurationKeys.bool(key, value)
        case "client.certReloadIntervalMs":
            configuration.tls.certReloadIntervalMs = try ConfigurationKeys.int(
                key, value, atLeast: 50, expected: "milliseconds, at least 50")
        case "X509AuthenticationProvider.superUser":
            guard X509Scheme.isValidDistinguishedName(value), !value.isEmpty else {
                throw InvalidSetting(
                    reason: .invalidValue(key: key, value: value, expected: "a subject DN such as CN=admin,O=Example"))
            }
            configuration.tls.x509SuperUser = value
        case "authProvider.x509":
            // ZooKeeper needs this line for client certificates; zooreg has the provider built in.
            guard value == x509ProviderClass else {
                throw InvalidSetting(
                    reason: .unsupportedKey(
                        key, explanation: "authentication providers cannot be loaded; x509 is built in (\(x509ProviderClass))"))
            }
        case "serverCnxnFactory":
            // ZooKeeper needs NettyServerCnxnFactory for TLS; zooreg has one network layer (SwiftNIO) for both.
            guard value.hasPrefix("org.apache.zookeeper.server.") else {
                throw InvalidSetting(
                    reason: .unsupportedKey(key, explanation: "zooreg has its own network layer (SwiftNIO); remove this key"))
            }
            notes.append("\(location): serverCnxnFactory has no effect: zooreg serves TLS and plaintext with SwiftNIO")
        default:
            return false
        }
        return true
    }

    /// Checks of the TLS keys together; the problem and the keys involved.
    static func crossCheck(
        _ configuration: ServerConfiguration
    ) -> (reason: ConfigurationError.Reason, keys: [String])? {
        let tls = configuration.tls
        // ZooKeeper ignores ssl.* without secureClientPort; so does zooreg.
        guard tls.isEnabled else { return nil }
        if tls.keyStoreLocation == nil {
            return (
                .inconsistent("secureClientPort is set, so the server needs its certificate and key: set ssl.keyStore.location"),
                ["secureClientPort", "ssl.keyStore.location"]
            )
        }
        if tls.clientAuth != .none && tls.trustStoreLocation == nil {
            return (
                .inconsistent(
                    "ssl.clientAuth=\(tls.clientAuth.rawValue) checks client certificates against a trust store: set "
                        + "ssl.trustStore.location (the CA certificates), or ssl.clientAuth=none"),
                ["ssl.clientAuth", "ssl.trustStore.location"]
            )
        }
        if configuration.plaintextClientPortEnabled, let port = tls.secureClientPort, port != 0,
            port == configuration.clientPort
        {
            return (
                .inconsistent("clientPort and secureClientPort are both \(port); give them different ports"),
                ["clientPort", "secureClientPort"]
            )
        }
        if let protocolVersion = tls.protocol, let enabled = tls.enabledProtocols, !enabled.contains(protocolVersion) {
            return (
                .inconsistent("ssl.protocol \(protocolVersion.rawValue) is not among ssl.enabledProtocols"),
                ["ssl.protocol", "ssl.enabledProtocols"]
            )
        }
        return nil
    }

    /// A TLS key zooreg does not read, with what to tell the operator; nil for other keys.
    static func unsupportedExplanation(for key: String) -> String? {
        if key.hasPrefix("ssl.quorum.") { return nil }
        if key.hasPrefix("ssl.") {
            return "zooreg's TLS reads ssl.keyStore.*, ssl.trustStore.*, ssl.clientAuth, ssl.protocol, "
                + "ssl.enabledProtocols and ssl.ciphersuites (no CRL/OCSP, no password files, no context supplier)"
        }
        return nil
    }

    static func storeType(_ key: String, _ value: String) throws(InvalidSetting) -> ServerTLSSettings.StoreType? {
        if value.isEmpty { return nil }
        guard let type = ServerTLSSettings.StoreType.named(value) else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "PEM or PKCS12"))
        }
        return type
    }

    static func version(_ key: String, _ value: String) throws(InvalidSetting) -> ServerTLSSettings.ProtocolVersion {
        guard let version = ServerTLSSettings.ProtocolVersion(rawValue: value) else {
            throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "TLSv1.2 or TLSv1.3"))
        }
        return version
    }
}
