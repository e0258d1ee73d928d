import NIOCore

/// A value with Apache Jute's binary encoding (big-endian, length-prefixed), as used by ZooKeeper.
///
/// Decoding must consume exactly the bytes of the record; encoding appends them.
public protocol JuteRecord: Sendable {
    init(juteFrom buffer: inout ByteBuffer) throws(JuteError)
    func juteEncode(into buffer: inout ByteBuffer)
}

extension JuteRecord {
    /// Decodes a record that must fill the whole buffer.
    public static func decodeWhole(_ buffer: ByteBuffer) throws(JuteError) -> Self {
        var copy = buffer
        let value = try Self(juteFrom: &copy)
        if copy.readableBytes != 0 { throw .trailingBytes(count: copy.readableBytes) }
        return value
    }

    /// Encodes the record into a fresh buffer.
    public func juteBytes(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        juteEncode(into: &buffer)
        return buffer
    }
}
