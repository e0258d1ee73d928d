#!/usr/bin/env python3
"""Measures the web console with a big registry (not a timed test): 10,000 instances (1,000 services x 10) written
fast with kazoo from a few sessions as ephemeral znodes holding Curator JSON, then in headless Chromium:

- first contentful paint and the time until the first services are rendered (page load to rows in the table),
- the time from registering one more instance (kazoo create returned) to its row appearing in the page.

    .venv/bin/python Tests/Console/measure_console.py [--services 1000] [--per-service 10] [--runs 5]

Prints each run and the medians; needs .build/debug/zooreg, chromium and chromedriver."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_support import ZooregServer, chromium, curator_json, kazoo_client, wait_until  # noqa: E402


def populate(server: ZooregServer, services: int, per_service: int, sessions: int):
    clients = [kazoo_client(server.connect_string) for _ in range(sessions)]
    started = time.monotonic()
    clients[0].ensure_path("/services")
    pending = [clients[0].create_async(f"/services/svc-{s:04d}") for s in range(services)]
    for p in pending:
        p.get(timeout=30)
    pending = []
    for s in range(services):
        for i in range(per_service):
            client = clients[(s * per_service + i) % sessions]
            name = f"svc-{s:04d}"
            data = curator_json(name, f"i{i:02d}", f"10.{s // 250}.{s % 250}.{i + 1}", 8000 + i,
                                {"zone": f"zone-{i % 3}", "build": "2026.12.1"}, enabled=(i != 9 or s % 7 != 0))
            pending.append(client.create_async(f"/services/{name}/i{i:02d}", data, ephemeral=True))
        if len(pending) > 2000:
            for p in pending:
                p.get(timeout=60)
            pending = []
    for p in pending:
        p.get(timeout=60)
    return clients, time.monotonic() - started


def page_load(driver, server, expected_instances):
    driver.get("about:blank")
    driver.get(server.url + "/")
    wait_until(lambda: driver.execute_script("return window.__consoleFirstRowsAt || null"), 60, "the first rows")
    figures = driver.execute_script("""
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        return { fcp: fcp ? fcp.startTime : null, snapshot: window.__consoleFirstSnapshotAt,
                 rows: window.__consoleFirstRowsAt, summary: document.getElementById('summary').textContent };""")
    assert f"{expected_instances} instances" in figures["summary"], figures["summary"]
    return figures


def append_latency(driver, zk, run):
    instance_id = f"late-{run}-{uuid.uuid4().hex[:6]}"
    path = f"/services/svc-0000/{instance_id}"
    # Show only that instance (it is then on the first page) and note when its row appears.
    driver.execute_script("""
        const input = document.getElementById('search');
        input.value = arguments[0]; input.dispatchEvent(new Event('input'));
        window.__appearedAt = null;
        const body = document.getElementById('instances-body');
        if (window.__observer) window.__observer.disconnect();
        window.__observer = new MutationObserver(() => {
          if (!window.__appearedAt && body.querySelector(`tr.instance[data-path="${arguments[1]}"]`)) window.__appearedAt = Date.now();
        });
        window.__observer.observe(body, { childList: true });""", instance_id, path)
    time.sleep(0.3)  # let the search's debounce (80 ms) apply before the create; not an assertion
    before = time.time() * 1000
    zk.create(path, curator_json("svc-0000", instance_id, "10.9.9.9", 9999), ephemeral=True)
    appeared = wait_until(lambda: driver.execute_script("return window.__appearedAt"), 15, f"{instance_id} in the page")
    return appeared - before


def snapshot_bytes(server: ZooregServer) -> int:
    """The size of the live stream's first event (the snapshot)."""
    import urllib.request

    with urllib.request.urlopen(server.url + "/api/services/stream", timeout=30) as response:
        size = 0
        for line in response:
            if line.startswith(b"data: "):
                size += len(line)
            elif line == b"\n" and size:
                return size
    return size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--per-service", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    total = args.services * args.per_service

    server = ZooregServer(tick_time_ms=2000).start()
    driver = None
    clients = []
    try:
        clients, seconds = populate(server, args.services, args.per_service, args.sessions)
        print(f"created {total} instances in {args.services} services from {args.sessions} sessions in {seconds:.1f}s")
        started = time.monotonic()
        wait_until(lambda: server.get_json("/api/services?limit=1")["totalInstances"] == total, 120,
                   "the console's cache to hold every instance", interval=0.2)
        print(f"console cache complete {time.monotonic() - started:.1f}s after the last create returned")
        print(f"snapshot event: {snapshot_bytes(server) / 1e6:.1f} MB of JSON for {total} instances")
        driver = chromium()
        loads = []
        for run in range(args.runs):
            figures = page_load(driver, server, total)
            loads.append(figures)
            print(f"load {run + 1}: first contentful paint {figures['fcp']:.0f} ms, snapshot parsed {figures['snapshot']:.0f} ms, "
                  f"first services rendered {figures['rows']:.0f} ms")
        latencies = []
        for run in range(args.runs):
            latency = append_latency(driver, clients[0], run)
            latencies.append(latency)
            print(f"append {run + 1}: one more instance in the page {latency:.0f} ms after its create returned")
        print()
        print(f"medians over {args.runs} runs with {total} instances / {args.services} services:")
        print(f"  first contentful paint        {statistics.median(l['fcp'] for l in loads):7.0f} ms")
        print(f"  snapshot received and parsed  {statistics.median(l['snapshot'] for l in loads):7.0f} ms")
        print(f"  first services rendered       {statistics.median(l['rows'] for l in loads):7.0f} ms")
        print(f"  new instance to page          {statistics.median(latencies):7.0f} ms")
    finally:
        if driver:
            driver.quit()
        for client in clients:
            client.stop()
            client.close()
        server.stop()


if __name__ == "__main__":
    main()
