#!/usr/bin/env bash
# Builds zooreg (release) and runs the server with an embedded data dir (./data) on 127.0.0.1:2181, with the
# registry's LAN publishing on (through the system's avahi-daemon; where there is none it warns once and keeps
# serving).
# Extra arguments go to `zooreg serve` (e.g. a zoo.cfg path, --port, --data-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1; then
    echo "serve.sh: the Swift toolchain (swift 6) is required" >&2
    exit 1
fi
# The build links libavahi-client (LAN publishing through avahi-daemon): install its headers when missing.
if [[ ! -e /usr/include/avahi-client/client.h ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "serve.sh: libavahi-client-dev is required to build (apt-get install libavahi-client-dev)" >&2
        exit 1
    fi
    echo "serve.sh: installing libavahi-client-dev" >&2
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libavahi-client-dev; } >/dev/null
fi
swift build -c release --product zooreg
exec .build/release/zooreg serve "$@"
