import Jute
import NIOCore
import ZooKeeperWire

/// A state change, decided by request preparation and applied to the state by `CoordinationState.apply`.
/// The same value is written to the log and replayed on recovery, so apply is deterministic: it takes the
/// zxid and time from the `TransactionHeader`, never from a clock.
public enum Transaction: Sendable, Equatable {
    case createSession(sessionId: Int64, timeout: Int32, password: [UInt8])
    /// Closes a session and deletes its ephemerals (those it owns when the transaction is applied).
    case closeSession(sessionId: Int64)
    case create(path: String, data: [UInt8]?, acl: [ACL], ephemeralOwner: Int64)
    case delete(path: String)
    case setData(path: String, data: [UInt8]?, version: Int32)
    case setACL(path: String, acl: [ACL], aversion: Int32)
    /// A successful multi: every op applied in order, atomically.
    case multi([Transaction])
    /// A no-op that only records a successful `check` inside a multi.
    case check(path: String)
    /// A write that failed preparation: it still takes a zxid, as in ZooKeeper (ErrorTxn), and changes nothing.
    case error(code: Int32)

    var tag: Int32 {
        switch self {
        case .createSession: return 1
        case .closeSession: return 2
        case .create: return 3
        case .delete: return 4
        case .setData: return 5
        case .setACL: return 6
        case .multi: return 7
        case .check: return 8
        case .error: return 9
        }
    }
}

/// Who asked for a transaction and when: the part of ZooKeeper's TxnHeader besides the zxid.
public struct TransactionHeader: Sendable, Equatable {
    public var zxid: Int64
    public var time: Int64
    public var sessionId: Int64
    public var cxid: Int32

    public init(zxid: Int64, time: Int64, sessionId: Int64, cxid: Int32) {
        self.zxid = zxid
        self.time = time
        self.sessionId = sessionId
        self.cxid = cxid
    }
}

/// A transaction as it is logged: header plus body (our own jute layout, version 1).
public struct LoggedTransaction: Sendable, Equatable {
    public var header: TransactionHeader
    public var transaction: Transaction

    public init(header: TransactionHeader, transaction: Transaction) {
        self.header = header
        self.transaction = transaction
    }

    static let formatVersion: Int32 = 1

    /// The log payload (the zxid is stored by the log record itself, and repeated here for checking).
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(Self.formatVersion)
        buffer.writeJuteLong(header.zxid)
        buffer.writeJuteLong(header.time)
        buffer.writeJuteLong(header.sessionId)
        buffer.writeJuteInt(header.cxid)
        Self.encode(transaction, into: &buffer)
    }

    public static func decode(from buffer: inout ByteBuffer) throws(JuteError) -> LoggedTransaction {
        let version = try buffer.readJuteInt("version")
        guard version == formatVersion else { throw .invalidValue(field: "txn.version", value: Int64(version)) }
        let header = TransactionHeader(
            zxid: try buffer.readJuteLong("zxid"), time: try buffer.readJuteLong("time"),
            sessionId: try buffer.readJuteLong("sessionId"), cxid: try buffer.readJuteInt("cxid"))
        let txn = try decodeTransaction(from: &buffer, depth: 0)
        if buffer.readableBytes != 0 { throw .trailingBytes(count: buffer.readableBytes) }
        return LoggedTransaction(header: header, transaction: txn)
    }

    static func encode(_ t: Transaction, into b: inout ByteBuffer) {
        b.writeJuteInt(t.tag)
        switch t {
        case .createSession(let id, let timeout, let password):
            b.writeJuteLong(id)
            b.writeJuteInt(timeout)
            b.writeJuteBuffer(password)
        case .closeSession(let id):
            b.writeJuteLong(id)
        case .create(let path, let data, let acl, let owner):
            b.writeJuteString(path)
            b.writeJuteBuffer(data)
            b.writeJuteVector(acl) { $0.writeJuteRecord($1) }
            b.writeJuteLong(owner)
        case .delete(let path), .check(let path):
            b.writeJuteString(path)
        case .setData(let path, let data, let version):
            b.writeJuteString(path)
            b.writeJuteBuffer(data)
            b.writeJuteInt(version)
        case .setACL(let path, let acl, let aversion):
            b.writeJuteString(path)
            b.writeJuteVector(acl) { $0.writeJuteRecord($1) }
            b.writeJuteInt(aversion)
        case .multi(let txns):
            b.writeJuteInt(Int32(txns.count))
            for t in txns { encode(t, into: &b) }
        case .error(let code):
            b.writeJuteInt(code)
        }
    }

    static func decodeTransaction(from b: inout ByteBuffer, depth: Int) throws(JuteError) -> Transaction {
        let tag = try b.readJuteInt("txn.type")
        switch tag {
        case 1:
            return .createSession(
                sessionId: try b.readJuteLong("sessionId"), timeout: try b.readJuteInt("timeout"),
                password: try b.readJuteBuffer("passwd") ?? [])
        case 2:
            return .closeSession(sessionId: try b.readJuteLong("sessionId"))
        case 3:
            let path = try b.readJuteString("path") ?? ""
            let data = try b.readJuteBuffer("data")
            let acl = try b.readJuteVector("acl") { (b: inout ByteBuffer) throws(JuteError) in try b.readJuteRecord(ACL.self) } ?? []
            return .create(path: path, data: data, acl: acl, ephemeralOwner: try b.readJuteLong("ephemeralOwner"))
        case 4:
            return .delete(path: try b.readJuteString("path") ?? "")
        case 5:
            return .setData(
                path: try b.readJuteString("path") ?? "", data: try b.readJuteBuffer("data"),
                version: try b.readJuteInt("version"))
        case 6:
            let path = try b.readJuteString("path") ?? ""
            let acl = try b.readJuteVector("acl") { (b: inout ByteBuffer) throws(JuteError) in try b.readJuteRecord(ACL.self) } ?? []
            return .setACL(path: path, acl: acl, aversion: try b.readJuteInt("aversion"))
        case 7:
            guard depth == 0 else { throw .invalidValue(field: "txn.type", value: 7) }
            let count = try b.readJuteInt("multi.count")
            guard count >= 0, Int(count) <= b.readableBytes else { throw .invalidLength(field: "multi", length: count) }
            var txns: [Transaction] = []
            for _ in 0..<count { txns.append(try decodeTransaction(from: &b, depth: depth + 1)) }
            return .multi(txns)
        case 8:
            return .check(path: try b.readJuteString("path") ?? "")
        case 9:
            return .error(code: try b.readJuteInt("err"))
        default:
            throw .invalidValue(field: "txn.type", value: Int64(tag))
        }
    }
}
