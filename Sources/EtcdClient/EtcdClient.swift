import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A client of etcd v3's gRPC API, the part the ensemble needs: key ranges, puts, deletes, transactions,
/// compaction, watches, leases and member status.
///
/// It holds one gRPC connection per endpoint and sends each call to the preferred endpoint. A call that fails
/// because that endpoint is down, has no leader or does not answer in time moves the preference to the next
/// endpoint (the caller retries), so a client of a 3-member cluster keeps working while one member is dead or cut
/// off. Watches carry etcd's `hasleader` requirement, so a member that loses its leader cancels them instead of
/// leaving them silent.
///
/// Call `run()` (in a task that lives as long as the client is used) before any other method.
public final class EtcdClient: Sendable {
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { "\(host):\(port)" }
    }

    typealias Transport = HTTP2ClientTransport.Posix

    private struct Member: Sendable {
        let endpoint: Endpoint
        let grpc: GRPCClient<Transport>
    }

    public let endpoints: [Endpoint]
    private let members: [Member]
    private let preferred = NIOLockedValueBox(0)
    private let logger: Logger
    /// Time limit of one unary call.
    public let callTimeout: Duration

    /// - Parameter endpoints: `http://host:port` or `host:port` each (etcd's client URLs). `https` is refused:
    ///   the ensemble talks to etcd in plain text on a trusted network for now (see the README).
    public init(endpoints: [String], callTimeout: Duration = .seconds(2), logger: Logger) throws {
        let parsed = try endpoints.map(Self.parseEndpoint)
        guard !parsed.isEmpty else { throw EtcdError.invalidEndpoint("no etcd endpoint given") }
        self.endpoints = parsed
        self.callTimeout = callTimeout
        self.logger = logger
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
        // etcd's server closes connections that ping more often than --grpc-keepalive-min-time (5 s by default)
        // with GOAWAY "too_many_pings"; a silent member is noticed sooner through call timeouts anyway.
        config.connection.keepalive = .init(time: .seconds(10), timeout: .seconds(5), allowWithoutCalls: true)
        // etcd's bandwidth-estimation PINGs would trip swift-nio-http2's control-frame limit (see PingAnswerer).
        config.channelDebuggingCallbacks = .init(
            onCreateTCPConnection: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PingAnswerer(), position: .first)
                }
            },
            onCreateHTTP2Stream: nil)
        self.members = try parsed.map { endpoint in
            let target: any ResolvableTarget =
                endpoint.host.split(separator: ".").count == 4 && endpoint.host.allSatisfy({ $0.isNumber || $0 == "." })
                ? .ipv4(address: endpoint.host, port: endpoint.port)
                : .dns(host: endpoint.host, port: endpoint.port)
            let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: config)
            return Member(endpoint: endpoint, grpc: GRPCClient(transport: transport))
        }
    }

    /// `http://host:port`, `host:port` or `[v6]:port` (a trailing `/` allowed); `https` is refused.
    public static func parseEndpoint(_ text: String) throws -> Endpoint {
        var rest = text.trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("https://") {
            throw EtcdError.invalidEndpoint("\(text): TLS to etcd is not supported yet; use http:// on a trusted network")
        }
        if rest.hasPrefix("http://") { rest.removeFirst("http://".count) }
        while rest.hasSuffix("/") { rest.removeLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), port > 0, port < 65536
        else { throw EtcdError.invalidEndpoint("\(text): expected http://host:port") }
        var host = String(rest[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw EtcdError.invalidEndpoint("\(text): no host") }
        return Endpoint(host: host, port: port)
    }

    /// Keeps the connections. Returns when cancelled.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for member in members {
                group.addTask {
                    do {
                        try await member.grpc.runConnections()
                    } catch {
                        self.logger.warning("etcd connection ended", metadata: ["endpoint": "\(member.endpoint)", "error": "\(error)"])
                    }
                }
            }
            group.addTask {
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            }
            await group.next()
            for member in members { member.grpc.beginGracefulShutdown() }
            group.cancelAll()
        }
    }

    /// The endpoint calls go to now.
    public var currentEndpoint: Endpoint { members[preferred.withLockedValue { $0 }].endpoint }

    private var options: CallOptions {
        var o = CallOptions.defaults
        o.timeout = callTimeout
        o.maxResponseMessageBytes = 256 << 20
        o.maxRequestMessageBytes = 64 << 20  // also the limit of what a call receives (grpc-swift's transport)
        return o
    }

    /// Runs `body` against the preferred member; on an error that says the member can't serve, moves the
    /// preference on. Errors are mapped to `EtcdError`.
    private func call<R: Sendable>(_ body: (GRPCClient<Transport>) async throws -> R) async throws -> R {
        let index = preferred.withLockedValue { $0 }
        do {
            return try await body(members[index].grpc)
        } catch {
            let mapped = EtcdError(error)
            if mapped.movesToNextEndpoint { rotate(from: index, because: mapped) }
            throw mapped
        }
    }

    private func rotate(from index: Int, because error: EtcdError) {
        guard members.count > 1 else { return }
        let moved = preferred.withLockedValue { current -> Bool in
            guard current == index else { return false }
            current = (index + 1) % members.count
            return true
        }
        if moved {
            logger.info("etcd endpoint failed; using the next one", metadata: [
                "failed": "\(members[index].endpoint)", "next": "\(members[(index + 1) % members.count].endpoint)",
                "error": "\(error)",
            ])
        }
    }

    // MARK: KV

    public func range(
        key: [UInt8], rangeEnd: [UInt8]? = nil, limit: Int64 = 0, keysOnly: Bool = false, serializable: Bool = false
    ) async throws -> EtcdRangeResponse {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key)
        if let rangeEnd { request.rangeEnd = Data(rangeEnd) }
        request.limit = limit
        request.keysOnly = keysOnly
        request.serializable = serializable
        let options = self.options
        let response = try await call { try await Etcdserverpb_KV.Client(wrapping: $0).range(request, options: options) }
        return EtcdRangeResponse(response)
    }

    public func range(key: String, rangeEnd: [UInt8]? = nil, limit: Int64 = 0, keysOnly: Bool = false) async throws -> EtcdRangeResponse {
        try await range(key: Array(key.utf8), rangeEnd: rangeEnd, limit: limit, keysOnly: keysOnly)
    }

    @discardableResult
    public func put(key: [UInt8], value: [UInt8], lease: Int64 = 0) async throws -> Int64 {
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key)
        request.value = Data(value)
        request.lease = lease
        let options = self.options
        let response = try await call { try await Etcdserverpb_KV.Client(wrapping: $0).put(request, options: options) }
        return response.header.revision
    }

    /// Deletes `key` (or `[key, rangeEnd)`); returns how many keys went.
    @discardableResult
    public func deleteRange(key: [UInt8], rangeEnd: [UInt8]? = nil) async throws -> Int64 {
        var request = Etcdserverpb_DeleteRangeRequest()
        request.key = Data(key)
        if let rangeEnd { request.rangeEnd = Data(rangeEnd) }
        let options = self.options
        let response = try await call { try await Etcdserverpb_KV.Client(wrapping: $0).deleteRange(request, options: options) }
        return response.deleted
    }

    public func txn(compare: [EtcdCompare], success: [EtcdOp], failure: [EtcdOp] = []) async throws -> EtcdTxnResponse {
        var request = Etcdserverpb_TxnRequest()
        request.compare = compare.map(\.message)
        request.success = success.map(\.message)
        request.failure = failure.map(\.message)
        let options = self.options
        let response = try await call { try await Etcdserverpb_KV.Client(wrapping: $0).txn(request, options: options) }
        return EtcdTxnResponse(revision: response.header.revision, succeeded: response.succeeded)
    }

    /// Compacts etcd's history up to `revision`. Throws `.compacted` if it already is.
    public func compact(revision: Int64) async throws {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        let options = self.options
        _ = try await call { try await Etcdserverpb_KV.Client(wrapping: $0).compact(request, options: options) }
    }

    // MARK: Watch

    /// Watches `[key, rangeEnd)` from `startRevision`. The stream ends with an error when the watch breaks
    /// (`.compacted` if `startRevision` is gone); the caller reopens it from where it got to. The response that
    /// confirms the watch's creation is not passed on: it says nothing about the history before it.
    public func watch(
        key: [UInt8], rangeEnd: [UInt8]?, startRevision: Int64, progressNotify: Bool = false
    ) -> AsyncThrowingStream<EtcdWatchResponse, any Error> {
        let (stream, continuation) = AsyncThrowingStream<EtcdWatchResponse, any Error>.makeStream()
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(key)
        if let rangeEnd { create.rangeEnd = Data(rangeEnd) }
        create.startRevision = startRevision
        create.progressNotify = progressNotify
        create.fragment = true
        var watchRequest = Etcdserverpb_WatchRequest()
        watchRequest.createRequest = create
        let request = watchRequest
        let index = preferred.withLockedValue { $0 }
        let grpc = members[index].grpc
        // grpc-swift's HTTP/2 transport limits the messages a stream receives by maxRequestMessageBytes (4 MiB by
        // default), and a catching-up watch gets up to 1,000 revisions per response: allow large responses, and
        // ask etcd to split them (`fragment`), reassembled below.
        var options = CallOptions.defaults
        options.maxResponseMessageBytes = 256 << 20
        options.maxRequestMessageBytes = 256 << 20
        let task = Task {
            do {
                try await Etcdserverpb_Watch.Client(wrapping: grpc).watch(
                    metadata: ["hasleader": "true"], options: options,
                    requestProducer: { writer in
                        try await writer.write(request)
                        // Keep the request side open as long as the watch lives.
                        while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                    },
                    onResponse: { response in
                        var fragments: [Mvccpb_Event] = []
                        for try await message in response.messages {
                            if message.canceled {
                                if message.compactRevision > 0 { throw EtcdError.compacted(compactRevision: message.compactRevision) }
                                throw EtcdError.watchCanceled(message.cancelReason)
                            }
                            if message.created && message.events.isEmpty { continue }
                            if message.fragment {
                                fragments.append(contentsOf: message.events)
                                continue
                            }
                            var whole = message
                            if !fragments.isEmpty {
                                whole.events = fragments + message.events
                                fragments.removeAll()
                            }
                            continuation.yield(EtcdWatchResponse(whole))
                        }
                        throw EtcdError.unavailable("the watch stream ended")
                    })
                continuation.finish()
            } catch {
                let mapped = EtcdError(error)
                if mapped.movesToNextEndpoint || mapped.isWatchCanceledForLeader { self.rotate(from: index, because: mapped) }
                continuation.finish(throwing: Task.isCancelled ? CancellationError() : mapped)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    // MARK: Leases

    /// Grants a lease with this id (0: etcd picks one) and TTL; returns its id and TTL.
    public func leaseGrant(id: Int64, ttlSeconds: Int64) async throws -> (id: Int64, ttl: Int64) {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.id = id
        request.ttl = ttlSeconds
        let options = self.options
        let response = try await call { try await Etcdserverpb_Lease.Client(wrapping: $0).leaseGrant(request, options: options) }
        if !response.error.isEmpty { throw EtcdError.other(code: "lease", message: response.error) }
        return (response.id, response.ttl)
    }

    public func leaseRevoke(id: Int64) async throws {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        let options = self.options
        _ = try await call { try await Etcdserverpb_Lease.Client(wrapping: $0).leaseRevoke(request, options: options) }
    }

    /// Renews one lease; returns its TTL. Throws `.leaseNotFound` when it has ended.
    @discardableResult
    public func leaseKeepAlive(id: Int64) async throws -> Int64 {
        let result = try await leaseKeepAlive(ids: [id])
        guard let ttl = result[id], ttl > 0 else { throw EtcdError.leaseNotFound }
        return ttl
    }

    /// Renews several leases over one keep-alive stream. Returns each id's remaining TTL; an ended lease has a
    /// TTL of 0 or less.
    public func leaseKeepAlive(ids: [Int64]) async throws -> [Int64: Int64] {
        guard !ids.isEmpty else { return [:] }
        var options = self.options
        options.timeout = callTimeout
        return try await call { grpc in
            // The request side closes (END_STREAM) only once every answer is in, and the response side then reads
            // to the stream's end: the call ends gracefully, never with a reset (etcd's gRPC server drops a
            // connection that resets streams often).
            let (answered, signal) = AsyncStream<Void>.makeStream()
            let wanted = Set(ids).count
            return try await Etcdserverpb_Lease.Client(wrapping: grpc).leaseKeepAlive(
                options: options,
                requestProducer: { writer in
                    for id in ids {
                        var request = Etcdserverpb_LeaseKeepAliveRequest()
                        request.id = id
                        try await writer.write(request)
                    }
                    for await _ in answered { break }
                },
                onResponse: { response in
                    var ttls: [Int64: Int64] = [:]
                    for try await message in response.messages {
                        ttls[message.id] = message.ttl
                        if ttls.count == wanted { signal.finish() }
                    }
                    signal.finish()
                    return ttls
                })
        }
    }

    public func leaseTimeToLive(id: Int64) async throws -> (ttl: Int64, grantedTTL: Int64, keys: [[UInt8]]) {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id
        request.keys = true
        let options = self.options
        let response = try await call { try await Etcdserverpb_Lease.Client(wrapping: $0).leaseTimeToLive(request, options: options) }
        return (response.ttl, response.grantedTtl, response.keys.map { Array($0) })
    }

    // MARK: Maintenance

    /// The status of the member behind `endpoint` (default: the preferred one).
    public func status(endpoint: Endpoint? = nil) async throws -> EtcdStatus {
        let options = self.options
        let request = Etcdserverpb_StatusRequest()
        if let endpoint, let member = members.first(where: { $0.endpoint == endpoint }) {
            do {
                return EtcdStatus(try await Etcdserverpb_Maintenance.Client(wrapping: member.grpc).status(request, options: options))
            } catch {
                throw EtcdError(error)
            }
        }
        return EtcdStatus(try await call { try await Etcdserverpb_Maintenance.Client(wrapping: $0).status(request, options: options) })
    }

    /// The first key after every key with this prefix (etcd's range end for a prefix).
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]  // every key
    }

    public static func prefixEnd(_ prefix: String) -> [UInt8] { prefixEnd(Array(prefix.utf8)) }
}
