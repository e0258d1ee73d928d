#!/usr/bin/env bash
# Installs what the build and the test suite need on a fresh Debian 12 machine (run as root, no systemd):
#   - Debian packages: Apache ZooKeeper 3.8 (the reference server), a headless JRE, netcat, python3-venv;
#     chromium and chromium-driver for the console's browser test (Tests/Console);
#     avahi-daemon, avahi-utils, dbus and iproute2 for the LAN suite (Scripts/mdns-lab.sh), and
#     libavahi-client-dev, which the Swift build needs (so this runs before swift build);
#   - a Python venv at .venv with the pinned interop-suite dependencies (Tests/Interop/requirements.txt).
# Idempotent and quiet: a rerun on a ready machine only checks and returns in about a second.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$(pwd)

log() { printf '[setup] %s\n' "$*"; }

# ---- Debian packages -------------------------------------------------------------------------------------
PACKAGES=(zookeeper default-jre-headless netcat-openbsd python3-venv libcurator-discovery-java libcurator-recipes-java default-jdk-headless
          avahi-daemon avahi-utils libavahi-client-dev dbus iproute2
          etcd-server etcd-client openssl chromium chromium-driver)
missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "[setup] missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
        exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        echo "[setup] apt-get failed" >&2
        exit 1
    fi
    rm -f "$apt_log"
fi

for f in /usr/share/java/zookeeper.jar /usr/share/java/slf4j-simple.jar /usr/share/zookeeper/bin/zkCli.sh; do
    [[ -e $f ]] || { echo "[setup] expected $f from Debian's packages; not found" >&2; exit 1; }
done
command -v java >/dev/null || { echo "[setup] java not found on PATH" >&2; exit 1; }
[[ -e /usr/include/avahi-client/client.h ]] || { echo "[setup] expected avahi-client/client.h from libavahi-client-dev; not found" >&2; exit 1; }

# ---- Python venv -----------------------------------------------------------------------------------------
# Debian's python3 (with python3-venv) is preferred: it is what a fresh Debian 12 has. Any python3 >= 3.11
# on PATH (e.g. pyenv's) is the fallback (zeroconf 0.154, for the LAN suite, needs 3.11).
VENV="$REPO_ROOT/.venv"
# The interop, LAN, ensemble and reliability suites' pins, and the console's browser test (selenium).
REQS="$REPO_ROOT/Tests/Interop/requirements.txt"
CONSOLE_REQS="$REPO_ROOT/Tests/Console/requirements.txt"
STAMP="$VENV/.requirements.sha256"
want_hash=$(cat "$REQS" "$CONSOLE_REQS" | sha256sum | cut -d' ' -f1)

if [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c 'import kazoo, pytest, pytest_timeout, zeroconf, selenium' 2>/dev/null \
    && [[ -f $STAMP && $(cat "$STAMP") == "$want_hash" ]]; then
    exit 0
fi

pick_python() {
    local c
    for c in /usr/bin/python3 "$(command -v python3 || true)"; do
        [[ -n $c && -x $c ]] || continue
        if "$c" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$c"
            return 0
        fi
    done
    return 1
}
PY=$(pick_python) || { echo "[setup] no python3 with the venv module found" >&2; exit 1; }

log "creating the Python venv at .venv with $PY ($("$PY" --version 2>&1))"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
pip_log=$(mktemp)
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$REQS" -r "$CONSOLE_REQS" >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    rm -f "$pip_log"
    echo "[setup] pip install failed" >&2
    exit 1
fi
rm -f "$pip_log"
echo "$want_hash" >"$STAMP"
log "venv ready: $("$VENV/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null | grep -iE '^(kazoo|pytest|zeroconf|selenium)' | tr '\n' ' ')"
