import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// The `NIOSSLContext` new TLS connections get, rebuilt when the key or trust store files change
/// (`client.certReload`): `check()` compares the files' modification times and sizes with those the current
/// context was built from. A new context that cannot be built (a half-written file, a wrong password) is
/// logged and the previous one stays in use; connections already open keep the context they started with.
final class TLSContextReloader: Sendable {
    let settings: ServerTLSSettings
    private let logger: Logger
    private let state: NIOLockedValueBox<(context: NIOSSLContext, stamp: [Int64])>

    /// Builds the first context; a problem is a startup error naming the key.
    init(settings: ServerTLSSettings, logger: Logger) throws(TLSSetupError) {
        self.settings = settings
        self.logger = logger
        let stamp = ServerTLSContextFactory.fileStamp(ServerTLSContextFactory.watchedFiles(settings))
        let context = try ServerTLSContextFactory.makeContext(settings)
        self.state = NIOLockedValueBox((context, stamp))
    }

    var current: NIOSSLContext { state.withLockedValue { $0.context } }

    /// Rebuilds the context if the files changed since the last attempt. Returns whether it was replaced.
    @discardableResult
    func check() -> Bool {
        let stamp = ServerTLSContextFactory.fileStamp(ServerTLSContextFactory.watchedFiles(settings))
        let previous = state.withLockedValue { $0.stamp }
        guard stamp != previous else { return false }
        do {
            let context = try ServerTLSContextFactory.makeContext(settings)
            state.withLockedValue { $0 = (context, stamp) }
            logger.info(
                "Reloaded the TLS key and trust stores; new connections use them",
                metadata: ["ssl.keyStore.location": "\(settings.keyStoreLocation ?? "-")"])
            return true
        } catch {
            // Remember the stamp so that one bad file is reported once, not on every check.
            state.withLockedValue { $0.stamp = stamp }
            logger.error(
                "Cannot reload the TLS key and trust stores; keeping the previous certificates",
                metadata: ["error": "\(error)"])
            return false
        }
    }
}
