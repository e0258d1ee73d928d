import NIOCore

/// Splits a byte stream into ZooKeeper frames: a 4-byte big-endian length, then that many bytes. Emits each
/// payload without its length.
///
/// Like ZooKeeper (`len < 0 || len > jute.maxbuffer` in NIOServerCnxn and ClientCnxnSocket), a negative length
/// throws `WireError.negativeLength` and a length above `maxFrameLength` throws `WireError.frameTooLarge`, before
/// any of the payload is buffered; the connection should then be closed.
public struct ZooKeeperFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// jute.maxbuffer's default: 0xfffff bytes.
    public static let defaultMaxFrameLength = 0xfffff

    /// The largest accepted payload length (jute.maxbuffer).
    public var maxFrameLength: Int

    public init(maxFrameLength: Int = ZooKeeperFrameDecoder.defaultMaxFrameLength) {
        self.maxFrameLength = maxFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        try Self.readFrame(from: &buffer, maxFrameLength: maxFrameLength)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }

    /// Reads one frame if it is complete; validates the length as soon as its 4 bytes are there.
    @inlinable
    static func readFrame(from buffer: inout ByteBuffer, maxFrameLength: Int) throws(WireError) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return nil
        }
        if length < 0 { throw .negativeLength(length) }
        if Int(length) > maxFrameLength { throw .frameTooLarge(Int(length)) }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))
    }
}
