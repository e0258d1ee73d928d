import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An active health check run by the registering process: a TCP connect, an HTTP GET expecting 2xx, a
/// command's exit status, or any async closure.
///
/// ```swift
/// let check = try HealthCheck(parsing: "http://127.0.0.1:8080/health")   // or tcp://host:port, exec:command
/// ```
public struct HealthCheck: Sendable, CustomStringConvertible {
    public let description: String
    private let probe: @Sendable (Duration) async -> HealthCheckResult

    /// A custom check: `probe` gets the timeout and must return by then (the caller enforces it too).
    public init(description: String, probe: @escaping @Sendable (Duration) async -> HealthCheckResult) {
        self.description = description
        self.probe = probe
    }

    /// Runs the check once, failing it if it takes longer than `timeout`.
    public func run(timeout: Duration) async -> HealthCheckResult {
        let probe = self.probe
        return await withTaskGroup(of: HealthCheckResult?.self) { group in
            group.addTask { await probe(timeout) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failed("timed out after \(timeout)")
            }
            var outcome: HealthCheckResult = .failed("cancelled")
            for await result in group {
                if let result {
                    outcome = result
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
    }

    /// Passes when a TCP connection to host:port opens.
    public static func tcp(host: String, port: Int, eventLoopGroup: (any EventLoopGroup)? = nil) -> HealthCheck {
        let group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        return HealthCheck(description: "tcp://\(host):\(port)") { timeout in
            do {
                let channel = try await ClientBootstrap(group: group)
                    .connectTimeout(TimeAmount(timeout))
                    .connect(host: host, port: port).get()
                try? await channel.close()
                return .passed
            } catch {
                return .failed("connect to \(host):\(port): \(error)")
            }
        }
    }

    /// Passes when `GET url` answers with a 2xx status (plain http only).
    public static func http(_ url: String, eventLoopGroup: (any EventLoopGroup)? = nil) throws -> HealthCheck {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http",
            let host = components.host, !host.isEmpty
        else {
            throw ServiceRegistryError.invalidArgument("'\(url)' is not an http:// URL (https is not supported)")
        }
        let port = components.port ?? 80
        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }
        let target = path
        let hostHeader = components.port.map { "\(host):\($0)" } ?? host
        let group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        return HealthCheck(description: url) { timeout in
            do {
                let status = try await HTTPProbe.get(
                    host: host, port: port, target: target, hostHeader: hostHeader, timeout: timeout, group: group)
                return (200..<300).contains(status) ? .passed : .failed("HTTP status \(status)")
            } catch {
                return .failed("GET \(url): \(error)")
            }
        }
    }

    /// Passes when `/bin/sh -c command` exits with status 0 (its output is discarded). A command still running
    /// at the timeout is sent SIGTERM, then SIGKILL a second later.
    public static func command(_ command: String) -> HealthCheck {
        HealthCheck(description: "exec:\(command)") { timeout in
            await CommandProbe.run(command, timeout: timeout)
        }
    }

    /// `http://…` (HTTP GET), `tcp://host:port` (TCP connect) or `exec:command` (exit status).
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            self = try .http(text)
        } else if lower.hasPrefix("tcp://") {
            let rest = String(text.dropFirst("tcp://".count))
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                (1...65535).contains(port)
            else {
                throw ServiceRegistryError.invalidArgument("'\(text)' is not tcp://host:port")
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { throw ServiceRegistryError.invalidArgument("'\(text)' has no host") }
            self = .tcp(host: host, port: port)
        } else if lower.hasPrefix("exec:") {
            let command = String(text.dropFirst("exec:".count))
            guard !command.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ServiceRegistryError.invalidArgument("'\(text)' has no command")
            }
            self = .command(command)
        } else {
            throw ServiceRegistryError.invalidArgument(
                "unknown health check '\(text)' (expected http://…, tcp://host:port or exec:command)")
        }
    }
}

/// A minimal HTTP/1.1 GET over NIO that returns the response status.
enum HTTPProbe {
    struct Timeout: Error, CustomStringConvertible {
        var description: String { "timed out" }
    }

    struct ClosedEarly: Error, CustomStringConvertible {
        var description: String { "connection closed before a response" }
    }

    static func get(
        host: String, port: Int, target: String, hostHeader: String, timeout: Duration, group: any EventLoopGroup
    ) async throws -> Int {
        let loop = group.next()
        let promise = loop.makePromise(of: Int.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(StatusHandler(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw error
        }
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(Timeout())
            channel.close(promise: nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: hostHeader)
        headers.add(name: "User-Agent", value: "zooreg-health-check")
        headers.add(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }

    final class StatusHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        private let promise: EventLoopPromise<Int>

        init(promise: EventLoopPromise<Int>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data) {
                promise.succeed(Int(head.status.code))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ClosedEarly())
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}

/// Runs a shell command and reports its exit status.
enum CommandProbe {
    static func run(_ command: String, timeout: Duration) async -> HealthCheckResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        // Either the exit status arrived first, or the waiter did.
        let state = NIOLockedValueBox<(status: Int32?, waiter: CheckedContinuation<Int32, Never>?)>((nil, nil))
        process.terminationHandler = { process in
            let status = process.terminationStatus
            let waiter = state.withLockedValue { state -> CheckedContinuation<Int32, Never>? in
                state.status = status
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: status)
        }
        do {
            try process.run()
        } catch {
            return .failed("cannot run /bin/sh: \(error)")
        }
        let killer = Task {
            try await Task.sleep(for: timeout)
            if process.isRunning { process.terminate() }
            try await Task.sleep(for: .seconds(1))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let status: Int32 = await withCheckedContinuation { continuation in
            let already: Int32? = state.withLockedValue { state in
                if let status = state.status { return status }
                state.waiter = continuation
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
        killer.cancel()
        if process.terminationReason == .uncaughtSignal {
            return .failed("killed by signal \(status)")
        }
        return status == 0 ? .passed : .failed("exit status \(status)")
    }
}
