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
            mdnsBasePath: String? = nil
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

        private func applyFields(to base: ServerConfiguration) throws(InvalidSetting) -> ServerConfiguration {
            var c = base
            if let dataDir { c.dataDir = try ConfigurationKeys.path("dataDir", dataDir) }
            if let dataLogDir { c.dataLogDir = try ConfigurationKeys.path("dataLogDir", dataLogDir) }
            if let clientPort {
                try ConfigurationKeys.checkPort("clientPort", clientPort)
                c.clientPort = clientPort
            }
            if let clientPortAddress {
                c.clientPortAddress = try ConfigurationKeys.host("clientPortAddress", clientPortAddress)
            }
            if let tickTime {
                try ConfigurationKeys.checkAtLeast("tickTime", tickTime, 1)
                c.tickTime = tickTime
            }
            if let minSessionTimeout {
                try ConfigurationKeys.checkAtLeast("minSessionTimeout", minSessionTimeout, 1)
                c.minSessionTimeout = minSessionTimeout
            }
            if let maxSessionTimeout {
                try ConfigurationKeys.checkAtLeast("maxSessionTimeout", maxSessionTimeout, 1)
                c.maxSessionTimeout = maxSessionTimeout
            }
            if let maxClientCnxns {
                try ConfigurationKeys.checkAtLeast("maxClientCnxns", maxClientCnxns, 0)
                c.maxClientCnxns = maxClientCnxns
            }
            if let fourLetterWordWhitelist { c.fourLetterWordWhitelist = fourLetterWordWhitelist }
            if let juteMaxBuffer {
                try ConfigurationKeys.checkAtLeast("jute.maxbuffer", juteMaxBuffer, 1)
                c.juteMaxBuffer = juteMaxBuffer
            }
            if let globalOutstandingLimit {
                try ConfigurationKeys.checkAtLeast("globalOutstandingLimit", globalOutstandingLimit, 1)
                c.globalOutstandingLimit = globalOutstandingLimit
            }
            if let snapCount {
                try ConfigurationKeys.checkAtLeast("snapCount", snapCount, 2)
                c.snapCount = snapCount
            }
            if let forceSync { c.forceSync = forceSync }
            if let autopurgeSnapRetainCount {
                try ConfigurationKeys.checkAtLeast("autopurge.snapRetainCount", autopurgeSnapRetainCount, 3)
                c.autopurgeSnapRetainCount = autopurgeSnapRetainCount
            }
            if let autopurgePurgeIntervalHours {
                try ConfigurationKeys.checkAtLeast("autopurge.purgeInterval", autopurgePurgeIntervalHours, 0)
                c.autopurgePurgeIntervalHours = autopurgePurgeIntervalHours
            }
            if let superDigest {
                c.superDigest = try ConfigurationKeys.superDigest("DigestAuthenticationProvider.superDigest", superDigest)
            }
            if let extendedTypesEnabled { c.extendedTypesEnabled = extendedTypesEnabled }
            if let containerCheckIntervalMs {
                try ConfigurationKeys.checkAtLeast("znode.container.checkIntervalMs", containerCheckIntervalMs, 1)
                c.containerCheckIntervalMs = containerCheckIntervalMs
            }
            if let metricsHTTPHost {
                c.metricsHTTPHost = try ConfigurationKeys.host("metricsProvider.httpHost", metricsHTTPHost)
            }
            if let metricsHTTPPort {
                try ConfigurationKeys.checkPort("metricsProvider.httpPort", metricsHTTPPort)
                c.metricsHTTPPort = metricsHTTPPort
            }
            if let mdnsEnabled { c.mdnsEnabled = mdnsEnabled }
            if let mdnsServices {
                c.mdnsServices = try ConfigurationKeys.nameList(
                    "mdns.services", mdnsServices, expected: "registry service names, comma-separated")
            }
            if let mdnsInterfaces {
                c.mdnsInterfaces = try ConfigurationKeys.nameList(
                    "mdns.interfaces", mdnsInterfaces, expected: "interface names, comma-separated")
            }
            if let mdnsProtocols { c.mdnsProtocols = try ConfigurationKeys.ipProtocols("mdns.protocols", mdnsProtocols) }
            if let mdnsBasePath { c.mdnsBasePath = try ConfigurationKeys.absolutePath("mdns.basePath", mdnsBasePath) }
            return c
        }

        /// Whether these overrides set the zoo.cfg key `key`.
        func sets(_ key: String) -> Bool {
            switch key {
            case "dataDir": dataDir != nil
            case "dataLogDir": dataLogDir != nil
            case "clientPort": clientPort != nil
            case "clientPortAddress": clientPortAddress != nil
            case "tickTime": tickTime != nil
            case "minSessionTimeout": minSessionTimeout != nil
            case "maxSessionTimeout": maxSessionTimeout != nil
            case "maxClientCnxns": maxClientCnxns != nil
            case "4lw.commands.whitelist": fourLetterWordWhitelist != nil
            case "jute.maxbuffer": juteMaxBuffer != nil
            case "globalOutstandingLimit": globalOutstandingLimit != nil
            case "snapCount": snapCount != nil
            case "forceSync": forceSync != nil
            case "autopurge.snapRetainCount": autopurgeSnapRetainCount != nil
            case "autopurge.purgeInterval": autopurgePurgeIntervalHours != nil
            case "DigestAuthenticationProvider.superDigest": superDigest != nil
            case "extendedTypesEnabled": extendedTypesEnabled != nil
            case "znode.container.checkIntervalMs": containerCheckIntervalMs != nil
            case "metricsProvider.httpHost": metricsHTTPHost != nil
            case "metricsProvider.httpPort": metricsHTTPPort != nil
            case "mdns.enabled": mdnsEnabled != nil
            case "mdns.services": mdnsServices != nil
            case "mdns.interfaces": mdnsInterfaces != nil
            case "mdns.protocols": mdnsProtocols != nil
            case "mdns.basePath": mdnsBasePath != nil
            default: false
            }
        }
    }
}
