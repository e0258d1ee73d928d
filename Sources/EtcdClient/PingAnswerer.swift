import NIOCore

/// Answers etcd's HTTP/2 PING frames below the HTTP/2 handler, so that the HTTP/2 handler never sees them.
///
/// Why: etcd's gRPC server (grpc-go) estimates bandwidth-delay product by sending a PING after DATA it receives
/// whenever no estimate is in progress, and it never stops while messages are small (its window never reaches
/// the estimator's limit). Under the shared log's load that is dozens of PINGs a second on one connection.
/// swift-nio-http2 (since its control-frame rate limit, 200 per 30 s) takes that for a denial-of-service attack and
/// closes the connection: every few seconds the ensemble lost its watch and its in-flight append
/// ("Stream unexpectedly closed"), and etcd logged "transport is closing". grpc-swift-nio-transport does not
/// expose that limit, so this handler, placed next to the socket (`onCreateTCPConnection`), answers a PING
/// (sends the PING ACK with the same 8 opaque bytes, as RFC 9113 §6.7 requires) and passes every other frame on
/// unchanged. PING ACKs, the answers to the client's own keepalive PINGs, pass on as well.
///
/// The server-to-client direction carries no preface, only frames: a 9-byte header (24-bit length, type, flags,
/// 31-bit stream id) and `length` bytes of payload. Frames may be split across reads, and a read may hold many.
final class PingAnswerer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let headerLength = 9
    static let pingType: UInt8 = 0x6
    static let ackFlag: UInt8 = 0x1
    static let pingFrameLength = headerLength + 8

    /// Bytes of the current frame's payload still to pass on.
    private var passThrough = 0
    /// A frame header (or a whole PING) split across reads.
    private var partial: ByteBuffer?
    /// PINGs answered (for tests).
    private(set) var answered = 0

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if var held = partial {
            partial = nil
            held.writeBuffer(&input)
            input = held
        }
        var answeredNow = false
        while input.readableBytes > 0 {
            if passThrough > 0 {
                let n = min(passThrough, input.readableBytes)
                passThrough -= n
                context.fireChannelRead(wrapInboundOut(input.readSlice(length: n)!))
                continue
            }
            guard input.readableBytes >= Self.headerLength,
                let b0 = input.getInteger(at: input.readerIndex, as: UInt8.self),
                let b1 = input.getInteger(at: input.readerIndex + 1, as: UInt8.self),
                let b2 = input.getInteger(at: input.readerIndex + 2, as: UInt8.self),
                let type = input.getInteger(at: input.readerIndex + 3, as: UInt8.self),
                let flags = input.getInteger(at: input.readerIndex + 4, as: UInt8.self)
            else {
                partial = input.readSlice(length: input.readableBytes)
                break
            }
            let length = Int(b0) << 16 | Int(b1) << 8 | Int(b2)
            if type == Self.pingType, flags & Self.ackFlag == 0, length == 8 {
                guard input.readableBytes >= Self.pingFrameLength else {
                    partial = input.readSlice(length: input.readableBytes)
                    break
                }
                var ack = context.channel.allocator.buffer(capacity: Self.pingFrameLength)
                ack.writeBytes([0, 0, 8, Self.pingType, Self.ackFlag, 0, 0, 0, 0])
                input.moveReaderIndex(forwardBy: Self.headerLength)
                var opaque = input.readSlice(length: 8)!
                ack.writeBuffer(&opaque)
                context.write(wrapOutboundOut(ack), promise: nil)
                answered += 1
                answeredNow = true
            } else {
                // Any other frame (a malformed PING included: the HTTP/2 handler reports it) passes on whole.
                passThrough = length
                context.fireChannelRead(wrapInboundOut(input.readSlice(length: Self.headerLength)!))
            }
        }
        if answeredNow { context.flush() }
    }
}
