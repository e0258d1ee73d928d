import Foundation
import GRPCCore

/// What an etcd call failed with, sorted by what the caller does about it.
public enum EtcdError: Error, Equatable, CustomStringConvertible {
    /// The revision asked for is below etcd's compaction point (`compactRevision`, 0 when etcd did not say).
    case compacted(compactRevision: Int64)
    case leaseNotFound
    case leaseExists
    /// The request is above etcd's `--max-request-bytes` (1.5 MiB by default).
    case requestTooLarge
    /// etcd sheds load ("too many requests"): retry later.
    case tooManyRequests
    /// The member is down, has no leader, or the connection failed.
    case unavailable(String)
    case timeout(String)
    case watchCanceled(String)
    case invalidEndpoint(String)
    case other(code: String, message: String)

    public var description: String {
        switch self {
        case .compacted(let r): return "etcd: the revision has been compacted (compact revision \(r))"
        case .leaseNotFound: return "etcd: lease not found"
        case .leaseExists: return "etcd: lease already exists"
        case .requestTooLarge: return "etcd: request is too large (see etcd's --max-request-bytes)"
        case .tooManyRequests: return "etcd: too many requests"
        case .unavailable(let m): return "etcd unavailable: \(m)"
        case .timeout(let m): return "etcd did not answer in time: \(m)"
        case .watchCanceled(let m): return "etcd canceled the watch: \(m)"
        case .invalidEndpoint(let m): return "invalid etcd endpoint: \(m)"
        case .other(let code, let m): return "etcd error (\(code)): \(m)"
        }
    }

    /// The member can't serve now: calls should go to another endpoint.
    var movesToNextEndpoint: Bool {
        switch self {
        case .unavailable, .timeout: return true
        default: return false
        }
    }

    var isWatchCanceledForLeader: Bool {
        if case .watchCanceled(let reason) = self { return reason.contains("leader") }
        return false
    }

    init(_ error: any Error) {
        if let e = error as? EtcdError {
            self = e
            return
        }
        if let rpc = error as? RPCError {
            let message = rpc.message
            if message.contains("required revision has been compacted") {
                self = .compacted(compactRevision: 0)
            } else if message.contains("requested lease not found") {
                self = .leaseNotFound
            } else if message.contains("lease already exists") {
                self = .leaseExists
            } else if message.contains("request is too large") || message.contains("larger than max") {
                self = .requestTooLarge
            } else if message.contains("too many requests") {
                self = .tooManyRequests
            } else {
                switch rpc.code {
                case .unavailable, .cancelled, .aborted: self = .unavailable(message)
                case .deadlineExceeded: self = .timeout(message)
                case .resourceExhausted: self = .tooManyRequests
                default: self = .other(code: "\(rpc.code)", message: message)
                }
            }
            return
        }
        if let runtime = error as? RuntimeError {
            self = .unavailable("\(runtime)")
            return
        }
        self = .other(code: "\(type(of: error))", message: "\(error)")
    }
}

public struct EtcdKeyValue: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var lease: Int64

    init(_ kv: Mvccpb_KeyValue) {
        key = Array(kv.key)
        value = Array(kv.value)
        createRevision = kv.createRevision
        modRevision = kv.modRevision
        version = kv.version
        lease = kv.lease
    }

    public var keyString: String { String(decoding: key, as: UTF8.self) }
}

public struct EtcdEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case put, delete }
    public var kind: Kind
    public var kv: EtcdKeyValue
}

public struct EtcdWatchResponse: Sendable, Equatable {
    /// etcd's revision when it sent this response (for a progress notification: everything up to it was sent).
    public var headerRevision: Int64
    public var events: [EtcdEvent]

    init(_ message: Etcdserverpb_WatchResponse) {
        headerRevision = message.header.revision
        events = message.events.map { EtcdEvent(kind: $0.type == .delete ? .delete : .put, kv: EtcdKeyValue($0.kv)) }
    }
}

public struct EtcdRangeResponse: Sendable, Equatable {
    public var revision: Int64
    public var kvs: [EtcdKeyValue]
    public var count: Int64
    public var more: Bool

    init(_ message: Etcdserverpb_RangeResponse) {
        revision = message.header.revision
        kvs = message.kvs.map(EtcdKeyValue.init)
        count = message.count
        more = message.more
    }
}

public struct EtcdTxnResponse: Sendable, Equatable {
    public var revision: Int64
    public var succeeded: Bool
}

public struct EtcdStatus: Sendable, Equatable {
    public var version: String
    public var memberId: UInt64
    public var leader: UInt64
    public var dbSize: Int64
    public var raftIndex: UInt64
    public var raftTerm: UInt64
    public var revision: Int64
    public var errors: [String]

    init(_ message: Etcdserverpb_StatusResponse) {
        version = message.version
        memberId = message.header.memberID
        leader = message.leader
        dbSize = message.dbSize
        raftIndex = message.raftIndex
        raftTerm = message.raftTerm
        revision = message.header.revision
        errors = message.errors
    }

    public var isLeader: Bool { memberId == leader }
}

/// A condition of a transaction.
public enum EtcdCompare: Sendable, Equatable {
    case createRevision(key: [UInt8], equals: Int64)
    case modRevision(key: [UInt8], equals: Int64)
    case version(key: [UInt8], equals: Int64)
    case value(key: [UInt8], equals: [UInt8])

    var message: Etcdserverpb_Compare {
        var c = Etcdserverpb_Compare()
        c.result = .equal
        switch self {
        case .createRevision(let key, let r):
            c.key = Data(key)
            c.target = .create
            c.createRevision = r
        case .modRevision(let key, let r):
            c.key = Data(key)
            c.target = .mod
            c.modRevision = r
        case .version(let key, let v):
            c.key = Data(key)
            c.target = .version
            c.version = v
        case .value(let key, let v):
            c.key = Data(key)
            c.target = .value
            c.value = Data(v)
        }
        return c
    }
}

/// An operation of a transaction.
public enum EtcdOp: Sendable, Equatable {
    case put(key: [UInt8], value: [UInt8], lease: Int64)
    case delete(key: [UInt8], rangeEnd: [UInt8]?)
    case range(key: [UInt8], rangeEnd: [UInt8]?)

    var message: Etcdserverpb_RequestOp {
        var op = Etcdserverpb_RequestOp()
        switch self {
        case .put(let key, let value, let lease):
            var p = Etcdserverpb_PutRequest()
            p.key = Data(key)
            p.value = Data(value)
            p.lease = lease
            op.requestPut = p
        case .delete(let key, let rangeEnd):
            var d = Etcdserverpb_DeleteRangeRequest()
            d.key = Data(key)
            if let rangeEnd { d.rangeEnd = Data(rangeEnd) }
            op.requestDeleteRange = d
        case .range(let key, let rangeEnd):
            var r = Etcdserverpb_RangeRequest()
            r.key = Data(key)
            if let rangeEnd { r.rangeEnd = Data(rangeEnd) }
            op.requestRange = r
        }
        return op
    }
}
