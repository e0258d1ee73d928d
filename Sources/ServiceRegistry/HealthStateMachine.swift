/// Whether an instance's checks pass.
public enum HealthStatus: String, Sendable, Hashable, CustomStringConvertible {
    case passing
    case critical

    public var description: String { rawValue }
}

/// The outcome of one run of a health check.
public enum HealthCheckResult: Sendable, Hashable, CustomStringConvertible {
    case passed
    /// Failed (or timed out), with why.
    case failed(String)

    public var passed: Bool { self == .passed }

    public var description: String {
        switch self {
        case .passed: return "passed"
        case .failed(let reason): return "failed: \(reason)"
        }
    }
}

/// How a registration's health check runs and what its results do.
public struct HealthCheckPolicy: Sendable, Hashable {
    /// Time between the starts of two checks. Default 10 s.
    public var interval: Duration = .seconds(10)
    /// A check that takes longer fails. Default 5 s.
    public var timeout: Duration = .seconds(5)
    /// Consecutive failures that turn a passing instance critical. Default 1 (Consul's behaviour).
    public var failuresBeforeCritical: Int = 1
    /// Consecutive successes that turn a critical instance passing. Default 1.
    public var successesBeforePassing: Int = 1
    /// Deregister an instance that stays critical this long (Consul's DeregisterCriticalServiceAfter); it is
    /// registered again when its checks pass again. nil (default) never deregisters.
    public var deregisterCriticalAfter: Duration?
    /// The status before the first result. Default `.critical`, as Consul: an instance is not routed to until a
    /// check has passed. (The registrar runs the first check before it creates the znode, so the znode starts
    /// with the first result.)
    public var initialStatus: HealthStatus = .critical

    public init(
        interval: Duration = .seconds(10), timeout: Duration = .seconds(5), failuresBeforeCritical: Int = 1,
        successesBeforePassing: Int = 1, deregisterCriticalAfter: Duration? = nil,
        initialStatus: HealthStatus = .critical
    ) {
        self.interval = interval
        self.timeout = timeout
        self.failuresBeforeCritical = max(1, failuresBeforeCritical)
        self.successesBeforePassing = max(1, successesBeforePassing)
        self.deregisterCriticalAfter = deregisterCriticalAfter
        self.initialStatus = initialStatus
    }
}

/// What a health result asks the registrar to do.
public enum HealthDirective: Sendable, Hashable {
    /// Write the instance as enabled (its checks pass again).
    case markPassing
    /// Write the instance as disabled (`"enabled":false`): resolvers skip it.
    case markCritical
    /// Critical past `deregisterCriticalAfter`: delete the znode.
    case deregister
    /// Passing again after a deregistration: create the znode again (enabled).
    case reregister
}

/// The health of one registration, as a pure state machine: results and the time they arrived in, directives
/// out. Time is injected (`Instant` of any clock), so tests drive it with a manual clock.
///
/// - A passing instance turns critical after `failuresBeforeCritical` consecutive failures (`.markCritical`).
/// - A critical instance turns passing after `successesBeforePassing` consecutive successes (`.markPassing`, or
///   `.reregister` if it had been deregistered).
/// - An instance critical for `deregisterCriticalAfter` (counted from the result that made it critical, or from
///   the start when it starts critical) is deregistered once (`.deregister`), at the first result at or past
///   the deadline; `deregisterDeadline` says when that is, for a shell that wants a timer.
public struct HealthStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    public let policy: HealthCheckPolicy
    public private(set) var status: HealthStatus
    /// The instance was deregistered for staying critical.
    public private(set) var isDeregistered = false
    public private(set) var consecutiveFailures = 0
    public private(set) var consecutiveSuccesses = 0
    /// Since when the instance is critical, nil while passing.
    public private(set) var criticalSince: Instant?
    /// The last result, nil before the first.
    public private(set) var lastResult: HealthCheckResult?

    public init(policy: HealthCheckPolicy, now: Instant) {
        self.policy = policy
        self.status = policy.initialStatus
        self.criticalSince = policy.initialStatus == .critical ? now : nil
    }

    /// Whether the instance should be written as enabled.
    public var isPassing: Bool { status == .passing }

    /// When a still-critical instance gets deregistered, nil if never.
    public var deregisterDeadline: Instant? {
        guard !isDeregistered, let since = criticalSince, let limit = policy.deregisterCriticalAfter else { return nil }
        return since.advanced(by: limit)
    }

    /// Feeds one check result.
    public mutating func record(_ result: HealthCheckResult, now: Instant) -> [HealthDirective] {
        lastResult = result
        var directives: [HealthDirective] = []
        switch result {
        case .passed:
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            if status == .critical, consecutiveSuccesses >= policy.successesBeforePassing {
                status = .passing
                criticalSince = nil
                if isDeregistered {
                    isDeregistered = false
                    directives.append(.reregister)
                } else {
                    directives.append(.markPassing)
                }
            }
        case .failed:
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            if status == .passing, consecutiveFailures >= policy.failuresBeforeCritical {
                status = .critical
                criticalSince = now
                directives.append(.markCritical)
            }
        }
        directives += tick(now: now)
        return directives
    }

    /// Time passed without a result: deregisters when the deadline is reached.
    public mutating func tick(now: Instant) -> [HealthDirective] {
        if let deadline = deregisterDeadline, now >= deadline {
            isDeregistered = true
            return [.deregister]
        }
        return []
    }
}
