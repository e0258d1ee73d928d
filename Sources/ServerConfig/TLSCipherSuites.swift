/// `ssl.ciphersuites` names (IANA's, which Java and ZooKeeper use) of the suites SwiftNIO SSL can offer.
///
/// Pure, so that the configuration checks the names without linking NIOSSL: each suite is named with its IANA
/// code, which is the raw value of NIOSSL's `NIOTLSCipher` (CoordinationServer's `TLSCipherSuites.ciphers(named:)`
/// makes the ciphers).
package enum TLSCipherSuites {
    /// The TLS 1.2 suites SwiftNIO SSL offers: name and IANA code.
    package static let table: [(name: String, code: UInt16)] = [
        ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F),
        ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C),
        ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030),
        ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9),
        ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC009),
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC013),
        ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xC00A),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xC014),
        ("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009C),
        ("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009D),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002F),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
    ]

    /// TLS 1.3's suites: always on in BoringSSL, so naming them is accepted and changes nothing.
    package static let tls13Names: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    /// Every name `ssl.ciphersuites` accepts: the TLS 1.2 suites in their order, then TLS 1.3's.
    package static var knownNames: [String] { table.map(\.name) + tls13Names.sorted() }

    /// Whether `ssl.ciphersuites` accepts `name`.
    package static func isKnown(_ name: String) -> Bool {
        tls13Names.contains(name) || table.contains { $0.name == name }
    }

    /// The IANA codes of the TLS 1.2 suites among `names`, in their order.
    package static func codes(named names: [String]) -> [UInt16] {
        names.compactMap { name in table.first { $0.name == name }?.code }
    }
}
