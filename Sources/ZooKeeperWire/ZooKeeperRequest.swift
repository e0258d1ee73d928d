import Jute
import NIOCore

/// A client request after the handshake: the body that follows a `RequestHeader`, by operation.
public enum ZooKeeperRequest: Sendable, Hashable {
    case ping
    case closeSession
    case create(CreateRequest)
    case create2(CreateRequest)
    case createContainer(CreateRequest)
    case createTTL(CreateTTLRequest)
    case delete(DeleteRequest)
    case exists(ExistsRequest)
    case getData(GetDataRequest)
    case setData(SetDataRequest)
    case getACL(GetACLRequest)
    case setACL(SetACLRequest)
    case getChildren(GetChildrenRequest)
    case getChildren2(GetChildren2Request)
    case sync(SyncRequest)
    case check(CheckVersionRequest)
    /// Writes applied atomically: only create, create2, createContainer, createTTL, delete, setData and check.
    case multi([ZooKeeperRequest])
    /// Reads answered together: only getData and getChildren.
    case multiRead([ZooKeeperRequest])
    case reconfig(ReconfigRequest)
    case checkWatches(CheckWatchesRequest)
    case removeWatches(RemoveWatchesRequest)
    case auth(AuthPacket)
    case setWatches(SetWatches)
    case setWatches2(SetWatches2)
    case getEphemerals(GetEphemeralsRequest)
    case getAllChildrenNumber(GetAllChildrenNumberRequest)
    case addWatch(AddWatchRequest)
    case whoAmI
    /// One token of a SASL exchange (opcode 102, a `GetSASLRequest` body), sent right after the handshake by
    /// kazoo's `sasl_options` and by the Java client with a JAAS `Client` section.
    case sasl(GetSASLRequest)

    /// The operation code that goes in the request header.
    @inlinable
    public var opCode: OpCode {
        switch self {
        case .ping: return .ping
        case .closeSession: return .closeSession
        case .create: return .create
        case .create2: return .create2
        case .createContainer: return .createContainer
        case .createTTL: return .createTTL
        case .delete: return .delete
        case .exists: return .exists
        case .getData: return .getData
        case .setData: return .setData
        case .getACL: return .getACL
        case .setACL: return .setACL
        case .getChildren: return .getChildren
        case .getChildren2: return .getChildren2
        case .sync: return .sync
        case .check: return .check
        case .multi: return .multi
        case .multiRead: return .multiRead
        case .reconfig: return .reconfig
        case .checkWatches: return .checkWatches
        case .removeWatches: return .removeWatches
        case .auth: return .auth
        case .setWatches: return .setWatches
        case .setWatches2: return .setWatches2
        case .getEphemerals: return .getEphemerals
        case .getAllChildrenNumber: return .getAllChildrenNumber
        case .addWatch: return .addWatch
        case .whoAmI: return .whoAmI
        case .sasl: return .sasl
        }
    }

    /// The path the request addresses, if it addresses one (not for multi, whose operations each have theirs).
    public var path: String? {
        switch self {
        case .create(let r), .create2(let r), .createContainer(let r): return r.path
        case .createTTL(let r): return r.path
        case .delete(let r): return r.path
        case .exists(let r): return r.path
        case .getData(let r): return r.path
        case .setData(let r): return r.path
        case .getACL(let r): return r.path
        case .setACL(let r): return r.path
        case .getChildren(let r): return r.path
        case .getChildren2(let r): return r.path
        case .sync(let r): return r.path
        case .check(let r): return r.path
        case .checkWatches(let r): return r.path
        case .removeWatches(let r): return r.path
        case .getEphemerals(let r): return r.prefixPath
        case .getAllChildrenNumber(let r): return r.path
        case .addWatch(let r): return r.path
        case .ping, .closeSession, .multi, .multiRead, .reconfig, .auth, .setWatches, .setWatches2, .whoAmI, .sasl:
            return nil
        }
    }

    /// Decodes the body of a request with operation code `opCode`; the body must be consumed entirely.
    ///
    /// Operation codes a client never sends (notification, deleteContainer, createSession, error) and
    /// unknown ones throw `WireError.unknownOpCode`.
    public static func decode(
        opCode: Int32, from body: inout ByteBuffer, allowTrailingBytes: Bool = false
    ) throws(WireError) -> ZooKeeperRequest {
        let request = try decodeOne(opCode: opCode, from: &body)
        // ZooKeeper's server reads the record and ignores what follows; the server passes allowTrailingBytes.
        if body.readableBytes != 0 && !allowTrailingBytes { throw .jute(.trailingBytes(count: body.readableBytes)) }
        return request
    }

    static func decodeOne(opCode: Int32, from body: inout ByteBuffer) throws(WireError) -> ZooKeeperRequest {
        guard let op = OpCode(rawValue: opCode) else { throw .unknownOpCode(opCode) }
        switch op {
        case .ping: return .ping
        case .closeSession: return .closeSession
        case .whoAmI: return .whoAmI
        case .create: return .create(try body.readWireRecord(CreateRequest.self))
        case .create2: return .create2(try body.readWireRecord(CreateRequest.self))
        case .createContainer: return .createContainer(try body.readWireRecord(CreateRequest.self))
        case .createTTL: return .createTTL(try body.readWireRecord(CreateTTLRequest.self))
        case .delete: return .delete(try body.readWireRecord(DeleteRequest.self))
        case .exists: return .exists(try body.readWireRecord(ExistsRequest.self))
        case .getData: return .getData(try body.readWireRecord(GetDataRequest.self))
        case .setData: return .setData(try body.readWireRecord(SetDataRequest.self))
        case .getACL: return .getACL(try body.readWireRecord(GetACLRequest.self))
        case .setACL: return .setACL(try body.readWireRecord(SetACLRequest.self))
        case .getChildren: return .getChildren(try body.readWireRecord(GetChildrenRequest.self))
        case .getChildren2: return .getChildren2(try body.readWireRecord(GetChildren2Request.self))
        case .sync: return .sync(try body.readWireRecord(SyncRequest.self))
        case .check: return .check(try body.readWireRecord(CheckVersionRequest.self))
        case .reconfig: return .reconfig(try body.readWireRecord(ReconfigRequest.self))
        case .checkWatches: return .checkWatches(try body.readWireRecord(CheckWatchesRequest.self))
        case .removeWatches: return .removeWatches(try body.readWireRecord(RemoveWatchesRequest.self))
        case .auth: return .auth(try body.readWireRecord(AuthPacket.self))
        case .setWatches: return .setWatches(try body.readWireRecord(SetWatches.self))
        case .setWatches2: return .setWatches2(try body.readWireRecord(SetWatches2.self))
        case .getEphemerals: return .getEphemerals(try body.readWireRecord(GetEphemeralsRequest.self))
        case .getAllChildrenNumber: return .getAllChildrenNumber(try body.readWireRecord(GetAllChildrenNumberRequest.self))
        case .addWatch: return .addWatch(try body.readWireRecord(AddWatchRequest.self))
        case .sasl: return .sasl(try body.readWireRecord(GetSASLRequest.self))
        case .multi: return .multi(try decodeMultiOps(from: &body, allowed: Self.isMultiWrite))
        case .multiRead: return .multiRead(try decodeMultiOps(from: &body, allowed: Self.isMultiRead))
        case .notification, .deleteContainer, .createSession, .error:
            throw .unknownOpCode(opCode)
        }
    }

    @usableFromInline
    static func isMultiWrite(_ op: OpCode) -> Bool {
        switch op {
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .check: return true
        default: return false
        }
    }

    @usableFromInline
    static func isMultiRead(_ op: OpCode) -> Bool {
        op == .getData || op == .getChildren
    }

    /// A MultiOperationRecord: `MultiHeader{type, done: false, err: -1}` + record per operation, then
    /// `MultiHeader{-1, true, -1}`.
    static func decodeMultiOps(
        from body: inout ByteBuffer, allowed: (OpCode) -> Bool
    ) throws(WireError) -> [ZooKeeperRequest] {
        var ops: [ZooKeeperRequest] = []
        while true {
            let header = try body.readWireRecord(MultiHeader.self)
                        if header.done { return ops }
            guard let op = OpCode(rawValue: header.type) else { throw .unknownOpCode(header.type) }
            guard allowed(op) else { throw .invalidMultiOp }
            ops.append(try decodeOne(opCode: header.type, from: &body))
        }
    }

    /// Encodes the body (client side): what follows the `RequestHeader`.
    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .ping, .closeSession, .whoAmI: break
        case .create(let r), .create2(let r), .createContainer(let r): r.juteEncode(into: &buffer)
        case .createTTL(let r): r.juteEncode(into: &buffer)
        case .delete(let r): r.juteEncode(into: &buffer)
        case .exists(let r): r.juteEncode(into: &buffer)
        case .getData(let r): r.juteEncode(into: &buffer)
        case .setData(let r): r.juteEncode(into: &buffer)
        case .getACL(let r): r.juteEncode(into: &buffer)
        case .setACL(let r): r.juteEncode(into: &buffer)
        case .getChildren(let r): r.juteEncode(into: &buffer)
        case .getChildren2(let r): r.juteEncode(into: &buffer)
        case .sync(let r): r.juteEncode(into: &buffer)
        case .check(let r): r.juteEncode(into: &buffer)
        case .reconfig(let r): r.juteEncode(into: &buffer)
        case .checkWatches(let r): r.juteEncode(into: &buffer)
        case .removeWatches(let r): r.juteEncode(into: &buffer)
        case .auth(let r): r.juteEncode(into: &buffer)
        case .setWatches(let r): r.juteEncode(into: &buffer)
        case .setWatches2(let r): r.juteEncode(into: &buffer)
        case .getEphemerals(let r): r.juteEncode(into: &buffer)
        case .getAllChildrenNumber(let r): r.juteEncode(into: &buffer)
        case .addWatch(let r): r.juteEncode(into: &buffer)
        case .sasl(let r): r.juteEncode(into: &buffer)
        case .multi(let ops), .multiRead(let ops):
            for op in ops {
                MultiHeader(type: op.opCode.rawValue, done: false, err: -1).juteEncode(into: &buffer)
                op.encodeBody(into: &buffer)
            }
            MultiHeader(type: -1, done: true, err: -1).juteEncode(into: &buffer)
        }
    }
}

/// A whole request frame after the handshake (without its length prefix): header and body.
public struct RequestFrame: Sendable, Hashable {
    public var header: RequestHeader
    public var request: ZooKeeperRequest

    @inlinable
    public init(header: RequestHeader, request: ZooKeeperRequest) {
        self.header = header
        self.request = request
    }

    /// A frame for `request` with the given xid (the opcode is the request's).
    @inlinable
    public init(xid: Int32, request: ZooKeeperRequest) {
        self.init(header: RequestHeader(xid: xid, type: request.opCode.rawValue), request: request)
    }

    /// Decodes a frame payload (the bytes after the length prefix); it must be consumed entirely.
    public static func decode(_ frame: ByteBuffer) throws(WireError) -> RequestFrame {
        var body = frame
        let header = try body.readWireRecord(RequestHeader.self)
        let request = try ZooKeeperRequest.decode(opCode: header.type, from: &body)
        return RequestFrame(header: header, request: request)
    }

    /// Encodes header and body, without a length prefix.
    public func encode(into buffer: inout ByteBuffer) {
        header.juteEncode(into: &buffer)
        request.encodeBody(into: &buffer)
    }
}

extension ByteBuffer {
    /// Reads a record, reporting a failure as a `WireError`.
    @inlinable
    public mutating func readWireRecord<R: JuteRecord>(_: R.Type = R.self) throws(WireError) -> R {
        do { return try R(juteFrom: &self) } catch { throw .jute(error) }
    }
}
