#!/usr/bin/env python3
"""Takes the README's screenshot of the console (docs/console.png): a few services registered with kazoo,
one instance unhealthy, the Services page in headless Chromium.

    .venv/bin/python Tests/Console/readme_screenshot.py [output.png]"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_support import ROOT, ZooregServer, chromium, curator_json, kazoo_client, wait_until  # noqa: E402

SERVICES = {
    "billing": [("10.0.1.11", 8443, {"zone": "eu-west-1a", "version": "2.8.1"}, True),
                ("10.0.1.12", 8443, {"zone": "eu-west-1b", "version": "2.8.1"}, True)],
    "checkout": [("10.0.2.21", 8080, {"zone": "eu-west-1a", "version": "5.2.0"}, True),
                 ("10.0.2.22", 8080, {"zone": "eu-west-1b", "version": "5.2.0"}, False),
                 ("10.0.2.23", 8080, {"zone": "eu-west-1c", "version": "5.1.9"}, True)],
    "inventory": [("10.0.3.31", 9090, {"zone": "eu-west-1a", "grpc": True}, True)],
    "search": [("10.0.4.41", 9200, {"zone": "eu-west-1b", "shards": 12}, True),
               ("10.0.4.42", 9200, {"zone": "eu-west-1c", "shards": 12}, True)],
}


def main():
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "console.png"
    server = ZooregServer().start()
    clients = [kazoo_client(server.connect_string) for _ in range(3)]
    driver = None
    try:
        now = int(time.time() * 1000)
        n = 0
        for name, instances in SERVICES.items():
            for index, (address, port, payload, healthy) in enumerate(instances):
                instance_id = f"{name}-{index + 1}"
                clients[n % 3].create(f"/services/{name}/{instance_id}",
                                      curator_json(name, instance_id, address, port, payload, enabled=healthy,
                                                   registered_ms=now - (n + 1) * 437_000),
                                      ephemeral=True, makepath=True)
                n += 1
        driver = chromium(1280, 780)
        driver.get(server.url + "/")
        wait_until(lambda: driver.execute_script(
            "return document.querySelectorAll('tr.instance').length") == n, 15, "every instance in the page")
        wait_until(lambda: driver.find_element("id", "status").text == "live", 10, "the live status")
        time.sleep(2.5)  # let the new-row highlight fade before the picture (not an assertion)
        output.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(output))
        print(f"wrote {output}")
    finally:
        if driver:
            driver.quit()
        for client in clients:
            client.stop()
            client.close()
        server.stop()


if __name__ == "__main__":
    main()
