"""Editing in the console (`zooreg serve --console-edit`, loopback): the Tree page's editor sets a znode's data and
the digest credentials given in the page are what the write session authenticates with (ZooKeeper ACLs apply)."""

from __future__ import annotations

import uuid

import pytest
from kazoo.security import make_digest_acl
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

from console_support import ZooregServer, kazoo_client


@pytest.fixture(scope="module")
def edit_server():
    server = ZooregServer(extra_args=["--console-edit"]).start()
    yield server
    server.stop()


def wait(driver, seconds=10):
    # The page re-renders as events arrive: an element found one moment can be replaced the next (stale). The wait
    # retries then, as it does for an element not there yet (seen once under CI's load).
    return WebDriverWait(driver, seconds, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def js_text(driver, selector):
    """An element's text read in one go (the pane is re-rendered as the page loads), None when absent."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)


def open_node(browser, server, path):
    browser.get(server.url + "/#tree:" + path)
    wait(browser).until(lambda d: js_text(d, "#node-path") == path and js_text(d, "#edit-data") is not None)


def save(browser, text):
    area = browser.find_element(By.ID, "edit-data")
    area.clear()
    area.send_keys(text)
    browser.find_element(By.CSS_SELECTOR, ".edit button.primary").click()
    # The pane is re-rendered after a write: read the message in one go.
    return wait(browser).until(lambda d: d.execute_script(
        "const m = document.querySelector('.edit .msg'); const t = m ? m.textContent : '';"
        "return t && t !== '\u2026' ? t : null;"))


def test_editor_sets_data_and_credentials_meet_acls(edit_server, browser, artifacts):
    zk = kazoo_client(edit_server.connect_string)
    try:
        assert edit_server.get_json("/api/console")["editEnabled"] is True
        open_path = f"/edit-{uuid.uuid4().hex[:6]}"
        zk.create(open_path, b"before")
        open_node(browser, edit_server, open_path)
        message = save(browser, "after")
        assert message == "done", message
        assert zk.get(open_path)[0] == b"after"

        # A znode only alice may write: refused without her credentials, accepted with them.
        guarded = f"/guarded-{uuid.uuid4().hex[:6]}"
        zk.create(guarded, b"v1", acl=[make_digest_acl("alice", "pw", all=True),
                                       make_digest_acl("bob", "x", read=True)])
        zk.add_auth("digest", "alice:pw")
        browser.get("about:blank")
        browser.get(edit_server.url + "/#tree:" + guarded)
        # Unreadable without credentials: the page says so.
        wait(browser).until(lambda d: "not allowed" in (js_text(d, "#node-pane") or ""))
        browser.get(edit_server.url + "/#tree:/")
        wait(browser).until(lambda d: js_text(d, "#node-path") == "/" and js_text(d, "#edit-data") is not None)
        user, password = browser.find_elements(By.CSS_SELECTOR, ".edit input[type=text], .edit input[type=password]")[:2]
        user.send_keys("bob")
        password.send_keys("x")
        browser.execute_script("location.hash = arguments[0]", "#tree:" + guarded)
        wait(browser).until(lambda d: js_text(d, "#node-path") == guarded and js_text(d, "#edit-data") is not None)
        message = save(browser, "by bob")
        assert "not allowed" in message, message
        assert zk.get(guarded)[0] == b"v1"
        user, password = browser.find_elements(By.CSS_SELECTOR, ".edit input[type=text], .edit input[type=password]")[:2]
        user.clear(); user.send_keys("alice")
        password.clear(); password.send_keys("pw")
        message = save(browser, "by alice")
        assert message == "done", message
        assert zk.get(guarded)[0] == b"by alice"
        browser.save_screenshot(str(artifacts / "06-tree-edit.png"))
    finally:
        zk.stop()
        zk.close()
