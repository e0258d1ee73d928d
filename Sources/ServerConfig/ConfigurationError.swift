/// A configuration problem found at startup, with where it came from.
///
/// `description` is the message for the operator, for example
/// `conf/zoo.cfg:12: unknown configuration key 'clientPrt'`.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the offending setting came from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        /// A configuration file, and the 1-based line when the problem belongs to one line.
        case file(String, line: Int?)
        /// A command-line flag.
        case commandLine

        public var description: String {
            switch self {
            case .file(let name, let line?): "\(name):\(line)"
            case .file(let name, nil): name
            case .commandLine: "command line"
            }
        }
    }

    public enum Reason: Sendable, Equatable {
        /// The file could not be read; the associated value is the system's reason.
        case unreadableFile(String)
        /// The line is not valid properties syntax (e.g. a broken `\uXXXX` escape).
        case malformedLine(String)
        /// The key is neither a ZooKeeper key we support nor one we know.
        case unknownKey(String)
        /// The key is a real ZooKeeper key whose feature zooreg does not have.
        case unsupportedKey(String, explanation: String)
        /// The value cannot be used for the key; `expected` says what would be accepted.
        case invalidValue(key: String, value: String, expected: String)
        /// A required key is missing.
        case missingKey(String, explanation: String)
        /// Settings that are valid alone but not together.
        case inconsistent(String)
    }

    public var reason: Reason
    public var source: Source

    public init(_ reason: Reason, source: Source) {
        self.reason = reason
        self.source = source
    }

    public var description: String {
        "\(source): \(message)"
    }

    /// The message without the source prefix.
    public var message: String {
        switch reason {
        case .unreadableFile(let why):
            "cannot read the configuration file: \(why)"
        case .malformedLine(let why):
            "malformed line: \(why)"
        case .unknownKey(let key):
            "unknown configuration key '\(key)'"
        case .unsupportedKey(let key, let explanation):
            "configuration key '\(key)' is not supported: \(explanation)"
        case .invalidValue(let key, let value, let expected):
            "invalid value '\(value)' for \(key): expected \(expected)"
        case .missingKey(let key, let explanation):
            "\(key) is not set: \(explanation)"
        case .inconsistent(let why):
            why
        }
    }
}
