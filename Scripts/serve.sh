#!/usr/bin/env bash
# Builds zooreg (release) and runs the server with an embedded data dir (./data) on 127.0.0.1:2181.
# Extra arguments go to `zooreg serve` (e.g. a zoo.cfg path, --port, --data-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1; then
    echo "serve.sh: the Swift toolchain (swift 6) is required" >&2
    exit 1
fi
swift build -c release --product zooreg
exec .build/release/zooreg serve "$@"
