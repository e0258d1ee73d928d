/// The zoo.cfg keys of SASL authentication (see ``ServerSASLSettings``).
enum SASLConfigurationKeys {
    static let accepted: [String] = [
        "jaasLoginConfig", "java.security.auth.login.config",
        "sasl.serverconfig", "zookeeper.sasl.serverconfig",
        "superUser", "zookeeper.superUser",
    ]

    static let providerClass = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"

    /// Whether zoo.cfg may contain `key` (the `authProvider.*` lines are checked with their value in `assign`).
    static func isAccepted(_ key: String) -> Bool { accepted.contains(key) }

    /// Reads one SASL key into the configuration; false when `key` is not a SASL key.
    static func assign(
        key: String, value: String, to configuration: inout ServerConfiguration
    ) throws(InvalidSetting) -> Bool {
        switch key {
        case "jaasLoginConfig", "java.security.auth.login.config":
            configuration.sasl.jaasLoginConfig = try ConfigurationKeys.path(key, value)
        case "sasl.serverconfig", "zookeeper.sasl.serverconfig":
            guard !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "{" || $0 == "}" || $0 == ";" }) else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a JAAS section name such as Server"))
            }
            configuration.sasl.loginSection = value
        case "superUser", "zookeeper.superUser":
            guard !value.isEmpty else {
                throw InvalidSetting(reason: .invalidValue(key: key, value: value, expected: "a SASL user name"))
            }
            if !configuration.sasl.superUsers.contains(value) { configuration.sasl.superUsers.append(value) }
        default:
            // ZooKeeper needs authProvider.N=SASLAuthenticationProvider for sasl ACLs; zooreg has it built in.
            guard key.hasPrefix("authProvider."), value == providerClass else { return false }
        }
        return true
    }
}
