#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension EnvironmentEntry {
    /// envi's lines for this process, with ZooKeeper's keys in ZooKeeper's order (`Environment.list()`), so
    /// tools that look up a key (kazoo reads `zookeeper.version`) find it. There is no JVM, so:
    /// - `java.version` names the Swift version zooreg was built with (`Swift 6.3`);
    /// - the other `java.*` keys print `<NA>`, ZooKeeper's value for an unset property, except
    ///   `java.io.tmpdir`, which is `$TMPDIR` or `/tmp`;
    /// - `os.arch` uses Java's names (`amd64` for x86_64);
    /// - `os.memory.total` is the process's resident size, `os.memory.max` the machine's memory and
    ///   `os.memory.free` the memory available to programs, in MB (Java prints heap figures there).
    ///   `<NA>` where the system does not say.
    ///
    /// Reads the host name, uname, the user database, the environment, the working directory and /proc;
    /// call it when answering envi, not in a hot path.
    public static func current(zookeeperVersion: String) -> [EnvironmentEntry] {
        let na = "<NA>"
        var system = utsname()
        let unameOK = uname(&system) == 0
        let osName = unameOK ? field(of: &system.sysname) : na
        let machine = unameOK ? field(of: &system.machine) : na
        let release = unameOK ? field(of: &system.release) : na

        var user = na
        var home = environmentVariable("HOME")
        if let entry = getpwuid(geteuid()) {
            user = String(cString: entry.pointee.pw_name)
            if home == nil { home = String(cString: entry.pointee.pw_dir) }
        }

        func megabytes(_ bytes: Int64?) -> String {
            bytes.map { "\($0 / (1024 * 1024))MB" } ?? na
        }

        return [
            EnvironmentEntry(key: "zookeeper.version", value: zookeeperVersion),
            EnvironmentEntry(key: "host.name", value: hostName() ?? na),
            EnvironmentEntry(key: "java.version", value: "Swift \(ServerVersion.swiftVersion)"),
            EnvironmentEntry(key: "java.vendor", value: na),
            EnvironmentEntry(key: "java.home", value: na),
            EnvironmentEntry(key: "java.class.path", value: na),
            EnvironmentEntry(key: "java.library.path", value: na),
            EnvironmentEntry(key: "java.io.tmpdir", value: environmentVariable("TMPDIR") ?? "/tmp"),
            EnvironmentEntry(key: "java.compiler", value: na),
            EnvironmentEntry(key: "os.name", value: osName),
            EnvironmentEntry(key: "os.arch", value: javaArchitectureName(machine)),
            EnvironmentEntry(key: "os.version", value: release),
            EnvironmentEntry(key: "user.name", value: user),
            EnvironmentEntry(key: "user.home", value: home ?? na),
            EnvironmentEntry(key: "user.dir", value: ServerConfiguration.processWorkingDirectory()),
            EnvironmentEntry(key: "os.memory.free", value: megabytes(procValue("/proc/meminfo", "MemAvailable:"))),
            EnvironmentEntry(key: "os.memory.max", value: megabytes(procValue("/proc/meminfo", "MemTotal:"))),
            EnvironmentEntry(key: "os.memory.total", value: megabytes(procValue("/proc/self/status", "VmRSS:"))),
        ]
    }

    /// Java's `os.arch` spelling of a uname machine name.
    static func javaArchitectureName(_ machine: String) -> String {
        switch machine {
        case "x86_64": "amd64"
        case "i386", "i486", "i586", "i686": "x86"
        case "arm64": "aarch64"
        default: machine
        }
    }

    private static func field<T>(of tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func environmentVariable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    private static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A "Key:   123 kB" line of a /proc file, in bytes.
    private static func procValue(_ path: String, _ key: String) -> Int64? {
        guard case .success(let text) = ServerConfiguration.readTextFile(atPath: path) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let parts = line.dropFirst(key.count).split(separator: " ")
            guard let number = parts.first.flatMap({ Int64($0) }) else { return nil }
            let unit = parts.count > 1 ? parts[1] : ""
            return unit == "kB" ? number * 1024 : number
        }
        return nil
    }
}
