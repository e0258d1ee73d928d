import ZooKeeperClient

/// One attempt to take a lock-style recipe's place (a mutex, a read or write lock, a semaphore lease, a leader
/// latch), as a pure state machine: each input (the reply or error of the last step, with the time) returns the
/// next step for the shell (`LockDriver`) to perform. No I/O, no clock reads.
///
/// - The node is created protected, ephemeral sequential: `<parent>/_c_<guid>-<name><seq>` (Curator's
///   `withProtection()`). When the create's reply is lost, the shell waits for the connection, lists the parent
///   and adopts the child with our guid, or creates again: a lost reply never leaves an orphan that would block
///   the lock forever.
/// - A missing parent makes the shell create the parents as containers (Curator's
///   `creatingParentContainersIfNeeded`).
/// - Waiters watch only the node the schema names (for a mutex: the predecessor), so a release wakes one waiter
///   (no herd effect). A watched node found gone already means: look again at once.
/// - Our own node missing from the listing (deleted by someone, or the session expired) starts over with a new
///   guid (`restart`), like Curator's retry.
/// - A deadline passed (or cancellation) deletes our node (or, when its creation is in doubt, any node with our
///   guid) and fails.
public struct LockAttempt<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Failure: Error, Sendable, Hashable {
        case timedOut
        case cancelled
        case error(ZooKeeperError)
    }

    /// What to remove before giving up.
    public enum Cleanup: Sendable, Hashable {
        case none
        /// Our node.
        case node(String)
        /// Whatever child of `parent` carries our guid (the create's outcome is unknown).
        case protected(parent: String, guid: String)
    }

    public enum Step: Sendable, Hashable {
        /// Create `path` (the protected name, before the sequence) EPHEMERAL_SEQUENTIAL with the recipe's data,
        /// then `created(path:now:)` or `failed(_:now:)`.
        case create(path: String)
        /// Create each missing ancestor of `path` as a container (NODEEXISTS is fine), then `parentsCreated(now:)`.
        case createParents(of: String)
        /// getChildren of the parent (with a child watch when `watch`), then `listed(_:now:)`.
        case list(parent: String, watch: Bool)
        /// getData with a watch on this node, then `watchSet(exists:now:)`.
        case watchNode(path: String)
        /// Wait until the watch fires (`watchFired(now:)`) or the deadline passes (`timeReached(now:)`).
        case wait(deadline: Instant?)
        /// Wait until the client is connected again (same session), then `connectionRestored(now:)`; give up at the
        /// deadline with `timeReached(now:)`.
        case waitForConnection(deadline: Instant?)
        /// Our node holds the lock.
        case acquired(path: String)
        /// Our node vanished: call `start(guid:now:)` with a fresh guid.
        case restart
        /// Remove what `cleanup` says (best effort), then give up with the failure.
        case abandon(Cleanup, Failure)
    }

    public let parent: String
    public let schema: LockSchema
    public let deadline: Instant?
    public let maxRestarts: Int

    public private(set) var guid: String?
    /// Our node's name (no parent), once known.
    public private(set) var ourName: String?
    private var createUnknown = false
    private var resume: Step?
    private var current: Step?
    private var restarts = 0
    private var parentAttempts = 0

    public init(parent: String, schema: LockSchema, deadline: Instant?, maxRestarts: Int = 5) {
        self.parent = parent
        self.schema = schema
        self.deadline = deadline
        self.maxRestarts = maxRestarts
    }

    public var ourPath: String? { ourName.map { "\(parent)/\($0)" } }

    private var cleanup: Cleanup {
        if let ourPath { return .node(ourPath) }
        if createUnknown, let guid { return .protected(parent: parent, guid: guid) }
        return .none
    }

    private func expired(_ now: Instant) -> Bool {
        if let deadline { return now >= deadline }
        return false
    }

    private mutating func go(_ step: Step) -> Step {
        current = step
        return step
    }

    private var listStep: Step {
        if case .leaseCount = schema.rule { return .list(parent: parent, watch: true) }
        return .list(parent: parent, watch: false)
    }

    /// Starts (or, after `restart`, starts again) with a fresh guid.
    public mutating func start(guid: String, now: Instant) -> Step {
        if expired(now) { return go(.abandon(cleanup, .timedOut)) }
        if self.guid != nil {
            restarts += 1
            if restarts > maxRestarts {
                return go(.abandon(.none, .error(ZooKeeperError(
                    code: .noNode, path: parent, message: "our lock node vanished \(restarts) times"))))
            }
        }
        self.guid = guid
        ourName = nil
        createUnknown = false
        return go(.create(path: "\(parent)/\(LockProtectedName.make(guid: guid, name: schema.nodeName))"))
    }

    /// Carries on with a node we already own (a leader latch after a reconnect).
    public mutating func resume(ownedPath: String) -> Step {
        ourName = String(ownedPath.split(separator: "/").last ?? "")
        return go(listStep)
    }

    public mutating func created(path: String, now: Instant) -> Step {
        createUnknown = false
        ourName = String(path.split(separator: "/").last ?? "")
        return go(listStep)
    }

    public mutating func parentsCreated(now: Instant) -> Step {
        guard let guid else { return go(.abandon(.none, .error(.apiError))) }
        return go(.create(path: "\(parent)/\(LockProtectedName.make(guid: guid, name: schema.nodeName))"))
    }

    /// The current step failed with this code.
    public mutating func failed(_ code: ErrorCode, now: Instant) -> Step {
        let step = current
        switch code {
        case .connectionLoss, .operationTimeout, .requestTimeout:
            if case .create = step { createUnknown = true }
            // After an unknown create outcome, list to find a node with our guid; otherwise redo the step.
            resume = createUnknown ? .list(parent: parent, watch: false) : step
            return go(.waitForConnection(deadline: deadline))
        case .noNode:
            switch step {
            case .create:
                parentAttempts += 1
                if parentAttempts > 5 { return go(.abandon(cleanup, .error(ZooKeeperError(code: code, path: parent)))) }
                return go(.createParents(of: "\(parent)/x"))
            case .createParents:
                // A container ancestor was reaped between our look and our create: try again (bounded).
                return parentsCreated(now: now)
            case .list:
                // The parent is gone, and our node with it.
                createUnknown = false
                ourName = nil
                return go(.restart)
            case .watchNode:
                return watchSet(exists: false, now: now)
            default:
                return go(.abandon(cleanup, .error(ZooKeeperError(code: code, path: parent))))
            }
        case .sessionExpired:
            // The session's ephemeral nodes are gone: nothing to clean up.
            return go(.abandon(.none, .error(ZooKeeperError(code: code, path: parent))))
        default:
            return go(.abandon(cleanup, .error(ZooKeeperError(code: code, path: parent))))
        }
    }

    public mutating func connectionRestored(now: Instant) -> Step {
        if expired(now) { return go(.abandon(cleanup, .timedOut)) }
        let step = resume ?? listStep
        resume = nil
        return go(step)
    }

    /// The children of the parent.
    public mutating func listed(_ children: [String], now: Instant) -> Step {
        if createUnknown {
            createUnknown = false
            guard let guid, let mine = children.filter({ LockProtectedName.matches($0, guid: guid) }).sorted().first
            else {
                // The create never happened: create again with the same guid.
                return parentsCreated(now: now)
            }
            ourName = mine
        }
        guard let ourName else { return go(.restart) }
        switch schema.evaluate(children: children, ours: ourName) {
        case .granted:
            return go(.acquired(path: "\(parent)/\(ourName)"))
        case .missing:
            self.ourName = nil
            return go(.restart)
        case .watchNode(let name):
            if expired(now) { return go(.abandon(cleanup, .timedOut)) }
            return go(.watchNode(path: "\(parent)/\(name)"))
        case .watchChildren:
            if expired(now) { return go(.abandon(cleanup, .timedOut)) }
            return go(.wait(deadline: deadline))
        }
    }

    /// The watch on the node to wait for is set (`exists`), or that node is gone already.
    public mutating func watchSet(exists: Bool, now: Instant) -> Step {
        exists ? go(.wait(deadline: deadline)) : go(listStep)
    }

    public mutating func watchFired(now: Instant) -> Step {
        go(listStep)
    }

    /// The shell's timer went off (or it stopped waiting for some other reason).
    public mutating func timeReached(now: Instant) -> Step {
        if expired(now) { return go(.abandon(cleanup, .timedOut)) }
        return go(current ?? listStep)
    }

    /// The caller gave up (task cancelled).
    public mutating func cancelled() -> Step {
        go(.abandon(cleanup, .cancelled))
    }
}
