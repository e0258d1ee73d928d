import ZooKeeperClient

/// The resolver's decisions, as a pure value: when to set its persistent recursive watch, when to load the whole
/// registry, which reads a batch of watch events needs, when the cache is stale or fresh, and how long to wait
/// before retrying (50 ms, doubling to 2 s, back to 50 ms after a full load). `Resolver` runs the steps and
/// reports their outcomes; tests drive it step by step with no server and no clock.
///
/// - A new watch (after a start, a failed watch, or a session expiry) is followed by a full load, because a
///   persistent watch reports changes, not the state.
/// - A reconnect with the same session keeps the watch, but ZooKeeper does not replay what it missed while
///   disconnected: a full load again.
/// - Watch events between loads become reads of just what they name (deduplicated, in arrival order).
public struct ResolverStateMachine: Sendable {
    /// What the resolver should do next.
    public enum Step: Sendable, Hashable {
        /// Set the persistent recursive watch (its events and end are reported with `generation`).
        case setWatch(generation: Int)
        /// Read the whole registry.
        case fullLoad
        /// Read what these events named.
        case apply([ServiceCacheState.Read])
        /// Wait for messages (events, connection states, the end of a watch, a retry timer).
        case wait
        /// The client is closed: stop.
        case stop
    }

    /// What the resolver should do besides the next step.
    public enum Effect: Sendable, Hashable {
        case markStale(String)
        case markFresh
        /// Send a retry message after this long.
        case retry(after: Duration)
        /// The server has no persistent recursive watches (ZooKeeper before 3.6): say so once per attempt.
        case reportUnsupported
    }

    public enum Message: Sendable, Hashable {
        case event(WatchEvent)
        case watchEnded(generation: Int, error: String?)
        case state(ConnectionState)
        case retry
    }

    public static let initialBackoff = Duration.milliseconds(50)
    public static let maximumBackoff = Duration.seconds(2)

    public let layout: RegistryLayout
    public private(set) var generation = 0
    /// The generation of the watch in place, nil when there is none.
    public private(set) var watching: Int?
    public private(set) var needsLoad = true
    public private(set) var backoff = initialBackoff
    public private(set) var stopped = false
    /// The watch or load just failed: wait for the retry before trying again.
    private var waitingForRetry = false
    private var reads: [ServiceCacheState.Read] = []
    private var seen: Set<ServiceCacheState.Read> = []

    public init(layout: RegistryLayout) {
        self.layout = layout
    }

    /// The next thing to do.
    public mutating func next() -> Step {
        if stopped { return .stop }
        if waitingForRetry { return .wait }
        if watching == nil {
            generation += 1
            return .setWatch(generation: generation)
        }
        if needsLoad {
            // The load reads everything, events included.
            reads = []
            seen = []
            return .fullLoad
        }
        if !reads.isEmpty {
            defer {
                reads = []
                seen = []
            }
            return .apply(reads)
        }
        return .wait
    }

    public mutating func watchSet(generation: Int) {
        watching = generation
        needsLoad = true
        // Events that came before are covered by the full load.
        reads = []
        seen = []
    }

    public mutating func watchFailed(_ reason: String, unsupported: Bool) -> [Effect] {
        var effects: [Effect] = [.markStale(reason)]
        if unsupported { effects.append(.reportUnsupported) }
        effects.append(scheduleRetry())
        return effects
    }

    public mutating func loaded() -> [Effect] {
        needsLoad = false
        backoff = Self.initialBackoff
        return [.markFresh]
    }

    public mutating func loadFailed(_ reason: String) -> [Effect] {
        [.markStale(reason), scheduleRetry()]
    }

    public mutating func applied() -> [Effect] {
        [.markFresh]
    }

    /// Reading what events named failed: load everything again after a pause.
    ///
    /// A failed step waits for the retry (or for the connection to come back), not for any message: a stream of
    /// watch events does not turn retries into a busy loop.
    public mutating func applyFailed(_ reason: String) -> [Effect] {
        needsLoad = true
        return [.markStale(reason), scheduleRetry()]
    }

    public mutating func receive(_ message: Message) -> [Effect] {
        switch message {
        case .event(let event):
            if let read = ServiceCacheState.read(for: event, layout: layout), seen.insert(read).inserted {
                reads.append(read)
            }
            return []
        case .watchEnded(let ended, let error):
            guard ended == watching else { return [] }
            watching = nil
            return [.markStale(error ?? "watch ended")]
        case .state(let state):
            switch state {
            case .suspended, .expired:
                return [.markStale("ZooKeeper connection \(state)")]
            case .reconnected, .readOnly:
                // A persistent watch does not replay what it missed while disconnected. Connected again: no need
                // to wait for a retry timer.
                needsLoad = true
                waitingForRetry = false
                return []
            case .connected:
                // A new session: the old watch ends (sessionExpired) and is set again.
                waitingForRetry = false
                return []
            case .closed:
                stopped = true
                return [.markStale("the ZooKeeper client is closed")]
            }
        case .retry:
            waitingForRetry = false
            return []
        }
    }

    private mutating func scheduleRetry() -> Effect {
        waitingForRetry = true
        let delay = backoff
        backoff = min(backoff * 2, Self.maximumBackoff)
        return .retry(after: delay)
    }
}
