import NIOCore

/// One entry of the transaction log: an opaque payload keyed by its zxid.
///
/// The persistence layer attaches no meaning to the payload; it only requires zxids to be non-negative and to
/// strictly increase across the whole log.
public struct LogRecord: Sendable, Hashable {
    /// The transaction id. Strictly increasing within a log.
    public var zxid: Int64
    /// The serialized transaction.
    public var payload: ByteBuffer

    public init(zxid: Int64, payload: ByteBuffer) {
        self.zxid = zxid
        self.payload = payload
    }
}

/// A file of the transaction log, `log.<hex zxid of its first record>`.
public struct LogFileInfo: Sendable, Hashable {
    /// The file name, for example `log.100000001`.
    public var name: String
    /// The full path.
    public var path: String
    /// The zxid of the first record, parsed from the name. Every record of the file has a zxid below the
    /// `firstZxid` of the next file.
    public var firstZxid: Int64

    public init(name: String, path: String, firstZxid: Int64) {
        self.name = name
        self.path = path
        self.firstZxid = firstZxid
    }
}

/// Settings of a transaction log directory.
public struct TransactionLogConfiguration: Sendable {
    /// The directory holding the `log.*` files (ZooKeeper's `dataLogDir`). Created if missing.
    public var directory: String
    /// A new file is started when the current one has reached this many bytes. Rolling happens between records,
    /// so a file may exceed this by at most one record. Default 64 MiB.
    public var rollSize: Int64
    /// Largest accepted payload. Appends above it are rejected; when reading, a header announcing more than
    /// this is "an impossible length". Default 32 MiB.
    public var maxRecordSize: Int
    /// The system-call layer; replace it in tests to inject failures.
    public var fileIO: any FileIO
    /// Whether a round's records are made durable with `fdatasync(2)` before their appends complete (ZooKeeper's
    /// `forceSync`, default true). With false, records are written to the file (the page cache) and the appends
    /// complete without waiting for the disk: a crash of the machine (not of the process) can lose them.
    public var forceSync: Bool

    public init(
        directory: String,
        rollSize: Int64 = 64 * 1024 * 1024,
        maxRecordSize: Int = 32 * 1024 * 1024,
        fileIO: any FileIO = PosixFileIO(),
        forceSync: Bool = true
    ) {
        self.directory = directory
        self.rollSize = rollSize
        self.maxRecordSize = maxRecordSize
        self.fileIO = fileIO
        self.forceSync = forceSync
    }
}
