// Records of zookeeper.jute's `org.apache.zookeeper.server.persistence` module, fields in jute order.
// Written mechanically from the field lists of zookeeper.jute: keep names, types and order in step with it.

import Jute
import NIOCore

/// The header of ZooKeeper's transaction log and snapshot files.
public struct FileHeader: JuteRecord, Hashable, Sendable {
    public var magic: Int32
    public var version: Int32
    public var dbid: Int64

    @inlinable
    public init(magic: Int32, version: Int32, dbid: Int64) {
        self.magic = magic
        self.version = version
        self.dbid = dbid
    }

    @inlinable
    public init(juteFrom buffer: inout ByteBuffer) throws(JuteError) {
        self.magic = try buffer.readJuteInt("FileHeader.magic")
        self.version = try buffer.readJuteInt("FileHeader.version")
        self.dbid = try buffer.readJuteLong("FileHeader.dbid")
    }

    @inlinable
    public func juteEncode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(magic)
        buffer.writeJuteInt(version)
        buffer.writeJuteLong(dbid)
    }
}
