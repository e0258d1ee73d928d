import SwiftASN1

/// The subject of a DER certificate as the `x509` scheme's id: the string Java's
/// `X509Certificate.getSubjectX500Principal().getName()` returns, which is what ZooKeeper's
/// X509AuthenticationProvider.getClientId uses. The rules (checked against Java 17):
/// - RDNs last to first, separated by `,`; the attributes of a multi-valued RDN in their DER order, joined by `+`;
/// - the keywords CN, C, L, ST, O, OU, STREET, DC and UID; any other attribute as its dotted OID with the value's
///   whole DER encoding in hexadecimal after `#` (as for a value that is not a string type);
/// - string values (PrintableString, T61String, IA5String, GeneralString, BMPString, UTF8String) escape
///   `, = + < > # ; " \` with a backslash, write NUL as `\00`, and put a backslash before leading and trailing
///   spaces (and carriage returns); other characters, non-ASCII included, are written as they are.
public enum X509SubjectName {
    public struct Malformed: Error, Sendable {}

    static let keywords: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
        "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
    ]

    /// The RFC 2253 subject of a DER-encoded X.509 certificate.
    public static func rfc2253(certificateDER: [UInt8]) throws -> String {
        let certificate = try DER.parse(certificateDER)
        guard case .constructed(let parts) = certificate.content, let tbs = parts.first(where: { _ in true }),
            case .constructed(let fields) = tbs.content
        else { throw Malformed() }
        var rest = Array(fields)
        // [0] EXPLICIT version is optional.
        if let first = rest.first, first.identifier.tagClass == .contextSpecific { rest.removeFirst() }
        // serialNumber, signature, issuer, validity, subject
        guard rest.count >= 5 else { throw Malformed() }
        return try rfc2253(name: rest[4])
    }

    /// The RFC 2253 form of a DER `Name` (SEQUENCE OF RelativeDistinguishedName).
    public static func rfc2253(name: ASN1Node) throws -> String {
        guard name.identifier == .sequence, case .constructed(let rdns) = name.content else { throw Malformed() }
        var out: [String] = []
        for rdn in rdns {
            guard rdn.identifier == .set, case .constructed(let attributes) = rdn.content else { throw Malformed() }
            var parts: [String] = []
            for attribute in attributes {
                guard attribute.identifier == .sequence, case .constructed(let pair) = attribute.content else {
                    throw Malformed()
                }
                let items = Array(pair)
                guard items.count == 2 else { throw Malformed() }
                let oid = try ASN1ObjectIdentifier(derEncoded: items[0])
                parts.append(attributeString(oid: oid.description, value: items[1]))
            }
            out.append(parts.joined(separator: "+"))
        }
        return out.reversed().joined(separator: ",")
    }

    static func attributeString(oid: String, value: ASN1Node) -> String {
        if let keyword = keywords[oid], let text = decodeString(value) {
            return keyword + "=" + escape(text)
        }
        return (keywords[oid] ?? oid) + "=#" + value.encodedBytes.map { hex($0) }.joined()
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// The text of a string-typed value, as Java's DerValue.getAsString decodes it; nil for other types.
    static func decodeString(_ node: ASN1Node) -> String? {
        guard node.identifier.tagClass == .universal, case .primitive(let bytes) = node.content else { return nil }
        switch node.identifier.tagNumber {
        case 12:  // UTF8String
            return String(decoding: bytes, as: UTF8.self)
        case 19, 22, 27:  // PrintableString, IA5String, GeneralString
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0 & 0x7f) }))
        case 20:  // T61String, read as ISO-8859-1
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        case 30:  // BMPString, UTF-16BE
            var units: [UInt16] = []
            var i = bytes.startIndex
            while i + 1 < bytes.endIndex {
                units.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]))
                i += 2
            }
            return String(decoding: units, as: UTF16.self)
        default:
            return nil
        }
    }

    static func escape(_ text: String) -> String {
        var chars: [String] = []
        for scalar in text.unicodeScalars {
            switch scalar {
            case ",", "=", "+", "<", ">", "#", ";", "\"", "\\": chars.append("\\" + String(scalar))
            case "\u{0}": chars.append("\\00")
            default: chars.append(String(scalar))
            }
        }
        // Leading and trailing spaces (and carriage returns) get a backslash.
        let blank: (String) -> Bool = { $0 == " " || $0 == "\r" }
        let lead = chars.firstIndex { !blank($0) } ?? chars.count
        let trail = chars.lastIndex { !blank($0) } ?? -1
        var out = ""
        for (i, c) in chars.enumerated() {
            if i < lead || i > trail { out += "\\" }
            out += c
        }
        return out
    }
}
