import Foundation
import ZooKeeperClient

/// How a watched node's bytes become a value.
public struct NodeValueDecoder<Value: Sendable>: Sendable {
    public let decode: @Sendable (Data) throws -> Value

    public init(_ decode: @escaping @Sendable (Data) throws -> Value) {
        self.decode = decode
    }
}

extension NodeValueDecoder where Value: Decodable {
    /// JSON, with Foundation's `JSONDecoder`.
    public static func json(_ type: Value.Type = Value.self) -> NodeValueDecoder {
        NodeValueDecoder { data in try JSONDecoder().decode(Value.self, from: data) }
    }
}

extension NodeValueDecoder where Value == [UInt8] {
    /// The raw bytes.
    public static var bytes: NodeValueDecoder { NodeValueDecoder { [UInt8]($0) } }
}

extension NodeValueDecoder where Value == String {
    /// UTF-8 text; invalid UTF-8 is a decoding failure.
    public static var utf8: NodeValueDecoder {
        NodeValueDecoder { data in
            guard let text = String(data: data, encoding: .utf8) else { throw NodeValueDecodingError.invalidUTF8 }
            return text
        }
    }
}

public enum NodeValueDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidUTF8

    public var description: String { "the node's data is not valid UTF-8" }
}

/// One element of a `WatchedValueSequence`.
public enum WatchedValueUpdate<Value: Sendable>: Sendable {
    /// The node exists with this value.
    case value(Value, Stat)
    /// The node did not exist when first read, and has not existed since the sequence started.
    case neverExisted
    /// The node existed and was deleted (a re-created node comes as a new `.value`).
    case deleted
    /// The node exists but its data could not be decoded; the sequence goes on.
    case undecodable(Data, Stat, error: String)

    /// The decoded value, if the node exists and decoded.
    public var value: Value? {
        if case .value(let value, _) = self { return value }
        return nil
    }

    /// The node's Stat, if it exists.
    public var stat: Stat? {
        switch self {
        case .value(_, let stat), .undecodable(_, let stat, _): return stat
        case .neverExisted, .deleted: return nil
        }
    }
}

extension WatchedValueUpdate: Equatable where Value: Equatable {}
extension WatchedValueUpdate: Hashable where Value: Hashable {}

/// The value of one znode now and after every change, as an `AsyncSequence` (Curator's NodeCache).
///
/// ```swift
/// struct Config: Codable, Sendable { var limit: Int }
/// for await update in client.watchedValue(at: "/app/config", as: Config.self) {
///     switch update {
///     case .value(let config, _): apply(config)
///     case .deleted, .neverExisted: useDefaults()
///     case .undecodable(_, _, let error): logger.warning("bad config: \(error)")
///     }
/// }
/// ```
///
/// - The first element is the current state; then one element per change seen (changes between two reads
///   coalesce: the latest value wins, none is reported twice).
/// - It survives reconnects (the node is read again, so a change made while disconnected is reported) and session
///   expiry (a new session is started with `ensureSession()`, then the node is read again).
/// - Each iteration runs its own reads and watches; it ends when the client is closed, or when the iterating task
///   is cancelled. Elements are buffered without limit for a slow consumer.
public struct WatchedValueSequence<Value: Sendable>: AsyncSequence, Sendable {
    public typealias Element = WatchedValueUpdate<Value>
    public typealias AsyncIterator = AsyncStream<Element>.Iterator

    public let client: ZooKeeperClient
    public let path: String
    public let decoder: NodeValueDecoder<Value>

    public init(client: ZooKeeperClient, path: String, decoder: NodeValueDecoder<Value>) {
        self.client = client
        self.path = path
        self.decoder = decoder
    }

    public func makeAsyncIterator() -> AsyncIterator {
        let (stream, continuation) = AsyncStream<Element>.makeStream(bufferingPolicy: .unbounded)
        let client = self.client
        let path = self.path
        let decoder = self.decoder
        let task = Task {
            await Self.follow(client: client, path: path) { report in
                continuation.yield(Self.element(report, decoder: decoder))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream.makeAsyncIterator()
    }

    static func element(_ report: WatchedValueStateMachine.Report, decoder: NodeValueDecoder<Value>) -> Element {
        switch report {
        case .neverExisted: return .neverExisted
        case .deleted: return .deleted
        case .present(let data, let stat):
            do {
                return .value(try decoder.decode(data), stat)
            } catch {
                return .undecodable(data, stat, error: "\(error)")
            }
        }
    }

    /// Runs the state machine's steps until the client closes or the task is cancelled.
    static func follow(
        client: ZooKeeperClient, path: String, report: @escaping @Sendable (WatchedValueStateMachine.Report) -> Void
    ) async {
        typealias Message = WatchedValueStateMachine.Message
        let (messages, inbox) = AsyncStream<Message>.makeStream(bufferingPolicy: .unbounded)
        let states = client.states
        if client.currentState == .closed { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await state in states { inbox.yield(.connection(state)) }
            }
            var machine = WatchedValueStateMachine()
            var iterator = messages.makeAsyncIterator()
            func retry(after delay: Duration) {
                group.addTask {
                    try? await Task.sleep(for: delay)
                    inbox.yield(.retry)
                }
            }
            loop: while !Task.isCancelled {
                switch machine.next() {
                case .finish:
                    break loop
                case .renewSession:
                    do {
                        try await client.ensureSession()
                        machine.sessionRenewed()
                    } catch {
                        if Task.isCancelled || client.currentState == .closed { break loop }
                        retry(after: machine.sessionRenewFailed())
                    }
                case .read:
                    do {
                        let (stat, watch) = try await client.existsAndWatch(path)
                        group.addTask {
                            do {
                                _ = try await watch.event()
                                inbox.yield(.watchFired)
                            } catch let error as ZooKeeperError {
                                inbox.yield(.watchEnded(expired: error.code == .sessionExpired))
                            } catch {}
                        }
                        var observation = WatchedValueStateMachine.Observation.absent
                        if stat != nil {
                            do {
                                let (data, stat) = try await client.getData(path)
                                observation = .present(data, stat)
                            } catch let error as ZooKeeperError where error.code == .noNode {
                                observation = .absent  // deleted meanwhile; the watch fires for it
                            }
                        }
                        if let new = machine.readCompleted(observation) { report(new) }
                    } catch {
                        if Task.isCancelled || client.currentState == .closed { break loop }
                        if let delay = machine.readFailed((error as? ZooKeeperError)?.code) { retry(after: delay) }
                    }
                case .wait:
                    guard let message = await iterator.next() else { break loop }
                    machine.receive(message)
                }
            }
            group.cancelAll()
        }
    }
}

extension ZooKeeperClient {
    /// The node's value now and after every change, decoded from JSON. See `WatchedValueSequence`.
    public func watchedValue<Value: Decodable & Sendable>(
        at path: String, as type: Value.Type
    ) -> WatchedValueSequence<Value> {
        WatchedValueSequence(client: self, path: path, decoder: .json(type))
    }

    /// The node's raw bytes now and after every change.
    public func watchedValue(at path: String, as type: [UInt8].Type) -> WatchedValueSequence<[UInt8]> {
        WatchedValueSequence(client: self, path: path, decoder: .bytes)
    }

    /// The node's data as UTF-8 text now and after every change.
    public func watchedValue(at path: String, as type: String.Type) -> WatchedValueSequence<String> {
        WatchedValueSequence(client: self, path: path, decoder: .utf8)
    }

    /// The node's value now and after every change, with a decoder of your own.
    public func watchedValue<Value: Sendable>(
        at path: String, decoder: NodeValueDecoder<Value>
    ) -> WatchedValueSequence<Value> {
        WatchedValueSequence(client: self, path: path, decoder: decoder)
    }
}
