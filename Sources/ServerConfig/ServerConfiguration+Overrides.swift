extension ServerConfiguration {
    /// Settings given as command-line flags. Every `nil` leaves the configuration as it is; every other value
    /// wins over the file. Errors name the zoo.cfg key the flag stands for.
    public struct Overrides: Sendable, Equatable {
        public var dataDir: String?
        public var dataLogDir: String?
        public var clientPort: Int?
        public var clientPortAddress: String?
        public var tickTime: Int?
        public var minSessionTimeout: Int?
        public var maxSessionTimeout: Int?
        public var maxClientCnxns: Int?
        public var fourLetterWordWhitelist: Set<FourLetterWord>?
        public var juteMaxBuffer: Int?
        public var globalOutstandingLimit: Int?
        public var snapCount: Int?
        public var forceSync: Bool?
        public var autopurgeSnapRetainCount: Int?
        public var autopurgePurgeIntervalHours: Int?
        public var superDigest: String?
        public var extendedTypesEnabled: Bool?
        public var containerCheckIntervalMs: Int?
        public var metricsHTTPHost: String?
        public var metricsHTTPPort: Int?
        public var mdnsEnabled: Bool?
        public var mdnsServices: String?
        public var mdnsInterfaces: String?
        public var mdnsProtocols: String?
        public var mdnsBasePath: String?
        public var ensembleEtcd: String?
        public var ensembleCluster: String?
        public var ensembleReplicaId: String?
        /// `jaasLoginConfig`: the JAAS file of SASL DIGEST-MD5 users.
        public var jaasLoginConfig: String?
        public var adminEnableServer: Bool?
        public var adminServerAddress: String?
        public var adminServerPort: Int?
        public var consoleEnabled: Bool?
        public var consoleEditEnabled: Bool?

        public init(
            dataDir: String? = nil,
            dataLogDir: String? = nil,
            clientPort: Int? = nil,
            clientPortAddress: String? = nil,
            tickTime: Int? = nil,
            minSessionTimeout: Int? = nil,
            maxSessionTimeout: Int? = nil,
            maxClientCnxns: Int? = nil,
            fourLetterWordWhitelist: Set<FourLetterWord>? = nil,
            juteMaxBuffer: Int? = nil,
            globalOutstandingLimit: Int? = nil,
            snapCount: Int? = nil,
            forceSync: Bool? = nil,
            autopurgeSnapRetainCount: Int? = nil,
            autopurgePurgeIntervalHours: Int? = nil,
            superDigest: String? = nil,
            extendedTypesEnabled: Bool? = nil,
            containerCheckIntervalMs: Int? = nil,
            metricsHTTPHost: String? = nil,
            metricsHTTPPort: Int? = nil,
            mdnsEnabled: Bool? = nil,
            mdnsServices: String? = nil,
            mdnsInterfaces: String? = nil,
            mdnsProtocols: String? = nil,
            mdnsBasePath: String? = nil,
            ensembleEtcd: String? = nil,
            ensembleCluster: String? = nil,
            ensembleReplicaId: String? = nil,
            jaasLoginConfig: String? = nil,
            adminEnableServer: Bool? = nil,
            adminServerAddress: String? = nil,
            adminServerPort: Int? = nil,
            consoleEnabled: Bool? = nil,
            consoleEditEnabled: Bool? = nil
        ) {
            self.dataDir = dataDir
            self.dataLogDir = dataLogDir
            self.clientPort = clientPort
            self.clientPortAddress = clientPortAddress
            self.tickTime = tickTime
            self.minSessionTimeout = minSessionTimeout
            self.maxSessionTimeout = maxSessionTimeout
            self.maxClientCnxns = maxClientCnxns
            self.fourLetterWordWhitelist = fourLetterWordWhitelist
            self.juteMaxBuffer = juteMaxBuffer
            self.globalOutstandingLimit = globalOutstandingLimit
            self.snapCount = snapCount
            self.forceSync = forceSync
            self.autopurgeSnapRetainCount = autopurgeSnapRetainCount
            self.autopurgePurgeIntervalHours = autopurgePurgeIntervalHours
            self.superDigest = superDigest
            self.extendedTypesEnabled = extendedTypesEnabled
            self.containerCheckIntervalMs = containerCheckIntervalMs
            self.metricsHTTPHost = metricsHTTPHost
            self.metricsHTTPPort = metricsHTTPPort
            self.mdnsEnabled = mdnsEnabled
            self.mdnsServices = mdnsServices
            self.mdnsInterfaces = mdnsInterfaces
            self.mdnsProtocols = mdnsProtocols
            self.mdnsBasePath = mdnsBasePath
            self.ensembleEtcd = ensembleEtcd
            self.ensembleCluster = ensembleCluster
            self.ensembleReplicaId = ensembleReplicaId
            self.jaasLoginConfig = jaasLoginConfig
            self.adminEnableServer = adminEnableServer
            self.adminServerAddress = adminServerAddress
            self.adminServerPort = adminServerPort
            self.consoleEnabled = consoleEnabled
            self.consoleEditEnabled = consoleEditEnabled
        }

        /// The configuration with these overrides applied and checked. Errors have the `.commandLine` source.
        public func apply(to configuration: ServerConfiguration) throws(ConfigurationError) -> ServerConfiguration {
            let result = try applyWithoutCrossChecks(to: configuration)
            if let problem = ConfigurationKeys.crossCheck(result) {
                throw ConfigurationError(problem.reason, source: .commandLine)
            }
            return result
        }

        /// Applies and checks each value alone; ``ServerConfiguration`` checks the combination afterwards.
        func applyWithoutCrossChecks(
            to configuration: ServerConfiguration
        ) throws(ConfigurationError) -> ServerConfiguration {
            do {
                return try applyFields(to: configuration)
            } catch {
                throw ConfigurationError(error.reason, source: .commandLine)
            }
        }

        /// Each override as the zoo.cfg key it stands for and its value in zoo.cfg's syntax: flags and the file go
        /// through one validation table (`ConfigurationKeys.assign`), so a value means the same from either.
        var settings: [(key: String, value: String)] {
            var out: [(key: String, value: String)] = []
            func add(_ key: String, _ value: (some CustomStringConvertible)?) {
                if let value { out.append((key, value.description)) }
            }
            add("dataDir", dataDir)
            add("dataLogDir", dataLogDir)
            add("clientPort", clientPort)
            add("clientPortAddress", clientPortAddress)
            add("tickTime", tickTime)
            add("minSessionTimeout", minSessionTimeout)
            add("maxSessionTimeout", maxSessionTimeout)
            add("maxClientCnxns", maxClientCnxns)
            add("4lw.commands.whitelist", fourLetterWordWhitelist.map { $0.map(\.rawValue).sorted().joined(separator: ",") })
            add("jute.maxbuffer", juteMaxBuffer)
            add("globalOutstandingLimit", globalOutstandingLimit)
            add("snapCount", snapCount)
            add("forceSync", forceSync.map { $0 ? "yes" : "no" })
            add("autopurge.snapRetainCount", autopurgeSnapRetainCount)
            add("autopurge.purgeInterval", autopurgePurgeIntervalHours)
            add("DigestAuthenticationProvider.superDigest", superDigest)
            add("extendedTypesEnabled", extendedTypesEnabled)
            add("znode.container.checkIntervalMs", containerCheckIntervalMs)
            add("metricsProvider.httpHost", metricsHTTPHost)
            add("metricsProvider.httpPort", metricsHTTPPort)
            add("mdns.enabled", mdnsEnabled)
            add("mdns.services", mdnsServices)
            add("mdns.interfaces", mdnsInterfaces)
            add("mdns.protocols", mdnsProtocols)
            add("mdns.basePath", mdnsBasePath)
            add("ensemble.etcd", ensembleEtcd)
            add("ensemble.cluster", ensembleCluster)
            add("ensemble.replicaId", ensembleReplicaId)
            add("jaasLoginConfig", jaasLoginConfig)
            add("admin.enableServer", adminEnableServer)
            add("admin.serverAddress", adminServerAddress)
            add("admin.serverPort", adminServerPort)
            add("console.enabled", consoleEnabled)
            add("console.editEnabled", consoleEditEnabled)
            return out
        }

        private func applyFields(to base: ServerConfiguration) throws(InvalidSetting) -> ServerConfiguration {
            var c = base
            var notes: [String] = []
            for (key, value) in settings {
                try ConfigurationKeys.assign(key: key, value: value, to: &c, notes: &notes, location: .commandLine)
            }
            c.warnings += notes
            return c
        }

        /// Whether these overrides set the zoo.cfg key `key`.
        func sets(_ key: String) -> Bool {
            settings.contains { $0.key == key }
        }
    }
}
