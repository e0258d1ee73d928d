// swift-tools-version:6.1
// libFuzzer targets of ZooRegistry, in a package of their own so that the main package's manifest, its normal
// `swift build` and `swift test` know nothing of sanitizers. Built and run by Scripts/fuzz.sh:
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c debug \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product FuzzServerFrames
//
// Each target is an executable exporting LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize, which writes its seeds
// when ZOOREG_FUZZ_WRITE_SEEDS is set). SwiftPM renames an executable's entry point to `<Target>_main` on Linux, so
// each target defines that and hands over to libFuzzer's LLVMFuzzerRunDriver (CFuzzDriver); -sanitize=fuzzer links
// libFuzzer. Only public API of the main package is used; the Jute module, which is not a product of it, is
// imported through the product that contains it (ZooKeeperWire).
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

// The main package is the parent directory; a path dependency's identity is its directory's name, which is not
// fixed (a clone may be called anything), so it is read from this file's location.
let mainPackage = String(#filePath.split(separator: "/").dropLast(2).last ?? "main").lowercased()

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport", "CFuzzDriver"] + dependencies,
        path: "Sources/\(name)",
        swiftSettings: strict
    )
}

func main(_ product: String) -> Target.Dependency { .product(name: product, package: mainPackage) }

let package = Package(
    name: "ZooRegistryFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport", swiftSettings: strict),
        // libFuzzer's driver entry (see its header): the one piece of C.
        .target(name: "CFuzzDriver", path: "Sources/CFuzzDriver"),
        .target(
            name: "WireFuzzSupport",
            dependencies: ["FuzzSupport", main("ZooKeeperWire"), .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/WireFuzzSupport",
            swiftSettings: strict
        ),
        fuzzTarget("FuzzServerFrames", ["WireFuzzSupport", main("ZooKeeperWire"), .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("FuzzRequestDecoders", ["WireFuzzSupport", main("ZooKeeperWire"), .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("FuzzClientReplies", ["WireFuzzSupport", main("ZooKeeperWire"), .product(name: "NIOCore", package: "swift-nio")]),
        fuzzTarget("FuzzCoreRequests", ["WireFuzzSupport", 
            main("CoordinationCore"), main("ZooKeeperWire"), .product(name: "NIOCore", package: "swift-nio"),
        ]),
        fuzzTarget("FuzzRecovery", [
            main("Persistence"), main("CoordinationCore"), main("ZooKeeperWire"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        fuzzTarget("FuzzConfig", [main("ServerConfig")]),
        fuzzTarget("FuzzRegistryJSON", [main("ServiceModel")]),
        fuzzTarget("FuzzDNSSDMapping", [main("RegistryDNSSD"), main("ServiceModel"), main("DNSSDCore")]),
    ]
)
