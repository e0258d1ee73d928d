#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ServerConfiguration {
    /// Parses the text of a zoo.cfg-compatible file. Pure: reads no file and resolves no path.
    ///
    /// - Parameters:
    ///   - contents: the file's text (Java properties syntax).
    ///   - fileName: the name used in error messages.
    ///   - overrides: command-line settings; they win over the file and are applied before the checks that
    ///     involve several keys, so a `--data-dir` flag satisfies a file without `dataDir`.
    /// - Throws: ``ConfigurationError`` naming the file and line of the first problem.
    public static func parse(
        contents: String,
        fileName: String,
        overrides: Overrides = Overrides()
    ) throws(ConfigurationError) -> ServerConfiguration {
        let entries: [JavaPropertiesEntry]
        do {
            entries = try JavaPropertiesReader.entries(of: contents)
        } catch {
            throw ConfigurationError(.malformedLine(error.message), source: .file(fileName, line: error.line))
        }

        var builder = FileConfigurationBuilder(fileName: fileName)
        for entry in entries {
            try builder.apply(entry)
        }
        return try builder.finish(overrides: overrides)
    }

    /// Reads and parses a configuration file, applies the overrides, and resolves relative directories
    /// against `currentDirectory` (the process's working directory when `nil`), as ZooKeeper does.
    public static func load(
        contentsOf path: String,
        overrides: Overrides = Overrides(),
        currentDirectory: String? = nil
    ) throws(ConfigurationError) -> ServerConfiguration {
        let contents: String
        switch readTextFile(atPath: path) {
        case .success(let text): contents = text
        case .failure(let why): throw ConfigurationError(.unreadableFile(why.description), source: .file(path, line: nil))
        }
        let configuration = try parse(contents: contents, fileName: path, overrides: overrides)
        return configuration.resolvingRelativePaths(against: currentDirectory ?? processWorkingDirectory())
    }

    /// The configuration to run with: the file at `configFile` if there is one, else ``embedded``; then the
    /// overrides; then relative paths resolved against `currentDirectory` (default: the working directory).
    public static func resolve(
        configFile: String?,
        overrides: Overrides = Overrides(),
        currentDirectory: String? = nil
    ) throws(ConfigurationError) -> ServerConfiguration {
        let directory = currentDirectory ?? processWorkingDirectory()
        if let configFile {
            return try load(contentsOf: configFile, overrides: overrides, currentDirectory: directory)
        }
        return try overrides.apply(to: .embedded).resolvingRelativePaths(against: directory)
    }

    /// The same configuration with relative `dataDir` and `dataLogDir` made absolute against `directory`.
    /// `.` components are removed; `..` components are kept, as Java's `File.getAbsolutePath()` keeps them.
    public func resolvingRelativePaths(against directory: String) -> ServerConfiguration {
        var copy = self
        copy.dataDir = Self.absolutePath(dataDir, relativeTo: directory)
        copy.dataLogDir = dataLogDir.map { Self.absolutePath($0, relativeTo: directory) }
        return copy
    }

    static func absolutePath(_ path: String, relativeTo directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : directory + "/" + path
        let components = joined.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return "/" + components.joined(separator: "/")
    }

    /// The process's working directory (`getcwd`), or "." when it cannot be read. Also the `user.dir` of the
    /// `envi` four-letter word.
    package static func processWorkingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A whole file's text, decoded as UTF-8 (invalid bytes repaired).
    package static func readTextFile(atPath path: String) -> Result<String, ReadFailure> {
        readFile(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A whole file's bytes (configuration files, TLS keys and certificates).
    package static func readFile(atPath path: String) -> Result<[UInt8], ReadFailure> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(ReadFailure(errno: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(errno: errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return .success(bytes)
    }

    /// Why a file could not be read: the `errno` of `open` or `read`.
    package struct ReadFailure: Error, CustomStringConvertible {
        package var errno: Int32
        /// `strerror`'s text.
        package var description: String { String(cString: strerror(errno)) }
    }
}

/// Accumulates the entries of one file, remembering the line of each key for later messages.
private struct FileConfigurationBuilder {
    let fileName: String
    var configuration = ServerConfiguration(dataDir: "")
    var sawDataDir = false
    /// The line each key was last set on.
    var lines: [String: Int] = [:]
    var warnings: [String] = []

    init(fileName: String) {
        self.fileName = fileName
    }

    func source(_ line: Int?) -> ConfigurationError.Source {
        .file(fileName, line: line)
    }

    mutating func apply(_ entry: JavaPropertiesEntry) throws(ConfigurationError) {
        // ZooKeeper trims both key and value.
        let key = entry.key.trimmingBlanks()
        let value = entry.value.trimmingBlanks()
        let here = source(entry.line)
        if let first = lines[key] {
            warnings.append("\(fileName):\(entry.line): \(key) is set again (also on line \(first)); the last value wins")
        }
        lines[key] = entry.line
        do {
            try ConfigurationKeys.assign(key: key, value: value, to: &configuration, notes: &warnings, location: here)
        } catch {
            throw ConfigurationError(error.reason, source: here)
        }
        if key == "dataDir" { sawDataDir = true }
    }

    func finish(overrides: ServerConfiguration.Overrides) throws(ConfigurationError) -> ServerConfiguration {
        var result = configuration
        result.warnings = warnings
        // As in ZooKeeper, a zoo.cfg that names no metrics provider gets no metrics endpoint (several servers
        // on one machine would otherwise fight over port 7000). Without a file, the embedded defaults keep it.
        if lines["metricsProvider.className"] == nil && lines["metricsProvider.httpPort"] == nil {
            result.metricsHTTPPort = 0
        }
        // A file with secureClientPort and no clientPort serves TLS only (ZooKeeper opens no plaintext port then).
        if result.tls.isEnabled && lines["clientPort"] == nil && !overrides.sets("clientPort") {
            result.plaintextClientPortEnabled = false
        }
        if !sawDataDir && overrides.dataDir == nil {
            throw ConfigurationError(
                .missingKey("dataDir", explanation: "set dataDir in the file or pass a data directory flag"),
                source: source(nil)
            )
        }
        result = try overrides.applyWithoutCrossChecks(to: result)
        if let problem = ConfigurationKeys.crossCheck(result) {
            // Point at the line of a key involved, unless a flag set it.
            let lines = self.lines
            let line = problem.keys.compactMap { key in
                overrides.sets(key) ? nil : lines[key]
            }.max()
            let fromFlags = problem.keys.contains { overrides.sets($0) }
            throw ConfigurationError(
                problem.reason,
                source: fromFlags && line == nil ? .commandLine : source(line)
            )
        }
        return result
    }
}

extension String {
    /// Trims what Java's `String.trim()` trims: ASCII control characters and spaces.
    func trimmingBlanks() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { $0.value > 0x20 }) else { return "" }
        let end = scalars.lastIndex(where: { $0.value > 0x20 })!
        return String(scalars[start...end])
    }
}
