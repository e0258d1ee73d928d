/// TLS for client connections on `secureClientPort`, from ZooKeeper's `ssl.*` zoo.cfg keys (ZooKeeper reads them
/// as `zookeeper.ssl.*` system properties; an unknown zoo.cfg key `k` becomes the property `zookeeper.k`, so the
/// same lines work in both servers).
///
/// The files are read when the server starts (a problem is a startup error naming the key) and, with
/// ``certReload``, again whenever they change: new connections get the new certificates, open ones keep theirs.
public struct ServerTLSSettings: Sendable, Equatable {
    /// What a key store or trust store file holds.
    public enum StoreType: String, Sendable, Equatable, CaseIterable {
        /// PEM text: certificates and, for a key store, the private key (ZooKeeper's `PEM`).
        case pem = "PEM"
        /// A PKCS#12 bundle (`.p12`, `.pfx`), password-protected.
        case pkcs12 = "PKCS12"
        /// A Java KeyStore: named so that the error can say how to convert it; never loaded.
        case jks = "JKS"
        /// Bouncy Castle FIPS key store: named for the error only.
        case bcfks = "BCFKS"

        /// ZooKeeper's `KeyStoreFileType.fromPropertyValue`: the name, in any case.
        static func named(_ value: String) -> StoreType? {
            allCases.first { $0.rawValue.lowercased() == value.lowercased() }
        }

        /// ZooKeeper's `KeyStoreFileType.fromFilename`: the type a file name's extension implies.
        public static func inferred(fromFileName path: String) -> StoreType? {
            let lower = path.lowercased()
            if lower.hasSuffix(".pem") || lower.hasSuffix(".crt") || lower.hasSuffix(".key") { return .pem }
            if lower.hasSuffix(".p12") || lower.hasSuffix(".pfx") { return .pkcs12 }
            if lower.hasSuffix(".jks") { return .jks }
            if lower.hasSuffix(".bcfks") { return .bcfks }
            return nil
        }
    }

    /// `ssl.clientAuth`: whether clients must present a certificate (ZooKeeper's default is `need`).
    public enum ClientAuth: String, Sendable, Equatable, CaseIterable {
        /// No certificate is asked for.
        case none
        /// A certificate is asked for; one presented must verify against the trust store; none is fine.
        case want
        /// A certificate that verifies against the trust store is required.
        case need
    }

    /// The TLS versions zooreg can speak (SwiftNIO SSL, BoringSSL).
    public enum ProtocolVersion: String, Sendable, Equatable, Comparable, CaseIterable {
        case tls12 = "TLSv1.2"
        case tls13 = "TLSv1.3"

        public static func < (a: Self, b: Self) -> Bool { a == .tls12 && b == .tls13 }
    }

    /// `secureClientPort`: where TLS clients connect; nil (default) means no TLS listener. 0 asks for a free port.
    public var secureClientPort: Int?
    /// `secureClientPortAddress`: the address of the TLS listener; nil means `clientPortAddress`.
    public var secureClientPortAddress: String?

    /// `ssl.keyStore.location`: the server's private key and certificate chain (PEM file with both, or PKCS#12).
    public var keyStoreLocation: String?
    /// `ssl.keyStore.password`: the PKCS#12 password, or the passphrase of an encrypted PEM key.
    public var keyStorePassword: String?
    /// `ssl.keyStore.type`: nil means inferred from the file's extension, else PEM.
    public var keyStoreType: StoreType?

    /// `ssl.trustStore.location`: the CA certificates client certificates must chain to (PEM or PKCS#12).
    public var trustStoreLocation: String?
    /// `ssl.trustStore.password`: for a PKCS#12 trust store.
    public var trustStorePassword: String?
    /// `ssl.trustStore.type`: nil means inferred from the file's extension, else PEM.
    public var trustStoreType: StoreType?

    /// `ssl.clientAuth` (default `need`, as in ZooKeeper).
    public var clientAuth: ClientAuth = .need

    /// `ssl.protocol`: the single version used when ``enabledProtocols`` is not set (ZooKeeper's default is
    /// TLSv1.2 alone; zooreg's default, with neither key, is TLSv1.2 and TLSv1.3).
    public var `protocol`: ProtocolVersion?
    /// `ssl.enabledProtocols`: the versions allowed, comma-separated.
    public var enabledProtocols: [ProtocolVersion]?
    /// `ssl.ciphersuites`: TLS 1.2 cipher suites by their IANA (Java) names, in preference order. TLS 1.3 suites
    /// are always on in BoringSSL; naming them is allowed and changes nothing. nil: SwiftNIO SSL's defaults.
    public var cipherSuites: [String]?

    /// `client.certReload` (ZooKeeper 3.8.x's `zookeeper.client.certReload`): watch the key and trust store files
    /// and use their new contents for new connections (default false).
    public var certReload: Bool = false
    /// `client.certReloadIntervalMs`: how often the files are checked with ``certReload`` (zooreg's own key;
    /// default 10000).
    public var certReloadIntervalMs: Int = 10_000

    /// `X509AuthenticationProvider.superUser`: the subject DN (RFC 2253, as the `x509` id prints it) of a client
    /// certificate that is also the superuser.
    public var x509SuperUser: String?

    public init() {}

    /// Whether a TLS listener is configured.
    public var isEnabled: Bool { secureClientPort != nil }

    /// The key store's type: the configured one, else the file name's, else PEM.
    public var effectiveKeyStoreType: StoreType {
        keyStoreType ?? keyStoreLocation.flatMap(StoreType.inferred(fromFileName:)) ?? .pem
    }

    /// The trust store's type: the configured one, else the file name's, else PEM.
    public var effectiveTrustStoreType: StoreType {
        trustStoreType ?? trustStoreLocation.flatMap(StoreType.inferred(fromFileName:)) ?? .pem
    }

    /// The range of TLS versions in effect.
    public var versionRange: ClosedRange<ProtocolVersion> {
        if let enabledProtocols, let low = enabledProtocols.min(), let high = enabledProtocols.max() {
            return low...high
        }
        if let `protocol` { return `protocol`...`protocol` }
        return .tls12 ... .tls13
    }
}

extension ServerTLSSettings: CustomStringConvertible, CustomDebugStringConvertible {
    public var debugDescription: String { description }

    /// Passwords are never printed.
    public var description: String {
        var parts: [String] = []
        parts.append("secureClientPort=\(secureClientPort.map(String.init) ?? "-")")
        if let keyStoreLocation { parts.append("keyStore=\(keyStoreLocation) (\(effectiveKeyStoreType.rawValue))") }
        if let trustStoreLocation {
            parts.append("trustStore=\(trustStoreLocation) (\(effectiveTrustStoreType.rawValue))")
        }
        if keyStorePassword != nil { parts.append("keyStore.password=<hidden>") }
        if trustStorePassword != nil { parts.append("trustStore.password=<hidden>") }
        parts.append("clientAuth=\(clientAuth.rawValue)")
        return parts.joined(separator: " ")
    }
}
