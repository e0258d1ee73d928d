#!/usr/bin/env bash
# Profiles `zooreg serve` under one workload of `zooreg bench run` with perf (cpu-clock sampling; this VM has no
# hardware counters) and prints the hottest symbols of the server, by self time and with children.
#
#   Benchmarks/profile.sh get                  # row 1: get 100 B, 32 x 16
#   Benchmarks/profile.sh set                  # row 2
#   Benchmarks/profile.sh create-delete        # row 3
#   Benchmarks/profile.sh get=90,set=10 --rate 20000 --depth 64     # row 4 (extra args go to bench run)
#   PROFILE_SECONDS=8 PROFILE_CALLGRAPH=dwarf Benchmarks/profile.sh get
#
# Needs perf (apt-get install linux-perf). Uses .build/release/zooreg (ZOOREG_SKIP_BUILD=1 skips the build).
# Leaves perf.data and the reports in $PROFILE_OUT (default /tmp/zooreg-profile-<mix>).
set -euo pipefail
cd "$(dirname "$0")/.."
mix="${1:-get}"
shift || true
seconds="${PROFILE_SECONDS:-6}"
callgraph="${PROFILE_CALLGRAPH:-}"
out="${PROFILE_OUT:-/tmp/zooreg-profile-${mix//[^a-z0-9]/_}}"
if [[ "${ZOOREG_SKIP_BUILD:-0}" != "1" ]]; then swift build -c release --product zooreg >&2; fi
bin="$PWD/.build/release/zooreg"
rm -rf "$out" && mkdir -p "$out/data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'tickTime=2000\ndataDir=%s/data\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nforceSync=yes\nmetricsProvider.httpPort=0\n' \
    "$out" "$port" > "$out/zoo.cfg"
"$bin" serve --config "$out/zoo.cfg" --log-level warning > "$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
"$bin" bench ready --server "127.0.0.1:$port" --timeout 30s --quiet > /dev/null
# Warm up and set up keys with a short run first, then record during a second, longer one.
"$bin" bench run --server "127.0.0.1:$port" --mix "$mix" --warmup 0 --duration 1s --quiet "$@" > /dev/null
"$bin" bench run --server "127.0.0.1:$port" --server-pid "$server" --mix "$mix" --no-setup --warmup 1s \
    --duration "$((seconds + 2))s" "$@" > "$out/bench.txt" &
bench=$!
sleep 1.5
graph=()
if [[ -n "$callgraph" ]]; then graph=(--call-graph "$callgraph"); fi
perf record -e cpu-clock -F 1999 "${graph[@]}" -p "$server" -o "$out/perf.data" -- sleep "$seconds" 2> "$out/perf-record.log"
wait "$bench"
cat "$out/bench.txt"
perf report -i "$out/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 0.7 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | cut -c1-160 > "$out/self.txt"
perf report -i "$out/perf.data" --stdio --no-children --sort dso --percent-limit 0.5 2>/dev/null \
    | grep -v '^#' | grep -v '^$' > "$out/dso.txt"
echo "--- server time by library"; cat "$out/dso.txt"
echo "--- hottest symbols (self)"; head -45 "$out/self.txt"
echo "(full reports in $out)"
