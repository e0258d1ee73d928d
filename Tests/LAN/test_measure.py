"""measure.py end to end, briefly: 2 trials on the suite's lab (hosts a and b). Only that it produces numbers
for every row, without a timed-out sample, and that a deregistration (SIGTERM) reaches b within 1.5 s (median)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

MEASURE = Path(__file__).resolve().parent / "measure.py"


@pytest.mark.timeout(150)
def test_measure_script_produces_numbers(lab, zooreg):
    r = subprocess.run([sys.executable, str(MEASURE), "--trials", "2", "--json", "--reuse-lab",
                        "--prefix", lab.prefix], capture_output=True, text=True, timeout=140)
    assert r.stdout.strip(), f"no output (exit {r.returncode}): {r.stderr[-3000:]}"
    rep = json.loads(r.stdout)
    assert rep["trials"] == 2, rep
    for key, row in rep["rows"].items():
        assert row["n"] >= 2 and row["failures"] == 0, f"{key}: {row}\n{r.stderr[-3000:]}"
        assert all(isinstance(row[k], float) and row[k] >= 0 for k in ("median", "p90", "min", "max")), row
    assert rep["errors"] == [], rep["errors"]
    assert r.returncode == 0, r.stderr[-3000:]
    for key in ("deregister_gone_zeroconf", "deregister_gone_avahi"):
        limit = 1.5 + (1.2 if key.endswith("avahi") else 0.0)   # avahi keeps a goodbye'd record 1 s
        assert rep["rows"][key]["median"] <= limit, f"{key}: {rep['rows'][key]}"
