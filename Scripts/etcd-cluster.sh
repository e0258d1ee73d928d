#!/usr/bin/env bash
# Starts a 3-member etcd cluster on loopback for trying a zooreg ensemble by hand (the test suite,
# Tests/Ensemble, starts its own). Runs in the foreground; Ctrl-C (or SIGTERM) stops all three members.
#
#   Scripts/etcd-cluster.sh [DATA_DIR]       default DATA_DIR: a new temporary directory (removed on exit)
#
# Environment:
#   ETCD_BASE_PORT=23790     member i (1..3) listens for clients on BASE+i and for peers on BASE+10+i
#   ETCD_HEARTBEAT_MS=50     etcd's default is 100
#   ETCD_ELECTION_MS=500     etcd's default is 1000 (lower: faster failover after a leader dies)
#
# It prints the line to put in each replica's zoo.cfg:  ensemble.etcd=http://127.0.0.1:...,...
set -euo pipefail

BASE=${ETCD_BASE_PORT:-23790}
HEARTBEAT=${ETCD_HEARTBEAT_MS:-50}
ELECTION=${ETCD_ELECTION_MS:-500}
command -v etcd >/dev/null || { echo "etcd not found (Debian: apt-get install etcd-server etcd-client)" >&2; exit 1; }

if [[ $# -ge 1 ]]; then
    DIR=$1
    CLEANUP=0
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d /tmp/etcd-cluster.XXXXXX)
    CLEANUP=1
fi

PDEATH=""
if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then PDEATH="setpriv --pdeathsig KILL --"; fi

TOKEN="zooreg-manual-$$-$RANDOM"
CLUSTER=""
ENDPOINTS=""
for i in 1 2 3; do
    CLUSTER+="${CLUSTER:+,}e$i=http://127.0.0.1:$((BASE + 10 + i))"
    ENDPOINTS+="${ENDPOINTS:+,}http://127.0.0.1:$((BASE + i))"
done

PIDS=()
stop() {
    trap - INT TERM EXIT
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ((CLEANUP)); then rm -rf "$DIR"; fi
    echo "etcd cluster stopped"
    exit 0
}
trap stop INT TERM EXIT

for i in 1 2 3; do
    c=$((BASE + i))
    p=$((BASE + 10 + i))
    # setpriv --pdeathsig: a member dies with this script even if the script is killed without its trap.
    $PDEATH etcd --name "e$i" --data-dir "$DIR/e$i" \
        --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
        --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
        --initial-cluster "$CLUSTER" --initial-cluster-token "$TOKEN" --initial-cluster-state new \
        --heartbeat-interval "$HEARTBEAT" --election-timeout "$ELECTION" \
        --logger zap --log-level warn >"$DIR/e$i.log" 2>&1 &
    PIDS+=($!)
done

for _ in $(seq 1 100); do
    if ETCDCTL_API=3 etcdctl --endpoints="$ENDPOINTS" --dial-timeout=1s endpoint health >/dev/null 2>&1; then
        echo "etcd cluster healthy (data and logs in $DIR)"
        echo "ensemble.etcd=$ENDPOINTS"
        wait -n "${PIDS[@]}" || true
        echo "an etcd member exited; see $DIR/e*.log" >&2
        exit 1
    fi
    sleep 0.2
done
echo "etcd cluster not healthy after 20 s; see $DIR/e*.log" >&2
exit 1
