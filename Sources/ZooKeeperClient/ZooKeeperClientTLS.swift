import NIOCore
import NIOSSL

/// TLS for the client's connections (a server's `secureClientPort`). Every connection of a client configured
/// with it starts with a TLS handshake, and nothing (the session's password, `addAuth` credentials, requests)
/// is written before the handshake succeeded: SwiftNIO SSL holds the writes until then and drops them if it
/// fails. There is no fallback to plaintext.
public struct ZooKeeperClientTLS: Sendable {
    /// The TLS context every connection uses.
    public let context: NIOSSLContext
    /// The name checked against the server's certificate and sent as SNI; nil means the host of each server
    /// in the connect string (an IP address is checked against the certificate's IP addresses, without SNI).
    public var serverHostname: String?

    public init(context: NIOSSLContext, serverHostname: String? = nil) {
        self.context = context
        self.serverHostname = serverHostname
    }

    /// A context from PEM files.
    ///
    /// - Parameters:
    ///   - caFile: the CA certificates the server's certificate must chain to; nil trusts the system's roots.
    ///   - certificateFile: the client's certificate chain, for servers that ask for one (`ssl.clientAuth`),
    ///     which gives the `x509` ACL id; it may also hold the private key.
    ///   - keyFile: the client's private key; nil means it is in `certificateFile`.
    ///   - verifyHostname: check the server certificate's names against the host connected to (default true).
    /// - Throws: `ZooKeeperError` with code `badArguments` naming the file that cannot be used.
    public init(
        caFile: String?, certificateFile: String? = nil, keyFile: String? = nil, verifyHostname: Bool = true
    ) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
        if let caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw ZooKeeperError(code: .badArguments, message: "cannot read the CA certificates in \(caFile): \(error)")
            }
        }
        if keyFile != nil && certificateFile == nil {
            throw ZooKeeperError(code: .badArguments, message: "a TLS key file needs its certificate file")
        }
        if let certificateFile {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
                configuration.certificateChain = chain.map { .certificate($0) }
            } catch {
                throw ZooKeeperError(
                    code: .badArguments, message: "cannot read the certificate in \(certificateFile): \(error)")
            }
            let keyPath = keyFile ?? certificateFile
            do {
                // A callback, so that an encrypted key fails here instead of prompting on the terminal.
                let key = try NIOSSLPrivateKey(file: keyPath, format: .pem) { (setter: ([UInt8]) -> Void) in setter([]) }
                configuration.privateKey = .privateKey(key)
            } catch {
                throw ZooKeeperError(code: .badArguments, message: "cannot read the private key in \(keyPath): \(error)")
            }
        }
        do {
            self.init(context: try NIOSSLContext(configuration: configuration))
        } catch {
            throw ZooKeeperError(
                code: .badArguments,
                message: "cannot use the TLS certificate and key (does the key belong to the certificate?): \(error)")
        }
    }

    /// The handler that starts a connection to `host`.
    func makeHandler(host: String) throws -> NIOSSLClientHandler {
        let name = serverHostname ?? host
        // SNI carries names only; an address is verified against the certificate's IP SANs.
        let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : name)
    }
}
