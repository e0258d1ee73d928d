// Records of zookeeper.jute's `org.apache.zookeeper.proto` module, fields in jute order.
// Written mechanically from the field lists of zookeeper.jute: keep names, types and order in step with it.

import Jute
import NIOCore

/// Re-registers a reconnecting client's watches (opcode 101, xid -8).
public struct SetWatches: JuteRecord, Hashable, Sendable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]

    @inlinable
    public init(relativeZxid: Int64, dataWatches: [String], existWatches: [String], childWatches: [String]) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.relativeZxid = try buffer.readJuteLong("SetWatches.relativeZxid")
        self.dataWatches = try buffer.readZKStringVector("SetWatches.dataWatches")
        self.existWatches = try buffer.readZKStringVector("SetWatches.existWatches")
        self.childWatches = try buffer.readZKStringVector("SetWatches.childWatches")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteLong(relativeZxid)
        buffer.writeZKStringVector(dataWatches)
        buffer.writeZKStringVector(existWatches)
        buffer.writeZKStringVector(childWatches)
    }
}

/// SetWatches with persistent watches (opcode 105, xid -8).
public struct SetWatches2: JuteRecord, Hashable, Sendable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    public var persistentWatches: [String]
    public var persistentRecursiveWatches: [String]

    @inlinable
    public init(relativeZxid: Int64, dataWatches: [String], existWatches: [String], childWatches: [String], persistentWatches: [String], persistentRecursiveWatches: [String]) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
        self.persistentWatches = persistentWatches
        self.persistentRecursiveWatches = persistentRecursiveWatches
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.relativeZxid = try buffer.readJuteLong("SetWatches2.relativeZxid")
        self.dataWatches = try buffer.readZKStringVector("SetWatches2.dataWatches")
        self.existWatches = try buffer.readZKStringVector("SetWatches2.existWatches")
        self.childWatches = try buffer.readZKStringVector("SetWatches2.childWatches")
        self.persistentWatches = try buffer.readZKStringVector("SetWatches2.persistentWatches")
        self.persistentRecursiveWatches = try buffer.readZKStringVector("SetWatches2.persistentRecursiveWatches")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteLong(relativeZxid)
        buffer.writeZKStringVector(dataWatches)
        buffer.writeZKStringVector(existWatches)
        buffer.writeZKStringVector(childWatches)
        buffer.writeZKStringVector(persistentWatches)
        buffer.writeZKStringVector(persistentRecursiveWatches)
    }
}

/// The header of every request after the handshake.
public struct RequestHeader: JuteRecord, Hashable, Sendable {
    public var xid: Int32
    public var type: Int32

    @inlinable
    public init(xid: Int32, type: Int32) {
        self.xid = xid
        self.type = type
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.xid = try buffer.readJuteInt("RequestHeader.xid")
        self.type = try buffer.readJuteInt("RequestHeader.type")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(xid)
        buffer.writeJuteInt(type)
    }
}

/// The header of each operation or result in a multi; `done` marks the end.
public struct MultiHeader: JuteRecord, Hashable, Sendable {
    public var type: Int32
    public var done: Bool
    public var err: Int32

    @inlinable
    public init(type: Int32, done: Bool, err: Int32) {
        self.type = type
        self.done = done
        self.err = err
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.type = try buffer.readJuteInt("MultiHeader.type")
        self.done = try buffer.readJuteBool("MultiHeader.done")
        self.err = try buffer.readJuteInt("MultiHeader.err")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type)
        buffer.writeJuteBool(done)
        buffer.writeJuteInt(err)
    }
}

/// addAuth (opcode 100, xid -4).
public struct AuthPacket: JuteRecord, Hashable, Sendable {
    public var type: Int32
    public var scheme: String
    public var auth: [UInt8]

    @inlinable
    public init(type: Int32, scheme: String, auth: [UInt8]) {
        self.type = type
        self.scheme = scheme
        self.auth = auth
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.type = try buffer.readJuteInt("AuthPacket.type")
        self.scheme = try buffer.readZKString("AuthPacket.scheme")
        self.auth = try buffer.readZKBuffer("AuthPacket.auth")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type)
        buffer.writeJuteString(scheme)
        buffer.writeJuteBuffer(auth)
    }
}

/// The header of every reply and notification.
public struct ReplyHeader: JuteRecord, Hashable, Sendable {
    public var xid: Int32
    public var zxid: Int64
    public var err: Int32

    @inlinable
    public init(xid: Int32, zxid: Int64, err: Int32) {
        self.xid = xid
        self.zxid = zxid
        self.err = err
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.xid = try buffer.readJuteInt("ReplyHeader.xid")
        self.zxid = try buffer.readJuteLong("ReplyHeader.zxid")
        self.err = try buffer.readJuteInt("ReplyHeader.err")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(xid)
        buffer.writeJuteLong(zxid)
        buffer.writeJuteInt(err)
    }
}

/// getData (opcode 4).
public struct GetDataRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var watch: Bool

    @inlinable
    public init(path: String, watch: Bool) {
        self.path = path
        self.watch = watch
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("GetDataRequest.path")
        self.watch = try buffer.readJuteBool("GetDataRequest.watch")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBool(watch)
    }
}

/// setData (opcode 5). A null `data` stays nil.
public struct SetDataRequest: JuteRecord, Hashable, Sendable {
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
        self.path = try buffer.readZKPath("SetDataRequest.path")
        self.data = try buffer.readJuteBuffer("SetDataRequest.data")
        self.version = try buffer.readJuteInt("SetDataRequest.version")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeJuteInt(version)
    }
}

/// reconfig (opcode 16). Clients send null for the parts they leave out, so these stay optional.
public struct ReconfigRequest: JuteRecord, Hashable, Sendable {
    public var joiningServers: String?
    public var leavingServers: String?
    public var newMembers: String?
    public var curConfigId: Int64

    @inlinable
    public init(joiningServers: String?, leavingServers: String?, newMembers: String?, curConfigId: Int64) {
        self.joiningServers = joiningServers
        self.leavingServers = leavingServers
        self.newMembers = newMembers
        self.curConfigId = curConfigId
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.joiningServers = try buffer.readJuteString("ReconfigRequest.joiningServers")
        self.leavingServers = try buffer.readJuteString("ReconfigRequest.leavingServers")
        self.newMembers = try buffer.readJuteString("ReconfigRequest.newMembers")
        self.curConfigId = try buffer.readJuteLong("ReconfigRequest.curConfigId")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(joiningServers)
        buffer.writeJuteString(leavingServers)
        buffer.writeJuteString(newMembers)
        buffer.writeJuteLong(curConfigId)
    }
}

/// The reply to setData.
public struct SetDataResponse: JuteRecord, Hashable, Sendable {
    public var stat: Stat

    @inlinable
    public init(stat: Stat) {
        self.stat = stat
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.stat = try Stat(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        stat.juteEncode(into: &buffer)
    }
}

/// A SASL token from the client (opcode 102).
public struct GetSASLRequest: JuteRecord, Hashable, Sendable {
    public var token: [UInt8]

    @inlinable
    public init(token: [UInt8]) {
        self.token = token
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.token = try buffer.readZKBuffer("GetSASLRequest.token")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteBuffer(token)
    }
}

/// A SASL token.
public struct SetSASLRequest: JuteRecord, Hashable, Sendable {
    public var token: [UInt8]

    @inlinable
    public init(token: [UInt8]) {
        self.token = token
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.token = try buffer.readZKBuffer("SetSASLRequest.token")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteBuffer(token)
    }
}

/// The server's SASL token.
public struct SetSASLResponse: JuteRecord, Hashable, Sendable {
    public var token: [UInt8]

    @inlinable
    public init(token: [UInt8]) {
        self.token = token
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.token = try buffer.readZKBuffer("SetSASLResponse.token")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteBuffer(token)
    }
}

/// create, create2 and createContainer (opcodes 1, 15, 19). A null `data` stays nil.
public struct CreateRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var flags: Int32

    @inlinable
    public init(path: String, data: [UInt8]?, acl: [ACL], flags: Int32) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("CreateRequest.path")
        self.data = try buffer.readJuteBuffer("CreateRequest.data")
        self.acl = try buffer.readZKRecordVector("CreateRequest.acl", ACL.self)
        self.flags = try buffer.readJuteInt("CreateRequest.flags")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteInt(flags)
    }
}

/// createTTL (opcode 21).
public struct CreateTTLRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var flags: Int32
    public var ttl: Int64

    @inlinable
    public init(path: String, data: [UInt8]?, acl: [ACL], flags: Int32, ttl: Int64) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
        self.ttl = ttl
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("CreateTTLRequest.path")
        self.data = try buffer.readJuteBuffer("CreateTTLRequest.data")
        self.acl = try buffer.readZKRecordVector("CreateTTLRequest.acl", ACL.self)
        self.flags = try buffer.readJuteInt("CreateTTLRequest.flags")
        self.ttl = try buffer.readJuteLong("CreateTTLRequest.ttl")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteInt(flags)
        buffer.writeJuteLong(ttl)
    }
}

/// delete (opcode 2).
public struct DeleteRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var version: Int32

    @inlinable
    public init(path: String, version: Int32) {
        self.path = path
        self.version = version
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("DeleteRequest.path")
        self.version = try buffer.readJuteInt("DeleteRequest.version")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(version)
    }
}

/// getChildren (opcode 8).
public struct GetChildrenRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var watch: Bool

    @inlinable
    public init(path: String, watch: Bool) {
        self.path = path
        self.watch = watch
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("GetChildrenRequest.path")
        self.watch = try buffer.readJuteBool("GetChildrenRequest.watch")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBool(watch)
    }
}

/// getAllChildrenNumber (opcode 104).
public struct GetAllChildrenNumberRequest: JuteRecord, Hashable, Sendable {
    public var path: String

    @inlinable
    public init(path: String) {
        self.path = path
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("GetAllChildrenNumberRequest.path")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
    }
}

/// getChildren2 (opcode 12).
public struct GetChildren2Request: JuteRecord, Hashable, Sendable {
    public var path: String
    public var watch: Bool

    @inlinable
    public init(path: String, watch: Bool) {
        self.path = path
        self.watch = watch
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("GetChildren2Request.path")
        self.watch = try buffer.readJuteBool("GetChildren2Request.watch")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBool(watch)
    }
}

/// check (opcode 13), in a multi or alone.
public struct CheckVersionRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var version: Int32

    @inlinable
    public init(path: String, version: Int32) {
        self.path = path
        self.version = version
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("CheckVersionRequest.path")
        self.version = try buffer.readJuteInt("CheckVersionRequest.version")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(version)
    }
}

/// sync (opcode 9).
public struct SyncRequest: JuteRecord, Hashable, Sendable {
    public var path: String

    @inlinable
    public init(path: String) {
        self.path = path
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("SyncRequest.path")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
    }
}

/// The reply to sync.
public struct SyncResponse: JuteRecord, Hashable, Sendable {
    public var path: String

    @inlinable
    public init(path: String) {
        self.path = path
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("SyncResponse.path")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
    }
}

/// getACL (opcode 6).
public struct GetACLRequest: JuteRecord, Hashable, Sendable {
    public var path: String

    @inlinable
    public init(path: String) {
        self.path = path
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("GetACLRequest.path")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
    }
}

/// setACL (opcode 7).
public struct SetACLRequest: JuteRecord, Hashable, Sendable {
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
        self.path = try buffer.readZKPath("SetACLRequest.path")
        self.acl = try buffer.readZKRecordVector("SetACLRequest.acl", ACL.self)
        self.version = try buffer.readJuteInt("SetACLRequest.version")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeZKRecordVector(acl)
        buffer.writeJuteInt(version)
    }
}

/// The reply to setACL.
public struct SetACLResponse: JuteRecord, Hashable, Sendable {
    public var stat: Stat

    @inlinable
    public init(stat: Stat) {
        self.stat = stat
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.stat = try Stat(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        stat.juteEncode(into: &buffer)
    }
}

/// addWatch (opcode 106); `mode` is an `AddWatchMode` raw value.
public struct AddWatchRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var mode: Int32

    @inlinable
    public init(path: String, mode: Int32) {
        self.path = path
        self.mode = mode
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("AddWatchRequest.path")
        self.mode = try buffer.readJuteInt("AddWatchRequest.mode")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(mode)
    }
}

/// A watch notification's body (sent with xid -1); `type` is an `EventType`, `state` a `KeeperState`.
public struct WatcherEvent: JuteRecord, Hashable, Sendable {
    public var type: Int32
    public var state: Int32
    public var path: String

    @inlinable
    public init(type: Int32, state: Int32, path: String) {
        self.type = type
        self.state = state
        self.path = path
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.type = try buffer.readJuteInt("WatcherEvent.type")
        self.state = try buffer.readJuteInt("WatcherEvent.state")
        self.path = try buffer.readZKString("WatcherEvent.path")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type)
        buffer.writeJuteInt(state)
        buffer.writeJuteString(path)
    }
}

/// An error code as a body: in multi results, and (with 0) as the reply to addWatch.
public struct ErrorResponse: JuteRecord, Hashable, Sendable {
    public var err: Int32

    @inlinable
    public init(err: Int32) {
        self.err = err
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.err = try buffer.readJuteInt("ErrorResponse.err")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(err)
    }
}

/// The reply to create.
public struct CreateResponse: JuteRecord, Hashable, Sendable {
    public var path: String

    @inlinable
    public init(path: String) {
        self.path = path
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("CreateResponse.path")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
    }
}

/// The reply to create2, createContainer and createTTL.
public struct Create2Response: JuteRecord, Hashable, Sendable {
    public var path: String
    public var stat: Stat

    @inlinable
    public init(path: String, stat: Stat) {
        self.path = path
        self.stat = stat
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKString("Create2Response.path")
        self.stat = try Stat(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        stat.juteEncode(into: &buffer)
    }
}

/// exists (opcode 3).
public struct ExistsRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var watch: Bool

    @inlinable
    public init(path: String, watch: Bool) {
        self.path = path
        self.watch = watch
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("ExistsRequest.path")
        self.watch = try buffer.readJuteBool("ExistsRequest.watch")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBool(watch)
    }
}

/// The reply to exists.
public struct ExistsResponse: JuteRecord, Hashable, Sendable {
    public var stat: Stat

    @inlinable
    public init(stat: Stat) {
        self.stat = stat
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.stat = try Stat(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        stat.juteEncode(into: &buffer)
    }
}

/// The reply to getData (and reconfig). A null `data` stays nil.
public struct GetDataResponse: JuteRecord, Hashable, Sendable {
    public var data: [UInt8]?
    public var stat: Stat

    @inlinable
    public init(data: [UInt8]?, stat: Stat) {
        self.data = data
        self.stat = stat
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.data = try buffer.readJuteBuffer("GetDataResponse.data")
        self.stat = try Stat(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteBuffer(data)
        stat.juteEncode(into: &buffer)
    }
}

/// The reply to getChildren.
public struct GetChildrenResponse: JuteRecord, Hashable, Sendable {
    public var children: [String]

    @inlinable
    public init(children: [String]) {
        self.children = children
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.children = try buffer.readZKStringVector("GetChildrenResponse.children")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeZKStringVector(children)
    }
}

/// The reply to getAllChildrenNumber.
public struct GetAllChildrenNumberResponse: JuteRecord, Hashable, Sendable {
    public var totalNumber: Int32

    @inlinable
    public init(totalNumber: Int32) {
        self.totalNumber = totalNumber
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.totalNumber = try buffer.readJuteInt("GetAllChildrenNumberResponse.totalNumber")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(totalNumber)
    }
}

/// The reply to getChildren2.
public struct GetChildren2Response: JuteRecord, Hashable, Sendable {
    public var children: [String]
    public var stat: Stat

    @inlinable
    public init(children: [String], stat: Stat) {
        self.children = children
        self.stat = stat
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.children = try buffer.readZKStringVector("GetChildren2Response.children")
        self.stat = try Stat(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeZKStringVector(children)
        stat.juteEncode(into: &buffer)
    }
}

/// The reply to getACL.
public struct GetACLResponse: JuteRecord, Hashable, Sendable {
    public var acl: [ACL]
    public var stat: Stat

    @inlinable
    public init(acl: [ACL], stat: Stat) {
        self.acl = acl
        self.stat = stat
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.acl = try buffer.readZKRecordVector("GetACLResponse.acl", ACL.self)
        self.stat = try Stat(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeZKRecordVector(acl)
        stat.juteEncode(into: &buffer)
    }
}

/// checkWatches (opcode 17); `type` is a `WatcherType` raw value.
public struct CheckWatchesRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var type: Int32

    @inlinable
    public init(path: String, type: Int32) {
        self.path = path
        self.type = type
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("CheckWatchesRequest.path")
        self.type = try buffer.readJuteInt("CheckWatchesRequest.type")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(type)
    }
}

/// removeWatches (opcode 18); `type` is a `WatcherType` raw value.
public struct RemoveWatchesRequest: JuteRecord, Hashable, Sendable {
    public var path: String
    public var type: Int32

    @inlinable
    public init(path: String, type: Int32) {
        self.path = path
        self.type = type
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.path = try buffer.readZKPath("RemoveWatchesRequest.path")
        self.type = try buffer.readJuteInt("RemoveWatchesRequest.type")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(type)
    }
}

/// getEphemerals (opcode 103).
public struct GetEphemeralsRequest: JuteRecord, Hashable, Sendable {
    public var prefixPath: String

    @inlinable
    public init(prefixPath: String) {
        self.prefixPath = prefixPath
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.prefixPath = try buffer.readZKString("GetEphemeralsRequest.prefixPath")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(prefixPath)
    }
}

/// The reply to getEphemerals.
public struct GetEphemeralsResponse: JuteRecord, Hashable, Sendable {
    public var ephemerals: [String]

    @inlinable
    public init(ephemerals: [String]) {
        self.ephemerals = ephemerals
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.ephemerals = try buffer.readZKStringVector("GetEphemeralsResponse.ephemerals")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeZKStringVector(ephemerals)
    }
}

/// The reply to whoAmI (opcode 107).
public struct WhoAmIResponse: JuteRecord, Hashable, Sendable {
    public var clientInfo: [ClientInfo]

    @inlinable
    public init(clientInfo: [ClientInfo]) {
        self.clientInfo = clientInfo
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.clientInfo = try buffer.readZKRecordVector("WhoAmIResponse.clientInfo", ClientInfo.self)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeZKRecordVector(clientInfo)
    }
}
