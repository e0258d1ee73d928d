"""The web console in headless Chromium against a live `zooreg serve`: an instance registered by `zooreg register`
appears without a reload, leaves within the session timeout + 2 s of a kill -9, and its znode shows its data, Stat
and owner in the Tree page; the Server page shows the AdminServer's figures. Screenshots go to
.build/console-artifacts/."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

from console_support import curator_json, kazoo_client, wait_until, zooreg_binary

SESSION_TIMEOUT_S = 4


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait(driver, seconds=10):
    # The page re-renders as events arrive: an element found one moment can be replaced the next (stale). The wait
    # retries then, as it does for an element not there yet (seen once under CI's load).
    return WebDriverWait(driver, seconds, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def open_console(browser, server):
    browser.get(server.url + "/")
    wait(browser, 15).until(lambda d: d.find_element(By.ID, "status").text == "live")
    # A marker that a reload would lose: the page must update in place.
    browser.execute_script("window.__noReload = 'still here';")


def row_selector(path):
    return f'tr.instance[data-path="{path}"]'


def row_cells(driver, path):
    """The texts of the instance's row, read in one go (the table is re-rendered as deltas arrive)."""
    return driver.execute_script(
        "const row = document.querySelector(arguments[0]);"
        "return row ? Array.from(row.cells).map(c => c.textContent) : null;", row_selector(path))


class Registration:
    """`zooreg register` as a subprocess, its stdout read line by line."""

    def __init__(self, server, name, instance_id, port, payload):
        self.process = subprocess.Popen(
            [str(zooreg_binary()), "register", "--server", server.connect_string, "--name", name, "--id", instance_id,
             "--port", str(port), "--address", "127.0.0.1", "--payload", json.dumps(payload), "--no-mdns",
             "--session-timeout", f"{SESSION_TIMEOUT_S}s"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def wait_ready(self, timeout=15):
        wait_until(lambda: "ready" in self.lines or self.process.poll() is not None, timeout, "`zooreg register` to be ready")
        assert "ready" in self.lines, f"zooreg register exited ({self.process.returncode}): {self.lines}"

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=5)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def test_instance_appears_live_browses_tree_and_leaves_after_kill(server, browser, artifacts):
    open_console(browser, server)
    name = "console-demo"
    instance_id = "inst-" + uuid.uuid4().hex[:8]
    path = f"/services/{name}/{instance_id}"
    registration = Registration(server, name, instance_id, 8080, {"zone": "test-1", "version": "1.4.2"})
    try:
        registration.wait_ready()

        # It appears without a reload.
        cells = wait(browser, 10).until(lambda d: row_cells(d, path))
        assert browser.execute_script("return window.__noReload") == "still here"
        assert cells[0] == instance_id
        assert cells[1] == "127.0.0.1:8080"
        assert cells[2] == "healthy"
        session = cells[4]
        assert session.startswith("0x"), session
        assert "test-1" in cells[5]
        # The owner shown is the znode's ephemeralOwner (the REST view agrees).
        page = server.get_json(f"/api/services?service={name}")
        assert page["instances"][0]["ephemeralOwner"] == session
        browser.save_screenshot(str(artifacts / "01-services-registered.png"))

        # Search filters the list.
        search = browser.find_element(By.ID, "search")
        search.send_keys("no-such-thing-anywhere")
        wait(browser, 5).until(lambda d: not css(d, row_selector(path)))
        search.clear()
        search.send_keys(instance_id)
        wait(browser, 5).until(lambda d: css(d, row_selector(path)))

        # The Tree page: browse down to the instance's znode by clicking.
        browser.find_element(By.ID, "tab-tree").click()
        for step in ["/services", f"/services/{name}", path]:
            label = wait(browser, 10).until(EC.element_to_be_clickable(
                (By.CSS_SELECTOR, f'li.tn[data-path="{step}"] > .tn-row > .tn-label')))
            label.click()
        wait(browser, 10).until(lambda d: d.find_element(By.ID, "node-path").text == path)
        assert browser.find_element(By.ID, "node-owner").text == session
        data = browser.find_element(By.ID, "node-data")
        assert data.get_attribute("data-view") == "json"
        assert '"port": 8080' in data.text and f'"id": "{instance_id}"' in data.text
        stat = {cell.get_attribute("data-key"): cell.text for cell in css(browser, "#stat-table td[data-key]")}
        assert stat["ephemeralOwner"] == session
        assert stat["version"] == "0"
        assert int(stat["dataLength"]) > 100
        assert "world:anyone" in browser.find_element(By.ID, "acl-table").text
        # The hex view of the same bytes.
        browser.find_element(By.CSS_SELECTOR, '#data-views button[data-view="hex"]').click()
        assert browser.find_element(By.ID, "node-data").text.startswith("00000000  7b 22")
        browser.find_element(By.CSS_SELECTOR, '#data-views button[data-view="json"]').click()
        browser.save_screenshot(str(artifacts / "02-tree-instance.png"))

        # Back to Services; kill -9 the registrar: the instance leaves within the session timeout + 2 s.
        browser.find_element(By.ID, "tab-services").click()
        wait(browser, 5).until(lambda d: css(d, row_selector(path)))
        registration.kill9()
        killed_at = time.monotonic()
        wait(browser, SESSION_TIMEOUT_S + 2).until(lambda d: not css(d, row_selector(path)))
        gone_after = time.monotonic() - killed_at
        assert gone_after <= SESSION_TIMEOUT_S + 2
        assert browser.execute_script("return window.__noReload") == "still here"
        browser.save_screenshot(str(artifacts / "03-services-after-kill.png"))
        print(f"instance left {gone_after:.2f}s after kill -9 (session timeout {SESSION_TIMEOUT_S}s)")
    finally:
        registration.stop()


def test_many_instances_paginate_and_filter_by_health(server, browser, artifacts):
    zk = kazoo_client(server.connect_string)
    try:
        for s in range(3):
            for i in range(50):
                zk.create(f"/services/page-svc-{s}/i{i:03d}",
                          curator_json(f"page-svc-{s}", f"i{i:03d}", f"10.1.{s}.{i}", 9000 + i, {"shard": i % 4},
                                       enabled=(i != 7)),
                          ephemeral=True, makepath=True)
        open_console(browser, server)
        # 150 instances: the first page holds 100 rows, the next the rest.
        wait(browser, 10).until(lambda d: "150 instances" in d.find_element(By.ID, "summary").text
                                or "instances" in d.find_element(By.ID, "summary").text and len(css(d, "tr.instance")) == 100)
        search = browser.find_element(By.ID, "search")
        search.send_keys("page-svc")
        wait(browser, 5).until(lambda d: d.find_element(By.ID, "page-info").text == "1–100 of 150")
        assert len(css(browser, "tr.instance")) == 100
        browser.find_element(By.ID, "next").click()
        wait(browser, 5).until(lambda d: d.find_element(By.ID, "page-info").text == "101–150 of 150")
        assert len(css(browser, "tr.instance")) == 50
        # Health filter: the three instances written "enabled":false.
        browser.find_element(By.CSS_SELECTOR, '#health option[value="unhealthy"]').click()
        wait(browser, 5).until(lambda d: d.find_element(By.ID, "page-info").text == "1–3 of 3")
        assert {r.get_attribute("data-health") for r in css(browser, "tr.instance")} == {"unhealthy"}
        browser.save_screenshot(str(artifacts / "04-services-unhealthy-filter.png"))
        browser.find_element(By.CSS_SELECTOR, '#health option[value=""]').click()
        search.clear()
    finally:
        zk.stop()
        zk.close()


def test_server_page_shows_monitor_figures_and_chart(server, browser, artifacts):
    open_console(browser, server)
    browser.find_element(By.ID, "tab-server").click()

    def card(key):
        return browser.find_element(By.CSS_SELECTOR, f'.card[data-key="{key}"] .v').text

    wait(browser, 10).until(lambda d: css(d, '.card[data-key="Role"]') and card("Role") != "—")
    monitor = server.get_json("/commands/monitor")
    assert card("Role") == ("standalone" if monitor.get("server_state") == "standalone" else f"replica ({monitor.get('server_state')})")
    assert card("Znodes").isdigit()
    assert int(card("Sessions")) >= 1   # the console's own session at least
    # The chart plots ops/s once two samples (polled every 2 s) give a rate.
    points = wait(browser, 10).until(lambda d: d.execute_script(
        "const p = window.__chartPoints; return p && p.ops >= 1 && p.latency >= 2 ? p : null;"))
    assert points["ops"] >= 1
    browser.save_screenshot(str(artifacts / "05-server.png"))


def test_bad_requests_get_json_errors(server):
    import urllib.error
    import urllib.request

    for path, status in [("/api/tree/node?path=relative", 400), ("/api/tree/node?path=/nope", 404),
                         ("/api/services?limit=-4", 400), ("/api/whatever", 404)]:
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(server.url + path, timeout=5)
        assert failure.value.code == status, path
        assert "error" in json.load(failure.value)
    request = urllib.request.Request(server.url + "/api/tree/node?path=/x", data=b'{"data":"x"}', method="PUT",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=5)
    assert failure.value.code == 403   # editing is off by default


def test_server_stops_promptly_with_the_page_open(browser):
    """A graceful shutdown (SIGTERM) ends the live stream instead of waiting for the browser to go."""
    from console_support import ZooregServer

    server = ZooregServer().start()
    try:
        open_console(browser, server)
        server.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        server.process.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert server.process.returncode == 0
        wait(browser, 10).until(lambda d: d.find_element(By.ID, "status").text == "console offline")
    finally:
        server.stop()
