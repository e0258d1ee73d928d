import NIOSSL
import ServerConfig

extension TLSCipherSuites {
    /// The TLS 1.2 suites among `names`, in their order (ServerConfig's table holds their IANA codes, which are
    /// `NIOTLSCipher`'s raw values).
    static func ciphers(named names: [String]) -> [NIOTLSCipher] {
        codes(named: names).map(NIOTLSCipher.init(rawValue:))
    }
}
