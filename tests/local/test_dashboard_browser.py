"""Issue 25 point 6: the dashboard driven in a real browser (headless Chromium).

The system's Chromium (Debian's ``chromium`` package; ``.ci/run`` installs it) is driven by
Playwright's Python package, which downloads no browser of its own here. Under CI
(``CI=true``) a missing Chromium fails these tests instead of skipping them. One browser and
one server for the module; each test has its own browser context (its own cookies).
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from vectorshift.local import LocalServer

from . import dashboard_support as dash


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "no chromium on PATH (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with dash.dashboard_server() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context()
    opened.set_default_timeout(15_000)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext, server: LocalServer) -> Page:
    """A page holding a session: the dashboard's address, with its token, was opened."""
    opened = context.new_page()
    opened.goto(server.dashboard_url or "")
    return opened


def test_first_visit_drops_the_token_and_lists_a_pipeline_made_by_the_sdk(
    context: BrowserContext, server: LocalServer
) -> None:
    pipeline = dash.echo(dash.client_of(server))
    page = context.new_page()
    page.goto(server.dashboard_url or "")
    assert page.url == dash.root(server) + "/" and "token" not in page.url
    expect(page.get_by_role("link", name=pipeline.name)).to_be_visible()
    page.get_by_role("searchbox").fill(pipeline.name[-8:])
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name=pipeline.name).click()
    expect(page.locator("svg.vsd .vsd-node")).to_have_count(3)
    page.go_back()
    page.go_back()
    assert "token" not in page.url  # nor in the history


def test_without_the_token_the_page_shows_nothing_of_the_organisation(
    context: BrowserContext, server: LocalServer
) -> None:
    pipeline = dash.echo(dash.client_of(server))
    page = context.new_page()
    page.goto(dash.root(server) + "/")
    assert pipeline.name not in page.content()
    page.goto(f"{dash.root(server)}{dash.PREFIX}/pipelines/{pipeline.id}")
    assert pipeline.name not in page.content()
    page.get_by_label("API key").fill(dash.KEY)
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("link", name=pipeline.name)).to_be_visible()
    assert dash.KEY not in page.url


def test_a_run_page_shows_tokens_arriving_while_the_run_goes_on(
    page: Page, server: LocalServer
) -> None:
    pipeline = dash.slow_pipeline(dash.client_of(server), tokens=100, delay_ms=50)
    handle = pipeline.start({"query": "go"})
    try:
        page.goto(f"{dash.root(server)}{dash.PREFIX}/runs/{handle.task_id}")
        answer = page.locator('pre[data-output="answer"]')
        expect(answer).not_to_be_empty()
        first = len(answer.text_content() or "")
        time.sleep(0.6)
        later = len(answer.text_content() or "")
        assert later > first
        assert handle.run_status()["status"] == "running"
    finally:
        handle.terminate()


def test_the_terminate_button_ends_the_run(page: Page, server: LocalServer) -> None:
    pipeline = dash.slow_pipeline(dash.client_of(server), tokens=200, delay_ms=50)
    handle = pipeline.start({"query": "go"})
    page.goto(f"{dash.root(server)}{dash.PREFIX}/runs/{handle.task_id}")
    expect(page.locator('pre[data-output="answer"]')).not_to_be_empty()
    page.get_by_role("button", name="Terminate").click()
    expect(page.locator("#run-status")).to_have_text("cancelled")  # the page reloads at the end
    assert handle.run_status()["status"] == "cancelled"


def test_a_script_in_a_model_answer_renders_as_text(page: Page, server: LocalServer) -> None:
    pipeline = dash.echo(dash.client_of(server))
    page.goto(f"{dash.root(server)}{dash.PREFIX}/pipelines/{pipeline.id}")
    page.locator('textarea[name="in:query"]').fill(dash.INJECTED)
    page.get_by_role("button", name="Start a run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator('pre[data-output="answer"]')).to_have_text(dash.INJECTED)
    expect(page.locator("pre.answer")).to_have_text(dash.INJECTED)  # the recorded LLM call
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main script, main img").count() == 0


def test_a_cross_origin_post_is_refused(page: Page, server: LocalServer) -> None:
    pipeline = dash.echo(dash.client_of(server))
    csrf = page.locator('meta[name="csrf"]').get_attribute("content")

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>elsewhere</body></html>")

        def log_message(self, *args: object) -> None:
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        # Same site (cookies go: the port is no part of a site), other origin.
        page.goto(f"http://127.0.0.1:{other.server_address[1]}/")
        page.evaluate(
            """([url, csrf]) => fetch(url, {method: "POST", mode: "no-cors",
                credentials: "include", body: new URLSearchParams({csrf, "in:query": "x"})})""",
            [f"{dash.root(server)}{dash.PREFIX}/pipelines/{pipeline.id}/run", csrf],
        )
    finally:
        other.shutdown()
        other.server_close()
    page.goto(f"{dash.root(server)}{dash.PREFIX}/runs?pipeline={pipeline.id}")
    expect(page.locator("tbody tr.empty")).to_have_count(1)
    status = page.evaluate(
        """(url) => fetch(url, {method: "POST"}).then((answer) => answer.status)""",
        f"{dash.root(server)}{dash.PREFIX}/runs/nope/terminate",
    )
    assert status == 403  # same origin, but without the CSRF header


def test_a_dropped_stream_resumes_without_a_lost_or_repeated_token(
    page: Page, server: LocalServer
) -> None:
    pipeline = dash.slow_pipeline(dash.client_of(server), tokens=12, delay_ms=1)
    handle = pipeline.start({"query": "go"})
    final = handle.result(poll_interval=0.05, timeout=30)["result"]["answer"]
    resumed_from: list[str] = []

    def cut_the_first(route: Route) -> None:
        if resumed_from:
            resumed_from.append(route.request.url.rsplit("after=", 1)[1])
            route.continue_()
            return
        whole = route.fetch().text()
        frames = whole.split("\n\n")
        resumed_from.append("cut")
        # The stream breaks after its sixth frame (the retry line comes first).
        route.fulfill(
            status=200, content_type="text/event-stream", body="\n\n".join(frames[:7]) + "\n\n"
        )

    page.route("**/events*", cut_the_first)
    page.goto(f"{dash.root(server)}{dash.PREFIX}/runs/{handle.task_id}")
    expect(page.locator('pre[data-output="answer"]')).to_have_text(final)
    assert resumed_from[0] == "cut" and resumed_from[1] == "6"
