"""Log records of runs carry structured ids, every raised SDK error is logged, keys never are."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator

import pytest
from support import echo_pipeline, lorem_pipeline, unique

from vectorshift import (
    AuthenticationError,
    Client,
    NotFoundError,
    Pipeline,
    PipelineRunFailedError,
    PollTimeoutError,
    RetryPolicy,
    RunHandler,
)
from vectorshift._log import FIELDS, redact
from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio

HEX32 = re.compile(r"^[0-9a-f]{32}$")


async def saved(pipeline: Pipeline, client: Client) -> Pipeline:
    pipeline._client = client
    await pipeline.asave()
    return pipeline


def sdk_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "vectorshift"]


def with_task(records: list[logging.LogRecord], task_id: str) -> list[logging.LogRecord]:
    return [r for r in records if getattr(r, "task_id", None) == task_id]


async def test_start_status_result_terminate_records_carry_the_ids(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vectorshift")
    pipeline = await saved(echo_pipeline(unique("logged")), client)
    handler = await pipeline.astart({"query": "hi"})
    await handler.arun_status()
    await handler.aresult(timeout=30)
    await handler.aterminate()
    records = with_task(sdk_records(caplog), handler.task_id)
    messages = " | ".join(r.getMessage() for r in records)
    for words in ("started run", "is completed", "ended: succeeded", "asked to terminate"):
        assert words in messages
    for record in records:
        assert all(hasattr(record, name) for name in FIELDS)
        assert record.pipeline_id == pipeline.id  # type: ignore[attr-defined]
        assert record.trace_id == handler.trace_id  # type: ignore[attr-defined]
    started = next(r for r in records if "started run" in r.getMessage())
    assert str(started.request_id).startswith("req_")  # type: ignore[attr-defined]


async def test_transient_failures_while_waiting_are_logged_with_their_attempt(
    client: Client, faults: FaultInjector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vectorshift")
    pipeline = await saved(lorem_pipeline(unique("flaky"), tokens=3), client)
    handler = await pipeline.astart({"query": "x"})
    faults.add(method="GET", path=f"/run/status/{handler.task_id}", status=503, count=8)
    await handler.aresult(poll_interval=0.05, timeout=30)
    records = with_task(sdk_records(caplog), handler.task_id)
    retried = [r for r in records if "status check of run" in r.getMessage()]
    assert [r.attempt for r in retried] == [1, 2]  # type: ignore[attr-defined]
    # Retries that recovered are for whoever debugs: none of them reaches INFO.
    assert {r.levelno for r in retried} == {logging.DEBUG}
    assert all(str(r.request_id).startswith("req_") for r in retried)  # type: ignore[attr-defined]


async def test_every_raised_error_on_the_run_paths_is_logged(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vectorshift")
    failing = Pipeline(unique("fails"), client=client)
    query = failing.add(name="query").input()
    llm = failing.add(name="llm").llm(provider="local", model="nope", prompt=query.text)
    failing.add(name="answer").output(llm.response)
    await failing.asave()
    handler = await failing.astart({"query": "x"})
    with pytest.raises(PipelineRunFailedError) as failed:
        await handler.aresult(timeout=30)
    with pytest.raises(PipelineRunFailedError) as blocking:
        await failing.arun({"query": "x"})
    slow = await saved(lorem_pipeline(unique("slow"), tokens=500, delay_ms=20), client)
    late = await slow.astart({"query": "x"})
    with pytest.raises(PollTimeoutError):
        await late.aresult(poll_interval=0.05, timeout=0.2)
    await late.aterminate()
    ghost = RunHandler(pipeline_id=str(slow.id), task_id="no-such-run", client=client)
    with pytest.raises(NotFoundError) as missing:
        await ghost.arun_status()
    with pytest.raises(NotFoundError):
        await ghost.aterminate()
    await slow.adelete()
    with pytest.raises(NotFoundError) as gone:
        await slow.astart({"query": "x"})

    records = sdk_records(caplog)

    def raised(kind: str, operation: str) -> list[logging.LogRecord]:
        return [r for r in records if f"{operation} raised {kind}" in r.getMessage()]

    # The caller gets each of these as an exception, so the records stay at DEBUG.
    assert {r.levelno for r in records if " raised " in r.getMessage()} == {logging.DEBUG}
    (run_failed,) = raised("PipelineRunFailedError", "result")
    assert run_failed.task_id == failed.value.task_id  # type: ignore[attr-defined]
    (blocking_failed,) = raised("PipelineRunFailedError", "run")
    assert blocking_failed.task_id == blocking.value.task_id  # type: ignore[attr-defined]
    (timed_out,) = raised("PollTimeoutError", "result")
    assert timed_out.task_id == late.task_id  # type: ignore[attr-defined]
    (status_404,) = raised("NotFoundError", "status")
    assert status_404.task_id == "no-such-run"  # type: ignore[attr-defined]
    assert status_404.request_id == missing.value.request_id  # type: ignore[attr-defined]
    (terminate_404,) = raised("NotFoundError", "terminate")
    assert terminate_404.task_id == "no-such-run"  # type: ignore[attr-defined]
    (start_404,) = raised("NotFoundError", "start")
    assert start_404.pipeline_id == slow.id  # type: ignore[attr-defined]
    assert start_404.request_id == gone.value.request_id is not None  # type: ignore[attr-defined]


async def test_trace_ids_are_generated_when_none_is_given(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("traced")), client)
    handler = await pipeline.astart({"query": "x"})
    assert HEX32.match(str(handler.trace_id))
    assert (await handler.aresult(timeout=30)).trace_id == handler.trace_id
    blocking = await pipeline.arun({"query": "x"})
    assert HEX32.match(str(blocking.trace_id))
    async with pipeline.astream({"query": "x"}) as chunks:
        run_id = [chunk async for chunk in chunks][-1].run_id
    status = await pipeline.arun_status(str(run_id))
    assert HEX32.match(str(status.trace_id))
    assert len({handler.trace_id, blocking.trace_id, status.trace_id}) == 3


def test_redact_blanks_bearer_tokens() -> None:
    assert redact("sent 'Authorization: Bearer sk-123' here") == (
        "sent 'Authorization: Bearer [redacted]' here"
    )


@pytest.fixture(scope="module")
def secret_server() -> Iterator[tuple[LocalServer, str]]:
    secret = f"sk-secret-{uuid.uuid4().hex}"
    with LocalServer(ServerConfig(api_keys={secret: "org-secret"})) as server:
        yield server, secret


async def test_the_api_key_appears_in_no_log_record(
    secret_server: tuple[LocalServer, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, secret = secret_server
    caplog.set_level(logging.DEBUG)  # every logger: the SDK's, httpx's, httpcore's
    client = Client(
        api_key=secret,
        base_url=server.base_url,
        retry=RetryPolicy(max_retries=2, backoff_base=0.01, max_backoff=0.05),
    )
    pipeline = await saved(lorem_pipeline(unique("secret"), tokens=4, stream=True), client)
    handler = await pipeline.astart({"query": "x"})
    await handler.aresult(timeout=30)
    await handler.aterminate()
    async with handler.astream() as chunks:
        assert [chunk async for chunk in chunks][-1].type == "result"
    outcomes = [o async for o in pipeline.amap([{"query": "a"}, {"query": "b"}])]
    assert all(o.ok for o in outcomes)
    # A server that quotes the Authorization header back in an error body.
    server.faults.add(
        method="GET",
        path="/run/status/",
        status=500,
        count=4,
        body=f"bad header 'Authorization: Bearer {secret}'",
    )
    try:
        await handler.aresult(timeout=30, poll_interval=0.05)
    finally:
        server.faults.clear()
    wrong = Client(api_key=f"{secret}-wrong", base_url=server.base_url)
    with pytest.raises(AuthenticationError):
        await RunHandler(pipeline_id=str(pipeline.id), task_id="t", client=wrong).arun_status()

    assert len(caplog.records) > 20
    assert any("Bearer [redacted]" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        texts = [record.getMessage(), str(record.args), *map(str, vars(record).values())]
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        assert not any(secret in text for text in texts), record.getMessage()
