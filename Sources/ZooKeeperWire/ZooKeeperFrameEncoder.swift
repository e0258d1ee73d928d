import NIOCore

/// Prefixes each outgoing payload with its 4-byte big-endian length.
public struct ZooKeeperFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.reserveCapacity(out.writerIndex + 4 + data.readableBytes)
        out.writeInteger(Int32(data.readableBytes), endianness: .big)
        var data = data
        out.writeBuffer(&data)
    }
}
