// Records of zookeeper.jute's `org.apache.zookeeper.txn` module, fields in jute order.
// Written mechanically from the field lists of zookeeper.jute: keep names, types and order in step with it.

import Jute
import NIOCore

/// A digest of the data tree carried by a transaction.
public struct TxnDigest: JuteRecord, Hashable, Sendable {
    public var version: Int32
    public var treeDigest: Int64

    @inlinable
    public init(version: Int32, treeDigest: Int64) {
        self.version = version
        self.treeDigest = treeDigest
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.version = try buffer.readJuteInt("TxnDigest.version")
        self.treeDigest = try buffer.readJuteLong("TxnDigest.treeDigest")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(version)
        buffer.writeJuteLong(treeDigest)
    }
}

/// The header of every logged transaction; `type` is an `OpCode` raw value.
public struct TxnHeader: JuteRecord, Hashable, Sendable {
    public var clientId: Int64
    public var cxid: Int32
    public var zxid: Int64
    public var time: Int64
    public var type: Int32

    @inlinable
    public init(clientId: Int64, cxid: Int32, zxid: Int64, time: Int64, type: Int32) {
        self.clientId = clientId
        self.cxid = cxid
        self.zxid = zxid
        self.time = time
        self.type = type
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.clientId = try buffer.readJuteLong("TxnHeader.clientId")
        self.cxid = try buffer.readJuteInt("TxnHeader.cxid")
        self.zxid = try buffer.readJuteLong("TxnHeader.zxid")
        self.time = try buffer.readJuteLong("TxnHeader.time")
        self.type = try buffer.readJuteInt("TxnHeader.type")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteLong(clientId)
        buffer.writeJuteInt(cxid)
        buffer.writeJuteLong(zxid)
        buffer.writeJuteLong(time)
        buffer.writeJuteInt(type)
    }
}

/// The create transaction of very old logs.
public struct CreateTxnV0: JuteRecord, Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var ephemeral: Bool

    @inlinable
    public init(path: String, data: [UInt8]?, acl: [ACL], ephemeral: Bool) {
        self.path = path
        self.data = data
        self.acl = acl
        self.ephemeral = ephemeral
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("CreateTxnV0.path")
        self.data = try buffer.readJuteBuffer("CreateTxnV0.data")
        self.acl = try buffer.readZKRecordVector("CreateTxnV0.acl", ACL.self)
        self.ephemeral = try buffer.readJuteBool("CreateTxnV0.ephemeral")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteBool(ephemeral)
    }
}

/// A create (of a persistent or ephemeral node).
public struct CreateTxn: JuteRecord, Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var ephemeral: Bool
    public var parentCVersion: Int32

    @inlinable
    public init(path: String, data: [UInt8]?, acl: [ACL], ephemeral: Bool, parentCVersion: Int32) {
        self.path = path
        self.data = data
        self.acl = acl
        self.ephemeral = ephemeral
        self.parentCVersion = parentCVersion
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("CreateTxn.path")
        self.data = try buffer.readJuteBuffer("CreateTxn.data")
        self.acl = try buffer.readZKRecordVector("CreateTxn.acl", ACL.self)
        self.ephemeral = try buffer.readJuteBool("CreateTxn.ephemeral")
        self.parentCVersion = try buffer.readJuteInt("CreateTxn.parentCVersion")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteBool(ephemeral)
        buffer.writeJuteInt(parentCVersion)
    }
}

/// A create of a TTL node.
public struct CreateTTLTxn: JuteRecord, Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var parentCVersion: Int32
    public var ttl: Int64

    @inlinable
    public init(path: String, data: [UInt8]?, acl: [ACL], parentCVersion: Int32, ttl: Int64) {
        self.path = path
        self.data = data
        self.acl = acl
        self.parentCVersion = parentCVersion
        self.ttl = ttl
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("CreateTTLTxn.path")
        self.data = try buffer.readJuteBuffer("CreateTTLTxn.data")
        self.acl = try buffer.readZKRecordVector("CreateTTLTxn.acl", ACL.self)
        self.parentCVersion = try buffer.readJuteInt("CreateTTLTxn.parentCVersion")
        self.ttl = try buffer.readJuteLong("CreateTTLTxn.ttl")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteInt(parentCVersion)
        buffer.writeJuteLong(ttl)
    }
}

/// A create of a container node.
public struct CreateContainerTxn: JuteRecord, Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var parentCVersion: Int32

    @inlinable
    public init(path: String, data: [UInt8]?, acl: [ACL], parentCVersion: Int32) {
        self.path = path
        self.data = data
        self.acl = acl
        self.parentCVersion = parentCVersion
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("CreateContainerTxn.path")
        self.data = try buffer.readJuteBuffer("CreateContainerTxn.data")
        self.acl = try buffer.readZKRecordVector("CreateContainerTxn.acl", ACL.self)
        self.parentCVersion = try buffer.readJuteInt("CreateContainerTxn.parentCVersion")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteInt(parentCVersion)
    }
}

/// A delete.
public struct DeleteTxn: JuteRecord, Hashable, Sendable {
    public var path: String

    @inlinable
    public init(path: String) {
        self.path = path
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("DeleteTxn.path")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
    }
}

/// A setData; `version` is the node's new version.
public struct SetDataTxn: JuteRecord, Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var version: Int32

    @inlinable
    public init(path: String, data: [UInt8]?, version: Int32) {
        self.path = path
        self.data = data
        self.version = version
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("SetDataTxn.path")
        self.data = try buffer.readJuteBuffer("SetDataTxn.data")
        self.version = try buffer.readJuteInt("SetDataTxn.version")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeJuteInt(version)
    }
}

/// A version check inside a multi.
public struct CheckVersionTxn: JuteRecord, Hashable, Sendable {
    public var path: String
    public var version: Int32

    @inlinable
    public init(path: String, version: Int32) {
        self.path = path
        self.version = version
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("CheckVersionTxn.path")
        self.version = try buffer.readJuteInt("CheckVersionTxn.version")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(version)
    }
}

/// A setACL; `version` is the node's new ACL version.
public struct SetACLTxn: JuteRecord, Hashable, Sendable {
    public var path: String
    public var acl: [ACL]
    public var version: Int32

    @inlinable
    public init(path: String, acl: [ACL], version: Int32) {
        self.path = path
        self.acl = acl
        self.version = version
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("SetACLTxn.path")
        self.acl = try buffer.readZKRecordVector("SetACLTxn.acl", ACL.self)
        self.version = try buffer.readJuteInt("SetACLTxn.version")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteInt(version)
    }
}

/// Obsolete; kept for completeness.
public struct SetMaxChildrenTxn: JuteRecord, Hashable, Sendable {
    public var path: String
    public var max: Int32

    @inlinable
    public init(path: String, max: Int32) {
        self.path = path
        self.max = max
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("SetMaxChildrenTxn.path")
        self.max = try buffer.readJuteInt("SetMaxChildrenTxn.max")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(max)
    }
}

/// A session creation with its negotiated timeout.
public struct CreateSessionTxn: JuteRecord, Hashable, Sendable {
    public var timeOut: Int32

    @inlinable
    public init(timeOut: Int32) {
        self.timeOut = timeOut
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.timeOut = try buffer.readJuteInt("CreateSessionTxn.timeOut")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(timeOut)
    }
}

/// A session close with the ephemerals it removes.
public struct CloseSessionTxn: JuteRecord, Hashable, Sendable {
    public var paths2Delete: [String]

    @inlinable
    public init(paths2Delete: [String]) {
        self.paths2Delete = paths2Delete
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.paths2Delete = try buffer.readZKStringVector("CloseSessionTxn.paths2Delete")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeZKStringVector(paths2Delete)
    }
}

/// A failed operation (inside a multi).
public struct ErrorTxn: JuteRecord, Hashable, Sendable {
    public var err: Int32

    @inlinable
    public init(err: Int32) {
        self.err = err
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.err = try buffer.readJuteInt("ErrorTxn.err")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(err)
    }
}

/// One sub-transaction of a multi: an `OpCode` raw value and the serialized record.
public struct Txn: JuteRecord, Hashable, Sendable {
    public var type: Int32
    public var data: [UInt8]

    @inlinable
    public init(type: Int32, data: [UInt8]) {
        self.type = type
        self.data = data
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.type = try buffer.readJuteInt("Txn.type")
        self.data = try buffer.readZKBuffer("Txn.data")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type)
        buffer.writeJuteBuffer(data)
    }
}

/// A multi transaction.
public struct MultiTxn: JuteRecord, Hashable, Sendable {
    public var txns: [Txn]

    @inlinable
    public init(txns: [Txn]) {
        self.txns = txns
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.txns = try buffer.readZKRecordVector("MultiTxn.txns", Txn.self)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeZKRecordVector(txns)
    }
}
