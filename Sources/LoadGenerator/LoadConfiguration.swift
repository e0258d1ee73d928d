/// Everything `zooreg bench run` is told.
public struct LoadConfiguration: Sendable, Hashable {
    /// `host:port` of the server.
    public var host: String = "127.0.0.1"
    public var port: Int = 2181
    /// TCP connections, one session each.
    public var connections: Int = 32
    /// Operations in flight per connection (saturating mode); in fixed-rate mode, the most that may be.
    public var depth: Int = 16
    /// Event-loop threads of the generator.
    public var threads: Int = 2
    public var mix: OpMix = OpMix(only: .get)
    /// Bytes of data written by set, multi and creates, and of each key at setup.
    public var valueSize: Int = 100
    /// Keys `<root>/k/0 ..< keySpace` used by get, set, exists-watch and multi.
    public var keySpace: Int = 10_000
    /// setData operations per multi.
    public var multiSize: Int = 4
    /// The parent of everything the benchmark creates.
    public var root: String = "/bench"
    /// Seconds of load before measuring.
    public var warmupSeconds: Double = 2
    /// Seconds measured (ignored when `operations` is set).
    public var durationSeconds: Double = 10
    /// Measure this many operations instead of a duration.
    public var operations: Int?
    /// Fixed-rate mode: total operations per second over all connections; nil = saturate (closed loop).
    public var rate: Double?
    /// Create (or refresh) the keys before the run.
    public var setup: Bool = true
    /// Session timeout asked for, in ms.
    public var sessionTimeoutMs: Int32 = 30_000
    /// The server's process id, for its CPU time per operation.
    public var serverPID: Int32?
    /// Seed of the generators (each connection derives its own).
    public var seed: UInt64 = 0x5EED
    /// Progress line period; nil = no progress line.
    public var progressInterval: Double? = 1

    public init() {}

    public func validate() throws(BenchError) {
        guard connections > 0 else { throw .invalidOption("--connections must be positive") }
        guard depth > 0 else { throw .invalidOption("--depth must be positive") }
        guard threads > 0 else { throw .invalidOption("--threads must be positive") }
        guard valueSize >= 0 && valueSize < 0xfffff - 1024 else { throw .invalidOption("--value-size out of range") }
        guard keySpace > 0 else { throw .invalidOption("--keys must be positive") }
        guard multiSize > 0 && multiSize <= 1000 else { throw .invalidOption("--multi-size must be 1...1000") }
        guard warmupSeconds >= 0 && warmupSeconds <= 3600 else { throw .invalidOption("--warmup must be 0...3600 s") }
        guard durationSeconds > 0 && durationSeconds <= 3600 else { throw .invalidOption("--duration must be (0, 3600] s") }
        if let operations { guard operations > 0 else { throw .invalidOption("--ops must be positive") } }
        if let rate { guard rate > 0 && rate <= 10_000_000 else { throw .invalidOption("--rate must be (0, 1e7]") } }
        guard root.hasPrefix("/"), !root.hasSuffix("/"), root.count > 1 else {
            throw .invalidOption("--root must be an absolute path other than /, without a trailing /")
        }
    }

    var keysPath: String { root + "/k" }
    var sequencePath: String { root + "/seq" }
    var servicePath: String { root + "/svc" }
}
