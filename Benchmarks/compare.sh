#!/usr/bin/env bash
# Side-by-side benchmark of zooreg against Apache ZooKeeper 3.8 (Debian's package): the eight rows of issue 4.
#
#   Benchmarks/compare.sh            # full run, under 10 minutes; table on stdout, JSON in Benchmarks/results/
#   Benchmarks/compare.sh --quick    # tiny sizes, about a minute: proves the script works (CI)
#   Benchmarks/compare.sh --rows 1,2 --rounds 3 --markdown /tmp/table.md
#   Benchmarks/compare.sh --ensemble [--quick] [--rounds N] [--json PATH]   # 3 replicas over 3 etcd vs a 3-node
#                                    # ZooKeeper ensemble: Benchmarks/ensemble_compare.py (needs etcd and .venv)
#
# Builds the release binary first (set ZOOREG_SKIP_BUILD=1 to use the one there). Needs java and
# /usr/share/java/zookeeper.jar (apt-get install zookeeper default-jre-headless).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${ZOOREG_SKIP_BUILD:-0}" != "1" ]]; then
    swift build -c release --product zooreg >&2
fi
# Many sessions need many sockets (row 8: 10,000 per side).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ "${1:-}" == "--ensemble" ]]; then
    shift
    python=python3
    [[ -x .venv/bin/python ]] && python=.venv/bin/python  # kazoo (Scripts/setup.sh)
    exec "$python" Benchmarks/ensemble_compare.py --zooreg .build/release/zooreg "$@"
fi
exec python3 Benchmarks/compare.py --zooreg .build/release/zooreg "$@"
