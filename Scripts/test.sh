#!/usr/bin/env bash
# The full test run (the README's test command):
#   1. Scripts/setup.sh         installs what a fresh Debian 12 lacks (ZooKeeper 3.8, JRE, venv with kazoo...)
#   2. swift build              builds everything once, debug (.build/debug/zooreg)
#   3. swift test               the Swift unit tests, reusing that build
#   4. pytest Tests/Interop     the interop suite against every implementation in ZK_IMPLS
#                               (default "zooreg,zookeeper"; the zkCli scripted test is part of it)
#   5. Benchmarks/compare.sh --quick   proves the side-by-side benchmark script runs end to end against both
#                               servers (debug binary, tiny sizes, about a minute; no timing is asserted)
# Exits non-zero if any step fails; a pytest run that collects no tests (exit 5) is a failure too.
#
# Environment:
#   ZK_IMPLS=zookeeper     run the interop suite against Apache ZooKeeper only (or "zooreg" for ours only)
#   ZOOREG_BIN=path        the zooreg binary to test (default .build/debug/zooreg)
#   SKIP_SWIFT=1           skip steps 2-3 (iterating on the interop suite)
#   PYTEST_ARGS="..."      extra pytest arguments, e.g. "-k watches -x"
#   SKIP_BENCH=1           skip step 5
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

summary() {
    echo
    echo "==================== summary ===================="
    printf '%s\n' "${SUMMARY[@]}"
    echo "total: $((SECONDS - T0))s"
    if ((FAILED)); then echo "RESULT: FAILED"; else echo "RESULT: PASSED"; fi
}

step "setup (Scripts/setup.sh)" bash Scripts/setup.sh || { summary; exit 1; }

if [[ ${SKIP_SWIFT:-0} != 1 ]]; then
    # One build of everything (the 2-core machine builds once); swift test reuses it.
    if step "swift build" swift build --build-tests; then
        step "swift test" swift test --skip-build
    else
        SUMMARY+=("SKIP  swift test (build failed)")
    fi
fi

run_pytest() {
    # shellcheck disable=SC2086
    "$REPO_ROOT/.venv/bin/python" -m pytest "$REPO_ROOT/Tests/Interop" -q -p no:cacheprovider \
        --junitxml="$REPO_ROOT/.build/interop-junit.xml" ${PYTEST_ARGS:-}
    local rc=$?
    if ((rc == 5)); then
        echo "pytest collected no tests: that is a failure" >&2
        return 1
    fi
    return $rc
}

mkdir -p .build
if [[ ,$ZK_IMPLS, == *,zooreg,* && ! -x ${ZOOREG_BIN:-.build/debug/zooreg} ]]; then
    echo "warning: zooreg binary ${ZOOREG_BIN:-.build/debug/zooreg} not found; its interop tests will fail" >&2
fi
step "interop suite (pytest + zkCli) against: $ZK_IMPLS" run_pytest

if [[ ${SKIP_BENCH:-0} != 1 && ,$ZK_IMPLS, == *,zooreg,* && ,$ZK_IMPLS, == *,zookeeper,* ]]; then
    step "benchmark script (Benchmarks/compare.sh --quick; nothing timed is asserted)" \
        env ZOOREG_SKIP_BUILD=1 bash Benchmarks/compare.sh --quick --zooreg "${ZOOREG_BIN:-.build/debug/zooreg}" \
        --out "$REPO_ROOT/.build/compare-quick.json"
fi

summary
exit $FAILED
