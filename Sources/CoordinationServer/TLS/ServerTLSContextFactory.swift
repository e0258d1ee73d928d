#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOSSL

/// A TLS setting that cannot be used: names the zoo.cfg key, says why and, where it can, what to do.
public struct TLSSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

/// Builds the `NIOSSLContext` of `secureClientPort` from ``ServerTLSSettings``: reads the key store (PEM or
/// PKCS#12) and the trust store, applies `ssl.clientAuth`, the TLS versions and the cipher suites.
enum ServerTLSContextFactory {
    /// The files the context was built from (for the reload watcher).
    static func watchedFiles(_ settings: ServerTLSSettings) -> [String] {
        [settings.keyStoreLocation, settings.trustStoreLocation].compactMap { $0 }
    }

    static func makeContext(_ settings: ServerTLSSettings) throws(TLSSetupError) -> NIOSSLContext {
        let configuration = try makeConfiguration(settings)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // BoringSSL checks that the private key belongs to the first certificate here.
            throw TLSSetupError(
                key: "ssl.keyStore.location",
                "cannot use the key store \(settings.keyStoreLocation ?? "-"): \(error) "
                    + "(does the private key belong to the first certificate?)")
        }
    }

    static func makeConfiguration(_ settings: ServerTLSSettings) throws(TLSSetupError) -> TLSConfiguration {
        guard let keyStore = settings.keyStoreLocation else {
            throw TLSSetupError(key: "ssl.keyStore.location", "not set (the server's certificate and private key)")
        }
        let (chain, key) = try loadKeyStore(
            path: keyStore, type: settings.effectiveKeyStoreType, password: settings.keyStorePassword)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        let range = settings.versionRange
        configuration.minimumTLSVersion = range.lowerBound == .tls12 ? .tlsv12 : .tlsv13
        configuration.maximumTLSVersion = range.upperBound == .tls12 ? .tlsv12 : .tlsv13
        if let names = settings.cipherSuites {
            let ciphers = TLSCipherSuites.ciphers(named: names)
            if !ciphers.isEmpty { configuration.cipherSuiteValues = ciphers }
        }
        switch settings.clientAuth {
        case .none:
            configuration.certificateVerification = .none
        case .want:
            configuration.certificateVerification = .optionalVerification
        case .need:
            configuration.certificateVerification = .noHostnameVerification
        }
        if settings.clientAuth != .none {
            guard let trustStore = settings.trustStoreLocation else {
                throw TLSSetupError(
                    key: "ssl.trustStore.location",
                    "not set: ssl.clientAuth=\(settings.clientAuth.rawValue) needs the CA certificates of the clients")
            }
            let roots = try loadTrustStore(
                path: trustStore, type: settings.effectiveTrustStoreType, password: settings.trustStorePassword)
            configuration.trustRoots = .certificates(roots)
            configuration.sendCANameList = true
        }
        return configuration
    }

    // MARK: Files

    static func loadKeyStore(
        path: String, type: ServerTLSSettings.StoreType, password: String?
    ) throws(TLSSetupError) -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let key = "ssl.keyStore.location"
        let bytes = try readFile(path, key: key)
        switch type {
        case .jks, .bcfks:
            throw unsupportedStore(key: "ssl.keyStore.type", path: path, type: type, keyStore: true)
        case .pkcs12:
            // SwiftNIO SSL stops the process (fatalError) on a PKCS12 file without a private key, so look for a
            // key bag first: its type is outside the encryption in the files openssl and keytool write.
            guard containsKeyBag(bytes) else {
                throw TLSSetupError(
                    key: key,
                    "the PKCS12 key store \(path) holds no private key that zooreg can see (it needs the server's key and "
                        + "certificate; a store of trusted certificates only belongs in ssl.trustStore.location)")
            }
            do {
                let bundle = try NIOSSLPKCS12Bundle(buffer: bytes, passphrase: password.map { Array($0.utf8) })
                guard !bundle.certificateChain.isEmpty else {
                    throw TLSSetupError(key: key, "the PKCS12 key store \(path) holds no certificate")
                }
                return (bundle.certificateChain, bundle.privateKey)
            } catch let error as TLSSetupError {
                throw error
            } catch {
                throw TLSSetupError(
                    key: password == nil ? key : "ssl.keyStore.password",
                    "cannot open the PKCS12 key store \(path) (\(error)): wrong ssl.keyStore.password, or not a PKCS12 "
                        + "file with a private key")
            }
        case .pem:
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMBytes(bytes)
            } catch {
                throw TLSSetupError(key: key, "cannot read the certificates in the PEM key store \(path): \(error)")
            }
            guard !chain.isEmpty else {
                throw TLSSetupError(key: key, "the PEM key store \(path) holds no certificate (it needs the key and the certificate chain)")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            guard text.contains("PRIVATE KEY-----") else {
                throw TLSSetupError(key: key, "the PEM key store \(path) holds no private key (it needs the key and the certificate chain)")
            }
            let encrypted = text.contains("ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED")
            if encrypted && password == nil {
                throw TLSSetupError(
                    key: "ssl.keyStore.password", "the private key in \(path) is encrypted: set ssl.keyStore.password")
            }
            do {
                // Always with a callback: without one BoringSSL would prompt on the terminal for a passphrase.
                let passphrase = Array((password ?? "").utf8)
                let privateKey = try NIOSSLPrivateKey(bytes: bytes, format: .pem) { setter in setter(passphrase) }
                return (chain, privateKey)
            } catch {
                throw TLSSetupError(
                    key: encrypted ? "ssl.keyStore.password" : key,
                    encrypted
                        ? "cannot decrypt the private key in \(path): wrong ssl.keyStore.password (\(error))"
                        : "cannot read the private key in \(path): \(error)")
            }
        }
    }

    static func loadTrustStore(
        path: String, type: ServerTLSSettings.StoreType, password: String?
    ) throws(TLSSetupError) -> [NIOSSLCertificate] {
        let key = "ssl.trustStore.location"
        let bytes = try readFile(path, key: key)
        switch type {
        case .jks, .bcfks:
            throw unsupportedStore(key: "ssl.trustStore.type", path: path, type: type, keyStore: false)
        case .pkcs12:
            // SwiftNIO SSL reads PKCS12 files only with a private key (and stops the process on one without).
            _ = password
            throw TLSSetupError(
                key: "ssl.trustStore.type",
                "a PKCS12 trust store (\(path)) cannot be read by zooreg (SwiftNIO SSL reads PKCS12 key stores only): "
                    + "convert its certificates to PEM (openssl pkcs12 -in \(path) -nokeys -out ca.pem) and set "
                    + "ssl.trustStore.location to that file with ssl.trustStore.type=PEM")
        case .pem:
            let roots: [NIOSSLCertificate]
            do {
                roots = try NIOSSLCertificate.fromPEMBytes(bytes)
            } catch {
                throw TLSSetupError(key: key, "cannot read the certificates in \(path): \(error)")
            }
            guard !roots.isEmpty else { throw TLSSetupError(key: key, "\(path) holds no PEM certificate") }
            return roots
        }
    }

    /// Whether PKCS12 bytes contain the type of a key bag or a shrouded (encrypted) key bag (PKCS#12's
    /// 1.2.840.113549.1.12.10.1.1 and .2, DER-encoded).
    static func containsKeyBag(_ bytes: [UInt8]) -> Bool {
        let prefix: [UInt8] = [0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01]
        guard bytes.count > prefix.count else { return false }
        for start in 0..<(bytes.count - prefix.count) where bytes[start] == 0x06 {
            if bytes[start..<(start + prefix.count)].elementsEqual(prefix) {
                let kind = bytes[start + prefix.count]
                if kind == 1 || kind == 2 { return true }
            }
        }
        return false
    }

    static func unsupportedStore(
        key: String, path: String, type: ServerTLSSettings.StoreType, keyStore: Bool
    ) -> TLSSetupError {
        let destination = keyStore ? "keystore.p12" : "truststore.p12"
        return TLSSetupError(
            key: key,
            "\(type.rawValue) stores (\(path)) are Java-only and cannot be read by zooreg (SwiftNIO SSL). Convert it: "
                + "keytool -importkeystore -srckeystore \(path) -srcstoretype \(type.rawValue) -destkeystore \(destination) "
                + "-deststoretype PKCS12, then set \(keyStore ? "ssl.keyStore" : "ssl.trustStore").type=PKCS12 "
                + "(or export PEM files and use type PEM)")
    }

    static func readFile(_ path: String, key: String) throws(TLSSetupError) -> [UInt8] {
        switch ServerConfiguration.readFile(atPath: path) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw TLSSetupError(key: key, "cannot read \(path): \(failure)")
        }
    }

    /// A fingerprint of the files' state (modification time and size of each), to notice a change.
    static func fileStamp(_ paths: [String]) -> [Int64] {
        var stamp: [Int64] = []
        for path in paths {
            var info = stat()
            if stat(path, &info) == 0 {
                stamp += [Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec), Int64(info.st_size), Int64(info.st_ino)]
            } else {
                stamp += [-1, -1, -1, -1]
            }
        }
        return stamp
    }
}

extension ServerTLSSettings {
    /// Reads the key and trust stores and builds a TLS context from them, as the server will at startup: for
    /// a configuration check that names the key of the first problem.
    public func validateFiles() throws(TLSSetupError) {
        _ = try ServerTLSContextFactory.makeContext(self)
    }
}
