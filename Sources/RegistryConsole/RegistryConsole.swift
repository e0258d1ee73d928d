import AdminHTTP
import Logging
import ServiceLifecycle

/// The web console (being written: this commit only wires it into `zooreg serve`).
public final class RegistryConsole: Service, HTTPRoute {
    public struct Configuration: Sendable {
        public var connectString: @Sendable () async throws -> String
        public var basePath: String
        public var commandURL: String
        public var editEnabled: Bool
        public var writesRequireCredentials: Bool

        public init(
            connectString: @escaping @Sendable () async throws -> String, basePath: String, commandURL: String,
            editEnabled: Bool, writesRequireCredentials: Bool
        ) {
            self.connectString = connectString
            self.basePath = basePath
            self.commandURL = commandURL
            self.editEnabled = editEnabled
            self.writesRequireCredentials = writesRequireCredentials
        }
    }

    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        try await gracefulShutdown()
    }

    public func respond(to request: HTTPRequest) async -> HTTPResponse? {
        nil
    }
}
