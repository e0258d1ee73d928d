// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "ZooRegistry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "zooreg", targets: ["zooreg"]),
        .library(name: "ZooKeeperWire", targets: ["ZooKeeperWire"]),
        .library(name: "CoordinationCore", targets: ["CoordinationCore"]),
        .library(name: "ZooKeeperClient", targets: ["ZooKeeperClient"]),
        .library(name: "ServiceRegistry", targets: ["ServiceRegistry"]),
        // The pure cores beneath the server, the registry and its LAN side: products so that Fuzz/'s targets link
        // them without the I/O modules above (and their TLS stack).
        .library(name: "ServerConfig", targets: ["ServerConfig"]),
        .library(name: "ServiceModel", targets: ["ServiceModel"]),
        .library(name: "DNSSDCore", targets: ["DNSSDCore"]),
        .library(name: "RegistryDNSSD", targets: ["RegistryDNSSD"]),
        .library(name: "ZooKeeperRecipes", targets: ["ZooKeeperRecipes"]),
        .library(name: "AvahiDNSSD", targets: ["AvahiDNSSD"]),
        .library(name: "ServiceRegistryLAN", targets: ["ServiceRegistryLAN"]),
        // The server as a library, for embedding (and the microbenchmarks' in-process server).
        .library(name: "CoordinationServer", targets: ["CoordinationServer"]),
        // The snapshot and transaction-log formats, a product so that Fuzz/'s recovery target links it without the
        // server (and its TLS stack).
        .library(name: "Persistence", targets: ["Persistence"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // etcd's gRPC API (the ensemble's shared log).
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        // TLS on secureClientPort (server) and for the client; DER parsing of client certificates' subjects.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // Serialization primitives of Apache Jute over NIOCore's ByteBuffer.
        .target(
            name: "Jute",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // Every record of zookeeper.jute, opcodes, error codes, framing.
        .target(
            name: "ZooKeeperWire",
            dependencies: ["Jute", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // Pure core: data tree, transactions, request preparation, ACLs, sessions, watches. No I/O, no clocks.
        .target(
            name: "CoordinationCore",
            dependencies: [
                "Jute", "ZooKeeperWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Write-ahead transaction log and snapshots.
        .target(
            name: "Persistence",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The shared log of an ensemble, pure: log entries and their batch format, the key layout, zxids from log
        // positions, and the applier that turns the log's events into deliveries.
        .target(
            name: "ReplicatedLog",
            dependencies: ["ZooKeeperWire", "Persistence", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // A small HTTP/1.1 server with routes and server-sent events: the AdminServer's endpoints and the console.
        .target(
            name: "AdminHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Pure: the server's configuration (zoo.cfg in Java properties syntax, overrides, TLS and SASL settings)
        // and the four-letter words. No I/O beyond reading the configuration file.
        .target(
            name: "ServerConfig",
            dependencies: ["CoordinationCore"],
            swiftSettings: strict
        ),
        // NIO shell: connections, commit loop, session expiry, four-letter words, metrics; re-exports ServerConfig.
        .target(
            name: "CoordinationServer",
            dependencies: [
                "Jute", "ZooKeeperWire", "CoordinationCore", "ServerConfig", "Persistence", "ReplicatedLog",
                "AdminHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strict
        ),
        // async/await ZooKeeper client: connection state machine, pipelining, watches as AsyncSequence.
        .target(
            name: "ZooKeeperClient",
            dependencies: [
                "Jute", "ZooKeeperWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Pure: Curator-compatible service instances, their JSON (and the JSON value type), the registry's errors.
        .target(
            name: "ServiceModel",
            swiftSettings: strict
        ),
        // Service registry on the client: registrar, watch-fed resolver, health checks; re-exports ServiceModel.
        .target(
            name: "ServiceRegistry",
            dependencies: [
                "ServiceModel", "ZooKeeperClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "ZooKeeperRecipes",
            dependencies: [
                "ZooKeeperClient",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // libavahi-client (Debian's libavahi-client-dev): the only C API of Avahi the project touches.
        .systemLibrary(
            name: "CAvahiClient",
            pkgConfig: "avahi-client",
            providers: [.apt(["libavahi-client-dev"])]
        ),
        // Pure DNS-SD: service types and names, instance-name collisions, TXT records and their wire form.
        .target(
            name: "DNSSDCore",
            swiftSettings: strict
        ),
        // Safe Swift over libavahi-client: a connection that survives daemon restarts, publishing (entry groups,
        // collisions), browsing and resolving as AsyncSequences; pure state machines for the decisions. Re-exports
        // DNSSDCore.
        .target(
            name: "AvahiDNSSD",
            dependencies: [
                "CAvahiClient", "DNSSDCore",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Pure: registry names and instances to DNS-SD service types, instance names and TXT records.
        .target(
            name: "RegistryDNSSD",
            dependencies: ["ServiceModel", "DNSSDCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The registry on the LAN: the publisher fed by the Resolver's cache, mDNS lookups; re-exports RegistryDNSSD.
        .target(
            name: "ServiceRegistryLAN",
            dependencies: [
                "RegistryDNSSD", "ServiceRegistry", "AvahiDNSSD", "ZooKeeperClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The web console: services live (server-sent events fed by a watch-driven cache), the znode tree, the
        // server's figures; its static assets are embedded (Scripts/embed-console-assets.py). Served by AdminHTTP.
        .target(
            name: "RegistryConsole",
            dependencies: [
                "AdminHTTP", "ServiceRegistry", "ZooKeeperClient", "ZooKeeperRecipes",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Assets"],
            swiftSettings: strict
        ),
        // Load generator of `zooreg bench`: raw pipelined sessions on the ZooKeeperWire codec, HdrHistogram latencies.
        .target(
            name: "LoadGenerator",
            dependencies: [
                "Jute", "ZooKeeperWire", "ZooKeeperClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        // A client of etcd v3's gRPC API (code generated from Protos/etcd by Scripts/generate-etcd-protos.sh,
        // committed): KV, transactions, watches, leases, status, endpoint failover.
        .target(
            name: "EtcdClient",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The ensemble's shared log on etcd: batched appends, the watch that delivers the log, session leases,
        // availability, membership and compaction.
        .target(
            name: "EnsembleEtcd",
            dependencies: [
                "EtcdClient", "ReplicatedLog", "Persistence",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "zooreg",
            dependencies: [
                "CoordinationServer", "ServiceRegistry", "ServiceRegistryLAN", "AvahiDNSSD", "ZooKeeperClient",
                "LoadGenerator", "EtcdClient", "EnsembleEtcd", "ZooKeeperRecipes", "AdminHTTP", "RegistryConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "JuteTests", dependencies: ["Jute"], swiftSettings: strict),
        .testTarget(name: "ZooKeeperWireTests", dependencies: ["ZooKeeperWire", "Jute", .product(name: "NIOTestUtils", package: "swift-nio")], swiftSettings: strict),
        .testTarget(name: "CoordinationCoreTests", dependencies: ["CoordinationCore", "ZooKeeperWire"], swiftSettings: strict),
        .testTarget(name: "PersistenceTests", dependencies: ["Persistence"], swiftSettings: strict),
        .testTarget(
            name: "EtcdClientTests",
            dependencies: ["EtcdClient", "EnsembleEtcd", "ReplicatedLog", "ZooKeeperWire", .product(name: "Logging", package: "swift-log"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(name: "ReplicatedLogTests", dependencies: ["ReplicatedLog", "ZooKeeperWire"], swiftSettings: strict),
        .testTarget(name: "AvahiDNSSDTests", dependencies: ["AvahiDNSSD"], swiftSettings: strict),
        .testTarget(
            name: "ServiceRegistryLANTests",
            dependencies: ["ServiceRegistryLAN", "ServiceRegistry", "AvahiDNSSD"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CoordinationServerTests",
            dependencies: [
                "CoordinationServer", "ServerConfig", "ZooKeeperWire", "ReplicatedLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Fixtures shared by the end-to-end suites (an in-process server, a cutting TCP proxy, bounded waits).
        .target(
            name: "TestKit",
            dependencies: [
                "CoordinationServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestKit",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ZooKeeperClientTests",
            dependencies: [
                "ZooKeeperClient", "ZooKeeperWire", "CoordinationServer", "TestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ZooKeeperRecipesTests",
            dependencies: [
                "ZooKeeperRecipes", "ZooKeeperClient", "CoordinationServer", "TestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServiceRegistryTests",
            dependencies: [
                "ServiceRegistry", "ZooKeeperClient", "CoordinationServer", "TestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AdminHTTPTests",
            dependencies: [
                "AdminHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RegistryConsoleTests",
            dependencies: [
                "RegistryConsole", "AdminHTTP", "ServiceRegistry", "ZooKeeperClient", "CoordinationServer", "TestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: [
                "LoadGenerator", "CoordinationServer", "ZooKeeperClient", "ZooKeeperWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
    ]
)
