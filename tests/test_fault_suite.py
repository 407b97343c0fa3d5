"""Nothing lost, nothing doubled: the SDK against a local server that misbehaves on purpose.

* 1,000 background runs through ``amap(concurrency=50)`` while the server answers 429s, 503s
  and drops connections (before and after acting), with a limit of 20 active runs;
* 200 runs terminated at random moments around their completion;
* a worker process killed after ``start()``, its runs resumed and terminated by other processes;
* the server stopped and started again under pollers, on the same database.

The suite takes some tens of seconds; it is part of the default ``pytest`` run. The counts of the
big run are kept in :data:`SUMMARY`, put in its assertion messages, printed (``-s`` or ``-rP``
shows the line) and recorded as the test's ``fault_suite`` property (``--junitxml``).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from support import unique

from vectorshift import (
    Client,
    Pipeline,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    RetryPolicy,
    RunHandler,
)
from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.records import STOPPED_SERVER_ERROR
from vectorshift.types import normalize_status

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent

SUMMARY: dict[str, Any] = {}
"""Counts of the 1,000-run test: started, finished, failed, lost, duplicated, wall time."""


def client_of(server: LocalServer) -> Client:
    return Client(
        api_key=server.api_key,
        base_url=server.base_url,
        retry=RetryPolicy(max_retries=3, backoff_base=0.05, max_backoff=0.5),
    )


async def echo_with_delay(client: Client) -> Pipeline:
    """answer == query, one word per ``delay`` milliseconds."""
    pipeline = Pipeline(unique("faults"), client=client)
    query = pipeline.add(name="query").input()
    delay = pipeline.add(name="delay").input()
    llm = pipeline.add(name="llm").llm(
        provider="local",
        model="echo",
        prompt=query.text,
        token_delay_ms=delay.text,  # type: ignore[arg-type]
    )
    pipeline.add(name="answer").output(llm.response)
    await pipeline.asave()
    return pipeline


def query_db(server: LocalServer, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.db_path) as db:
        return list(db.execute(sql, params))


def add_shares(server: LocalServer, method: str, path: str, shares: list[dict[str, Any]]) -> None:
    """Install rules firing on the given overall shares of matching requests.

    Rules are tried in order and the first that fires wins, so each rule's probability is its
    share of the requests the rules before it let through.
    """
    left = 1.0
    for share in shares:
        fields = {k: v for k, v in share.items() if k != "share"}
        server.faults.add(method=method, path=path, probability=share["share"] / left, **fields)
        left -= share["share"]


@pytest.fixture(scope="module")
def busy_server() -> Iterator[LocalServer]:
    """A server with a limit of 20 active runs and a fast announced Retry-After on it."""
    with LocalServer(ServerConfig(max_active_runs=20, retry_after=0.2)) as server:
        yield server


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_thousand_runs_through_faults_start_once_and_report_once(
    busy_server: LocalServer, record_property: Any
) -> None:
    server = busy_server
    client = client_of(server)
    pipeline = await echo_with_delay(client)
    run_path = rf"/pipeline/{pipeline.id}/run$"
    add_shares(
        server,
        "POST",
        run_path,
        [
            {"share": 0.10, "status": 429, "retry_after": 0.05},
            {"share": 0.025, "status": 503},
            {"share": 0.025, "status": 503, "when": "after"},
            {"share": 0.01, "drop": True},
            {"share": 0.01, "drop": True, "when": "after"},
        ],
    )
    add_shares(
        server,
        "GET",
        rf"/pipeline/{pipeline.id}/run/status/",
        [{"share": 0.05, "status": 503}, {"share": 0.01, "drop": True}],
    )
    total = 1000
    inputs = [{"query": f"q{i} x", "delay": "2"} for i in range(total)]
    began = time.monotonic()
    try:
        outcomes = [
            o async for o in pipeline.amap(inputs, concurrency=50, ordered=False, timeout=120)
        ]
    finally:
        fired = {f"{r.method} {r.status or 'drop'} {r.when}": r.fired for r in server.faults.rules}
        server.faults.clear()
    wall = time.monotonic() - began

    rows = query_db(
        server, "SELECT task_id, inputs, status FROM runs WHERE pipeline_id = ?", pipeline.id
    )
    per_query = Counter(json.loads(inputs_json)["query"] for _, inputs_json, _ in rows)
    task_of = {json.loads(inputs_json)["query"]: task_id for task_id, inputs_json, _ in rows}
    reported = Counter(o.index for o in outcomes)
    SUMMARY.update(
        started=sum(o.handler is not None for o in outcomes),
        finished=sum(o.ok for o in outcomes),
        failed=sum(not o.ok for o in outcomes),
        lost=sum(1 for q in inputs if per_query[q["query"]] == 0)
        + sum(1 for i in range(total) if reported[i] == 0),
        duplicated=sum(n - 1 for n in per_query.values() if n > 1)
        + sum(n - 1 for n in reported.values() if n > 1),
        wall_s=round(wall, 1),
        faults_fired=fired,
    )
    line = (
        "fault suite: {started} started, {finished} finished, {failed} failed, {lost} lost, "
        "{duplicated} duplicated in {wall_s} s".format(**SUMMARY)
    )
    print(line, SUMMARY["faults_fired"])
    record_property("fault_suite", line)  # in --junitxml reports, without -s
    assert sorted(reported) == list(range(total)) and set(reported.values()) == {1}, line
    assert len(rows) == total and set(per_query.values()) == {1}, line
    assert SUMMARY["lost"] == SUMMARY["duplicated"] == SUMMARY["failed"] == 0, line
    for outcome in outcomes:
        query = outcome.inputs["query"]
        assert outcome.task_id == task_of[query], line
        assert outcome.result is not None and outcome.result.outputs == {"answer": query}, line
    assert all(status == "completed" for _, _, status in rows), line
    # Every kind of fault really happened.
    assert all(count > 0 for count in fired.values()), fired


async def final_views(handler: RunHandler) -> tuple[str, ...]:
    """The run's final state as terminate, run_status, result() and its stream tell it."""
    terminated = (await handler.aterminate()).status
    status = (await handler.arun_status()).status
    try:
        result = (await handler.aresult(timeout=60)).status
    except PipelineRunCancelledError:
        result = "cancelled"
    frames: list[str] = []
    try:
        async with handler.astream() as chunks:
            async for chunk in chunks:
                if chunk.type == "result":
                    frames.append(normalize_status(chunk.status)[0])
    except PipelineRunCancelledError:
        pass
    return (terminated, status, result, *frames)


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_two_hundred_terminations_around_completion_give_one_final_status(
    busy_server: LocalServer,
) -> None:
    server = busy_server
    client = client_of(server)
    pipeline = await echo_with_delay(client)
    rng = random.Random(20240607)
    limiter = anyio.Semaphore(16)
    views: dict[str, tuple[str, ...]] = {}
    durations: list[float] = []
    twin = await echo_with_delay(client)  # the same graph; its runs stay out of the counts

    async def calibrate(i: int) -> None:
        async with limiter:
            started = anyio.current_time()
            handler = await twin.astart({"query": f"calibrate {i} a b c", "delay": "12"})
            await handler.aresult(timeout=60)
            durations.append(anyio.current_time() - started)

    # How long a run takes here and now, under the same concurrency: the terminations are
    # spread over twice that, so some land before completion and some after, however loaded
    # the machine is.
    async with anyio.create_task_group() as tg:
        for i in range(16):
            tg.start_soon(calibrate, i)
    spread = 2 * sorted(durations)[len(durations) // 2]

    async def race(i: int) -> None:
        async with limiter:
            handler = await pipeline.astart({"query": f"race {i} a b c", "delay": "12"})
            await anyio.sleep(rng.uniform(0.0, spread))
            views[handler.task_id] = await final_views(handler)

    async with anyio.create_task_group() as tg:
        for i in range(200):
            tg.start_soon(race, i)
    assert len(views) == 200
    for task_id, view in views.items():
        # terminate, run_status, result() and exactly one result frame agree.
        assert len(view) == 4 and len(set(view)) == 1, (task_id, view)
        assert view[0] in ("succeeded", "cancelled")
    endings = Counter(view[0] for view in views.values())
    assert endings["succeeded"] > 0 and endings["cancelled"] > 0, endings
    stored = query_db(
        server,
        "SELECT r.status, COUNT(e.seq) FROM runs r LEFT JOIN events e ON e.task_id = r.task_id"
        ' AND e.frame LIKE \'%"type":"result"%\' WHERE r.pipeline_id = ? GROUP BY r.task_id',
        pipeline.id,
    )
    assert len(stored) == 200 and all(results == 1 for _, results in stored)
    assert Counter({"completed": endings["succeeded"], "cancelled": endings["cancelled"]}) == (
        Counter(status for status, _ in stored)
    )


def run_script(server: LocalServer, code: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "VECTORSHIFT_API_KEY": server.api_key,
        "VECTORSHIFT_BASE_URL": server.base_url,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


WORKER = """
import asyncio, sys
from vectorshift import Pipeline

async def main():
    pipeline = await Pipeline.afetch(id=sys.argv[1])
    kept = await pipeline.astart({"query": "kept alive a b c", "delay": "100"})
    doomed = await pipeline.astart({"query": "doomed " * 50, "delay": "200"})
    print(kept.task_id, doomed.task_id, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""

RESUMER = """
import asyncio, sys
from vectorshift import RunHandler

handler = RunHandler(pipeline_id=sys.argv[1], task_id=sys.argv[2])
print(asyncio.run(handler.aresult(poll_interval=0.1, timeout=60))["result"]["answer"])
"""

TERMINATOR = """
import asyncio, sys
from vectorshift import Pipeline

async def main():
    pipeline = await Pipeline.afetch(id=sys.argv[1])
    print((await pipeline.aterminate(run_id=sys.argv[2])).status)

asyncio.run(main())
"""


def test_runs_outlive_a_killed_worker_and_are_reached_from_other_processes(
    busy_server: LocalServer,
) -> None:
    server = busy_server
    pipeline = anyio.run(echo_with_delay, client_of(server))
    worker = run_script(server, WORKER, str(pipeline.id))
    try:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line, worker.stderr.read() if worker.stderr else "no output"
        kept, doomed = line.split()
    finally:
        worker.kill()
        worker.communicate(timeout=30)
    assert worker.returncode != 0  # killed, not finished
    resumer = run_script(server, RESUMER, str(pipeline.id), kept)
    terminator = run_script(server, TERMINATOR, str(pipeline.id), doomed)
    answer, resumer_err = resumer.communicate(timeout=90)
    status, terminator_err = terminator.communicate(timeout=90)
    assert resumer.returncode == 0, resumer_err
    assert terminator.returncode == 0, terminator_err
    assert answer.strip() == "kept alive a b c"
    assert status.strip() == "cancelled"
    sql = "SELECT task_id, status FROM runs WHERE pipeline_id = ?"
    rows = dict(query_db(server, sql, pipeline.id))
    assert rows == {kept: "completed", doomed: "cancelled"}


def serve(db_path: Path, port: int = 0, faults: str = "[]") -> tuple[subprocess.Popen[str], str]:
    """A local server in its own process (so it can be killed for real); returns its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vectorshift.local",
            "--port",
            str(port),
            "--db",
            str(db_path),
            "--faults",
            faults,
        ],
        stdout=subprocess.PIPE,
        text=True,
        # the key the tests use: the command's default is a key made per database
        env={**os.environ, "PYTHONPATH": str(ROOT), "VECTORSHIFT_LOCAL_API_KEY": "vs-local-dev"},
        cwd=ROOT,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("vectorshift.local serving at "), first
    return process, first.split()[-1]


async def test_pollers_ride_through_a_server_killed_and_restarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="vectorshift")
    db_path = tmp_path / "vs.db"
    # Status requests that ask to be held are refused, so pollers pace their own checks and
    # keep asking while the server is down.
    refuse_wait = {"method": "GET", "path": r"/run/status/.*\?.*wait=", "status": 400}
    no_long_poll = json.dumps([refuse_wait])
    process, base_url = serve(db_path, faults=no_long_poll)
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    try:
        client = Client(
            api_key="vs-local-dev",
            base_url=base_url,
            retry=RetryPolicy(max_retries=2, backoff_base=0.05, max_backoff=0.3),
        )
        pipeline = await echo_with_delay(client)
        quick = [await pipeline.astart({"query": f"quick {i}", "delay": "1"}) for i in range(3)]
        for handler in quick:
            await handler.aresult(timeout=30)
        slow = [await pipeline.astart({"query": "slow " * 100, "delay": "100"}) for _ in range(4)]
        endings: dict[str, str] = {}

        async def poll(handler: RunHandler) -> None:
            try:
                final = await handler.aresult(poll_interval=0.1, timeout=90)
                endings[handler.task_id] = final.status
            except PipelineRunFailedError as exc:
                endings[handler.task_id] = f"failed: {exc.run_error}"

        async with anyio.create_task_group() as tg:
            for handler in quick + slow:
                tg.start_soon(poll, handler)
            await anyio.sleep(0.3)
            process.kill()  # no goodbye: runs stay in progress in the database
            process.wait()
            await anyio.sleep(1.0)
            process, _ = serve(db_path, port=port)
        assert {endings[h.task_id] for h in quick} == {"succeeded"}
        assert {endings[h.task_id] for h in slow} == {f"failed: {STOPPED_SERVER_ERROR}"}
        outage = [r for r in caplog.records if "connection failed" in r.getMessage()]
        assert {getattr(r, "task_id", None) for r in outage} >= {h.task_id for h in slow}
        after = await pipeline.astart({"query": "after the restart", "delay": "1"})
        assert (await after.aresult(timeout=30)).outputs == {"answer": "after the restart"}
    finally:
        process.kill()
        process.wait()
