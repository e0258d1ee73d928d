/// What the registry's operations throw (besides `ZooKeeperError` for failures of ZooKeeper itself).
public enum ServiceRegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No instance of the service is registered (the registry was reachable and its state is known).
    case noInstances(service: String)
    /// Instances are registered, but none is healthy (their health checks fail).
    case noHealthyInstances(service: String, unhealthy: Int)
    /// The registry could not be reached: no state was ever loaded, or the cached state is older than the
    /// resolver's `maxStaleness`.
    case unreachable(String)
    /// The data of an instance znode is not a Curator service instance.
    case invalidInstanceData(String)
    /// A name, id, base path or argument is not valid.
    case invalidArgument(String)
    /// No registration with this id (in this registrar).
    case notRegistered(id: String)
    /// The registrar or resolver was shut down.
    case shutDown

    public var description: String {
        switch self {
        case .noInstances(let service): return "no instances of service '\(service)'"
        case .noHealthyInstances(let service, let unhealthy):
            return "no healthy instances of service '\(service)' (\(unhealthy) unhealthy)"
        case .unreachable(let reason): return "the registry is unreachable: \(reason)"
        case .invalidInstanceData(let reason): return "invalid service instance data: \(reason)"
        case .invalidArgument(let reason): return "invalid argument: \(reason)"
        case .notRegistered(let id): return "no registration with id '\(id)'"
        case .shutDown: return "shut down"
        }
    }
}
