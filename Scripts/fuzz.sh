#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (a package of their own, see Fuzz/Package.swift) with
# -sanitize=fuzzer,address into .build-fuzz (the normal .build is untouched), then runs each for a bounded time,
# one at a time, from its committed seed corpus (Fuzz/Corpus/<target>) plus a working corpus that grows in
# .build-fuzz/corpus/<target>. Prints executions and coverage per target; exits non-zero if any target crashed
# (the input is kept in .build-fuzz/artifacts/<target>/, and libFuzzer's report says what failed).
#
#   Scripts/fuzz.sh                    build, then 30 s per target
#   Scripts/fuzz.sh --seconds 5        build, then 5 s per target (what Scripts/test.sh runs)
#   Scripts/fuzz.sh --long             build, then 15 minutes per target (FUZZ_LONG_SECONDS to change)
#   Scripts/fuzz.sh FuzzConfig ...     only these targets (built alone: the wire targets build in far less time)
#   Scripts/fuzz.sh --build-only       build and stop
#   Scripts/fuzz.sh --seeds            rewrite the seed files (seed-NNN) of Fuzz/Corpus/<target> from the targets'
#                                      own seed generators (crash inputs kept there are left alone)
#   Scripts/fuzz.sh --reproduce FILE TARGET   run one input through a target (a crash's regression check)
#
# Environment: FUZZ_JOBS is not used on purpose: the 2-core machine runs one fuzzer at a time.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
SCRATCH="$ROOT/.build-fuzz"
ALL_TARGETS=(FuzzServerFrames FuzzRequestDecoders FuzzClientReplies FuzzCoreRequests FuzzRecovery FuzzConfig FuzzRegistryJSON FuzzDNSSDMapping)

seconds=30
build_only=0
seeds=0
reproduce=""
targets=()
while (($#)); do
    case $1 in
        --long) seconds=${FUZZ_LONG_SECONDS:-900} ;;
        --seconds) seconds=$2; shift ;;
        --build-only) build_only=1 ;;
        --seeds) seeds=1 ;;
        --reproduce) reproduce=$2; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
named=${#targets[@]}
((named)) || targets=("${ALL_TARGETS[@]}")

build() {
    echo "==> building fuzz targets (swift build --package-path Fuzz --scratch-path .build-fuzz, -sanitize=fuzzer,address)"
    local start=$SECONDS
    # ld.gold warns once per ASan symbol it cannot export; those lines say nothing.
    # Targets named on the command line are built alone (--product each): the wire targets need only NIOCore
    # and ZooKeeperWire, FuzzRegistryJSON only ServiceModel, while the core's, the configuration's and the DNS-SD
    # mapping's pull in swift-crypto. None links NIOSSL, NIOPosix or the server: the configuration, the registry's
    # model and the DNS-SD mapping are pure modules of their own (ServerConfig, ServiceModel, DNSSDCore,
    # RegistryDNSSD).
    local products=()
    if ((named)); then
        products=("${targets[@]}")
    fi
    local rc=0 p
    for p in "${products[@]:-all}"; do
        local args=()
        [[ $p != all ]] && args=(--product "$p")
        # shellcheck disable=SC2086
        # No index store: nothing reads it here (the main build keeps its own, which test discovery needs).
        swift build --package-path "$ROOT/Fuzz" --scratch-path "$SCRATCH" -c debug --disable-index-store "${args[@]}" ${SWIFT_BUILD_FLAGS:-} \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 |
            grep -v -e "Cannot export local symbol" -e "prohibited flag(s): -D_REENTRANT"
        rc=${PIPESTATUS[0]}
        ((rc == 0)) || break
    done
    echo "build: exit $rc, $((SECONDS - start)) s"
    return "$rc"
}

build || exit 1
((build_only)) && exit 0
BIN="$SCRATCH/debug"

if [[ -n $reproduce ]]; then
    ((${#targets[@]} == 1)) || { echo "--reproduce FILE TARGET" >&2; exit 2; }
    exec "$BIN/${targets[0]}" "$reproduce"
fi

if ((seeds)); then
    for t in "${targets[@]}"; do
        ZOOREG_FUZZ_WRITE_SEEDS="$ROOT/Fuzz/Corpus/$t" "$BIN/$t" || exit 1
        echo "$t: $(ls "$ROOT/Fuzz/Corpus/$t" | wc -l) files in Fuzz/Corpus/$t"
    done
    exit 0
fi

failed=()
printf '\n%-22s %10s %8s %8s %s\n' target executions exec/s cov result
for t in "${targets[@]}"; do
    corpus="$SCRATCH/corpus/$t"
    artifacts="$SCRATCH/artifacts/$t/"
    log="$SCRATCH/fuzz-$t.log"
    mkdir -p "$corpus" "$artifacts"
    "$BIN/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts" "$corpus" "$ROOT/Fuzz/Corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
    if ((rc == 0)); then
        result=ok
    else
        result="CRASH (exit $rc; $log)"
        failed+=("$t")
    fi
    printf '%-22s %10s %8s %8s %s\n' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" "$result"
done
if ((${#failed[@]})); then
    for t in "${failed[@]}"; do
        echo
        echo "--- $t ---"
        grep -E -A 12 'ERROR: libFuzzer|fuzz check failed|Fatal error|==ERROR' "$SCRATCH/fuzz-$t.log" | head -n 40
        ls "$SCRATCH/artifacts/$t/"
    done
    exit 1
fi
