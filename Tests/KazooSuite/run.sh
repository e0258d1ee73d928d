#!/usr/bin/env bash
# Runs kazoo's own, unmodified test suite (kazoo/tests in the installed kazoo package) against zooreg or
# Apache ZooKeeper, both started by the shim in this folder (zooreg_kazoo_shim.py).
#
#   Tests/KazooSuite/run.sh zooreg|zookeeper|zookeeper-stock|zooreg-ensemble [pytest options, e.g. -k TestSSLClient -x]
#
# zooreg-ensemble: ZOOKEEPER_CLUSTER_SIZE (default 3) zooreg replicas on one etcd member (/usr/bin/etcd), to
# compare with `ZOOKEEPER_CLUSTER_SIZE=3 run.sh zookeeper-stock` (kazoo's own 3-node ZooKeeper cluster).
#
# zookeeper-stock: no shim; kazoo's own harness (kazoo/testing/common.py) starts Debian's ZooKeeper 3.8 from
# /usr/share/java (fixed ports from 20000, JKS key stores), as kazoo's CI does: a reference for the shim.
#
# KAZOO_SUITE_TESTS picks test files or ids, relative to kazoo/tests, space-separated
# (e.g. "test_sasl.py test_client.py::TestSSLClient"); the default is all of kazoo/tests. Positional arguments
# are pytest options only: the test paths are always inside the installed kazoo package.
#
# Env: ZOOKEEPER_CLUSTER_SIZE (default 1, 3 for zooreg-ensemble: zooreg standalone is one server, so zooreg and
#      zookeeper are compared standalone),
#      KAZOO_SUITE_TIMEOUT (per test, default 60 s), ZOOREG_BIN, KAZOO_SUITE_VENV (default .build/kazoo-suite-venv),
#      KAZOO_SUITE_WORKDIR (data dirs and server logs; default /tmp/kazoo-suite-<impl>-<time>).
# Writes JUnit XML to .build/kazoo-suite-<impl>.xml and prints the passed/failed/skipped counts.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IMPL="${1:-}"
case "$IMPL" in zooreg|zookeeper|zookeeper-stock|zooreg-ensemble) shift ;;
    *) echo "usage: $0 zooreg|zookeeper|zookeeper-stock|zooreg-ensemble [pytest options]" >&2; exit 2 ;; esac

VENV="${KAZOO_SUITE_VENV:-$ROOT/.build/kazoo-suite-venv}"
if ! "$VENV/bin/python" -c "import kazoo, OpenSSL, jks, pytest_timeout, puresasl, objgraph, gevent, eventlet" 2>/dev/null; then
    echo "creating $VENV (kazoo's test dependencies; the shared .venv is left alone)" >&2
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$HERE/requirements.txt" || exit 2
fi
SITE="$("$VENV/bin/python" -c 'import kazoo, os; print(os.path.dirname(os.path.dirname(kazoo.__file__)))')"
if [ "$IMPL" != zookeeper ] && [ "$IMPL" != zookeeper-stock ] && [ ! -x "${ZOOREG_BIN:-$ROOT/.build/debug/zooreg}" ]; then
    echo "zooreg binary not found (build it, or set ZOOREG_BIN)" >&2; exit 2
fi

XML="$ROOT/.build/kazoo-suite-$IMPL.xml"
export KAZOO_SUITE_IMPL="$IMPL"
[ "$IMPL" = zookeeper-stock ] || export KAZOO_SUITE_WORKDIR="${KAZOO_SUITE_WORKDIR:-$(mktemp -d "/tmp/kazoo-suite-$IMPL-$(date +%H%M%S)-XXXX")}"
if [ "$IMPL" = zooreg-ensemble ]; then export ZOOKEEPER_CLUSTER_SIZE="${ZOOKEEPER_CLUSTER_SIZE:-3}"
else export ZOOKEEPER_CLUSTER_SIZE="${ZOOKEEPER_CLUSTER_SIZE:-1}"; fi
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
# kazoo's tests read CI/ZOOKEEPER_VERSION to skip version checks and add sleeps; leave both unset.
unset CI ZOOKEEPER_VERSION ZOOKEEPER_JAAS_AUTH ZOOKEEPER_LOCAL_SESSION_RO

TESTS=()
for t in ${KAZOO_SUITE_TESTS:-.}; do TESTS+=("$SITE/kazoo/tests/$t"); done

SHIM=(-p zooreg_kazoo_shim)
if [ "$IMPL" = zookeeper-stock ]; then
    SHIM=()
    export ZOOKEEPER_VERSION=3.8.0 ZOOKEEPER_CLASSPATH="$("$VENV/bin/python" -c 'import zooreg_kazoo_shim as s; print(":".join(s.ZOOKEEPER_JARS))')"
fi

cd "$ROOT"
"$VENV/bin/python" -m pytest -c "$HERE/pytest.ini" --rootdir "$SITE" --confcutdir "$SITE/kazoo" \
    "${SHIM[@]}" --timeout "${KAZOO_SUITE_TIMEOUT:-60}" --junitxml "$XML" \
    -o junit_suite_name="kazoo-suite-$IMPL" -q "$@" "${TESTS[@]}"
RC=$?
"$VENV/bin/python" - "$XML" "$IMPL" "${KAZOO_SUITE_WORKDIR:-the kazoo harness own temp dirs, removed}" <<'PY'
import sys, xml.etree.ElementTree as ET
xml, impl, work = sys.argv[1:]
tests = failed = errors = skipped = 0
for s in ET.parse(xml).getroot().iter("testsuite"):
    tests += int(s.get("tests", 0)); failed += int(s.get("failures", 0))
    errors += int(s.get("errors", 0)); skipped += int(s.get("skipped", 0))
passed = tests - failed - errors - skipped
print(f"kazoo suite against {impl}: {passed} passed, {failed + errors} failed, {skipped} skipped "
      f"(errors {errors}); JUnit XML {xml}; server logs under {work}")
PY
exit $RC
