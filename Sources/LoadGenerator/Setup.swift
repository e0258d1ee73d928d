import NIOCore
import ZooKeeperWire

/// Creates what a run needs: the root, its `k`, `seq` and `svc` children, and the keys with `value` (keys that exist
/// get the value with setData, so that a run after one with another value size reads the right size).
enum Setup {
    static func prepare(_ configuration: LoadConfiguration, keys: [String], value: [UInt8], on loop: any EventLoop) async throws {
        let client = try await RawClient.connect(
            host: configuration.host, port: configuration.port, on: loop, sessionTimeoutMs: configuration.sessionTimeoutMs
        ).get()
        do {
            let parents = [configuration.root, configuration.keysPath, configuration.sequencePath, configuration.servicePath]
            try await ensurePersistent(parents, client: client)
            if !keys.isEmpty {
                let started = NIODeadline.now()
                try await loop.flatSubmit {
                    WindowedPipeline.run(
                        client: client.value, count: keys.count, window: 256,
                        make: { i in .create(CreateRequest(path: keys[i], data: value, acl: ACL.openUnsafe, flags: 0)) },
                        handle: { i, reply in
                            switch reply.error {
                            case nil: return nil
                            case .nodeExists? where reply.op == .create:
                                return .setData(SetDataRequest(path: keys[i], data: value, version: -1))
                            case let code?: throw BenchError.requestFailed("setting up \(keys[i])", code)
                            }
                        })
                }.get()
                let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
                if configuration.progressInterval != nil {
                    StandardError.write("set up \(keys.count) keys of \(value.count) B in \(Format.fixed(seconds, 2)) s\n")
                }
            }
        } catch {
            _ = try? await loop.flatSubmit { client.value.connection.close() }.get()
            throw error
        }
        _ = try? await loop.flatSubmit { client.value.connection.close() }.get()
    }

    /// Creates persistent nodes in order, ignoring NODEEXISTS.
    static func ensurePersistent(_ paths: [String], client: NIOLoopBound<RawClient>) async throws {
        for path in paths {
            let reply = try await client.eventLoop.flatSubmit {
                client.value.request(.create(CreateRequest(path: path, data: [], acl: ACL.openUnsafe, flags: 0)))
            }.get()
            if let code = reply.error, code != .nodeExists { throw BenchError.requestFailed("create \(path)", code) }
        }
    }
}
