#!/usr/bin/env bash
# Generates Sources/EtcdClient/Generated/ from Protos/etcd/ (ZooRegistry's own wire-compatible subset of etcd
# 3.4's gRPC API). Run it only after changing a .proto file; its output is committed, so the build never runs
# protoc (the first build of the protoc plugins takes minutes).
#
# Needs protoc (Debian: protobuf-compiler). The two plugins are built from the same package versions the project
# depends on (swift-protobuf 1.39.0, grpc-swift-protobuf 2.4.1) in a scratch package outside the repo
# ($PLUGIN_DIR, default /tmp/zooreg-protoc-plugins), once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
PLUGIN_DIR=${PLUGIN_DIR:-/tmp/zooreg-protoc-plugins}
OUT="$ROOT/Sources/EtcdClient/Generated"

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }

mkdir -p "$PLUGIN_DIR"
cat > "$PLUGIN_DIR/Package.swift" <<'SWIFT'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: []
)
SWIFT
(cd "$PLUGIN_DIR" && swift build --product protoc-gen-swift && swift build --product protoc-gen-grpc-swift-2)
BIN=$(cd "$PLUGIN_DIR" && swift build --show-bin-path)

rm -rf "$OUT"
mkdir -p "$OUT"
cd "$ROOT/Protos/etcd"
protoc \
    --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift="$BIN/protoc-gen-grpc-swift-2" \
    --swift_out="$OUT" --swift_opt=Visibility=Internal --swift_opt=FileNaming=PathToUnderscores \
    --grpc-swift_out="$OUT" --grpc-swift_opt=Visibility=Internal --grpc-swift_opt=Server=false \
    --grpc-swift_opt=FileNaming=PathToUnderscores \
    mvccpb/kv.proto etcdserverpb/rpc.proto
echo "generated:"
ls -1 "$OUT"
