import NIOCore
import Persistence
import ZooKeeperWire

/// A batch of entries appended as one value of the shared log: many requests per etcd put.
///
/// Format (big-endian): magic "ZRB1", replica id (u8), incarnation (u64), sequence (u64), entry count (u32), the
/// entries, then a CRC32C (u32) of everything before it. An entry is: kind (u8), connection (u64), wall millis
/// (i64), monotonic nanos (i64), then by kind:
/// - connect (1): session id (i64), password (u16 length + bytes), remote address (u16 length + UTF-8), the
///   ConnectRequest as Jute (u32 length + bytes);
/// - request (2): xid (i32), session id (i64), auth count (u16) + per id scheme and id (u16 length + UTF-8
///   each), opcode (i32), body length (u32) + the request body as on the wire;
/// - disconnect (3), reap (4): nothing more;
/// - expire (5): session id (i64).
public struct LogBatch: Sendable, Equatable {
    public var replicaId: UInt8
    public var incarnation: UInt64
    public var sequence: UInt64
    public var entries: [LogEntry]

    public init(replicaId: UInt8, incarnation: UInt64, sequence: UInt64, entries: [LogEntry]) {
        self.replicaId = replicaId
        self.incarnation = incarnation
        self.sequence = sequence
        self.entries = entries
    }

    static let magic: UInt32 = 0x5A52_4231  // "ZRB1"

    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case tooShort
        case badMagic
        case checksumMismatch
        case malformed(String)

        public var description: String {
            switch self {
            case .tooShort: return "batch shorter than its header"
            case .badMagic: return "not a zooreg log batch"
            case .checksumMismatch: return "batch checksum mismatch"
            case .malformed(let why): return "malformed batch: \(why)"
            }
        }
    }

    public func encode() -> [UInt8] {
        var b = ByteBufferAllocator().buffer(capacity: 64 + entries.count * 64)
        b.writeInteger(Self.magic)
        b.writeInteger(replicaId)
        b.writeInteger(incarnation)
        b.writeInteger(sequence)
        b.writeInteger(UInt32(entries.count))
        for e in entries { Self.encode(e, into: &b) }
        let crc = b.withUnsafeReadableBytes { CRC32C.checksum($0) }
        b.writeInteger(crc)
        return Array(b.readableBytesView)
    }

    /// The encoded size of one entry, for batching under the log's request size limit.
    public static func encodedSize(of entry: LogEntry) -> Int {
        var b = ByteBufferAllocator().buffer(capacity: 64)
        encode(entry, into: &b)
        return b.readableBytes
    }

    static func encode(_ e: LogEntry, into b: inout ByteBuffer) {
        let kind: UInt8
        switch e.kind {
        case .connect: kind = 1
        case .request: kind = 2
        case .disconnect: kind = 3
        case .reap: kind = 4
        case .expire: kind = 5
        }
        b.writeInteger(kind)
        b.writeInteger(e.connection)
        b.writeInteger(e.wallMillis)
        b.writeInteger(e.monotonicNanos)
        switch e.kind {
        case .connect(let request, let password, let sessionId, let remoteAddress):
            b.writeInteger(sessionId)
            b.writeInteger(UInt16(password.count))
            b.writeBytes(password)
            let address = Array(remoteAddress.utf8.prefix(1024))
            b.writeInteger(UInt16(address.count))
            b.writeBytes(address)
            let body = request.juteBytes()
            b.writeInteger(UInt32(body.readableBytes))
            b.writeImmutableBuffer(body)
        case .request(let xid, let request, let sessionId, let authInfo):
            b.writeInteger(xid)
            b.writeInteger(sessionId)
            b.writeInteger(UInt16(min(authInfo.count, Int(UInt16.max))))
            for id in authInfo.prefix(Int(UInt16.max)) {
                for text in [id.scheme, id.id] {
                    let bytes = Array(text.utf8.prefix(Int(UInt16.max)))
                    b.writeInteger(UInt16(bytes.count))
                    b.writeBytes(bytes)
                }
            }
            b.writeInteger(request.opCode.rawValue)
            let lengthIndex = b.writerIndex
            b.writeInteger(UInt32(0))
            let start = b.writerIndex
            request.encodeBody(into: &b)
            b.setInteger(UInt32(b.writerIndex - start), at: lengthIndex)
        case .disconnect, .reap:
            break
        case .expire(let sessionId):
            b.writeInteger(sessionId)
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> LogBatch {
        guard bytes.count >= 4 + 1 + 8 + 8 + 4 + 4 else { throw .tooShort }
        var b = ByteBufferAllocator().buffer(bytes: bytes)
        let body = bytes.count - 4
        let expected = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        let stored = b.getInteger(at: body, as: UInt32.self)!
        guard b.getInteger(at: 0, as: UInt32.self) == magic else { throw .badMagic }
        guard stored == expected else { throw .checksumMismatch }
        b.moveWriterIndex(to: body)
        b.moveReaderIndex(forwardBy: 4)
        let replicaId: UInt8 = b.readInteger()!
        let incarnation: UInt64 = b.readInteger()!
        let sequence: UInt64 = b.readInteger()!
        let count: UInt32 = b.readInteger()!
        guard Int(count) <= b.readableBytes else { throw .malformed("entry count \(count)") }
        var entries: [LogEntry] = []
        entries.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            entries.append(try decodeEntry(&b, index: i))
        }
        guard b.readableBytes == 0 else { throw .malformed("\(b.readableBytes) trailing bytes") }
        return LogBatch(replicaId: replicaId, incarnation: incarnation, sequence: sequence, entries: entries)
    }

    private static func decodeEntry(_ b: inout ByteBuffer, index: Int) throws(DecodeError) -> LogEntry {
        guard let kind: UInt8 = b.readInteger(), let connection: UInt64 = b.readInteger(),
            let wall: Int64 = b.readInteger(), let mono: Int64 = b.readInteger()
        else { throw .malformed("entry \(index) truncated") }
        let k: LogEntry.Kind
        switch kind {
        case 1:
            guard let sid: Int64 = b.readInteger(), let pl: UInt16 = b.readInteger(),
                let password = b.readBytes(length: Int(pl)), let al: UInt16 = b.readInteger(),
                let address = b.readString(length: Int(al)), let rl: UInt32 = b.readInteger(),
                var body = b.readSlice(length: Int(rl))
            else { throw .malformed("connect entry \(index) truncated") }
            let request: ConnectRequest
            do { request = try ConnectRequest(juteFrom: &body) } catch { throw .malformed("connect entry \(index): \(error)") }
            k = .connect(request, password: password, sessionId: sid, remoteAddress: address)
        case 2:
            guard let xid: Int32 = b.readInteger(), let sid: Int64 = b.readInteger(), let count: UInt16 = b.readInteger()
            else { throw .malformed("request entry \(index) truncated") }
            var authInfo: [Id] = []
            for _ in 0..<Int(count) {
                guard let sl: UInt16 = b.readInteger(), let scheme = b.readString(length: Int(sl)),
                    let il: UInt16 = b.readInteger(), let id = b.readString(length: Int(il))
                else { throw .malformed("request entry \(index): auth truncated") }
                authInfo.append(Id(scheme: scheme, id: id))
            }
            guard let op: Int32 = b.readInteger(), let len: UInt32 = b.readInteger(), var body = b.readSlice(length: Int(len))
            else { throw .malformed("request entry \(index) truncated") }
            do {
                k = .request(xid: xid, try ZooKeeperRequest.decode(opCode: op, from: &body), sessionId: sid, authInfo: authInfo)
            } catch {
                throw .malformed("request entry \(index): \(error)")
            }
        case 3: k = .disconnect
        case 4: k = .reap
        case 5:
            guard let sid: Int64 = b.readInteger() else { throw .malformed("expire entry \(index) truncated") }
            k = .expire(sessionId: sid)
        default:
            throw .malformed("entry \(index) has unknown kind \(kind)")
        }
        return LogEntry(connection: connection, kind: k, wallMillis: wall, monotonicNanos: mono)
    }
}
