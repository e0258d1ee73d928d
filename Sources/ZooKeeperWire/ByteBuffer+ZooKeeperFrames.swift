import Jute
import NIOCore

extension ByteBuffer {
    /// Writes a 4-byte length, then whatever `body` writes, then patches the length. Returns the frame size.
    @inlinable
    @discardableResult
    public mutating func writeZooKeeperFrame(_ body: (inout ByteBuffer) -> Void) -> Int {
        let start = writerIndex
        writeInteger(Int32(0), endianness: .big)
        body(&self)
        let length = writerIndex - start - 4
        setInteger(Int32(truncatingIfNeeded: length), at: start, endianness: .big)
        return length + 4
    }

    /// Writes a length-prefixed frame holding one record (the handshake's `ConnectRequest`/`ConnectResponse`).
    @inlinable
    @discardableResult
    public mutating func writeZooKeeperFrame<R: JuteRecord>(record: R) -> Int {
        writeZooKeeperFrame { record.juteEncode(into: &$0) }
    }

    /// Writes a complete length-prefixed reply frame: `ReplyHeader{xid, zxid, err}`, then the body of `response`
    /// only when `err` is `.ok` (a multi reports its failures inside a body whose header err is 0).
    @inlinable
    @discardableResult
    public mutating func writeZooKeeperReply(
        xid: Int32, zxid: Int64, err: ErrorCode, response: ZooKeeperResponse
    ) -> Int {
        writeZooKeeperReply(xid: xid, zxid: zxid, err: err.rawValue, response: response)
    }

    /// Writes a complete length-prefixed reply frame; the body goes out only when `err` is 0.
    @inlinable
    @discardableResult
    public mutating func writeZooKeeperReply(
        xid: Int32, zxid: Int64, err: Int32, response: ZooKeeperResponse
    ) -> Int {
        writeZooKeeperFrame { buffer in
            ReplyHeader(xid: xid, zxid: zxid, err: err).juteEncode(into: &buffer)
            if err == 0 { response.encodeBody(into: &buffer) }
        }
    }

    /// Writes a complete length-prefixed watch notification: `ReplyHeader{-1, zxid, 0}` + `WatcherEvent`.
    @inlinable
    @discardableResult
    public mutating func writeZooKeeperNotification(zxid: Int64, event: WatcherEvent) -> Int {
        writeZooKeeperFrame { buffer in
            ReplyHeader(xid: SpecialXid.notification, zxid: zxid, err: 0).juteEncode(into: &buffer)
            event.juteEncode(into: &buffer)
        }
    }

    /// Writes a complete length-prefixed request frame (client side).
    @inlinable
    @discardableResult
    public mutating func writeZooKeeperRequest(_ frame: RequestFrame) -> Int {
        writeZooKeeperFrame { frame.encode(into: &$0) }
    }

    /// Writes a complete length-prefixed request frame for `request` with `xid` (client side).
    @inlinable
    @discardableResult
    public mutating func writeZooKeeperRequest(xid: Int32, request: ZooKeeperRequest) -> Int {
        writeZooKeeperRequest(RequestFrame(xid: xid, request: request))
    }
}

/// A reply frame as the client receives it (without the length prefix): the header, and the undecoded body,
/// which is empty unless err is 0. Decode the body with `ZooKeeperResponse.decode(for:from:)` once the xid has
/// told which request it answers, or as a `WatcherEvent` when the xid is -1.
public struct ReplyFrame: Sendable, Hashable {
    public var header: ReplyHeader
    public var body: ByteBuffer

    @inlinable
    public init(header: ReplyHeader, body: ByteBuffer) {
        self.header = header
        self.body = body
    }

    /// Splits a frame payload into its header and body.
    public static func decode(_ frame: ByteBuffer) throws(WireError) -> ReplyFrame {
        var body = frame
        let header = try body.readWireRecord(ReplyHeader.self)
        return ReplyFrame(header: header, body: body)
    }

    /// The body as a watch notification (for xid -1); it must be consumed entirely.
    public func notification() throws(WireError) -> WatcherEvent {
        do { return try WatcherEvent.decodeWhole(body) } catch { throw .jute(error) }
    }

    /// The body as the response to `opCode` (for a reply whose err is 0).
    public func response(for opCode: OpCode) throws(WireError) -> ZooKeeperResponse {
        var body = body
        return try ZooKeeperResponse.decode(for: opCode, from: &body)
    }
}
