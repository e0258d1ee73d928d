import NIOConcurrencyHelpers
import ServiceRegistry
import ZooKeeperClient
import ZooKeeperRecipes

/// What the Services page says about the console's view of the registry.
public struct CacheStatus: Sendable, Hashable {
    public var connection: String = "connecting"
    public var initialized = false
    public var lastError: String?

    public var json: JSONValue {
        .object([
            ("connection", .string(connection)),
            ("initialized", .bool(initialized)),
            ("lastError", lastError.map(JSONValue.string) ?? .null),
        ])
    }
}

/// The services model and the live streams fed from it: each subscriber gets the snapshot, then the changes
/// that happened since, batched as they pile up while it writes (a slow client gets fewer, larger deltas; one
/// more than `maxPending` behind gets a fresh snapshot instead).
final class LiveHub: Sendable {
    struct Subscriber {
        var pending: [ServicesChange] = []
        var statusChanged = false
        var needsSnapshot = false
        let wake: AsyncStream<Void>.Continuation
    }

    struct State {
        var model: ServicesModel
        var status = CacheStatus()
        var subscribers: [UInt64: Subscriber] = [:]
        var nextID: UInt64 = 0
        var closed = false
    }

    /// What one wake-up of a subscriber has to send.
    enum Batch {
        case snapshot(JSONValue)
        case delta(seq: UInt64, changes: [ServicesChange], status: JSONValue?)
        case nothing
    }

    let maxPending: Int
    private let state: NIOLockedValueBox<State>

    init(layout: RegistryLayout, maxPending: Int = 20_000) {
        self.maxPending = maxPending
        self.state = NIOLockedValueBox(State(model: ServicesModel(layout: layout)))
    }

    var model: ServicesModel { state.withLockedValue { $0.model } }
    var status: CacheStatus { state.withLockedValue { $0.status } }
    var subscriberCount: Int { state.withLockedValue { $0.subscribers.count } }

    func apply(_ event: TreeCacheEvent) {
        state.withLockedValue { state in
            let changes = state.model.apply(event)
            let initialized = state.model.initialized
            let statusChanged = initialized != state.status.initialized
            state.status.initialized = initialized
            guard !changes.isEmpty || statusChanged else { return }
            for id in state.subscribers.keys {
                Self.enqueue(changes, statusChanged: statusChanged, to: &state.subscribers[id]!, maxPending: maxPending)
            }
        }
    }

    func setConnection(_ connection: String, error: String? = nil) {
        state.withLockedValue { state in
            guard state.status.connection != connection || state.status.lastError != error else { return }
            state.status.connection = connection
            if let error { state.status.lastError = error }
            for id in state.subscribers.keys {
                Self.enqueue([], statusChanged: true, to: &state.subscribers[id]!, maxPending: maxPending)
            }
        }
    }

    private static func enqueue(
        _ changes: [ServicesChange], statusChanged: Bool, to subscriber: inout Subscriber, maxPending: Int
    ) {
        if !subscriber.needsSnapshot {
            subscriber.pending += changes
            if subscriber.pending.count > maxPending {
                subscriber.pending = []
                subscriber.needsSnapshot = true
            }
        }
        subscriber.statusChanged = subscriber.statusChanged || statusChanged
        subscriber.wake.yield()
    }

    /// A new subscriber: its id and its wake-ups. Its first `take` is the snapshot.
    func subscribe() -> (id: UInt64, wakes: AsyncStream<Void>)? {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id: UInt64? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = Subscriber(needsSnapshot: true, wake: continuation)
            return state.nextID
        }
        guard let id else { return nil }
        continuation.yield()
        return (id, stream)
    }

    /// Wakes a subscriber with nothing to send (its stream then writes a heartbeat).
    func poke(_ id: UInt64) {
        _ = state.withLockedValue { $0.subscribers[id]?.wake.yield() }
    }

    func unsubscribe(_ id: UInt64) {
        let subscriber = state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        subscriber?.wake.finish()
    }

    /// What subscriber `id` has to send now (and forgets it).
    func take(_ id: UInt64) -> Batch {
        state.withLockedValue { state in
            guard var subscriber = state.subscribers[id] else { return .nothing }
            defer { state.subscribers[id] = subscriber }
            if subscriber.needsSnapshot {
                subscriber.needsSnapshot = false
                subscriber.pending = []
                subscriber.statusChanged = false
                return .snapshot(state.model.snapshotJSON(status: state.status.json))
            }
            guard !subscriber.pending.isEmpty || subscriber.statusChanged else { return .nothing }
            let changes = subscriber.pending
            let status = subscriber.statusChanged ? state.status.json : nil
            subscriber.pending = []
            subscriber.statusChanged = false
            return .delta(seq: state.model.sequence, changes: changes, status: status)
        }
    }

    /// Forgets the model (the session that fed it closed): the next session's cache builds it again. Subscribers,
    /// if any, get a fresh snapshot.
    func reset(connection: String) {
        state.withLockedValue { state in
            state.model = ServicesModel(layout: state.model.layout)
            state.status = CacheStatus(connection: connection)
            for id in state.subscribers.keys {
                state.subscribers[id]!.needsSnapshot = true
                state.subscribers[id]!.wake.yield()
            }
        }
    }

    func close() {
        let subscribers = state.withLockedValue { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.wake.finish() }
    }

    /// The JSON of a delta event.
    static func deltaJSON(seq: UInt64, changes: [ServicesChange], status: JSONValue?) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("seq", .number(String(seq))), ("changes", .array(changes.map(\.json))),
        ]
        if let status { members.append(("status", status)) }
        return .object(members)
    }
}
