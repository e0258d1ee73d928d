#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time and memory of a process, read from Linux's /proc.
public struct ProcessSample: Sendable, Hashable, Codable {
    /// User plus system CPU time of all the process's threads, in nanoseconds (clock-tick resolution, 10 ms).
    public var cpuNanoseconds: UInt64
    /// Resident set size in bytes (VmRSS).
    public var rssBytes: UInt64
    /// Peak resident set size in bytes (VmHWM).
    public var peakRSSBytes: UInt64
    public var threads: Int

    public init(cpuNanoseconds: UInt64, rssBytes: UInt64, peakRSSBytes: UInt64, threads: Int) {
        self.cpuNanoseconds = cpuNanoseconds
        self.rssBytes = rssBytes
        self.peakRSSBytes = peakRSSBytes
        self.threads = threads
    }

    /// The CPU spent between two samples, per operation (µs) and as cores busy over `seconds`; nil without both
    /// samples or without operations.
    public static func cpuUsage(
        from before: ProcessSample?, to after: ProcessSample?, operations: UInt64, seconds: Double
    ) -> (microsPerOp: Double, cores: Double)? {
        guard let before, let after, operations > 0 else { return nil }
        let cpu = Double(after.cpuNanoseconds &- before.cpuNanoseconds)
        return (cpu / 1000 / Double(operations), cpu / 1e9 / seconds)
    }
}

public enum ProcessStats {
    /// Reads the sample of `pid` (nil: this process).
    public static func sample(pid: Int32? = nil) throws(BenchError) -> ProcessSample {
        let base = pid.map { "/proc/\($0)" } ?? "/proc/self"
        let stat = try readFile("\(base)/stat")
        let status = try readFile("\(base)/status")
        let ticks = try parseStatTicks(stat)
        let hz = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        let memory = parseStatus(status)
        return ProcessSample(
            cpuNanoseconds: (ticks.user + ticks.system) * (1_000_000_000 / hz), rssBytes: memory.rss,
            peakRSSBytes: memory.peak, threads: ticks.threads)
    }

    /// utime and stime (clock ticks) and the thread count from the text of /proc/PID/stat. The command name (field
    /// 2) is in parentheses and may contain spaces, so fields are counted after the last ')'.
    public static func parseStatTicks(_ text: String) throws(BenchError) -> (user: UInt64, system: UInt64, threads: Int) {
        guard let close = text.lastIndex(of: ")") else { throw .processStats("no ')' in stat") }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state); utime is field 14, stime 15, num_threads 20.
        guard fields.count > 17, let user = UInt64(fields[11]), let system = UInt64(fields[12]),
            let threads = Int(fields[17])
        else { throw .processStats("short or malformed stat") }
        return (user, system, threads)
    }

    /// VmRSS and VmHWM in bytes from the text of /proc/PID/status (0 when absent).
    public static func parseStatus(_ text: String) -> (rss: UInt64, peak: UInt64) {
        var rss: UInt64 = 0
        var peak: UInt64 = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = UInt64(parts[1]) else { continue }
            if line.hasPrefix("VmRSS:") { rss = value * 1024 }
            if line.hasPrefix("VmHWM:") { peak = value * 1024 }
        }
        return (rss, peak)
    }

    static func readFile(_ path: String) throws(BenchError) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .processStats("cannot open \(path)") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw .processStats("cannot read \(path)") }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
