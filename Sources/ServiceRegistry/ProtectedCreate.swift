import ZooKeeperClient

/// The creation of one instance znode within one session, as a pure state machine: each input (the reply, or
/// error, of the last step) returns the next step for the shell (`Registrar`) to perform. No I/O, no clock.
///
/// - A sequential instance (`DYNAMIC_SEQUENTIAL`) is created "protected" like Curator's `withProtection()`: its
///   name is `_c_<guid>-<id>` plus the sequence suffix. When the create's outcome is unknown (the connection was
///   lost before the reply), the shell waits for the connection, lists the parent and adopts the child with the
///   GUID, or creates again if there is none. So a lost reply never leaves a duplicate or an orphan.
/// - A fixed-id instance (`DYNAMIC`, `STATIC`, `PERMANENT`) lives at `{service}/{id}`. After an unknown outcome,
///   or when the create finds the node already there, the node is checked: an ephemeral owned by our session
///   is ours and adopted; anything else (a leftover of a dead process whose session has not expired yet, or a
///   persistent node) is deleted and created again, as Curator's `ServiceDiscoveryImpl` does (delete then
///   create, so that watchers fire).
/// - A missing parent (NONODE) makes the shell create the parents as containers, then create again.
/// - Session expiry fails the procedure: the shell starts over in the next session with a new GUID.
public struct ProtectedCreate: Sendable, Hashable {
    public enum Step: Sendable, Hashable {
        /// Create `path` (the name before any sequence suffix) with this mode and the instance's data.
        case create(path: String, mode: CreateMode)
        /// Create each missing ancestor of `path` as a container (NODEEXISTS is fine), then report
        /// `parentsCreated()` or `failed(_:)`.
        case createParents(of: String)
        /// getChildren of the parent, then `listed(_:)`.
        case list(parent: String)
        /// exists(path), then `checked(_:)`.
        case check(path: String)
        /// delete(path, version), then `deleted()`.
        case delete(path: String, version: Int32)
        /// Wait until the client is connected again (same session), then `connectionRestored()`.
        case waitForConnection
        /// The znode is ours. `adopted` when it was found rather than created by a reply we saw (its data may
        /// then be older than ours: set it).
        case done(path: String, adopted: Bool)
        /// Give up with this error (sessionExpired: start again in the next session).
        case fail(ZooKeeperError)
    }

    public let parent: String
    /// The znode name to create: `_c_<guid>-<id>` for a sequential instance, the id otherwise.
    public let nodeName: String
    public let mode: CreateMode
    /// The GUID of a protected (sequential) create, nil otherwise.
    public let guid: String?
    /// The session we create in: an ephemeral node owned by it is ours.
    public let sessionID: Int64
    public let maxAttempts: Int

    private var attempts = 0
    /// A create was sent and its outcome is unknown.
    private var outcomeUnknown = false
    /// What to do once the connection is back.
    private var resume: Step?

    public var path: String { "\(parent)/\(nodeName)" }

    /// - Parameters:
    ///   - parent: the service path.
    ///   - id: the instance id.
    ///   - serviceType: decides the mode: ephemeral sequential (protected), ephemeral or persistent.
    ///   - guid: the protection GUID (a fresh UUID per procedure), used for `.dynamicSequential` only.
    ///   - sessionID: the current session.
    ///   - maxAttempts: creates to try before failing (NONODE races with container deletion, NODEEXISTS races
    ///     with another owner).
    public init(
        parent: String, id: String, serviceType: ServiceType, guid: String, sessionID: Int64, maxAttempts: Int = 5
    ) {
        self.parent = parent
        self.sessionID = sessionID
        self.maxAttempts = maxAttempts
        switch serviceType {
        case .dynamicSequential:
            self.nodeName = ProtectedName.make(guid: guid, name: id)
            self.mode = .ephemeralSequential
            self.guid = guid
        case .dynamic:
            self.nodeName = id
            self.mode = .ephemeral
            self.guid = nil
        case .static, .permanent:
            self.nodeName = id
            self.mode = .persistent
            self.guid = nil
        }
    }

    private var isProtected: Bool { guid != nil }

    public mutating func start() -> Step {
        nextCreate()
    }

    private mutating func nextCreate() -> Step {
        guard attempts < maxAttempts else {
            return .fail(ZooKeeperError(code: .nodeExists, path: path, message: "gave up after \(attempts) attempts"))
        }
        attempts += 1
        return .create(path: path, mode: mode)
    }

    /// After an unknown create outcome: find out whether the node exists.
    private func verifyStep() -> Step {
        isProtected ? .list(parent: parent) : .check(path: path)
    }

    private mutating func connectionLost(resumeWith step: Step) -> Step {
        resume = step
        return .waitForConnection
    }

    /// The create succeeded with this path (with its sequence suffix).
    public mutating func created(path: String) -> Step {
        outcomeUnknown = false
        return .done(path: path, adopted: false)
    }

    /// The create failed with this code.
    public mutating func createFailed(_ code: ErrorCode) -> Step {
        switch code {
        case .connectionLoss, .operationTimeout, .requestTimeout:
            // The server may or may not have created it.
            outcomeUnknown = true
            return connectionLost(resumeWith: verifyStep())
        case .noNode:
            return .createParents(of: path)
        case .nodeExists:
            // Fixed id only (a sequential name is unique).
            return .check(path: path)
        default:
            return .fail(ZooKeeperError(code: code, path: path))
        }
    }

    public mutating func parentsCreated() -> Step {
        nextCreate()
    }

    /// Any other step failed with this code.
    public mutating func failed(_ code: ErrorCode, during step: Step) -> Step {
        switch code {
        case .connectionLoss, .operationTimeout, .requestTimeout:
            // Whatever was in doubt stays in doubt: verify again once connected (or redo the step).
            if outcomeUnknown { return connectionLost(resumeWith: verifyStep()) }
            switch step {
            case .delete: return connectionLost(resumeWith: .check(path: path))
            default: return connectionLost(resumeWith: step)
            }
        case .noNode:
            switch step {
            case .list:
                // The parent is gone, so is any node we might have created.
                outcomeUnknown = false
                return .createParents(of: path)
            case .delete:
                // Someone else removed it already.
                return nextCreate()
            case .createParents:
                // An ancestor container was reaped between our look and our create (the container check deletes
                // empty containers one level per pass): start over from the create, bounded by maxAttempts.
                return nextCreate()
            default:
                return .fail(ZooKeeperError(code: code, path: path))
            }
        case .badVersion:
            // The node changed between check and delete: look again.
            return .check(path: path)
        default:
            return .fail(ZooKeeperError(code: code, path: path))
        }
    }

    public mutating func connectionRestored() -> Step {
        let step = resume ?? nextCreate()
        resume = nil
        return step
    }

    /// The children of the parent (after an unknown outcome of a protected create).
    public mutating func listed(_ children: [String]) -> Step {
        guard let guid else { return nextCreate() }
        outcomeUnknown = false
        if let mine = children.filter({ ProtectedName.matches($0, guid: guid) }).sorted().first {
            return .done(path: "\(parent)/\(mine)", adopted: true)
        }
        return nextCreate()
    }

    /// The node's Stat (nil: it does not exist), after NODEEXISTS or an unknown outcome at a fixed path.
    public mutating func checked(_ stat: Stat?) -> Step {
        let verifying = outcomeUnknown
        outcomeUnknown = false
        guard let stat else { return nextCreate() }
        if mode == .ephemeral, stat.ephemeralOwner == sessionID {
            return .done(path: path, adopted: true)
        }
        if mode == .persistent, verifying {
            // Our own create may have succeeded before its reply was lost: nobody can tell a persistent node's
            // creator, so it is adopted (the shell then writes our data).
            return .done(path: path, adopted: true)
        }
        return .delete(path: path, version: stat.version)
    }

    public mutating func deleted() -> Step {
        nextCreate()
    }
}
