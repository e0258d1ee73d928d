import Jute
import NIOCore

/// The handshake a client sends first, without a request header.
///
/// `readOnly` was appended by ZooKeeper 3.4; older clients omit the byte. Decoding sets it to nil when the
/// byte is absent, and encoding writes it only when it is non-nil, so a server can answer in the client's shape.
/// Decode it from the whole frame: the absence of the last byte is only visible at the end of the frame.
public struct ConnectRequest: JuteRecord, Hashable, Sendable {
    public var protocolVersion: Int32
    public var lastZxidSeen: Int64
    public var timeOut: Int32
    public var sessionId: Int64
    public var passwd: [UInt8]
    public var readOnly: Bool?

    @inlinable
    public init(
        protocolVersion: Int32 = 0, lastZxidSeen: Int64, timeOut: Int32, sessionId: Int64, passwd: [UInt8],
        readOnly: Bool?
    ) {
        self.protocolVersion = protocolVersion
        self.lastZxidSeen = lastZxidSeen
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.protocolVersion = try buffer.readJuteInt("ConnectRequest.protocolVersion")
        self.lastZxidSeen = try buffer.readJuteLong("ConnectRequest.lastZxidSeen")
        self.timeOut = try buffer.readJuteInt("ConnectRequest.timeOut")
        self.sessionId = try buffer.readJuteLong("ConnectRequest.sessionId")
        self.passwd = try buffer.readZKBuffer("ConnectRequest.passwd")
        self.readOnly = buffer.readableBytes > 0 ? try buffer.readJuteBool("ConnectRequest.readOnly") : nil
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(protocolVersion)
        buffer.writeJuteLong(lastZxidSeen)
        buffer.writeJuteInt(timeOut)
        buffer.writeJuteLong(sessionId)
        buffer.writeJuteBuffer(passwd)
        if let readOnly { buffer.writeJuteBool(readOnly) }
    }
}

/// The server's answer to `ConnectRequest`, without a reply header. `readOnly` follows the same rule as the
/// request's: nil means the byte is absent.
///
/// A rejected session is answered with `timeOut` 0, `sessionId` 0 and 16 zero bytes of password.
public struct ConnectResponse: JuteRecord, Hashable, Sendable {
    public var protocolVersion: Int32
    public var timeOut: Int32
    public var sessionId: Int64
    public var passwd: [UInt8]
    public var readOnly: Bool?

    @inlinable
    public init(protocolVersion: Int32 = 0, timeOut: Int32, sessionId: Int64, passwd: [UInt8], readOnly: Bool?) {
        self.protocolVersion = protocolVersion
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.protocolVersion = try buffer.readJuteInt("ConnectResponse.protocolVersion")
        self.timeOut = try buffer.readJuteInt("ConnectResponse.timeOut")
        self.sessionId = try buffer.readJuteLong("ConnectResponse.sessionId")
        self.passwd = try buffer.readZKBuffer("ConnectResponse.passwd")
        self.readOnly = buffer.readableBytes > 0 ? try buffer.readJuteBool("ConnectResponse.readOnly") : nil
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(protocolVersion)
        buffer.writeJuteInt(timeOut)
        buffer.writeJuteLong(sessionId)
        buffer.writeJuteBuffer(passwd)
        if let readOnly { buffer.writeJuteBool(readOnly) }
    }

    /// The answer to a handshake with an unknown session or a wrong password (ZooKeeper then closes the socket).
    @inlinable
    public static func rejected(readOnly: Bool?) -> ConnectResponse {
        ConnectResponse(protocolVersion: 0, timeOut: 0, sessionId: 0, passwd: [UInt8](repeating: 0, count: 16),
                        readOnly: readOnly)
    }
}
