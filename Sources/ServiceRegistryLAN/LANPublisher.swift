import AvahiDNSSD
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import ServiceRegistry
import ZooKeeperClient

/// Publishes the registry's local instances on the LAN: fed by a `Resolver`'s watch-fed cache, it keeps one
/// DNS-SD entry per instance that belongs to this host (see `LANPublisherState`) through an `AvahiConnection`.
/// It runs inside `zooreg serve` and as the `zooreg publish` sidecar.
///
/// - It starts reading the registry only once avahi-daemon runs, so a host without a daemon costs the registry
///   no session and no watch; the connection warns once and keeps retrying.
/// - An instance whose session expires is deleted by the server; the resolver sees the deletion through its
///   watch within milliseconds, and the entry is withdrawn at once (the daemon sends goodbye packets).
/// - On graceful shutdown it withdraws everything, closes the resolver and its client, and closes the
///   connection.
public final class LANPublisher: Service, Sendable {
    public struct Configuration: Sendable {
        public var publishing: LANPublisherState.Configuration
        /// How often this host's addresses are read again (interfaces come and go). Default 10 s.
        public var addressRefreshInterval: Duration = .seconds(10)

        public init(
            publishing: LANPublisherState.Configuration = .init(), addressRefreshInterval: Duration = .seconds(10)
        ) {
            self.publishing = publishing
            self.addressRefreshInterval = addressRefreshInterval
        }
    }

    /// What the publisher did, for logs and the command line.
    public enum Event: Sendable, Hashable {
        case published(path: String, name: String, type: String)
        case renamed(path: String, from: String, to: String)
        case withdrawn(path: String, name: String, type: String)
        case failed(path: String, reason: String)
    }

    public let resolver: ServiceRegistry.Resolver
    public let connection: AvahiConnection
    public let configuration: Configuration
    let logger: Logger
    private let state: NIOLockedValueBox<LANPublisherState>
    private let subscribers = NIOLockedValueBox<[UInt64: AsyncStream<Event>.Continuation]>([:])
    private let nextID = NIOLockedValueBox<UInt64>(0)

    public init(resolver: ServiceRegistry.Resolver, connection: AvahiConnection, configuration: Configuration = .init(), logger: Logger) {
        self.resolver = resolver
        self.connection = connection
        self.configuration = configuration
        self.logger = logger
        self.state = NIOLockedValueBox(
            LANPublisherState(
                configuration: configuration.publishing, layout: resolver.layout,
                localIdentities: Self.localIdentities()))
    }

    /// What is published now (publication id → entry).
    public var published: [String: DNSSDServiceEntry] { state.withLockedValue { $0.published } }

    /// The publisher's events from now on; the stream ends when the publisher stops.
    public func events() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        let id = nextID.withLockedValue { value -> UInt64 in
            value += 1
            return value
        }
        subscribers.withLockedValue { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLockedValue { $0.removeValue(forKey: id) } }
        return stream
    }

    public func run() async throws {
        connection.start()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.forwardPublicationEvents() }
                group.addTask {
                    guard await self.connection.waitUntilRunning() else { return }
                    await withTaskGroup(of: Void.self) { inner in
                        inner.addTask { await self.follow() }
                        inner.addTask { await self.refreshAddresses() }
                        await inner.next()
                        inner.cancelAll()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Closing the connection ends the wait for a daemon that never came, and withdraws what is published
            // (freeing its entry groups makes the daemon send goodbye packets).
            self.resolver.close()
            self.connection.close()
        }
        resolver.close()
        await resolver.client.close()
        await connection.closeAndWait()
        for continuation in subscribers.withLockedValue({ Array($0.values) }) { continuation.finish() }
    }

    private func follow() async {
        logger.debug("LAN publisher following the registry", metadata: ["basePath": "\(resolver.layout.basePath)"])
        for await cache in resolver.cacheUpdates() {
            apply(state.withLockedValue { $0.update(cache: cache) })
        }
    }

    private func refreshAddresses() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.addressRefreshInterval)
            } catch {
                return
            }
            let identities = Self.localIdentities()
            apply(state.withLockedValue { $0.updateLocalIdentities(identities) })
        }
    }

    private func apply(_ changes: [LANPublisherState.Change]) {
        for change in changes {
            switch change {
            case .publish(let id, let entry): connection.publish(entry, id: id)
            case .withdraw(let id): connection.withdraw(id: id)
            }
        }
    }

    private func forwardPublicationEvents() async {
        for await event in connection.publicationEvents() {
            let mapped: Event
            switch event {
            case .established(let id, let name, let type): mapped = .published(path: Self.path(of: id), name: name, type: type)
            case .renamed(let id, let from, let to): mapped = .renamed(path: Self.path(of: id), from: from, to: to)
            case .withdrawn(let id, let name, let type): mapped = .withdrawn(path: Self.path(of: id), name: name, type: type)
            case .failed(let id, let reason): mapped = .failed(path: Self.path(of: id), reason: reason)
            }
            for continuation in subscribers.withLockedValue({ Array($0.values) }) { continuation.yield(mapped) }
        }
    }

    private static func path(of id: String) -> String {
        guard let at = id.lastIndex(of: "@") else { return id }
        return String(id[..<at])
    }

    /// This host's non-loopback interface addresses and its host name.
    public static func localIdentities() -> Set<String> {
        var identities: Set<String> = []
        for device in (try? System.enumerateDevices()) ?? [] {
            guard let address = device.address, let ip = address.ipAddress else { continue }
            let plain = ip.split(separator: "%").first.map(String.init) ?? ip
            if !LANPublisherState.isLoopback(plain) { identities.insert(plain.lowercased()) }
        }
        if let name = hostName() { identities.insert(name.lowercased()) }
        return identities
    }

    private static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? nil : name
    }
}
