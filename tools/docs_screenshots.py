"""Build the docs site and screenshot pages of it in headless Chromium, offline, to look at them.

    python tools/docs_screenshots.py [OUTPUT_DIR]

Builds with ``mkdocs build --strict`` into a temporary directory, serves it on 127.0.0.1 (a
free port), and saves one PNG per page below (the home page, a guide, the errors reference,
an API page, the example diagrams, and a search for "terminate", which mkdocs-material runs in
the browser from search_index.json), then the pages with diagrams and the search again in the
dark (slate) scheme, as ``<page>-dark.png``. Needs the ``docs`` extra and a ``chromium`` on
PATH; not part of CI.

Chromium resolves no host but 127.0.0.1, so the pictures show the site as a reader with no
network sees it. It is driven over its DevTools pipe (``--remote-debugging-pipe``), so the
script waits in real time for what a page does after loading (the search runs in a web
worker), and prints what it found on each page: the first picture of the article (the
diagrams are inline ``<svg class="vsd">`` drawn at build time by tools/mkdocs_diagrams.py),
any Mermaid left, the search results, the colour scheme the page chose, and the requests
that tried to leave 127.0.0.1.
Exits 1 if a page has a Mermaid element or script, or the search finds nothing.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "home": "",
    "guide": "guides/background-runs/",
    "errors": "errors/",
    "protocol": "protocol/",
    "migrating": "guides/migrating/",
    "cli": "guides/cli/",
    "local": "guides/local-platform/",
    "nodes": "api/nodes/",
    "api": "api/pipeline/",
    "diagrams": "examples/",
    "search": "?q=terminate",
}
TALL = {"errors": 1700, "diagrams": 2600}
DARK = ("home", "errors", "diagrams", "search")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# What the article shows, read in the page once it has settled.
REPORT = """(() => {
  const article = document.querySelector(".md-content article") || document.body;
  const first = article.querySelector("svg.vsd, img, pre.mermaid, div.mermaid");
  return {
    first: first ? first.tagName.toLowerCase() + "." + first.getAttribute("class") : null,
    diagrams: article.querySelectorAll("svg.vsd").length,
    mermaid: document.querySelectorAll(".mermaid, script[src*=mermaid]").length,
    results: document.querySelectorAll(".md-search-result__item").length,
    scheme: document.body.getAttribute("data-md-color-scheme"),
    dark: matchMedia("(prefers-color-scheme: dark)").matches,
  };
})()"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: the script prints the screenshots' paths only."""


class _Chromium:
    """One headless Chromium, spoken to over the DevTools pipe (JSON messages ending in NUL
    on its file descriptors 3 and 4), with one page."""

    def __init__(self, browser: str, profile: Path, dark: bool) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        self._process = subprocess.Popen(
            ["sh", "-c", f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}', *command],
            pass_fds=(to_browser, from_browser),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setEmulatedMedia",
            session=True,
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and wait for its answer (keeping the events met)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._message()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self.events.append(answer)

    def wait_for(self, method: str, seconds: float) -> bool:
        """Wait for an event (``Page.loadEventFired``) since the last navigation."""
        deadline = time.monotonic() + seconds
        while not any(e.get("method") == method for e in self.events):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                return False
            self.events.append(self._message())
        return True

    def evaluate(self, expression: str) -> Any:
        answer = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        return answer["result"].get("value")

    def shoot(self, url: str, target: Path, height: int, search: bool) -> dict[str, Any]:
        """Open ``url`` at 1280 x ``height``, wait until it has settled (and, for a search,
        until results show, up to 15 s), save a PNG and say what the article shows."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=1280,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired", 30)
        deadline = time.monotonic() + 15
        while search and not self.evaluate(REPORT)["results"] and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        report: dict[str, Any] = self.evaluate(REPORT)
        shot = self.call("Page.captureScreenshot", session=True, format="png")
        target.write_bytes(base64.b64decode(shot["data"]))
        report["outside"] = sorted(
            {
                e["params"]["request"]["url"].split("/")[2]
                for e in self.events
                if e.get("method") == "Network.requestWillBeSent"
                and not e["params"]["request"]["url"].startswith(("http://127.0.0.1", "data:"))
            }
        )
        return report

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.call("Browser.close")
        self._process.wait(timeout=30)
        os.close(self._read)
        os.close(self._write)


def main() -> int:
    args = sys.argv[1:]
    out = Path(args[0] if args else "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium on PATH", file=sys.stderr)
        return 1
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "--site-dir", str(site)],
            cwd=ROOT,
            check=True,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
        handler = functools.partial(_QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            # One browser per scheme, its preference set before its first page.
            for dark, names in ((False, tuple(PAGES)), (True, DARK)):
                chromium = _Chromium(browser, Path(scratch) / f"profile-{dark}", dark)
                try:
                    for name in names:
                        target = out / f"{name}{'-dark' if dark else ''}.png"
                        search = PAGES[name].startswith("?q=")
                        report = chromium.shoot(
                            base + PAGES[name], target, TALL.get(name, 1000), search
                        )
                        failed |= bool(report["mermaid"]) or (search and not report["results"])
                        print(target, json.dumps(report, sort_keys=True))
                finally:
                    chromium.close()
        finally:
            server.shutdown()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
