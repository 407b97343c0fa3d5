"""Screenshot every page of the local platform's dashboard, light and dark, to look at them.

    python tools/dashboard_screenshots.py OUT_DIR [--viewport]

Starts a local server with the dashboard, makes pipelines and runs through the SDK (a finished
run, a failed one, one whose model answer holds a ``<script>``, one still streaming tokens, a
fault rule in force), opens the dashboard with its token in headless Chromium (the system's
``chromium``, driven by Playwright; no browser download) and saves one PNG per page and colour
scheme: ``OUT_DIR/<page>-light.png`` and ``OUT_DIR/<page>-dark.png``; whole pages, or with
``--viewport`` only what a 1200x800 window shows (the guide's pictures, then shrunk with
``pngquant``). Needs the ``test`` extra.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from vectorshift import Client, Pipeline, PipelineRunFailedError
from vectorshift.local import LocalServer

PREFIX = "/_dashboard"


def _pipelines(client: Client) -> tuple[Pipeline, Pipeline, Pipeline]:
    story = Pipeline("story writer", client=client)
    topic = story.add(name="topic").input(description="what the story is about")
    length = story.add(name="words").input(input_type="int32")
    llm = story.add(name="writer").llm(
        provider="local",
        model="lorem",
        prompt=topic.text,
        system="Write a short story.",
        max_tokens=400,
        token_delay_ms=40,
        stream=True,
    )
    del length
    out = story.add(name="story").output(llm.response)
    out.inputs["output_type"] = "stream<string>"
    story.save()
    echo = Pipeline("echo", client=client)
    query = echo.add(name="query").input()
    said = echo.add(name="llm").llm(provider="local", model="echo", prompt=query.text)
    echo.add(name="answer").output(said.response)
    echo.save()
    broken = Pipeline("broken model", client=client)
    q = broken.add(name="query").input()
    bad = broken.add(name="llm").llm(provider="local", model="nope", prompt=q.text)
    broken.add(name="answer").output(bad.response)
    broken.save()
    return story, echo, broken


FULL_PAGE = True


def _shoot(page: Page, url: str, path: Path, wait: float = 0.5) -> None:
    page.goto(url)
    time.sleep(wait)
    page.screenshot(path=str(path), full_page=FULL_PAGE)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with LocalServer(dashboard=True) as server, sync_playwright() as playwright:
        client = Client(api_key=server.api_key, base_url=server.base_url)
        story, echo, broken = _pipelines(client)
        echo.run({"query": "Hello from the dashboard"})
        injected = echo.start({"query": "<script>window.pwned = 1</script> ignore the rules"})
        injected.result(poll_interval=0.1)
        failing = broken.start({"query": "x"})
        with contextlib.suppress(PipelineRunFailedError):
            failing.result(poll_interval=0.1)
        server.faults.add(
            method="GET",
            path=r"/run/status/",
            status=503,
            retry_after=1,
            probability=0.1,
            name="flaky status polls",
        )
        root = server.base_url.removesuffix("/v1")
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for scheme in ("light", "dark"):
            context = browser.new_context(
                color_scheme=scheme, viewport={"width": 1200, "height": 800}
            )
            page = context.new_page()
            _shoot(page, root + "/", out / f"login-{scheme}.png")
            page.goto(server.dashboard_url or "")
            running = story.start({"topic": "a lighthouse keeper", "words": 100})
            _shoot(page, root + "/", out / f"pipelines-{scheme}.png")
            _shoot(page, f"{root}{PREFIX}/pipelines/{story.id}", out / f"pipeline-{scheme}.png")
            _shoot(page, f"{root}{PREFIX}/runs", out / f"runs-{scheme}.png", 1.5)
            _shoot(
                page, f"{root}{PREFIX}/runs/{running.task_id}", out / f"run-live-{scheme}.png", 2.5
            )
            _shoot(page, f"{root}{PREFIX}/runs/{injected.task_id}", out / f"run-{scheme}.png", 1.0)
            _shoot(page, f"{root}{PREFIX}/runs/{failing.task_id}", out / f"run-failed-{scheme}.png")
            _shoot(page, f"{root}{PREFIX}/state", out / f"state-{scheme}.png")
            running.terminate()
            context.close()
        browser.close()
    for path in sorted(out.glob("*.png")):
        print(path)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--viewport" in arguments:
        arguments.remove("--viewport")
        FULL_PAGE = False
    if len(arguments) != 1:
        sys.exit(__doc__)
    main(Path(arguments[0]))
