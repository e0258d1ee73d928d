#!/usr/bin/env bash
# The full test run (the README's test command):
#   1. Scripts/setup.sh         installs what a fresh Debian 12 lacks (ZooKeeper 3.8, JRE, venv with kazoo...)
#   2. swift build              builds everything once, debug (.build/debug/zooreg)
#   3. swift test               the Swift unit tests, reusing that build
#   3b. Scripts/fuzz.sh --seconds 5   builds the eight libFuzzer targets (Fuzz/, -sanitize=fuzzer,address, in
#                               .build-fuzz) and runs each for a few seconds from its seed corpus (Fuzz/Corpus), in
#                               the background while step 4 runs
#   4. pytest Tests/Interop     the interop suite against every implementation in ZK_IMPLS
#                               (default "zooreg,zookeeper"; the zkCli scripted test is part of it) and against the
#                               replicated implementations "zooreg-ensemble,zookeeper-ensemble" (3 etcd + 3 zooreg
#                               replicas; a 3-node Apache ZooKeeper; Tests/Ensemble/cluster.py): clients get the
#                               3-host connect string, raw sockets and 4lw go to replica 1; standalone_only tests
#                               are skipped there with their reason. One pytest per implementation, all four at
#                               once (logs in .build/interop-<impl>.log); about 5 minutes
#   5. pytest Tests/LAN         the LAN suite: zooreg publishing and browsing DNS-SD services through real
#                               avahi-daemons, one per simulated host (network namespaces, Scripts/mdns-lab.sh;
#                               root). The lab is taken down afterwards, even on failure. It runs (after the
#                               Avahi binding's live tests) in the background while step 6 runs
#   5c. pytest Tests/Console    the web console in headless Chromium (chromium-driver) against a live zooreg, in the
#                               background beside step 6 too (screenshots in .build/console-artifacts/); then
#                               kazoo's own TLS and SASL tests against zooreg (Tests/KazooSuite/run.sh)
#   6. pytest Tests/Ensemble   the replicated ensemble: 3 zooreg replicas over a 3-member etcd cluster and a 3-node
#                               Apache ZooKeeper ensemble through the same fault and consistency tests (bounded)
#   6b. pytest Tests/Reliability  crash loops and soak (bounded, about 3 minutes): kill -9 of a standalone zooreg
#                               under durable write load (20 rounds), the same loop killing zooreg replicas and etcd
#                               members, and a 30 s soak of 2,000 sessions / 100,000 znodes / 200,000 watches
#                               (Tests/Reliability/README.md; --long there for hundreds of rounds and 30 minutes)
#   7. Benchmarks/compare.sh --quick   proves the side-by-side benchmark script runs end to end against both
#                               servers (debug binary, tiny sizes, about a minute; no timing is asserted)
# Exits non-zero if any step fails; a pytest run that collects no tests (exit 5) is a failure too.
#
# Environment:
#   ZK_IMPLS=zookeeper     run the interop suite against Apache ZooKeeper only (or "zooreg" for ours only)
#   ZOOREG_BIN=path        the zooreg binary to test (default .build/debug/zooreg)
#   SKIP_SWIFT=1           skip steps 2-3 (iterating on the interop suite)
#   SWIFT_BUILD_FLAGS="..."  extra flags of the swift builds (steps 2 and 3b). Not --disable-index-store: on Linux
#                          the test discovery of --build-tests reads the index store
#   SKIP_FUZZ=1            skip step 3b (FUZZ_SECONDS=N: seconds per fuzz target, default 5; FUZZ_TARGETS="..."
#                          these targets instead of all eight of Scripts/fuzz.sh)
#   PYTEST_ARGS="..."      extra pytest arguments, e.g. "-k watches -x"
#   SKIP_ENSEMBLE_INTEROP=1          leave the ensembles out of step 4
#   ENSEMBLE_INTEROP_PYTEST_ARGS="..."  extra pytest arguments of step 4's ensemble runs, e.g. "-k watches -x"
#   SKIP_CONSOLE=1         skip step 5c (CONSOLE_PYTEST_ARGS="..." extra pytest arguments)
#   SKIP_LAN=1             skip step 5
#   LAN_PYTEST_ARGS="..."  extra pytest arguments for the LAN suite
#   SKIP_ENSEMBLE=1        skip step 6 (ENSEMBLE_IMPLS, ENSEMBLE_PYTEST_ARGS, ENSEMBLE_LONG: see Tests/Ensemble/README.md)
#   SKIP_RELIABILITY=1     skip step 6b (RELIABILITY_PYTEST_ARGS="..." extra pytest arguments, e.g. "--seed 42")
#   SKIP_BENCH=1           skip step 7
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$(pwd)
export ZK_IMPLS="${ZK_IMPLS:-zooreg,zookeeper}"

declare -a SUMMARY=()
FAILED=0
T0=$SECONDS

step() {  # step NAME COMMAND...
    local name=$1
    shift
    local start=$SECONDS
    echo
    echo "==> $name"
    "$@"
    local rc=$?
    local took=$((SECONDS - start))
    if ((rc == 0)); then
        SUMMARY+=("PASS  $name (${took}s)")
    else
        SUMMARY+=("FAIL  $name (exit $rc, ${took}s)")
        FAILED=1
    fi
    return $rc
}

START_EPOCH=$(date +%s)

failed_tests() {
    # The failing tests of this run, from the JUnit files the steps write (.build/*junit*.xml, those written since
    # this run started): the summary names them, so that the end of a log says what failed.
    python3 - "$REPO_ROOT/.build" "$START_EPOCH" <<'PY'
import glob, os, sys, xml.etree.ElementTree as ET
root, start = sys.argv[1], float(sys.argv[2])
for path in sorted(glob.glob(os.path.join(root, "*junit*.xml")) + glob.glob(os.path.join(root, "*xunit*.xml"))
                   + glob.glob(os.path.join(root, "kazoo-suite-*.xml"))):
    if os.path.getmtime(path) < start:
        continue
    try:
        cases = ET.parse(path).getroot().iter("testcase")
    except ET.ParseError as error:
        print(f"  {os.path.basename(path)}: unreadable ({error})")
        continue
    for case in cases:
        for kind in ("failure", "error"):
            found = case.find(kind)
            if found is not None:
                message = (found.get("message") or found.text or "").strip().splitlines()
                first = message[0][:200] if message else ""
                print(f"  {os.path.basename(path)}: {case.get('classname')}::{case.get('name')} ({kind}): {first}")
PY
}

summary() {
    echo
    echo "==================== summary ===================="
    printf '%s\n' "${SUMMARY[@]}"
    echo "total: $((SECONDS - T0))s"
    if ((FAILED)); then
        echo "failing tests (from .build/*junit*.xml):"
        failed_tests
        echo "RESULT: FAILED"
    else
        echo "RESULT: PASSED"
    fi
}

# Background groups: steps that mostly wait (on timers, on servers, on the network) run beside others. A group
# runs in a subshell; its step lines go to .build/bg-<id>.summary and its output to .build/bg-<id>.log, both
# taken into this run's summary and log by bg_join.
declare -A BG_PIDS=()
bg_start() {  # bg_start ID FUNCTION
    local id=$1
    rm -f "$REPO_ROOT/.build/bg-$id.summary"
    echo
    echo "==> background group '$id' starts (.build/bg-$id.log)"
    (
        SUMMARY=()
        FAILED=0
        "$2"
        printf '%s\n' "${SUMMARY[@]}" >"$REPO_ROOT/.build/bg-$id.summary"
        exit "$FAILED"
    ) >"$REPO_ROOT/.build/bg-$id.log" 2>&1 &
    BG_PIDS[$id]=$!
}
bg_join() {  # bg_join ID
    local id=$1 rc line
    [[ -n ${BG_PIDS[$id]:-} ]] || return 0
    wait "${BG_PIDS[$id]}"
    rc=$?
    unset "BG_PIDS[$id]"
    echo
    echo "==> background group '$id' (.build/bg-$id.log)"
    cat "$REPO_ROOT/.build/bg-$id.log"
    if [[ -f $REPO_ROOT/.build/bg-$id.summary ]]; then
        while IFS= read -r line; do SUMMARY+=("$line"); done <"$REPO_ROOT/.build/bg-$id.summary"
    else
        SUMMARY+=("FAIL  background group $id (no summary: exit $rc)")
    fi
    ((rc == 0)) || FAILED=1
}

mkdir -p .build
step "setup (Scripts/setup.sh)" bash Scripts/setup.sh || { summary; exit 1; }

# Cheap: the committed generated Swift records match their spec (Scripts/records/*.spec).
step "generated records up to date (Scripts/generate-records.py --check)" python3 Scripts/generate-records.py --check
# And the console's embedded assets match Sources/RegistryConsole/Assets.
step "embedded console assets up to date (Scripts/embed-console-assets.py --check)" python3 Scripts/embed-console-assets.py --check

if [[ ${SKIP_SWIFT:-0} != 1 ]]; then
    # One build of everything (the 2-core machine builds once); swift test reuses it.
    # shellcheck disable=SC2086
    if step "swift build" swift build --build-tests ${SWIFT_BUILD_FLAGS:-}; then
        step "swift test" swift test --skip-build --xunit-output "$REPO_ROOT/.build/swift-xunit.xml"
    else
        SUMMARY+=("SKIP  swift test (build failed)")
    fi
fi

fuzz_group() {
    # Bounded: the sanitizer build of Fuzz/ in its own scratch path, then each of the eight targets for a few
    # seconds, one at a time. A crash fails the step; its input is in .build-fuzz/artifacts/<target>/. It runs in
    # the background while the interop suites (which mostly wait on their servers) run.
    # With no targets named, fuzz.sh builds all eight in one `swift build` (named ones are built one product at a
    # time, which keeps one core idle along each product's chain of modules).
    # shellcheck disable=SC2086
    step "fuzz targets, ${FUZZ_SECONDS:-5} s each (Scripts/fuzz.sh)" bash Scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-5}" ${FUZZ_TARGETS:-}
}
if [[ ${SKIP_FUZZ:-0} != 1 ]]; then
    bg_start fuzz fuzz_group
fi

run_interop_pytest() {  # run_interop_pytest IMPL...
    # One pytest per implementation, all at once (the tests mostly wait on the network and on the servers, so the
    # runs overlap well on 2 cores: the four together take about as long as the slowest); each writes its own log
    # (.build/interop-<impl>.log), shown when all are done. The ensembles take ENSEMBLE_INTEROP_PYTEST_ARGS, the
    # others PYTEST_ARGS.
    local impl extra pids=() impls=() rc=0 code i
    for impl in "$@"; do
        if [[ $impl == *-ensemble ]]; then extra=${ENSEMBLE_INTEROP_PYTEST_ARGS:-}; else extra=${PYTEST_ARGS:-}; fi
        # shellcheck disable=SC2086
        ZK_IMPLS=$impl "$REPO_ROOT/.venv/bin/python" -m pytest "$REPO_ROOT/Tests/Interop" -q -p no:cacheprovider \
            --junitxml="$REPO_ROOT/.build/interop-$impl-junit.xml" $extra \
            >"$REPO_ROOT/.build/interop-$impl.log" 2>&1 &
        pids+=($!)
        impls+=("$impl")
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
        code=$?
        impl=${impls[$i]}
        echo "--- $impl (exit $code; .build/interop-$impl.log) ---"
        tail -n 40 "$REPO_ROOT/.build/interop-$impl.log"
        if ((code == 5)); then
            echo "pytest collected no tests: that is a failure" >&2
            code=1
        fi
        ((code != 0)) && rc=1
    done
    return $rc
}

if [[ ,$ZK_IMPLS, == *,zooreg,* && ! -x ${ZOOREG_BIN:-.build/debug/zooreg} ]]; then
    echo "warning: zooreg binary ${ZOOREG_BIN:-.build/debug/zooreg} not found; its interop tests will fail" >&2
fi
IFS=, read -r -a INTEROP_IMPLS <<<"$ZK_IMPLS"
if [[ ${SKIP_ENSEMBLE_INTEROP:-0} != 1 ]]; then
    INTEROP_IMPLS+=(zooreg-ensemble zookeeper-ensemble)
fi
step "interop suite (pytest + zkCli) against: ${INTEROP_IMPLS[*]}" run_interop_pytest "${INTEROP_IMPLS[@]}"
bg_join fuzz

run_avahi_live() {
    # The Avahi binding's own tests against a real avahi-daemon (Tests/AvahiDNSSDTests/AvahiLiveTests): on a
    # one-host lab of their own (prefix zrlive), so that the LAN suite's lab is not disturbed.
    local rc=0
    MDNS_LAB_PREFIX=zrlive MDNS_LAB_NET4=169.254.78 MDNS_LAB_NET6=fd42:78:: bash Scripts/mdns-lab.sh up a >/dev/null || rc=1
    if ((rc == 0)); then
        MDNS_LAB_PREFIX=zrlive bash Scripts/mdns-lab.sh exec a env ZOOREG_AVAHI_LIVE=1 \
            swift test --skip-build --filter AvahiLiveTests 2>&1 | tee "$REPO_ROOT/.build/avahi-live.log" | grep -E "✘|✔ Test run|Test run with"
        rc=${PIPESTATUS[0]}
        # The filter must have run the live tests, not skipped them.
        grep -q "Test run with 3 tests in 1 suite passed" "$REPO_ROOT/.build/avahi-live.log" || rc=1
    fi
    MDNS_LAB_PREFIX=zrlive bash Scripts/mdns-lab.sh down || rc=1
    return $rc
}

run_lan() {
    # shellcheck disable=SC2086
    "$REPO_ROOT/.venv/bin/python" -m pytest "$REPO_ROOT/Tests/LAN" -q -p no:cacheprovider \
        --junitxml="$REPO_ROOT/.build/lan-junit.xml" ${LAN_PYTEST_ARGS:-}
    local rc=$?
    # The suite takes its lab down itself; this also covers a run that was killed.
    bash "$REPO_ROOT/Scripts/mdns-lab.sh" down || rc=1
    if ((rc == 5)); then
        echo "pytest collected no tests: that is a failure" >&2
        return 1
    fi
    return $rc
}

lan_group() {
    # Steps 5a and 5b, in the background while the ensemble suite runs (both mostly wait: on mDNS timers in
    # network namespaces, and on etcd and the replicas on loopback; they share nothing).
    if [[ ! -x ${ZOOREG_BIN:-.build/debug/zooreg} ]]; then
        echo "warning: zooreg binary ${ZOOREG_BIN:-.build/debug/zooreg} not found; the LAN suite will fail" >&2
    fi
    if [[ ${SKIP_SWIFT:-0} != 1 ]]; then
        step "Avahi binding against a real avahi-daemon (AvahiLiveTests, in a lab host)" run_avahi_live
    fi
    step "LAN suite (avahi-daemon per simulated host, network namespaces)" run_lan
}

run_console() {
    # The web console in headless Chromium against a live zooreg (Tests/Console): an instance registered, seen
    # live, killed -9 and seen to leave; the tree browsed; screenshots in .build/console-artifacts/.
    "$REPO_ROOT/.venv/bin/python" -m pytest "$REPO_ROOT/Tests/Console" -q -p no:cacheprovider \
        --junitxml="$REPO_ROOT/.build/console-junit.xml" ${CONSOLE_PYTEST_ARGS:-}
    local rc=$?
    if ((rc == 5)); then
        echo "pytest collected no tests: that is a failure" >&2
        return 1
    fi
    return $rc
}

console_group() {
    step "web console in headless Chromium (Tests/Console)" run_console
    # kazoo's own, unmodified TLS and SASL tests against zooreg, through Tests/KazooSuite's shim (its own venv:
    # kazoo's harness needs pyOpenSSL and pyjks). The whole suite: Tests/KazooSuite/README.md. Left out here: the
    # two test_invalid_sasl_auth, which race in kazoo itself (start() checks `connected` while its connection
    # thread may already have failed the SASL exchange: a fast answer gives a time-out instead of AuthFailedError,
    # seen once under CI's load); Tests/Interop/test_sasl.py checks wrong passwords against both servers.
    step "kazoo's own TLS and SASL tests against zooreg (Tests/KazooSuite)" \
        env KAZOO_SUITE_TESTS="test_sasl.py::TestSASLDigestAuthentication::test_connect_sasl_auth test_sasl.py::TestLegacySASLDigestAuthentication::test_connect_sasl_auth test_client.py::TestSSLClient" \
        bash Tests/KazooSuite/run.sh zooreg
}

if [[ ${SKIP_LAN:-0} != 1 ]]; then
    bg_start lan lan_group
fi
if [[ ${SKIP_CONSOLE:-0} != 1 ]]; then
    bg_start console console_group
fi

run_ensemble() {
    # The replicated ensemble (Tests/Ensemble): 3 zooreg replicas over 3 etcd members, and 3 Apache ZooKeeper
    # servers, through the same tests (kill -9 under load, etcd leader kill, partitions from etcd, wiped and
    # behind-compaction replicas, linearizability, session guarantees). Bounded here; ENSEMBLE_LONG=1 is the
    # long mode (Tests/Ensemble/README.md).
    # shellcheck disable=SC2086
    ENSEMBLE_IMPLS="${ENSEMBLE_IMPLS:-zooreg,zookeeper}" "$REPO_ROOT/.venv/bin/python" -m pytest "$REPO_ROOT/Tests/Ensemble" \
        -q -p no:cacheprovider --junitxml="$REPO_ROOT/.build/ensemble-junit.xml" ${ENSEMBLE_PYTEST_ARGS:-}
    local rc=$?
    if ((rc == 5)); then
        echo "pytest collected no tests: that is a failure" >&2
        return 1
    fi
    return $rc
}

if [[ ${SKIP_ENSEMBLE:-0} != 1 ]]; then
    step "ensemble suite (3 zooreg replicas over 3 etcd members, and a 3-node ZooKeeper ensemble)" run_ensemble
fi
bg_join lan
bg_join console

run_reliability() {
    # Crash loops and soak (Tests/Reliability): bounded here; each test prints its seed, and a failure report
    # says how to rerun it (--seed N). --long is the long mode (Tests/Reliability/README.md).
    # shellcheck disable=SC2086
    "$REPO_ROOT/.venv/bin/python" -m pytest "$REPO_ROOT/Tests/Reliability" -q -s -p no:cacheprovider \
        --junitxml="$REPO_ROOT/.build/reliability-junit.xml" ${RELIABILITY_PYTEST_ARGS:-}
    local rc=$?
    if ((rc == 5)); then
        echo "pytest collected no tests: that is a failure" >&2
        return 1
    fi
    return $rc
}

if [[ ${SKIP_RELIABILITY:-0} != 1 ]]; then
    step "reliability: kill -9 loops (standalone, ensemble) and soak (Tests/Reliability)" run_reliability
fi

if [[ ${SKIP_BENCH:-0} != 1 && ,$ZK_IMPLS, == *,zooreg,* && ,$ZK_IMPLS, == *,zookeeper,* ]]; then
    step "benchmark script (Benchmarks/compare.sh --quick; nothing timed is asserted)" \
        env ZOOREG_SKIP_BUILD=1 bash Benchmarks/compare.sh --quick --zooreg "${ZOOREG_BIN:-.build/debug/zooreg}" \
        --out "$REPO_ROOT/.build/compare-quick.json"
fi

summary
exit $FAILED
