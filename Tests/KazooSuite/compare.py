"""Compares JUnit XML files of kazoo suite runs, test by test.

    .build/kazoo-suite-venv/bin/python Tests/KazooSuite/compare.py .build/kazoo-suite-zooreg.xml .build/kazoo-suite-zookeeper.xml

Prints each file's counts, then every test whose outcome is not the same in all files (with the first line of
the failure message).
"""
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    out = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        name = f"{tc.get('classname')}::{tc.get('name')}"
        bad = tc.find("failure")
        if bad is None:
            bad = tc.find("error")
        if bad is not None:
            out[name] = ("failed", (bad.get("message") or "").splitlines()[0][:160] if bad.get("message") else "")
        elif tc.find("skipped") is not None:
            out[name] = ("skipped", "")
        else:
            out[name] = ("passed", "")
    return out


def main(paths):
    runs = [(p, outcomes(p)) for p in paths]
    for p, o in runs:
        counts = {k: sum(1 for v in o.values() if v[0] == k) for k in ("passed", "failed", "skipped")}
        print(f"{p}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    names = sorted(set().union(*(o.keys() for _, o in runs)))
    diffs = [n for n in names if len({o.get(n, ("missing", ""))[0] for _, o in runs}) > 1]
    print(f"\n{len(diffs)} tests differ:")
    for n in diffs:
        print(n)
        for p, o in runs:
            st, msg = o.get(n, ("missing", ""))
            print(f"    {st:8} {p}  {msg}")


if __name__ == "__main__":
    main(sys.argv[1:])
