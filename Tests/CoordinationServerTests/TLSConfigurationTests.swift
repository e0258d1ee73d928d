import CoordinationCore
import Foundation
import Logging
import Testing
import ZooKeeperWire

@testable import CoordinationServer

/// TLS keys of zoo.cfg, the x509 id of a client certificate, and the startup errors of bad key stores.
@Suite struct TLSConfigurationTests {
    func parse(_ text: String) throws(ConfigurationError) -> ServerConfiguration {
        try ServerConfiguration.parse(contents: "dataDir=/d\n" + text, fileName: "zoo.cfg")
    }

    func error(_ text: String) -> ConfigurationError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func zooKeeperTLSLinesAreRead() throws {
        let c = try parse(
            """
            clientPort=2181
            secureClientPort=2281
            secureClientPortAddress=127.0.0.1
            serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
            authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
            ssl.keyStore.location=/etc/zk/server.p12
            ssl.keyStore.password=secret
            ssl.trustStore.location=/etc/zk/ca.pem
            ssl.clientAuth=WANT
            ssl.enabledProtocols=TLSv1.3,TLSv1.2
            ssl.ciphersuites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256
            client.certReload=true
            X509AuthenticationProvider.superUser=CN=admin,O=Example
            """)
        #expect(c.plaintextClientPortEnabled)
        #expect(c.tls.secureClientPort == 2281)
        #expect(c.tls.secureClientPortAddress == "127.0.0.1")
        #expect(c.tls.effectiveKeyStoreType == .pkcs12)
        #expect(c.tls.effectiveTrustStoreType == .pem)
        #expect(c.tls.clientAuth == .want)
        #expect(c.tls.versionRange == .tls12 ... .tls13)
        #expect(c.tls.cipherSuites == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"])
        #expect(c.tls.certReload)
        #expect(c.tls.x509SuperUser == "CN=admin,O=Example")
        #expect(!c.tls.description.contains("secret"))
        #expect(!"\(c)".contains("secret") && !String(reflecting: c).contains("secret"))
        #expect(c.warnings.contains { $0.contains("serverCnxnFactory has no effect") })
    }

    @Test func defaultsAreZooKeepers() throws {
        let c = try parse("secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.trustStore.location=/ca.pem\n")
        #expect(c.tls.clientAuth == .need)
        #expect(!c.tls.certReload)
        #expect(c.tls.protocol == nil)
        #expect(try parse("ssl.protocol=TLSv1.3\n").tls.versionRange == .tls13 ... .tls13)
        #expect(try parse("").tls.isEnabled == false)
    }

    @Test func secureClientPortWithoutClientPortIsTLSOnly() throws {
        let only = try parse("secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.clientAuth=none\n")
        #expect(!only.plaintextClientPortEnabled)
        let both = try parse("clientPort=2181\nsecureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.clientAuth=none\n")
        #expect(both.plaintextClientPortEnabled)
        #expect(try parse("").plaintextClientPortEnabled)
    }

    @Test func inconsistentTLSSettingsNameTheirKeys() {
        #expect(error("secureClientPort=2281\n")?.message.contains("ssl.keyStore.location") == true)
        #expect(error("secureClientPort=2281\nssl.keyStore.location=/k.pem\n")?.message.contains("ssl.trustStore.location") == true)
        #expect(
            error("clientPort=2281\nsecureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.clientAuth=none\n")?.message
                == "clientPort and secureClientPort are both 2281; give them different ports")
        #expect(error("ssl.clientAuth=sometimes\n")?.reason
            == .invalidValue(key: "ssl.clientAuth", value: "sometimes", expected: "none, want or need"))
        #expect(error("ssl.protocol=TLSv1.1\n")?.reason
            == .invalidValue(key: "ssl.protocol", value: "TLSv1.1", expected: "TLSv1.2 or TLSv1.3"))
        #expect(error("ssl.keyStore.type=BKS\n")?.reason
            == .invalidValue(key: "ssl.keyStore.type", value: "BKS", expected: "PEM or PKCS12"))
        #expect(error("ssl.ciphersuites=TLS_RSA_WITH_RC4_128_MD5\n")?.message.contains("TLS_RSA_WITH_RC4_128_MD5") == true)
        #expect(error("ssl.crl=true\n")?.message.contains("no CRL/OCSP") == true)
        #expect(error("authProvider.sasl2=com.example.Provider\n") != nil)
        #expect(error("X509AuthenticationProvider.superUser=admin\n") != nil)
        #expect(error("serverCnxnFactory=com.example.Factory\n") != nil)
    }

    @Test func storeTypesFromFileNames() {
        #expect(ServerTLSSettings.StoreType.inferred(fromFileName: "/a/b.P12") == .pkcs12)
        #expect(ServerTLSSettings.StoreType.inferred(fromFileName: "/a/b.pfx") == .pkcs12)
        #expect(ServerTLSSettings.StoreType.inferred(fromFileName: "/a/b.jks") == .jks)
        #expect(ServerTLSSettings.StoreType.inferred(fromFileName: "/a/b.pem") == .pem)
        #expect(ServerTLSSettings.StoreType.inferred(fromFileName: "/a/b") == nil)
    }

    @Test func badKeyStoresFailWithTheirKey() throws {
        var settings = ServerTLSSettings()
        settings.secureClientPort = 0
        settings.clientAuth = .none
        settings.keyStoreLocation = "/nonexistent/server.pem"
        #expect(throws: TLSSetupError.self) { try settings.validateFiles() }
        do {
            try settings.validateFiles()
        } catch {
            #expect(error.key == "ssl.keyStore.location")
            #expect(error.message.contains("No such file or directory"))
        }
        let jks = FileManager.default.temporaryDirectory.appendingPathComponent("zooreg-\(UUID().uuidString).jks").path
        _ = FileManager.default.createFile(atPath: jks, contents: Data([0xfe, 0xed, 0xfe, 0xed]))
        defer { try? FileManager.default.removeItem(atPath: jks) }
        settings.keyStoreLocation = jks
        do {
            try settings.validateFiles()
            Issue.record("a JKS key store was accepted")
        } catch {
            #expect(error.key == "ssl.keyStore.type")
            #expect(error.message.contains("keytool -importkeystore"))
            #expect(error.message.contains("-deststoretype PKCS12"))
        }
        let empty = jks + ".pem"
        _ = FileManager.default.createFile(atPath: empty, contents: Data("not PEM".utf8))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        settings.keyStoreLocation = empty
        do {
            try settings.validateFiles()
            Issue.record("an empty key store was accepted")
        } catch {
            #expect(error.key == "ssl.keyStore.location")
        }
    }
}

/// The x509 id: Java's X500Principal.getName() of the subject. The expected strings were printed by Java 17
/// (`X509Certificate.getSubjectX500Principal().getName()`) for these self-signed test certificates (public
/// certificates only; their keys were thrown away).
@Suite struct X509SubjectNameTests {
    func der(_ base64: String) -> [UInt8] { Array(Data(base64Encoded: base64)!) }

    /// Escapes, leading and trailing spaces, non-ASCII, keywords without an RFC 2253 name as OID=#hex.
    @Test func escapesAndOIDsAsJavaWritesThem() throws {
        let certificate = der(
            "MIICnTCCAkOgAwIBAgIUBMBYh/X7HbcnQpXHtwztu3EFpbowCgYIKoZIzj0EAwIwgaMxGDAWBgNVBAMMDyBsZWFkI3g9eTw+OyJc" +
            "IDEUMBIGCSqGSIb3DQEJARYFYUBiLmMxCzAJBgNVBAUTAjQyMRcwFQYKCZImiZPyLGQBGRYHZXhhbXBsZTETMBEGCgmSJomT8ixk" +
            "ARkWA2NvbTESMBAGCgmSJomT8ixkAQEMAnUxMRAwDgYDVQQJDAdNYWluIFN0MRAwDgYDVQQHDAdaw7xyaWNoMB4XDTI2MTIwNzAx" +
            "MzEyNVoXDTI2MTIwODAxMzEyNVowgaMxGDAWBgNVBAMMDyBsZWFkI3g9eTw+OyJcIDEUMBIGCSqGSIb3DQEJARYFYUBiLmMxCzAJ" +
            "BgNVBAUTAjQyMRcwFQYKCZImiZPyLGQBGRYHZXhhbXBsZTETMBEGCgmSJomT8ixkARkWA2NvbTESMBAGCgmSJomT8ixkAQEMAnUx" +
            "MRAwDgYDVQQJDAdNYWluIFN0MRAwDgYDVQQHDAdaw7xyaWNoMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkOTDG1zqVTAVCqbW" +
            "vwrgAXfUWqnfVTaU0F3muqSd9Txi5Vsdty5jEtvRDWkYEUM4zfv6Xm/GvQ+i0BQ+X3SieaNTMFEwHQYDVR0OBBYEFNcUAhecFHGb" +
            "5k2Bn/M5jd2rNtH7MB8GA1UdIwQYMBaAFNcUAhecFHGb5k2Bn/M5jd2rNtH7MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID" +
            "SAAwRQIgXYxHcNw6lwqCbAtAylwVbIALEFDJ5v9vDs7rZmt3KRcCIQCVZiJ41gwCIi+N0GxOITBm1ucWMPAnVuudU/zJS0pU8Q==")
        #expect(try X509SubjectName.rfc2253(certificateDER: certificate) == "L=Zürich,STREET=Main St,UID=u1,DC=com,DC=example,2.5.4.5=#13023432,1.2.840.113549.1.9.1=#16056140622e63,CN=\\ lead\\#x\\=y\\<\\>\\;\\\"\\\\\\ ")
    }

    /// A multi-valued RDN in DER order, a leading '#'.
    @Test func multiValuedRDN() throws {
        let certificate = der(
            "MIICCjCCAbGgAwIBAgIUCjpbn0/bgp+ROzGLc0B96xErRe4wCgYIKoZIzj0EAwIwWzEMMAoGA1UECgwDT3JnMRQwCAYDVQQDDAFh" +
            "MAgGA1UECwwBYjELMAkGA1UEDAwCRHIxCzAJBgNVBCoMAkdpMQswCQYDVQQEDAJTdTEOMAwGA1UEAwwFI2hhc2gwHhcNMjYxMjA3" +
            "MDEzMTI1WhcNMjYxMjA4MDEzMTI1WjBbMQwwCgYDVQQKDANPcmcxFDAIBgNVBAMMAWEwCAYDVQQLDAFiMQswCQYDVQQMDAJEcjEL" +
            "MAkGA1UEKgwCR2kxCzAJBgNVBAQMAlN1MQ4wDAYDVQQDDAUjaGFzaDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABB3Z+v8DLLEy" +
            "BL4Cw58+2b6bKohaHjwxe++EvxEa7fZgSZrWcUny70V0LpdoSCYgpcMjRMuSCJnbVneB9pEcjtejUzBRMB0GA1UdDgQWBBQzPD4S" +
            "Cq2uS6Q941R8vpjeZzJ/ojAfBgNVHSMEGDAWgBQzPD4SCq2uS6Q941R8vpjeZzJ/ojAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49" +
            "BAMCA0cAMEQCIHMF2rfTmK1AkUpbGpxGGB/gOygDjnNHK6nRxcpBLD2NAiA6Vw1zCg9nrc68dWjz9LCbMujdr2f6b+BzH4EUolF7" +
            "rQ==")
        #expect(try X509SubjectName.rfc2253(certificateDER: certificate) == "CN=\\#hash,2.5.4.4=#0c025375,2.5.4.42=#0c024769,2.5.4.12=#0c024472,CN=a+OU=b,O=Org")
    }

    @Test func garbageIsRefused() {
        #expect(throws: (any Error).self) { try X509SubjectName.rfc2253(certificateDER: [0x30, 0x03, 0x02, 0x01]) }
        #expect(throws: (any Error).self) { try X509SubjectName.rfc2253(certificateDER: []) }
    }

    @Test func superUserGetsSuperAndX509Ids() throws {
        let dn = try X509SubjectName.rfc2253(certificateDER: der(
            "MIICCjCCAbGgAwIBAgIUCjpbn0/bgp+ROzGLc0B96xErRe4wCgYIKoZIzj0EAwIwWzEMMAoGA1UECgwDT3JnMRQwCAYDVQQDDAFh" +
            "MAgGA1UECwwBYjELMAkGA1UEDAwCRHIxCzAJBgNVBCoMAkdpMQswCQYDVQQEDAJTdTEOMAwGA1UEAwwFI2hhc2gwHhcNMjYxMjA3" +
            "MDEzMTI1WhcNMjYxMjA4MDEzMTI1WjBbMQwwCgYDVQQKDANPcmcxFDAIBgNVBAMMAWEwCAYDVQQLDAFiMQswCQYDVQQMDAJEcjEL" +
            "MAkGA1UEKgwCR2kxCzAJBgNVBAQMAlN1MQ4wDAYDVQQDDAUjaGFzaDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABB3Z+v8DLLEy" +
            "BL4Cw58+2b6bKohaHjwxe++EvxEa7fZgSZrWcUny70V0LpdoSCYgpcMjRMuSCJnbVneB9pEcjtejUzBRMB0GA1UdDgQWBBQzPD4S" +
            "Cq2uS6Q941R8vpjeZzJ/ojAfBgNVHSMEGDAWgBQzPD4SCq2uS6Q941R8vpjeZzJ/ojAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49" +
            "BAMCA0cAMEQCIHMF2rfTmK1AkUpbGpxGGB/gOygDjnNHK6nRxcpBLD2NAiA6Vw1zCg9nrc68dWjz9LCbMujdr2f6b+BzH4EUolF7" +
            "rQ=="))
        let logger = Logger(label: "test")
        let ids = try TLSConnectionIdentity.ids(certificateDER: der(
            "MIICCjCCAbGgAwIBAgIUCjpbn0/bgp+ROzGLc0B96xErRe4wCgYIKoZIzj0EAwIwWzEMMAoGA1UECgwDT3JnMRQwCAYDVQQDDAFh" +
            "MAgGA1UECwwBYjELMAkGA1UEDAwCRHIxCzAJBgNVBCoMAkdpMQswCQYDVQQEDAJTdTEOMAwGA1UEAwwFI2hhc2gwHhcNMjYxMjA3" +
            "MDEzMTI1WhcNMjYxMjA4MDEzMTI1WjBbMQwwCgYDVQQKDANPcmcxFDAIBgNVBAMMAWEwCAYDVQQLDAFiMQswCQYDVQQMDAJEcjEL" +
            "MAkGA1UEKgwCR2kxCzAJBgNVBAQMAlN1MQ4wDAYDVQQDDAUjaGFzaDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABB3Z+v8DLLEy" +
            "BL4Cw58+2b6bKohaHjwxe++EvxEa7fZgSZrWcUny70V0LpdoSCYgpcMjRMuSCJnbVneB9pEcjtejUzBRMB0GA1UdDgQWBBQzPD4S" +
            "Cq2uS6Q941R8vpjeZzJ/ojAfBgNVHSMEGDAWgBQzPD4SCq2uS6Q941R8vpjeZzJ/ojAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49" +
            "BAMCA0cAMEQCIHMF2rfTmK1AkUpbGpxGGB/gOygDjnNHK6nRxcpBLD2NAiA6Vw1zCg9nrc68dWjz9LCbMujdr2f6b+BzH4EUolF7" +
            "rQ=="), superUser: dn, logger: logger).get()
        #expect(ids == [Id(scheme: "super", id: dn), Id(scheme: "x509", id: dn)])
    }
}
