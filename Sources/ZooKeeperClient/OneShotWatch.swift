import NIOConcurrencyHelpers
import ZooKeeperWire

/// A one-shot watch set by a read (`getDataAndWatch`, `existsAndWatch`, `getChildrenAndWatch`): it fires once,
/// when the node changes, and `event()` returns that event.
///
/// The watch survives reconnects (the client re-registers it with setWatches). `event()` throws
/// `ZooKeeperError.sessionExpired` if the session expires first, and the `clientClosed` flavour of it
/// (`sessionExpired` with a message) if the client is closed. `removeWatches` fires it with a
/// `dataWatchRemoved`/`childWatchRemoved` event. Several tasks may wait on the same watch.
public final class OneShotWatch: Sendable {
    /// The watched path, relative to the chroot.
    public let path: String

    private enum State {
        case waiting(next: UInt64, [UInt64: CheckedContinuation<WatchEvent, any Error>])
        case done(Result<WatchEvent, ZooKeeperError>)
    }

    private let state = NIOLockedValueBox(State.waiting(next: 0, [:]))

    init(path: String) {
        self.path = path
    }

    /// Waits for the event. Cancelling the waiting task throws `CancellationError` (the watch stays set).
    public func event() async throws -> WatchEvent {
        let id: UInt64? = state.withLockedValue { state in
            if case .waiting(let next, let waiters) = state {
                state = .waiting(next: next + 1, waiters)
                return next
            }
            return nil
        }
        guard let id else { return try result!.get() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<WatchEvent, any Error>) in
                let ready: Result<WatchEvent, any Error>? = state.withLockedValue { state in
                    switch state {
                    case .done(let result):
                        return result.mapError { $0 }
                    case .waiting(let next, var waiters):
                        if Task.isCancelled { return .failure(CancellationError()) }
                        waiters[id] = continuation
                        state = .waiting(next: next, waiters)
                        return nil
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<WatchEvent, any Error>? = state.withLockedValue { state in
                guard case .waiting(let next, var waiters) = state else { return nil }
                let c = waiters.removeValue(forKey: id)
                state = .waiting(next: next, waiters)
                return c
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// The outcome once the watch has fired or ended, nil while it is still set.
    public var result: Result<WatchEvent, ZooKeeperError>? {
        state.withLockedValue { state in
            if case .done(let result) = state { return result }
            return nil
        }
    }

    /// Whether the watch has fired (or ended).
    public var hasFired: Bool { result != nil }

    func complete(_ result: Result<WatchEvent, ZooKeeperError>) {
        let waiters: [CheckedContinuation<WatchEvent, any Error>] = state.withLockedValue { state in
            guard case .waiting(_, let waiters) = state else { return [] }
            state = .done(result)
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(with: result.mapError { $0 }) }
    }
}

/// The events of a persistent or persistent-recursive watch (`addWatch`), as an `AsyncSequence`.
///
/// The watch is re-registered after every reconnect (setWatches2). The sequence ends when the client is closed,
/// and throws `ZooKeeperError.sessionExpired` when the session expires. When iteration stops (the task is
/// cancelled or the sequence is dropped), the client stops delivering locally; when no other local watcher
/// needs the path, it also removes the server's watch with removeWatches (type any), since ZooKeeper 3.8's
/// removeWatches does not take the persistent watcher types.
public struct WatchEventStream: AsyncSequence, Sendable {
    public typealias Element = WatchEvent
    public typealias AsyncIterator = AsyncThrowingStream<WatchEvent, any Error>.AsyncIterator

    /// The watched path, relative to the chroot.
    public let path: String
    public let mode: AddWatchMode
    let base: AsyncThrowingStream<WatchEvent, any Error>

    public func makeAsyncIterator() -> AsyncIterator { base.makeAsyncIterator() }
}
