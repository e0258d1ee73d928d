import Jute
import NIOCore

/// The body of a successful reply (the bytes after a `ReplyHeader` whose err is 0), by operation.
public enum ZooKeeperResponse: Sendable, Hashable {
    /// No body: ping, closeSession, delete, setWatches, setWatches2, auth, checkWatches, removeWatches.
    case empty
    case create(CreateResponse)
    /// The reply to create2, createContainer and createTTL.
    case create2(Create2Response)
    case exists(ExistsResponse)
    case getData(GetDataResponse)
    /// The reply to setData, and to a check sent on its own (as ZooKeeper 3.9 answers it).
    case setData(SetDataResponse)
    case getACL(GetACLResponse)
    case setACL(SetACLResponse)
    case getChildren(GetChildrenResponse)
    case getChildren2(GetChildren2Response)
    case sync(SyncResponse)
    /// The reply to multi and multiRead.
    case multi([MultiResult])
    case getEphemerals(GetEphemeralsResponse)
    case getAllChildrenNumber(GetAllChildrenNumberResponse)
    case whoAmI(WhoAmIResponse)
    /// The reply to addWatch: ZooKeeper sends a 4-byte `ErrorResponse{err: 0}`.
    case addWatch
    case reconfig(GetDataResponse)
    /// The server's next SASL token (the Java client reads the same bytes as a `GetSASLRequest`).
    case sasl(SetSASLResponse)

    /// Encodes the body (server side).
    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .empty: break
        case .create(let r): r.juteEncode(into: &buffer)
        case .create2(let r): r.juteEncode(into: &buffer)
        case .exists(let r): r.juteEncode(into: &buffer)
        case .getData(let r): r.juteEncode(into: &buffer)
        case .setData(let r): r.juteEncode(into: &buffer)
        case .getACL(let r): r.juteEncode(into: &buffer)
        case .setACL(let r): r.juteEncode(into: &buffer)
        case .getChildren(let r): r.juteEncode(into: &buffer)
        case .getChildren2(let r): r.juteEncode(into: &buffer)
        case .sync(let r): r.juteEncode(into: &buffer)
        case .getEphemerals(let r): r.juteEncode(into: &buffer)
        case .getAllChildrenNumber(let r): r.juteEncode(into: &buffer)
        case .whoAmI(let r): r.juteEncode(into: &buffer)
        case .addWatch: ErrorResponse(err: 0).juteEncode(into: &buffer)
        case .reconfig(let r): r.juteEncode(into: &buffer)
        case .sasl(let r): r.juteEncode(into: &buffer)
        case .multi(let results):
            for result in results { result.encode(into: &buffer) }
            MultiResult.endMarker.juteEncode(into: &buffer)
        }
    }

    /// Decodes the body of a successful reply to a request with operation `opCode` (client side); the body must
    /// be consumed entirely. Operations that never get a reply throw `WireError.unknownOpCode`.
    public static func decode(for opCode: OpCode, from body: inout ByteBuffer) throws(WireError) -> ZooKeeperResponse {
        let response: ZooKeeperResponse
        switch opCode {
        case .ping, .closeSession, .delete, .setWatches, .setWatches2, .auth, .checkWatches, .removeWatches:
            response = .empty
        case .create: response = .create(try body.readWireRecord())
        case .create2, .createContainer, .createTTL: response = .create2(try body.readWireRecord())
        case .exists: response = .exists(try body.readWireRecord())
        case .getData: response = .getData(try body.readWireRecord())
        case .setData, .check: response = .setData(try body.readWireRecord())
        case .getACL: response = .getACL(try body.readWireRecord())
        case .setACL: response = .setACL(try body.readWireRecord())
        case .getChildren: response = .getChildren(try body.readWireRecord())
        case .getChildren2: response = .getChildren2(try body.readWireRecord())
        case .sync: response = .sync(try body.readWireRecord())
        case .multi, .multiRead: response = .multi(try MultiResult.decodeAll(from: &body))
        case .getEphemerals: response = .getEphemerals(try body.readWireRecord())
        case .getAllChildrenNumber: response = .getAllChildrenNumber(try body.readWireRecord())
        case .whoAmI: response = .whoAmI(try body.readWireRecord())
        case .addWatch:
            _ = try body.readWireRecord(ErrorResponse.self)
            response = .addWatch
        case .reconfig: response = .reconfig(try body.readWireRecord())
        case .sasl: response = .sasl(try body.readWireRecord())
        case .notification, .deleteContainer, .createSession, .error:
            throw .unknownOpCode(opCode.rawValue)
        }
        if body.readableBytes != 0 { throw .jute(.trailingBytes(count: body.readableBytes)) }
        return response
    }
}

/// One result of a multi or multiRead reply (ZooKeeper's OpResult).
///
/// Encoding follows ZooKeeper's MultiResponse: a success is `MultiHeader{type, done: false, err: 0}` and its body
/// (create → CreateResponse; create2, createContainer, createTTL → Create2Response under type create2, as
/// ZooKeeper's CreateResult does; setData → SetDataResponse; delete, check → nothing; getData → GetDataResponse;
/// getChildren → GetChildrenResponse). An error is `MultiHeader{-1, false, code}` + `ErrorResponse{code}`.
/// In a failed multi every result is an error: `.ok` before the failing op, its code, then
/// `.runtimeInconsistency` after it.
public enum MultiResult: Sendable, Hashable {
    case success(OpCode, ZooKeeperResponse)
    case error(ErrorCode)

    /// `MultiHeader{-1, true, -1}`, which closes a multi request or response.
    public static let endMarker = MultiHeader(type: -1, done: true, err: -1)

    /// The type ZooKeeper writes in the result header for a successful `op`.
    @inlinable
    static func resultType(for op: OpCode) -> OpCode {
        switch op {
        case .createContainer, .createTTL: return .create2
        default: return op
        }
    }

    /// Encodes this result (header and body), without the end marker.
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .success(let op, let response):
            MultiHeader(type: Self.resultType(for: op).rawValue, done: false, err: 0).juteEncode(into: &buffer)
            response.encodeBody(into: &buffer)
        case .error(let code):
            MultiHeader(type: OpCode.error.rawValue, done: false, err: code.rawValue).juteEncode(into: &buffer)
            ErrorResponse(err: code.rawValue).juteEncode(into: &buffer)
        }
    }

    /// Decodes results up to and including the end marker.
    static func decodeAll(from body: inout ByteBuffer) throws(WireError) -> [MultiResult] {
        var results: [MultiResult] = []
        while true {
            let header = try body.readWireRecord(MultiHeader.self)
            if header.done { return results }
            guard let op = OpCode(rawValue: header.type) else { throw .unknownOpCode(header.type) }
            switch op {
            case .create: results.append(.success(.create, .create(try body.readWireRecord())))
            case .create2: results.append(.success(.create2, .create2(try body.readWireRecord())))
            case .delete: results.append(.success(.delete, .empty))
            case .check: results.append(.success(.check, .empty))
            case .setData: results.append(.success(.setData, .setData(try body.readWireRecord())))
            case .getData: results.append(.success(.getData, .getData(try body.readWireRecord())))
            case .getChildren: results.append(.success(.getChildren, .getChildren(try body.readWireRecord())))
            case .error:
                let err = try body.readWireRecord(ErrorResponse.self).err
                guard let code = ErrorCode(rawValue: err) else { throw .unknownErrorCode(err) }
                results.append(.error(code))
            default:
                throw .invalidMultiOp
            }
        }
    }
}
