"""Screenshots of the demo champion's pages, from a home ``vru demo`` made.

The browser tests take their screenshots on a small seeded home (``make screenshots``); this
script takes the pages of the model the demo actually put in service: its model card, its
transparency record and its monitoring over time, as the demo's ethics-panel member sees them.

Usage (after ``vru demo --no-serve`` into VRU_HOME; Debian's Chromium, never a download)::

    VRU_HOME=/tmp/vru-demo .venv/bin/python docs/screenshots/demo_pages.py [--version N]

It starts ``vru serve`` on a free loopback port with the demo's keys, signs in as
``demo-panel`` and writes ``demo-*.png`` beside this file.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from vru_risk.cli.demo import (
    DEMO_AUDIT_KEY,
    DEMO_PANEL,
    DEMO_PASSWORD,
    DEMO_SESSION_SECRET,
)
from vru_risk.models.registry import Registry
from vru_risk.settings import Settings

OUT = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
PAGES = (
    ("demo-model-card", "/models/{v}/card"),
    ("demo-transparency-record", "/models/{v}/transparency"),
    ("demo-monitoring", "/models/{v}/monitoring"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def champion(settings: Settings) -> int:
    """The version in service (alias ``champion``)."""
    for info in Registry(settings.tracking_uri).versions():
        if "champion" in info.aliases:
            return info.version
    raise SystemExit(f"no champion in {settings.home}: run `vru demo --no-serve` first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", type=int, default=None, help="default: the champion")
    args = parser.parse_args()
    settings = Settings()
    version = args.version if args.version is not None else champion(settings)
    port = free_port()
    env = {
        **os.environ,
        "VRU_SESSION_SECRET": os.environ.get("VRU_SESSION_SECRET", DEMO_SESSION_SECRET),
        "VRU_AUDIT_KEY": os.environ.get("VRU_AUDIT_KEY", DEMO_AUDIT_KEY),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "vru_risk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start (see `vru serve` on this home)")
            time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/login")
            page.get_by_label("Username").fill(DEMO_PANEL[0])
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            for name, path in PAGES:
                response = page.goto(url + path.format(v=version))
                status = response.status if response is not None else 0
                target = OUT / f"{name}.png"
                page.screenshot(path=str(target), full_page=True)
                print(f"{target} ({path.format(v=version)}: HTTP {status})")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
