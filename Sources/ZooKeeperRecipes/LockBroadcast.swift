import NIOConcurrencyHelpers

/// A value that changes over time, with an `AsyncStream` of its changes per subscriber (each starts with the
/// current value). Shared by the lock and leader recipes.
final class LockBroadcast<Value: Sendable & Equatable>: Sendable {
    private struct State {
        var value: Value
        var nextID: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<Value>.Continuation] = [:]
        var finished = false
    }

    private let state: NIOLockedValueBox<State>

    init(_ value: Value) {
        state = NIOLockedValueBox(State(value: value))
    }

    var value: Value { state.withLockedValue { $0.value } }

    /// Sets the value; subscribers see it only if it changed.
    func set(_ value: Value) {
        state.withLockedValue { state in
            guard state.value != value else { return }
            state.value = value
            for subscriber in state.subscribers.values { subscriber.yield(value) }
        }
    }

    /// Ends every stream.
    func finish() {
        let subscribers = state.withLockedValue { state in
            state.finished = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    func stream() -> AsyncStream<Value> {
        let (stream, continuation) = AsyncStream<Value>.makeStream()
        let id: UInt64? = state.withLockedValue { state in
            continuation.yield(state.value)
            guard !state.finished else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        if let id {
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
            }
        } else {
            continuation.finish()
        }
        return stream
    }
}
