/// The AdminServer commands of ZooKeeper 3.8 (`org.apache.zookeeper.server.admin.Commands`), answered over HTTP
/// at `GET {admin.commandURL}/<name>` as JSON by ``AdminCommandRenderer``.
///
/// Each command has a primary name (the raw value, which is what a response's `"command"` field says) and the
/// aliases ZooKeeper registers for it (most are the four-letter words). Names are case-sensitive, as in
/// ZooKeeper.
public enum AdminCommand: String, CaseIterable, Sendable, Hashable {
    case configuration
    case connectionStatReset = "connection_stat_reset"
    case connections
    case dirs
    case dump
    case environment
    case getTraceMask = "get_trace_mask"
    case hash
    case initialConfiguration = "initial_configuration"
    case isReadOnly = "is_read_only"
    case lastSnapshot = "last_snapshot"
    case leader
    case monitor
    case observerConnectionStatReset = "observer_connection_stat_reset"
    case observers
    case ruok
    case serverStats = "server_stats"
    case setTraceMask = "set_trace_mask"
    case statReset = "stat_reset"
    case stats
    case systemProperties = "system_properties"
    case votingView = "voting_view"
    case watchSummary = "watch_summary"
    case watches
    case watchesByPath = "watches_by_path"
    case zabstate

    /// The primary name: the one `GET {commandURL}` lists and every response's `"command"` field carries.
    public var primaryName: String { rawValue }

    /// Every name the command answers to, the primary one first (ZooKeeper 3.8's `CommandBase` names).
    public var names: [String] {
        switch self {
        case .configuration: ["configuration", "conf", "config"]
        case .connectionStatReset: ["connection_stat_reset", "crst"]
        case .connections: ["connections", "cons"]
        case .environment: ["environment", "env", "envi"]
        case .getTraceMask: ["get_trace_mask", "gtmk"]
        case .initialConfiguration: ["initial_configuration", "icfg"]
        case .isReadOnly: ["is_read_only", "isro"]
        case .lastSnapshot: ["last_snapshot", "lsnp"]
        case .leader: ["leader", "lead"]
        case .monitor: ["monitor", "mntr"]
        case .observerConnectionStatReset: ["observer_connection_stat_reset", "orst"]
        case .observers: ["observers", "obsr"]
        case .serverStats: ["server_stats", "srvr"]
        case .setTraceMask: ["set_trace_mask", "stmk"]
        case .statReset: ["stat_reset", "srst"]
        case .stats: ["stats", "stat"]
        case .systemProperties: ["system_properties", "sysp"]
        case .watchSummary: ["watch_summary", "wchs"]
        case .watches: ["watches", "wchc"]
        case .watchesByPath: ["watches_by_path", "wchp"]
        case .dirs, .dump, .hash, .ruok, .votingView, .zabstate: [rawValue]
        }
    }

    private static let byName: [String: AdminCommand] = {
        var map: [String: AdminCommand] = [:]
        for command in allCases {
            for name in command.names { map[name] = command }
        }
        return map
    }()

    /// The command called `name` (a primary name or an alias, case-sensitive), if any.
    public init?(name: String) {
        guard let command = Self.byName[name] else { return nil }
        self = command
    }

    /// The primary names, sorted: what `GET {commandURL}` lists.
    public static var primaryNames: [String] { allCases.map(\.primaryName).sorted() }

    /// False for the commands ZooKeeper runs even when its server is not serving (`CommandBase(names, false)`):
    /// the others then answer ``AdminCommandRenderer/notServingMessage``.
    public var requiresServer: Bool {
        switch self {
        case .environment, .getTraceMask, .monitor, .setTraceMask, .systemProperties, .zabstate: false
        default: true
        }
    }

    /// The four-letter word whose figures the command reports: the server builds only what that word prints
    /// (see `ServerEngine.statusSnapshot(asking:for:)`). nil for commands that need no engine figures at all.
    public var statusWord: FourLetterWord? {
        switch self {
        case .configuration: .conf
        case .connections: .cons
        case .dirs: .dirs
        case .dump: .dump
        case .environment: .envi
        case .getTraceMask: .gtmk
        case .hash: .hash
        case .isReadOnly: .isro
        case .monitor: .mntr
        case .serverStats: .srvr
        case .stats: .stat
        case .watchSummary: .wchs
        case .watches: .wchc
        case .watchesByPath: .wchp
        case .connectionStatReset: .crst
        case .statReset: .srst
        case .setTraceMask: .stmk
        case .ruok: .ruok
        case .initialConfiguration, .lastSnapshot, .leader, .observerConnectionStatReset, .observers,
            .systemProperties, .votingView, .zabstate:
            nil
        }
    }

    /// What running the command changes, besides answering.
    public var sideEffect: FourLetterWord.SideEffect? {
        switch self {
        case .connectionStatReset: .resetConnectionStatistics
        case .statReset: .resetServerStatistics
        case .setTraceMask: .setTraceMask
        default: nil
        }
    }
}
