import CoordinationCore

/// SASL DIGEST-MD5 authentication (ZooKeeper's SASLAuthenticationProvider with a JAAS `Server` section of
/// DigestLoginModule users). zooreg has no JVM, so the JAAS file is a zoo.cfg key rather than
/// `-Djava.security.auth.login.config`:
/// ```
/// authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider   # accepted; sasl is built in
/// jaasLoginConfig=/etc/zooreg/jaas.conf     # or java.security.auth.login.config=...
/// sasl.serverconfig=Server                  # the JAAS section (ZooKeeper: zookeeper.sasl.serverconfig)
/// superUser=admin                           # a SASL user that is also the superuser (zookeeper.superUser)
/// ```
/// Without a JAAS file a client's SASL token is refused (AUTHFAILED, connection closed); the `sasl` ACL scheme
/// is always available.
public struct ServerSASLSettings: Sendable, Equatable {
    /// `jaasLoginConfig` (alias `java.security.auth.login.config`): the JAAS file; nil turns SASL off.
    public var jaasLoginConfig: String?
    /// `sasl.serverconfig` (alias `zookeeper.sasl.serverconfig`): the section whose DigestLoginModule
    /// `user_<name>="<password>"` options are the users. Default `Server`.
    public var loginSection: String = "Server"
    /// `superUser` (alias `zookeeper.superUser`): SASL ids that also authenticate as `super`.
    public var superUsers: [String] = []

    public init() {}

    public var isEnabled: Bool { jaasLoginConfig != nil }

    /// The users of the JAAS file's section; nil without `jaasLoginConfig`. A missing, unreadable or malformed
    /// file, or one without the section, is an error naming the file.
    public func loadUsers() throws(SASLSetupError) -> JAASDigestUsers? {
        guard let path = jaasLoginConfig else { return nil }
        let text: String
        switch ServerConfiguration.readTextFile(atPath: path) {
        case .success(let contents): text = contents
        case .failure(let failure): throw SASLSetupError(file: path, "cannot read the JAAS file: \(failure)")
        }
        let users: JAASDigestUsers
        do {
            users = try JAASDigestUsers(parsing: text, section: loginSection)
        } catch {
            switch error {
            case .noSection(let section):
                throw SASLSetupError(file: path, "no JAAS section named '\(section)' (sasl.serverconfig)")
            case .malformed(let what):
                throw SASLSetupError(file: path, "malformed JAAS file: \(what)")
            }
        }
        if users.passwords.isEmpty {
            throw SASLSetupError(
                file: path, "section \(loginSection) has no user_<name>=\"<password>\" option (DigestLoginModule users)")
        }
        return users
    }
}

/// The JAAS file of SASL authentication cannot be used; the server does not start.
public struct SASLSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "jaasLoginConfig \(file): \(message)" }
}
