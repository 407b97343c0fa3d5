"""Issue 25: the dashboard's routes, over HTTP against a real local server (no browser).

Who may see what (token, cookie, API key, nothing without them), which requests may change
anything (same origin and CSRF token), the security headers, the Host check, the JSON and
event routes the page's script reads, and the escaping of untrusted text.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from vectorshift.local import LocalServer
from vectorshift.local.dashboard_diagram import diagram_css, pipeline_svg
from vectorshift.local.records import PipelineRecord

from .dashboard_support import (
    INJECTED,
    KEY,
    OTHER_KEY,
    PREFIX,
    client_of,
    dashboard_server,
    echo,
    root,
    slow_pipeline,
)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with dashboard_server() as running:
        yield running


def browser(server: LocalServer) -> httpx.Client:
    """An HTTP client acting as the dashboard's own page would (same Origin)."""
    return httpx.Client(base_url=root(server), headers={"Origin": root(server)}, timeout=30)


@contextmanager
def logged_in(server: LocalServer) -> Iterator[tuple[httpx.Client, str]]:
    """A client holding a session opened with the token, and the session's CSRF token."""
    with browser(server) as http:
        http.get(server.dashboard_url or "")
        found = re.search(r'name="csrf" content="([^"]+)"', http.get("/").text)
        assert found is not None
        yield http, found.group(1)


def test_the_token_becomes_a_strict_cookie_and_leaves_the_address(server: LocalServer) -> None:
    url = server.dashboard_url or ""
    assert re.fullmatch(rf"{re.escape(root(server))}/\?token=[\w-]{{20,}}", url)
    with browser(server) as http:
        answer = http.get(url + "&q=x")
        assert answer.status_code == 303 and answer.headers["location"] == "/?q=x"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "token" not in cookie
        assert http.get("/").status_code == 200


def test_without_a_session_only_the_key_is_asked_and_no_data_shown(server: LocalServer) -> None:
    pipeline = echo(client_of(server))
    record = pipeline.run({"query": "secret"})
    with browser(server) as http:
        for path in (
            "/",
            f"{PREFIX}/runs",
            f"{PREFIX}/pipelines/{pipeline.id}",
            f"{PREFIX}/runs/{record.run_id}",
            f"{PREFIX}/state",
        ):
            answer = http.get(path)
            assert answer.status_code == 401 and 'name="api_key"' in answer.text
            assert pipeline.name not in answer.text and str(pipeline.id) not in answer.text
        assert http.get(f"{PREFIX}/api/runs").status_code == 401
        assert http.get(f"{PREFIX}/api/runs/{record.run_id}/events").status_code == 401
        wrong = http.get("/?token=not-the-token")
        assert wrong.status_code == 303 and "set-cookie" not in wrong.headers
        assert http.get("/").status_code == 401


def test_an_api_key_opens_a_session_of_its_organisation(server: LocalServer) -> None:
    mine = echo(client_of(server))
    theirs = echo(client_of(server, OTHER_KEY))
    with browser(server) as http:
        refused = http.post(
            f"{PREFIX}/login",
            data={"api_key": OTHER_KEY},
            headers={"Origin": "http://evil.example"},
        )
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        assert http.post(f"{PREFIX}/login", data={"api_key": "nope"}).status_code == 401
        assert http.post(f"{PREFIX}/login", data={"api_key": OTHER_KEY}).status_code == 303
        page = http.get("/").text
        assert theirs.name in page and mine.name not in page
        assert http.get(f"{PREFIX}/pipelines/{mine.id}").status_code == 404


def test_pages_carry_the_security_headers_and_the_host_check(server: LocalServer) -> None:
    with logged_in(server) as (http, _):
        answer = http.get("/")
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and answer.headers["x-frame-options"] == "DENY"
        assert "<script>" not in answer.text and " style=" not in answer.text
        rebound = http.get("/", headers={"Host": f"evil.example:{server.port}"})
        assert rebound.status_code == 421
        assert (
            http.get(f"{PREFIX}/static/dashboard.js")
            .headers["content-type"]
            .startswith("text/javascript")
        )
        assert http.get(f"{PREFIX}/static/nope.js").status_code == 404


def test_a_run_starts_from_the_form_only_same_origin_with_the_csrf_token(
    server: LocalServer,
) -> None:
    pipeline = echo(client_of(server))
    path = f"{PREFIX}/pipelines/{pipeline.id}/run"
    with logged_in(server) as (http, csrf):
        form = {"csrf": csrf, "in:query": "from the form"}
        assert (
            http.post(path, data=form, headers={"Origin": "http://evil.example"}).status_code == 403
        )
        assert http.post(path, data={**form, "csrf": "guess"}).status_code == 403
        assert http.post(path, data=form, headers={"Origin": ""}).status_code == 403
        listed = http.get(f"{PREFIX}/api/runs", params={"pipeline": pipeline.id}).json()
        assert listed["runs"] == []
        started = http.post(path, data=form)
        assert started.status_code == 303
        task_id = started.headers["location"].rsplit("/", 1)[1]
        final = pipeline.run_handler(task_id).result(poll_interval=0.05, timeout=30)
        assert final["result"] == {"answer": "from the form"}


def test_typed_inputs_are_checked_as_the_api_checks_them(server: LocalServer) -> None:
    from vectorshift import Pipeline

    pipeline = Pipeline("typed", client=client_of(server))
    count = pipeline.add(name="count").input(input_type="int32")
    pipeline.add(name="out").output(count.value)
    pipeline.save()
    path = f"{PREFIX}/pipelines/{pipeline.id}/run"
    with logged_in(server) as (http, csrf):
        refused = http.post(path, data={"csrf": csrf, "in:count": "many"})
        assert refused.status_code == 422 and "expected int32" in refused.text
        started = http.post(path, data={"csrf": csrf, "in:count": "41"})
        task_id = started.headers["location"].rsplit("/", 1)[1]
    final = pipeline.run_handler(task_id).result(poll_interval=0.05, timeout=30)
    assert final["result"] == {"out": 41}


def test_terminate_needs_the_csrf_header_and_ends_the_run(server: LocalServer) -> None:
    pipeline = slow_pipeline(client_of(server), tokens=200, delay_ms=50)
    handle = pipeline.start({"query": "go"})
    path = f"{PREFIX}/runs/{handle.task_id}/terminate"
    with logged_in(server) as (http, csrf):
        assert http.post(path).status_code == 403
        assert (
            http.post(
                path, headers={"X-Dashboard-CSRF": csrf, "Origin": "http://x.example"}
            ).status_code
            == 403
        )
        assert handle.run_status()["status"] == "running"
        answer = http.post(path, headers={"X-Dashboard-CSRF": csrf})
        assert answer.status_code == 200 and answer.json() == {"status": "cancelled"}
        runs = http.get(
            f"{PREFIX}/api/runs", params={"status": "cancelled", "pipeline": pipeline.id}
        ).json()["runs"]
        assert [run["task_id"] for run in runs] == [handle.task_id]


def test_the_event_route_resumes_after_the_last_frame_seen(server: LocalServer) -> None:
    pipeline = slow_pipeline(client_of(server), tokens=8, delay_ms=1)
    handle = pipeline.start({"query": "go"})
    handle.result(poll_interval=0.05, timeout=30)
    path = f"{PREFIX}/api/runs/{handle.task_id}/events"

    def ids(headers: dict[str, str]) -> list[int]:
        text = http.get(path, headers=headers).text
        return [int(n) for n in re.findall(r"^id: (\d+)$", text, re.M)]

    with logged_in(server) as (http, _):
        every = ids({})
        assert every == list(range(1, len(every) + 1)) and len(every) > 8
        assert ids({"Last-Event-ID": "5"}) == every[5:]
        assert http.get(path, params={"after": 3}).text.count("id: ") == len(every) - 3
        for hostile in ("\u00b2", "9" * 19, "9" * 5000, "-1"):  # replayed from the start
            answer = http.get(path, params={"after": hostile})
            assert answer.status_code == 200 and ids_in(answer.text) == every, hostile


def ids_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^id: (\d+)$", text, re.M)]


def test_untrusted_text_is_escaped_on_every_page(server: LocalServer) -> None:
    pipeline = echo(client_of(server), name=INJECTED)
    record = pipeline.run({"query": INJECTED})
    with logged_in(server) as (http, _):
        pages = [
            http.get("/").text,
            http.get(f"{PREFIX}/pipelines/{pipeline.id}").text,
            http.get(f"{PREFIX}/runs").text,
            http.get(f"{PREFIX}/runs/{record.run_id}").text,
        ]
    for text in pages:
        assert "<script>window" not in text and "<img" not in text
    run_page = pages[-1]
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in run_page
    assert run_page.count("<h4>Answer</h4>") == 1 and "req_" in run_page


def test_the_state_page_shows_faults_limits_and_active_runs(server: LocalServer) -> None:
    rule = server.faults.add(method="GET", path=r"/never-matches$", status=503, name="<b>rule</b>")
    pipeline = slow_pipeline(client_of(server), tokens=200, delay_ms=50)
    handle = pipeline.start({"query": "go"})
    try:
        with logged_in(server) as (http, _):
            text = http.get(f"{PREFIX}/state").text
        assert "&lt;b&gt;rule&lt;/b&gt;" in text and "/never-matches$" in text
        assert re.search(r"<td>dash</td><td>[1-9]\d*</td>", text)
        assert "max_active_runs" in text
    finally:
        server.faults.remove(rule)
        handle.terminate()


def test_the_diagram_escapes_labels_and_carries_no_inline_style() -> None:
    record = PipelineRecord(
        id="p",
        org="o",
        name="n",
        branch_id="b",
        version="0.0.0",
        description="",
        created="",
        modified="",
        inputs={},
        outputs={},
        nodes={
            "a": {
                "id": "a",
                "name": "<a&b>",
                "type": "input",
                "inputs": {"input_type": "string"},
                "outputs": ["text"],
            },
            "c": {
                "id": "c",
                "name": "c",
                "type": "output",
                "inputs": {"value": "{{ a.text }}", "output_type": "string"},
            },
        },
        canvas_metadata={},
    )
    svg = pipeline_svg(record)
    assert svg.startswith("<svg") and "&lt;a&amp;b&gt;" in svg and "<a&b>" not in svg
    assert "<style" not in svg and "style=" not in svg


def test_the_stylesheet_carries_the_diagram_rules(server: LocalServer) -> None:
    with logged_in(server) as (http, _):
        css = http.get(f"{PREFIX}/static/dashboard.css")
        assert css.status_code == 200 and ".vsd .vsd-edge{" in css.text
        assert css.text.endswith(diagram_css())


def test_the_dashboard_is_off_unless_asked() -> None:
    with LocalServer() as plain:
        assert plain.dashboard_url is None
        assert httpx.get(plain.base_url.removesuffix("/v1") + "/").status_code == 404


def test_the_command_prints_the_dashboard_address() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "vectorshift.local", "--port", "0", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        shown = [line for line in lines if line.startswith("dashboard: ")]
        assert len(shown) == 1
        url = shown[0].split(" ", 1)[1].strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", url)
        answer = httpx.get(url, follow_redirects=True)
        assert answer.status_code == 200 and "<h1>Pipelines</h1>" in answer.text
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.anyio
async def test_the_event_route_sends_tokens_while_the_run_goes_on(server: LocalServer) -> None:
    pipeline = slow_pipeline(client_of(server), tokens=30, delay_ms=30)
    handle = await pipeline.astart({"query": "go"})
    async with httpx.AsyncClient(base_url=root(server), timeout=30) as http:
        await http.get(server.dashboard_url or "")
        path = f"{PREFIX}/api/runs/{handle.task_id}/events"
        tokens, status_during = 0, None
        async with http.stream("GET", path) as answer:
            async for line in answer.aiter_lines():
                if line.startswith("data: ") and '"output_name":"answer"' in line:
                    tokens += 1
                    if tokens == 3:
                        status_during = (await handle.arun_status())["status"]
                if line.startswith("event: result"):
                    break
    assert tokens == 30 and status_during == "running"


def test_a_run_page_shows_the_trace_context_its_start_carried(server: LocalServer) -> None:
    pipeline = echo(client_of(server))
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    started = httpx.post(
        f"{server.base_url}/pipeline/{pipeline.id}/run",
        json={"inputs": {"query": "traced"}},
        headers={"Authorization": f"Bearer {KEY}", "traceparent": traceparent},
    )
    assert started.status_code == 200, started.text
    with logged_in(server) as (http, _):
        page = http.get(f"{PREFIX}/runs/{started.json()['run_id']}").text
    assert f"<code>{traceparent}</code>" in page
