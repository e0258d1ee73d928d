import DequeModule
import ZooKeeperWire

/// The auth data of a session (addAuth), as a sub-machine of `ConnectionStateMachine`: which credentials are
/// re-sent on every connection, who waits for them to be answered, and which auth packets are on the wire.
///
/// The credentials outlive connections and sessions (ClientCnxn.authInfo); the callers waiting for an answer
/// belong to one connection, or to the next one while there is none. The main machine tells it when a
/// connection is established (`connected`) and when it is gone (`connectionClosed`), and turns its results into
/// actions.
struct AuthStateMachine: Sendable {
    struct Credential: Hashable, Sendable {
        var scheme: String
        var auth: [UInt8]

        var packet: AuthPacket { AuthPacket(type: 0, scheme: scheme, auth: auth) }
    }

    /// An auth packet sent and not answered yet.
    private struct InFlight: Sendable {
        var credential: Credential
        var waiters: [RequestID]
    }

    private enum State: Sendable {
        /// No connection: callers of addAuth wait for the next one, by credential.
        case disconnected(waiters: [Credential: [RequestID]])
        /// A session is established: the auth packets on the wire, in the order sent (their replies come back
        /// in that order, all with xid -4).
        case connected(inFlight: Deque<InFlight>)
    }

    /// What `addAuth` asks of the connection.
    enum AddResult: Hashable, Sendable {
        /// Send this packet now.
        case send(AuthPacket)
        /// Wait for the next connection (the packet goes out right after its handshake).
        case wait
    }

    /// What an auth reply (xid -4) means.
    enum ReplyResult: Hashable, Sendable {
        case succeeded(waiters: [RequestID])
        /// The server refused the credential; it is forgotten (never re-sent).
        case failed(scheme: String, ErrorCode, waiters: [RequestID])
        /// A reply with no auth packet in flight.
        case unexpected
    }

    /// The credentials re-sent on every connection, in the order first added.
    private(set) var credentials: [Credential] = []
    private var state: State = .disconnected(waiters: [:])

    /// Auth packets sent and not answered.
    var inFlightCount: Int {
        if case .connected(let inFlight) = state { return inFlight.count }
        return 0
    }

    /// Callers waiting for a connection.
    var waitingCount: Int {
        if case .disconnected(let waiters) = state { return waiters.values.reduce(0) { $0 + $1.count } }
        return 0
    }

    /// addAuth: the credential is remembered for every later connection of the session; the caller `id` is
    /// answered when the server answers it (on this connection, or on the next one when disconnected).
    mutating func addAuth(_ id: RequestID, scheme: String, auth: [UInt8]) -> AddResult {
        let credential = Credential(scheme: scheme, auth: auth)
        if !credentials.contains(credential) { credentials.append(credential) }
        switch state {
        case .connected(var inFlight):
            inFlight.append(InFlight(credential: credential, waiters: [id]))
            state = .connected(inFlight: inFlight)
            return .send(credential.packet)
        case .disconnected(var waiters):
            waiters[credential, default: []].append(id)
            state = .disconnected(waiters: waiters)
            return .wait
        }
    }

    /// A session was established: every credential is sent again (ClientCnxn.primeConnection), with the callers
    /// that waited for it. Returns the packets to send, in order.
    mutating func connected() -> [AuthPacket] {
        guard case .disconnected(let waiters) = state else {
            preconditionFailure("auth: connected twice without a connection loss")
        }
        var inFlight: Deque<InFlight> = []
        for credential in credentials {
            inFlight.append(InFlight(credential: credential, waiters: waiters[credential] ?? []))
        }
        state = .connected(inFlight: inFlight)
        return credentials.map(\.packet)
    }

    /// The reply to the oldest auth packet in flight, with its error code (0 for success).
    mutating func replyReceived(err: Int32) -> ReplyResult {
        guard case .connected(var inFlight) = state, let sent = inFlight.popFirst() else { return .unexpected }
        state = .connected(inFlight: inFlight)
        if err == 0 { return .succeeded(waiters: sent.waiters) }
        // Never re-send credentials the server refused (it closes the connection after AUTHFAILED).
        credentials.removeAll { $0 == sent.credential }
        return .failed(scheme: sent.credential.scheme, ErrorCode(rawValue: err) ?? .authFailed, waiters: sent.waiters)
    }

    /// The connection is gone: returns the callers whose auth packets were in flight (they fail). Later addAuth
    /// calls wait for the next connection. Does nothing when there was no connection.
    mutating func connectionClosed() -> [RequestID] {
        guard case .connected(let inFlight) = state else { return [] }
        state = .disconnected(waiters: [:])
        return inFlight.flatMap(\.waiters)
    }

    /// Returns and forgets the callers waiting for a connection (the attempt failed, the session expired, the
    /// client closed); their credentials stay.
    mutating func removeWaiters() -> [RequestID] {
        guard case .disconnected(let waiters) = state else { return [] }
        state = .disconnected(waiters: [:])
        return credentials.flatMap { waiters[$0] ?? [] }
    }
}
