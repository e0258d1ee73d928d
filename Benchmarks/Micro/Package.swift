// swift-tools-version:6.1
// Microbenchmarks (ordo-one/benchmark, a.k.a. package-benchmark) of the codec, the data tree, the expiry queue and
// the resolver cache. A separate package, so that the main build and CI never compile package-benchmark:
//
//   cd Benchmarks/Micro && swift package benchmark                      # everything
//   cd Benchmarks/Micro && swift package benchmark --target CoreBenchmarks --filter "DataTree.*"
import PackageDescription

let package = Package(
    name: "ZooRegistryMicrobenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "ZooRegistry", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ZooKeeperWire", package: "ZooRegistry"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CoordinationCore", package: "ZooRegistry"),
                .product(name: "ZooKeeperWire", package: "ZooRegistry"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RegistryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ServiceRegistry", package: "ZooRegistry"),
                .product(name: "ZooKeeperClient", package: "ZooRegistry"),
                .product(name: "CoordinationServer", package: "ZooRegistry"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/RegistryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
