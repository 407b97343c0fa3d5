"""Issue 24 point 8: free text has a size limit, and repeated errors do not flood the log.

Three pipelines with 25 MB descriptions made ``pipelines list`` unusable: every free-text
field of a body (descriptions included) now has a limit, refused with a 400 naming the field.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vectorshift._schema.requests import MAX_DESCRIPTION_LENGTH
from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.log_limits import RepeatFilter

KEY = "limits-key"
HEADERS = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with (
        LocalServer(ServerConfig(api_keys={KEY: "limits"})) as server,
        httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=30) as client,
    ):
        yield client


def make(api: httpx.Client, **extra: object) -> httpx.Response:
    return api.post("/pipeline", json={"name": "described", "nodes": {}, **extra})


def test_a_description_past_the_limit_is_refused_naming_it(api: httpx.Client) -> None:
    huge = "d" * (MAX_DESCRIPTION_LENGTH + 1)
    refused = make(api, description=huge)
    assert refused.status_code == 400, refused.status_code
    assert "description" in refused.text and str(MAX_DESCRIPTION_LENGTH) in refused.text
    pipeline_id = make(api, description="fine").json()["id"]
    for path, body in (
        (f"/update/pipeline/{pipeline_id}", {"description": huge, "nodes": {}}),
        (f"/pipeline/{pipeline_id}/duplicate", {"description": huge}),
    ):
        answer = api.post(path, json=body)
        assert answer.status_code == 400, (path, answer.status_code)
        assert "description" in answer.text


def test_a_description_at_the_limit_is_kept_whole(api: httpx.Client) -> None:
    text = "d" * MAX_DESCRIPTION_LENGTH
    made = make(api, description=text)
    assert made.status_code == 200, made.text[:300]
    fetched = api.get("/pipeline", params={"id": made.json()["id"]})
    assert fetched.json()["object"]["description"] == text


def test_25_mb_descriptions_are_refused_and_the_list_stays_small(api: httpx.Client) -> None:
    for _ in range(3):
        assert make(api, description="x" * 25_000_000).status_code == 400
    listed = api.get("/pipelines", params={"verbose": "true", "limit": 100})
    assert listed.status_code == 200 and len(listed.content) < 10 * MAX_DESCRIPTION_LENGTH


# Repeated errors: out of file descriptors --------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def test_running_out_of_file_descriptors_logs_once_not_megabytes() -> None:
    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    env = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "vectorshift.local", "--port", "0", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        preexec_fn=few_descriptors,
    )
    logged = bytearray()
    assert process.stdout is not None and process.stderr is not None
    errors = process.stderr

    def drain() -> None:
        while chunk := errors.read1(65536):
            logged.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    sockets: list[socket.socket] = []
    try:
        url = process.stdout.readline().split()[-1].decode()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(80)]
        time.sleep(3)
        text = logged.decode(errors="replace")
        assert "Too many open files" in text
        assert len(logged) < 20_000, f"{len(logged)} bytes of log in 3 s"
        assert text.count("out of system resource") == 1
        for sock in sockets:
            sock.close()
        sockets = []
        time.sleep(1.5)  # asyncio retries accepting after 1 s
        served = httpx.get(f"{url}/pipelines", headers=HEADERS, timeout=10)
        assert served.status_code == 200
    finally:
        for sock in sockets:
            sock.close()
        process.terminate()
        process.wait(30)
        reader.join(10)


def test_a_repeated_error_is_counted_then_logged_with_its_count() -> None:
    now = [0.0]
    repeats = RepeatFilter(interval=10.0, clock=lambda: now[0])
    repeats.watch(threading.get_ident())

    def record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("vectorshift.local", level, __file__, 1, message, None, None)

    assert repeats.filter(record("disk failing"))
    assert [repeats.filter(record("disk failing")) for _ in range(500)] == [False] * 500
    assert repeats.filter(record("another error")), "another kind is not held back"
    assert repeats.filter(record("a note", logging.INFO)), "below warning: never held back"
    now[0] = 10.5
    summary = record("disk failing")
    assert repeats.filter(summary)
    assert summary.getMessage() == "disk failing (and 500 more like it in 10 s, not shown)"
    repeats.unwatch(threading.get_ident())
    assert repeats.filter(record("disk failing")), "an unwatched thread is never held back"
