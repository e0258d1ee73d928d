/// The version string the four-letter words print.
///
/// It reads `3.8.0-zooreg-<zooreg version>, built on <date>`, the shape of ZooKeeper's
/// `Version.getFullVersion()` (`3.8.0-<git revision>, built on 2024-12-29 17:54 UTC`). The first token is a
/// ZooKeeper version on purpose: tools parse it as one. kazoo's `server_version()` keeps the leading digits and
/// dots of envi's `zookeeper.version` to decide which features the server has; monitoring dashboards and
/// scripts split `Zookeeper version: ` lines on `-` or `,`. zooreg implements the client protocol and the
/// admin output of ZooKeeper 3.8, so that is what it claims; its own version follows `-zooreg-` for humans.
public enum ServerVersion {
    /// The ZooKeeper release whose protocol and four-letter-word output zooreg follows.
    public static let zookeeperCompatibility = "3.8.0"

    /// `3.8.0-zooreg-<zooregVersion>, built on <buildDate>`. `buildDate` should look like ZooKeeper's,
    /// `yyyy-MM-dd HH:mm UTC`; "unknown" when nil.
    public static func full(zooregVersion: String, buildDate: String? = nil) -> String {
        "\(zookeeperCompatibility)-zooreg-\(zooregVersion), built on \(buildDate ?? "unknown")"
    }

    /// The Swift language version zooreg was compiled with, e.g. `6.3`.
    public static var swiftVersion: String {
        #if compiler(>=6.5)
        "6.5 or later"
        #elseif compiler(>=6.4)
        "6.4"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }
}
