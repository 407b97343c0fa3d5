"""Build the docs site and screenshot pages of it in headless Chromium, to look at them.

    python tools/docs_screenshots.py [OUTPUT_DIR] [--mermaid mermaid.min.js]

Builds with ``mkdocs build --strict`` into a temporary directory, serves it on 127.0.0.1 (a
free port), and saves one PNG per page below (the home page, a guide, the errors reference,
an API page, the example diagrams, and a search for "terminate", which mkdocs-material runs in
the browser from search_index.json). Needs the ``docs`` extra and a ``chromium`` on PATH; not
part of CI.

The site renders diagrams with Mermaid, which mkdocs-material loads from a CDN when a page has
one. On a machine without network, give a local ``mermaid.min.js`` (``npm pack mermaid@11``
has it under ``package/dist/``) with ``--mermaid``: it is copied into the served site and
loaded first, and mkdocs-material then uses it instead of the CDN's.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

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
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,1000", "--virtual-time-budget=8000",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: the script prints the screenshots' paths only."""


def _use_local_mermaid(site: Path, script: Path) -> None:
    """Serve ``script`` with the site and load it on every page before mkdocs-material's."""
    shutil.copy(script, site / "assets" / "mermaid.min.js")
    tag = '<script src="/assets/mermaid.min.js"></script></head>'
    for page in site.rglob("*.html"):
        page.write_text(page.read_text(encoding="utf-8").replace("</head>", tag, 1),
                        encoding="utf-8")


def main() -> int:
    args = sys.argv[1:]
    mermaid = None
    if "--mermaid" in args:
        at = args.index("--mermaid")
        mermaid = Path(args[at + 1]).resolve()
        del args[at : at + 2]
    out = Path(args[0] if args else "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("no chromium on PATH", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                        "--site-dir", str(site)], cwd=ROOT, check=True,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        if mermaid is not None:
            _use_local_mermaid(site, mermaid)
        handler = functools.partial(_QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            for name, page in PAGES.items():
                target = out / f"{name}.png"
                profile = Path(scratch) / f"profile-{name}"
                subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                f"--screenshot={target}", base + page],
                               check=True, capture_output=True, timeout=120)
                print(target)
        finally:
            server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
