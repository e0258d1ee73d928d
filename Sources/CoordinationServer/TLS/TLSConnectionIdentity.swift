import CoordinationCore
import Logging
import NIOCore
import NIOSSL
import ZooKeeperWire

/// What a connection on `secureClientPort` is authenticated as once its handshake completed: with a client
/// certificate (which the TLS layer already verified against the trust store when `ssl.clientAuth` is want or
/// need), `x509:<subject DN>`, and also `super` when the DN is `X509AuthenticationProvider.superUser`; without
/// one, nothing beyond its `ip` id (ZooKeeper does the same: `want` admits a client without a certificate).
struct TLSConnectionIdentity: Sendable {
    var clientAuth: ServerTLSSettings.ClientAuth
    var superUser: String?
    var handshakeTimeout: TimeAmount = .seconds(10)

    struct Refused: Error {}

    /// The ids for the connection, read from the TLS handler in `channel`'s pipeline; failure means close it.
    func transportAuth(channel: Channel, logger: Logger) -> Result<[Id], Refused> {
        guard clientAuth != .none else { return .success([]) }
        let certificate: NIOSSLCertificate?
        do {
            certificate = try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
        } catch {
            return .failure(Refused())
        }
        guard let certificate else { return .success([]) }
        return Self.ids(certificateDER: (try? certificate.toDERBytes()) ?? [], superUser: superUser, logger: logger)
    }

    static func ids(certificateDER: [UInt8], superUser: String?, logger: Logger) -> Result<[Id], Refused> {
        let dn: String
        do {
            dn = try X509SubjectName.rfc2253(certificateDER: certificateDER)
        } catch {
            logger.warning("Closing a TLS connection whose client certificate subject cannot be read")
            return .failure(Refused())
        }
        var ids: [Id] = []
        if let superUser, dn == superUser {
            ids.append(Id(scheme: "super", id: dn))
            logger.info("Authenticated a TLS client certificate as the superuser", metadata: ["x509.id": "\(dn)"])
        }
        ids.append(Id(scheme: X509Scheme.name, id: dn))
        logger.debug("Authenticated a TLS client certificate", metadata: ["x509.id": "\(dn)"])
        return .success(ids)
    }
}
