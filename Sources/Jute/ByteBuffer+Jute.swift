import NIOCore

/// Jute primitives over ByteBuffer. The `field` names only serve error messages.
extension ByteBuffer {
    /// The largest length prefix accepted for a buffer, string or vector (jute.maxbuffer bounds whole frames
    /// before this is reached; this guards allocation only).
    public static let juteMaxLength: Int32 = 0x7FFF_FFF0

    @inlinable
    public mutating func readJuteInt(_ field: String = "int") throws(JuteError) -> Int32 {
        guard let v = readInteger(endianness: .big, as: Int32.self) else { throw .truncated(field: field) }
        return v
    }

    @inlinable
    public mutating func readJuteLong(_ field: String = "long") throws(JuteError) -> Int64 {
        guard let v = readInteger(endianness: .big, as: Int64.self) else { throw .truncated(field: field) }
        return v
    }

    @inlinable
    public mutating func readJuteBool(_ field: String = "boolean") throws(JuteError) -> Bool {
        guard let v = readInteger(as: UInt8.self) else { throw .truncated(field: field) }
        return v != 0
    }

    /// A `buffer`: i32 length (-1 is null) then bytes. Null reads as nil.
    @inlinable
    public mutating func readJuteBuffer(_ field: String = "buffer") throws(JuteError) -> [UInt8]? {
        let length = try readJuteInt(field)
        if length == -1 { return nil }
        guard length >= 0 else { throw .invalidLength(field: field, length: length) }
        guard let bytes = readBytes(length: Int(length)) else { throw .truncated(field: field) }
        return bytes
    }

    /// A `ustring`: i32 length (-1 is null) then UTF-8. Null reads as nil.
    @inlinable
    public mutating func readJuteString(_ field: String = "ustring") throws(JuteError) -> String? {
        let length = try readJuteInt(field)
        if length == -1 { return nil }
        guard length >= 0 else { throw .invalidLength(field: field, length: length) }
        guard readableBytes >= Int(length) else { throw .truncated(field: field) }
        guard let s = readString(length: Int(length)) else { throw .truncated(field: field) }
        return s
    }

    /// A `vector<T>`: i32 count (-1 is null) then the items. Null reads as nil.
    @inlinable
    public mutating func readJuteVector<T>(
        _ field: String = "vector", _ item: (inout ByteBuffer) throws(JuteError) -> T
    ) throws(JuteError) -> [T]? {
        let count = try readJuteInt(field)
        if count == -1 { return nil }
        guard count >= 0 else { throw .invalidLength(field: field, length: count) }
        // Each item takes at least one byte: a count beyond the bytes left is malformed, not a reason to allocate.
        guard Int(count) <= readableBytes else { throw .invalidLength(field: field, length: count) }
        var items: [T] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<count { items.append(try item(&self)) }
        return items
    }

    @inlinable
    public mutating func writeJuteInt(_ v: Int32) { writeInteger(v, endianness: .big) }

    @inlinable
    public mutating func writeJuteLong(_ v: Int64) { writeInteger(v, endianness: .big) }

    @inlinable
    public mutating func writeJuteBool(_ v: Bool) { writeInteger(v ? UInt8(1) : UInt8(0)) }

    @inlinable
    public mutating func writeJuteBuffer(_ v: [UInt8]?) {
        guard let v else { writeJuteInt(-1); return }
        writeJuteInt(Int32(v.count))
        writeBytes(v)
    }

    @inlinable
    public mutating func writeJuteString(_ v: String?) {
        guard let v else { writeJuteInt(-1); return }
        let lengthIndex = writerIndex
        writeJuteInt(0)
        let n = writeString(v)
        setInteger(Int32(n), at: lengthIndex, endianness: .big)
    }

    @inlinable
    public mutating func writeJuteVector<T>(_ v: [T]?, _ item: (inout ByteBuffer, T) -> Void) {
        guard let v else { writeJuteInt(-1); return }
        writeJuteInt(Int32(v.count))
        for x in v { item(&self, x) }
    }

    /// Writes a record.
    @inlinable
    public mutating func writeJuteRecord<R: JuteRecord>(_ r: R) { r.juteEncode(into: &self) }

    /// Reads a record.
    @inlinable
    public mutating func readJuteRecord<R: JuteRecord>(_: R.Type = R.self) throws(JuteError) -> R {
        try R(juteFrom: &self)
    }
}
