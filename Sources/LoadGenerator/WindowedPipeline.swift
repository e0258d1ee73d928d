import NIOCore
import ZooKeeperWire

/// Sends `count` requests over one raw client with at most `window` unanswered, on the client's event loop.
/// `handle` sees each reply and may ask for a follow-up request in the same place of the window (e.g. setData
/// after NODEEXISTS), or fail the whole pipeline by throwing.
final class WindowedPipeline {
    private let client: RawClient
    private let count: Int
    private let window: Int
    private let make: (Int) -> ZooKeeperRequest
    private let handle: (Int, RawReply) throws -> ZooKeeperRequest?
    private let promise: EventLoopPromise<Void>
    private var next = 0
    private var inFlight = 0
    private var done = false

    private init(
        client: RawClient, count: Int, window: Int, make: @escaping (Int) -> ZooKeeperRequest,
        handle: @escaping (Int, RawReply) throws -> ZooKeeperRequest?
    ) {
        self.client = client
        self.count = count
        self.window = max(1, window)
        self.make = make
        self.handle = handle
        self.promise = client.eventLoop.makePromise()
    }

    /// Runs the pipeline; call on the client's event loop.
    static func run(
        client: RawClient, count: Int, window: Int, make: @escaping (Int) -> ZooKeeperRequest,
        handle: @escaping (Int, RawReply) throws -> ZooKeeperRequest?
    ) -> EventLoopFuture<Void> {
        let pipeline = WindowedPipeline(client: client, count: count, window: window, make: make, handle: handle)
        pipeline.fill()
        return pipeline.promise.futureResult
    }

    private func fill() {
        while !done && inFlight < window && next < count {
            let index = next
            next += 1
            send(make(index), index: index)
        }
        client.connection.flush()
        if !done && inFlight == 0 && next >= count {
            done = true
            promise.succeed(())
        }
    }

    private func send(_ request: ZooKeeperRequest, index: Int) {
        inFlight += 1
        let bound = NIOLoopBound(self, eventLoop: client.eventLoop)
        client.request(request, flush: false).whenComplete { result in
            bound.value.completed(index: index, result: result)
        }
    }

    private func completed(index: Int, result: Result<RawReply, any Error>) {
        inFlight -= 1
        guard !done else { return }
        do {
            if let followUp = try handle(index, try result.get()) {
                send(followUp, index: index)
            }
            fill()
        } catch {
            done = true
            promise.fail(error)
        }
    }
}
