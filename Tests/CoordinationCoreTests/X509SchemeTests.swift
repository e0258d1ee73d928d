import Testing
import ZooKeeperWire

@testable import CoordinationCore

/// The x509 scheme in ACLs: exact DN match, validity as X500Principal(String) sees it, and `auth` expansion.
@Suite struct X509SchemeTests {
    let dn = "CN=client one,O=Example\\, Inc.,C=US"

    @Test func aclMatchesTheExactDN() {
        let acl = [ACL(perms: Perms.read.rawValue, id: Id(scheme: "x509", id: dn))]
        #expect(ACLs.isAllowed(acl, perm: .read, authInfo: [Id(scheme: "ip", id: "127.0.0.1"), Id(scheme: "x509", id: dn)]))
        #expect(!ACLs.isAllowed(acl, perm: .read, authInfo: [Id(scheme: "x509", id: "CN=client one")]))
        #expect(!ACLs.isAllowed(acl, perm: .write, authInfo: [Id(scheme: "x509", id: dn)]))
        #expect(!ACLs.isAllowed(acl, perm: .read, authInfo: [Id(scheme: "digest", id: dn)]))
    }

    @Test func validDistinguishedNames() {
        for valid in ["", "CN=a", dn, "cn=a, o=b", "CN=a+OU=b;O=c", "2.5.4.5=#13023432", "OID.2.5.4.3=x",
            "CN=\"quoted, value\"", "EMAILADDRESS=a@b.c", "CN="]
        {
            #expect(X509Scheme.isValidDistinguishedName(valid), "\(valid)")
        }
        for invalid in ["admin", "CN", "XYZ=a", "CN=a,", "2.5=#1", "CN=#12x", "CN=a\"b", "CN=\"open", "CN=a\\"] {
            #expect(!X509Scheme.isValidDistinguishedName(invalid), "\(invalid)")
        }
    }

    @Test func fixupValidatesAndExpandsAuth() {
        let x509 = ACL(perms: Perms.all.rawValue, id: Id(scheme: "x509", id: dn))
        #expect(ACLs.fixup([x509], authInfo: []) == [x509])
        #expect(ACLs.fixup([ACL(perms: Perms.all.rawValue, id: Id(scheme: "x509", id: "nobody"))], authInfo: []) == nil)
        let auth = ACL(perms: Perms.all.rawValue, id: Id(scheme: "auth", id: ""))
        #expect(ACLs.fixup([auth], authInfo: [Id(scheme: "ip", id: "127.0.0.1"), Id(scheme: "x509", id: dn)]) == [x509])
    }
}
