"""pipeline.amap: bounded fan-out of background runs, one outcome per input, nothing doubled."""

from __future__ import annotations

import itertools
import sqlite3
import sys
import types
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import anyio
import pytest
from support import unique

import vectorshift
from vectorshift import (
    Client,
    Pipeline,
    PipelineRunFailedError,
    PollTimeoutError,
    RunOutcome,
    UnprocessableEntityError,
)
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio


async def echo_with_delay(client: Client) -> Pipeline:
    """answer == query; each word takes ``delay`` ms; ``model`` "nope" makes the run fail."""
    pipeline = Pipeline(unique("map"), client=client)
    query = pipeline.add(name="query").input()
    delay = pipeline.add(name="delay").input()
    model = pipeline.add(name="model").input()
    # The local engine resolves references in any field, these two included.
    llm = pipeline.add(name="llm").llm(
        provider="local",
        model=model.text,  # type: ignore[arg-type]
        prompt=query.text,
        token_delay_ms=delay.text,  # type: ignore[arg-type]
    )
    pipeline.add(name="answer").output(llm.response)
    await pipeline.asave()
    return pipeline


def row(query: str, delay_ms: int = 1, model: str = "echo") -> dict[str, str]:
    return {"query": query, "delay": str(delay_ms), "model": model}


def runs_of(server: LocalServer, pipeline: Pipeline, status: str | None = None) -> int:
    """Rows in the server's runs table for the pipeline (with that status, if given)."""
    sql = "SELECT COUNT(*) FROM runs WHERE pipeline_id = ?"
    params: tuple[str, ...] = (str(pipeline.id),)
    if status is not None:
        sql, params = sql + " AND status = ?", (*params, status)
    with sqlite3.connect(server.db_path) as db:
        (count,) = db.execute(sql, params).fetchone()
    return int(count)


def query_runs(server: LocalServer, pipeline: Pipeline, status: str) -> list[str]:
    """Task ids of the pipeline's runs with that status."""
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute(
            "SELECT task_id FROM runs WHERE pipeline_id = ? AND status = ?", (pipeline.id, status)
        )
        return [task_id for (task_id,) in rows]


async def outcomes_of(pipeline: Pipeline, inputs: Any, **options: Any) -> list[RunOutcome]:
    return [outcome async for outcome in pipeline.amap(inputs, **options)]


async def test_outcomes_come_in_input_order_however_runs_finish(client: Client) -> None:
    pipeline = await echo_with_delay(client)
    # The first inputs are the slowest, so runs finish in reverse order.
    inputs = [row(f"q{i} w", delay_ms=(10 - i) * 15) for i in range(10)]
    outcomes = await outcomes_of(pipeline, inputs, concurrency=10, poll_interval=0.05)
    assert [o.index for o in outcomes] == list(range(10))
    assert all(o.ok and o.error is None for o in outcomes)
    assert [o.result["result"]["answer"] for o in outcomes if o.result] == [
        f"q{i} w" for i in range(10)
    ]
    assert [o.inputs for o in outcomes] == inputs
    assert len({o.task_id for o in outcomes}) == 10


async def test_as_completed_yields_the_fast_runs_first(client: Client) -> None:
    pipeline = await echo_with_delay(client)
    inputs = [row("slow one", delay_ms=600)] + [row(f"fast {i}") for i in range(5)]
    outcomes = await outcomes_of(pipeline, inputs, concurrency=6, ordered=False)
    assert sorted(o.index for o in outcomes) == list(range(6))
    assert outcomes[-1].index == 0 and outcomes[0].index != 0
    assert all(o.ok for o in outcomes)


async def test_no_more_runs_than_the_concurrency_are_active_at_once(
    client: Client, server: LocalServer
) -> None:
    pipeline = await echo_with_delay(client)
    inputs = [row(f"a b c {i}", delay_ms=20) for i in range(24)]
    peak = 0
    done = anyio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, runs_of(server, pipeline, "in_progress"))
            await anyio.sleep(0.005)

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        outcomes = await outcomes_of(pipeline, inputs, concurrency=4, poll_interval=0.05)
        done.set()
    assert len(outcomes) == 24 and all(o.ok for o in outcomes)
    assert 2 <= peak <= 4
    assert runs_of(server, pipeline) == 24


async def test_inputs_are_taken_lazily_and_cancelling_leaves_the_runs_going(
    client: Client, server: LocalServer
) -> None:
    pipeline = await echo_with_delay(client)
    taken = 0

    def endless() -> Iterator[dict[str, str]]:
        nonlocal taken
        for i in itertools.count():
            taken += 1
            yield row(f"n{i} long", delay_ms=5000)

    with anyio.move_on_after(1.0) as waited:
        async with aclosing(pipeline.amap(endless(), concurrency=3)) as outcomes:
            async for _ in outcomes:
                pytest.fail("no run of 10 s can have ended")
    # No slot ever freed, so exactly `concurrency` inputs were taken from the endless source.
    assert waited.cancel_called and taken == 3
    assert client.http.open_responses() == 0
    running = query_runs(server, pipeline, "in_progress")
    assert len(running) == 3
    for task_id in running:
        await pipeline.run_handler(task_id).aterminate()


async def test_failures_are_reported_once_and_never_retried(
    client: Client, server: LocalServer
) -> None:
    pipeline = await echo_with_delay(client)
    inputs: list[dict[str, str]] = [row("fine"), row("broken", model="nope"), row("fine too")]
    inputs.append({"query": "x", "nope": "unknown input"})
    outcomes = await outcomes_of(pipeline, inputs, concurrency=2)
    assert [o.ok for o in outcomes] == [True, False, True, False]
    failed = outcomes[1]
    assert isinstance(failed.error, PipelineRunFailedError) and "nope" in str(failed.error)
    assert failed.result is not None and failed.result.status == "failed"
    assert failed.handler is not None and failed.error.task_id == failed.task_id
    rejected = outcomes[3]
    assert isinstance(rejected.error, ValueError) and rejected.handler is None
    # One run per accepted input: the failed one was not started again.
    assert runs_of(server, pipeline) == 3


async def test_a_run_that_does_not_finish_in_time_is_reported_with_its_handler(
    client: Client,
) -> None:
    pipeline = await echo_with_delay(client)
    outcomes = await outcomes_of(pipeline, [row("a b c d", delay_ms=500)], timeout=0.3)
    (late,) = outcomes
    assert isinstance(late.error, PollTimeoutError) and late.handler is not None
    assert late.result is None and not late.ok
    await late.handler.aterminate()


async def test_rate_limits_are_waited_out_not_reported(
    client: Client, server: LocalServer, faults: FaultInjector
) -> None:
    pipeline = await echo_with_delay(client)
    limit = faults.add(
        method="POST", path=f"/pipeline/{pipeline.id}/run$", status=429, retry_after=0.01, count=30
    )
    outcomes = await outcomes_of(pipeline, [row(f"r{i}") for i in range(6)], concurrency=3)
    assert all(o.ok for o in outcomes) and limit.fired == 30
    assert runs_of(server, pipeline) == 6


async def test_keys_make_a_rerun_after_a_crash_start_nothing_twice(
    client: Client, server: LocalServer
) -> None:
    pipeline = await echo_with_delay(client)
    inputs = [row(f"k{i} w", delay_ms=30) for i in range(8)]
    keys = [f"row-{i}" for i in range(8)]
    # The first pass "crashes" after two outcomes; its other runs go on unobserved.
    async with aclosing(pipeline.amap(inputs, keys=keys, concurrency=4)) as first:
        async for outcome in first:
            if outcome.index == 1:
                break
    started = runs_of(server, pipeline)
    assert 2 <= started <= 8
    outcomes = await outcomes_of(pipeline, inputs, keys=keys, concurrency=4)
    assert all(o.ok for o in outcomes)
    assert runs_of(server, pipeline) == 8
    again = await outcomes_of(pipeline, inputs, keys=keys, concurrency=8)
    assert [o.task_id for o in again] == [o.task_id for o in outcomes]
    assert runs_of(server, pipeline) == 8


async def test_keys_must_be_one_distinct_key_per_input(client: Client, server: LocalServer) -> None:
    pipeline = await echo_with_delay(client)
    cases = [
        ([row("a"), row("b")], ["same", "same"], "twice"),
        ([row("c"), row("d")], ["only-one"], "fewer"),
        ([row("e")], ["k-e", "k-extra"], "more"),
    ]
    for inputs, keys, problem in cases:
        reported = []
        with pytest.raises(ValueError, match=problem):
            async for outcome in pipeline.amap(inputs, keys=keys):
                reported.append(outcome)
        # The input met before the mismatch was run and reported, once.
        assert [o.index for o in reported] == [0] and reported[0].ok
    assert runs_of(server, pipeline) == 3


async def test_breaking_early_stops_the_waits_but_not_the_runs(
    client: Client, server: LocalServer
) -> None:
    pipeline = await echo_with_delay(client)
    inputs = [row(f"w {i} x y", delay_ms=150) for i in range(6)]
    with anyio.fail_after(10):
        async with aclosing(pipeline.amap(inputs, concurrency=6, ordered=False)) as outcomes:
            async for _ in outcomes:
                break
    assert client.http.open_responses() == 0
    started = runs_of(server, pipeline)
    for _ in range(400):  # the runs end on their own, within seconds
        if runs_of(server, pipeline, "completed") == started:
            break
        await anyio.sleep(0.05)
    assert runs_of(server, pipeline, "completed") == started
    assert runs_of(server, pipeline, "cancelled") == 0


async def test_a_caller_key_starts_one_run_however_often_it_is_sent(
    client: Client, server: LocalServer
) -> None:
    pipeline = await echo_with_delay(client)
    key = unique("order")
    first = await pipeline.astart(row("once"), idempotency_key=key)
    second = await pipeline.astart(row("once"), idempotency_key=key)
    assert (first.task_id, first.trace_id) == (second.task_id, second.trace_id)
    assert runs_of(server, pipeline) == 1
    with pytest.raises(UnprocessableEntityError):
        await pipeline.astart(row("other inputs"), idempotency_key=key)


async def test_keys_a_header_cannot_carry_are_hashed_consistently(
    client: Client, server: LocalServer
) -> None:
    pipeline = await echo_with_delay(client)
    keys = ["café-1", "k" * 400]
    first = await outcomes_of(pipeline, [row("u"), row("v")], keys=keys)
    again = await outcomes_of(pipeline, [row("u"), row("v")], keys=keys)
    assert all(o.ok for o in first + again)
    assert [o.task_id for o in again] == [o.task_id for o in first]
    assert runs_of(server, pipeline) == 2
    with pytest.raises(ValueError, match="ASCII"):
        await pipeline.astart(row("x"), idempotency_key="café")


async def test_bad_arguments_are_refused_before_any_run(client: Client) -> None:
    pipeline = await echo_with_delay(client)
    for options in ({"concurrency": 0}, {"poll_interval": 0}, {"timeout": -1.0}):
        with pytest.raises(ValueError):
            await outcomes_of(pipeline, [row("x")], **options)
    with pytest.raises(TypeError):
        await outcomes_of(pipeline, row("x"))
    with pytest.raises(ValueError, match="saved"):
        await outcomes_of(Pipeline("unsaved", client=client), [row("x")])


class _Bar:
    """Stands in for tqdm's bar class: records what amap tells a progress bar."""

    made: list[_Bar] = []

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.count = 0
        self.postfix: dict[str, Any] = {}
        self.closed = False
        _Bar.made.append(self)

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.postfix = values

    def update(self, n: int = 1) -> None:
        self.count += n

    def close(self) -> None:
        self.closed = True


async def test_progress_bar_counts_started_finished_failed(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    package, auto = types.ModuleType("tqdm"), types.ModuleType("tqdm.auto")
    auto.tqdm = _Bar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", package)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    _Bar.made.clear()
    pipeline = await echo_with_delay(client)
    inputs = [row("a"), row("b", model="nope"), row("c")]
    outcomes = await outcomes_of(pipeline, inputs, progress=True)
    (bar,) = _Bar.made
    assert bar.options["total"] == 3 and bar.count == len(outcomes) == 3
    assert bar.postfix == {"started": 3, "finished": 2, "failed": 1} and bar.closed


async def test_progress_without_tqdm_is_an_import_error_naming_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    pipeline = await echo_with_delay(client)
    with pytest.raises(ImportError, match=r"pip install tqdm \(the SDK's 'progress' extra\)"):
        await outcomes_of(pipeline, [row("x")], progress=True)
    assert len(await outcomes_of(pipeline, [row("x")])) == 1


async def test_progress_draws_a_real_tqdm_bar(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    # The `progress` extra installs tqdm (the test extra includes it); the bar goes to stderr.
    pipeline = await echo_with_delay(client)
    outcomes = await outcomes_of(pipeline, [row("a"), row("b")], progress=True)
    assert len(outcomes) == 2
    drawn = capsys.readouterr().err
    assert "vectorshift runs" in drawn and "2/2" in drawn and "finished=2" in drawn


def test_run_outcome_is_public() -> None:
    assert vectorshift.RunOutcome is RunOutcome
    assert not RunOutcome(index=0, inputs={}).ok
