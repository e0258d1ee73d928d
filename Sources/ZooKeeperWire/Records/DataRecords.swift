// Records of zookeeper.jute's `org.apache.zookeeper.data` module, fields in jute order.
// Written mechanically from the field lists of zookeeper.jute: keep names, types and order in step with it.

import Jute
import NIOCore

/// An identity: an ACL scheme and the id within it (`world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`).
public struct Id: JuteRecord, Hashable, Sendable {
    public var scheme: String
    public var id: String

    @inlinable
    public init(scheme: String, id: String) {
        self.scheme = scheme
        self.id = id
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.scheme = try buffer.readZKString("Id.scheme")
        self.id = try buffer.readZKString("Id.id")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(scheme)
        buffer.writeJuteString(id)
    }
}

/// A permission set granted to an identity.
public struct ACL: JuteRecord, Hashable, Sendable {
    public var perms: Int32
    public var id: Id

    @inlinable
    public init(perms: Int32, id: Id) {
        self.perms = perms
        self.id = id
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.perms = try buffer.readJuteInt("ACL.perms")
        self.id = try Id(juteFrom: &buffer)
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(perms)
        id.juteEncode(into: &buffer)
    }
}

/// The metadata of a znode as clients see it (68 bytes on the wire).
public struct Stat: JuteRecord, Hashable, Sendable {
    public var czxid: Int64
    public var mzxid: Int64
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32
    public var cversion: Int32
    public var aversion: Int32
    public var ephemeralOwner: Int64
    public var dataLength: Int32
    public var numChildren: Int32
    public var pzxid: Int64

    @inlinable
    public init(czxid: Int64, mzxid: Int64, ctime: Int64, mtime: Int64, version: Int32, cversion: Int32, aversion: Int32, ephemeralOwner: Int64, dataLength: Int32, numChildren: Int32, pzxid: Int64) {
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.dataLength = dataLength
        self.numChildren = numChildren
        self.pzxid = pzxid
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.czxid = try buffer.readJuteLong("Stat.czxid")
        self.mzxid = try buffer.readJuteLong("Stat.mzxid")
        self.ctime = try buffer.readJuteLong("Stat.ctime")
        self.mtime = try buffer.readJuteLong("Stat.mtime")
        self.version = try buffer.readJuteInt("Stat.version")
        self.cversion = try buffer.readJuteInt("Stat.cversion")
        self.aversion = try buffer.readJuteInt("Stat.aversion")
        self.ephemeralOwner = try buffer.readJuteLong("Stat.ephemeralOwner")
        self.dataLength = try buffer.readJuteInt("Stat.dataLength")
        self.numChildren = try buffer.readJuteInt("Stat.numChildren")
        self.pzxid = try buffer.readJuteLong("Stat.pzxid")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteLong(czxid)
        buffer.writeJuteLong(mzxid)
        buffer.writeJuteLong(ctime)
        buffer.writeJuteLong(mtime)
        buffer.writeJuteInt(version)
        buffer.writeJuteInt(cversion)
        buffer.writeJuteInt(aversion)
        buffer.writeJuteLong(ephemeralOwner)
        buffer.writeJuteInt(dataLength)
        buffer.writeJuteInt(numChildren)
        buffer.writeJuteLong(pzxid)
    }
}

/// One authenticated identity of a session, as whoAmI reports it.
public struct ClientInfo: JuteRecord, Hashable, Sendable {
    public var authScheme: String
    public var user: String

    @inlinable
    public init(authScheme: String, user: String) {
        self.authScheme = authScheme
        self.user = user
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.authScheme = try buffer.readZKString("ClientInfo.authScheme")
        self.user = try buffer.readZKString("ClientInfo.user")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(authScheme)
        buffer.writeJuteString(user)
    }
}
