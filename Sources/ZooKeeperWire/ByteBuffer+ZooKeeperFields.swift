import Jute
import NIOCore

// Field readers with ZooKeeper's conventions: a null `ustring`, `buffer` or `vector` reads as its empty value,
// except where a record keeps the distinction (those call the Jute readers directly).
extension ByteBuffer {
    @inlinable
    mutating func readZKString(_ field: String) throws(JuteError) -> String {
        try readJuteString(field) ?? ""
    }

    /// A request's path: ZooKeeper fails a null path with a marshalling error (it never reaches the tree).
    @inlinable
    mutating func readZKPath(_ field: String) throws(JuteError) -> String {
        guard let path = try readJuteString(field) else { throw .invalidLength(field: field, length: -1) }
        return path
    }

    @inlinable
    mutating func readZKBuffer(_ field: String) throws(JuteError) -> [UInt8] {
        try readJuteBuffer(field) ?? []
    }

    @inlinable
    mutating func readZKStringVector(_ field: String) throws(JuteError) -> [String] {
        try readJuteVector(field) { (b: inout ByteBuffer) throws(JuteError) -> String in
            try b.readZKString(field)
        } ?? []
    }

    @inlinable
    mutating func readZKRecordVector<R: JuteRecord>(_ field: String, _: R.Type = R.self) throws(JuteError) -> [R] {
        try readJuteVector(field) { (b: inout ByteBuffer) throws(JuteError) -> R in
            try R(juteFrom: &b)
        } ?? []
    }

    @inlinable
    mutating func writeZKStringVector(_ v: [String]) {
        writeJuteVector(v) { b, s in b.writeJuteString(s) }
    }

    @inlinable
    mutating func writeZKRecordVector<R: JuteRecord>(_ v: [R]) {
        writeJuteVector(v) { b, r in r.juteEncode(into: &b) }
    }
}
