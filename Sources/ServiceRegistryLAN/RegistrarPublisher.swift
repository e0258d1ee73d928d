import AvahiDNSSD
import Logging
import ServiceRegistry

/// Publishes on the LAN what a `Registrar` registers, for `zooreg register`: each instance once registered (and
/// again under its new path after a re-registration), withdrawn when deregistered or while its health check is
/// critical. When the process dies (even with kill -9), avahi-daemon drops its entries and sends goodbyes.
///
/// Only instances of this host are published (a loopback address, or one of this host's addresses or names): an
/// instance registered for another machine would otherwise be announced with this host's address.
public struct RegistrarPublisher: Sendable {
    public let connection: AvahiConnection
    public let publishing: LANPublisherState.Configuration
    let logger: Logger
    let localIdentities: Set<String>

    public init(connection: AvahiConnection, publishing: LANPublisherState.Configuration = .init(), logger: Logger) {
        self.connection = connection
        self.publishing = publishing
        self.logger = logger
        self.localIdentities = LANPublisher.localIdentities()
    }

    /// Whether `instance` would be published from this host.
    public func publishes(_ instance: ServiceInstance) -> Bool {
        guard let address = instance.address else { return true }
        if LANPublisherState.isLoopback(address) { return true }
        return LANPublisherState.isLocal(instance, identities: localIdentities)
    }

    /// Follows the registrar's events until they end; `instances` are the registered instances by id.
    public func follow(_ events: AsyncStream<RegistrarEvent>, instances: [String: ServiceInstance]) async {
        var state = RegistrarPublicationState()
        for await event in events {
            for change in state.handle(event) {
                switch change {
                case .publish(let id, let path): publish(id: id, path: path, instances: instances)
                case .withdraw(let id): connection.withdraw(id: id)
                }
            }
        }
    }

    private func publish(id: String, path: String, instances: [String: ServiceInstance]) {
        guard var instance = instances[id], publishes(instance) else { return }
        instance.enabled = true
        do {
            let entry = try DNSSDMapping.entry(
                for: instance, path: path, interface: publishing.interfaces.first ?? .any,
                ipProtocol: publishing.ipProtocol)
            connection.publish(entry, id: id)
        } catch {
            logger.warning("Not published on the LAN", metadata: ["id": "\(id)", "reason": "\(error)"])
        }
    }
}

/// What `RegistrarPublisher` does with each registrar event, as a pure value: an instance is on the LAN while it is
/// registered (at its current path) and its health check is not critical. The first check's result comes before
/// the registration, so an instance that starts critical is never published.
public struct RegistrarPublicationState: Sendable {
    public enum Change: Sendable, Hashable {
        case publish(id: String, path: String)
        case withdraw(id: String)
    }

    private var paths: [String: String] = [:]
    private var critical: Set<String> = []

    public init() {}

    public mutating func handle(_ event: RegistrarEvent) -> [Change] {
        switch event {
        case .registered(let id, let path), .reregistered(let id, let path):
            paths[id] = path
            return critical.contains(id) ? [] : [.publish(id: id, path: path)]
        case .health(let id, let status, _):
            if status == .passing {
                guard critical.remove(id) != nil, let path = paths[id] else { return [] }
                return [.publish(id: id, path: path)]
            }
            guard critical.insert(id).inserted else { return [] }
            return paths[id] == nil ? [] : [.withdraw(id: id)]
        case .deregistered(let id, _, _):
            guard paths.removeValue(forKey: id) != nil else { return [] }
            return [.withdraw(id: id)]
        case .updated, .failed:
            return []
        }
    }
}
