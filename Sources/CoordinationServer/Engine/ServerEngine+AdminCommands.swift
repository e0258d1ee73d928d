import NIOCore

extension ServerEngine {
    /// Performs `command`'s side effect on the engine (crst, srst) and returns what it reports, building only
    /// what the command prints (as the four-letter words do, see `statusSnapshot(asking:for:)`). Runs on the
    /// engine's event loop. The asking HTTP request is not a client connection, so no connection is "asking".
    func adminStatusSnapshot(for command: AdminCommand) -> ServerStatusSnapshot {
        switch command.sideEffect {
        case .resetServerStatistics?: resetStatistics()
        case .resetConnectionStatistics?: resetConnectionStatistics()
        default: break
        }
        // A word that prints none of the costly parts stands for the commands that need only the basics.
        return statusSnapshot(asking: nil, for: command.statusWord ?? .ruok)
    }
}

extension ZooKeeperServer {
    /// The engine's report for `command` (after its side effect), or nil when the server is not serving
    /// (not started yet, or shutting down).
    func adminStatusSnapshot(for command: AdminCommand) async -> ServerStatusSnapshot? {
        guard let running = runningEngine.withLockedValue({ $0 }) else { return nil }
        let engine = running.engine
        return try? await running.loop.submit { engine.value.adminStatusSnapshot(for: command) }.get()
    }
}
