"""The async API against a real vectorshift.local server on loopback, on asyncio and trio."""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import subprocess
import sys
import time

import anyio
import pytest
from support import echo_pipeline, lorem_pipeline, unique

from vectorshift import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    Client,
    ConfigurationError,
    NotFoundError,
    Pipeline,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    PollTimeoutError,
    RetryPolicy,
    RunHandler,
    UnprocessableEntityError,
)
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio


async def saved(pipeline: Pipeline, client: Client) -> Pipeline:
    pipeline._client = client
    await pipeline.asave()
    return pipeline


async def test_fetch_or_new_idiom_creates_then_finds(client: Client) -> None:
    name = unique("fetch-or-new")
    with pytest.raises(NotFoundError):
        await Pipeline.afetch(name=name, client=client)
    created = await Pipeline.anew(name=name, client=client)
    query = created.add(name="query").input()
    created.add(name="answer").output(query.text)
    await created.asave()
    by_name = await Pipeline.afetch(name=name, client=client)
    by_id = await Pipeline.afetch(id=created.id, client=client)
    assert by_name.id == by_id.id == created.id
    assert by_name.branch_id == created.branch_id is not None
    assert [n.name for n in by_id.nodes] == ["query", "answer"]


async def test_save_fetch_round_trip_keeps_the_graph(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("round-trip")), client)
    fetched = await Pipeline.afetch(id=pipeline.id, client=client)
    assert fetched.to_json()["nodes"] == pipeline.to_json()["nodes"]
    fetched.node("llm").inputs["prompt"] = "Say: {{ " + fetched.node("query").id + ".text }}"
    await fetched.asave()
    again = await Pipeline.afetch(id=pipeline.id, client=client)
    assert again.node("llm").inputs["prompt"].startswith("Say: ")


async def test_list_and_delete(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("listed")), client)
    assert pipeline.id in [p.id for p in await Pipeline.alist(limit=1000, client=client)]
    await pipeline.adelete()
    with pytest.raises(NotFoundError):
        await Pipeline.afetch(id=pipeline.id, client=client)


async def test_blocking_run_returns_outputs(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("blocking")), client)
    result = await pipeline.arun({"query": "hello there"})
    assert result["outputs"]["answer"] == "hello there" == result.outputs["answer"]
    assert result.status == "succeeded" and result.run_id


async def test_failed_blocking_run_raises_run_failed(client: Client) -> None:
    pipeline = Pipeline(unique("unknown-model"))
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model="gpt-9", prompt=query.text)
    pipeline.add(name="answer").output(llm.response)
    await saved(pipeline, client)
    with pytest.raises(PipelineRunFailedError, match="unknown model 'gpt-9'") as info:
        await pipeline.arun({"query": "hi"})
    assert info.value.pipeline_id == pipeline.id and info.value.task_id


async def test_background_run_start_status_result(client: Client) -> None:
    pipeline = await saved(lorem_pipeline(unique("background"), tokens=8, delay_ms=5), client)
    handler = await pipeline.astart({"query": "a long story"})
    assert handler.task_id and handler.trace_id and handler.pipeline_id == pipeline.id
    first = await handler.arun_status()
    assert first.status in ("running", "succeeded")
    final = await handler.aresult(poll_interval=0.2, timeout=30)
    assert final.status == "succeeded" and final.is_terminal
    assert len(final["result"]["answer"].split()) == 8
    assert final.get("result") == final.outputs
    again = await pipeline.arun_status(handler.task_id)
    assert again.result == final.result


async def test_trace_id_given_by_caller_is_kept(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("trace")), client)
    handler = await pipeline.astart({"query": "x"}, trace_id="trace-abc")
    assert handler.trace_id == "trace-abc"


async def test_result_of_failed_run_raises_with_ids(client: Client) -> None:
    pipeline = Pipeline(unique("bg-fail"))
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model="no-such-model", prompt=query.text)
    pipeline.add(name="answer").output(llm.response)
    await saved(pipeline, client)
    handler = await pipeline.astart({"query": "hi"})
    with pytest.raises(PipelineRunFailedError) as info:
        await handler.aresult(timeout=30)
    assert info.value.task_id == handler.task_id and "no-such-model" in str(info.value.run_error)


async def test_terminate_cancels_and_is_idempotent(client: Client) -> None:
    pipeline = await saved(lorem_pipeline(unique("terminate"), tokens=2000, delay_ms=20), client)
    handler = await pipeline.astart({"query": "forever"})
    status = await handler.aterminate()
    assert status.status == "cancelled"
    assert (await handler.aterminate()).status == "cancelled"
    assert (await pipeline.aterminate(run_id=handler.task_id)).status == "cancelled"
    with pytest.raises(PipelineRunCancelledError):
        await handler.aresult(timeout=10)


async def test_terminate_after_completion_reports_final_status(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("late-terminate")), client)
    handler = await pipeline.astart({"query": "done"})
    await handler.aresult(timeout=30)
    status = await handler.aterminate()
    assert status.status == "succeeded" and status.result == {"answer": "done"}


async def test_poll_timeout_carries_last_status(client: Client) -> None:
    pipeline = await saved(lorem_pipeline(unique("slow"), tokens=2000, delay_ms=20), client)
    handler = await pipeline.astart({"query": "slow"})
    try:
        with pytest.raises(PollTimeoutError) as info:
            await handler.aresult(poll_interval=0.05, timeout=0.3)
        assert isinstance(info.value, TimeoutError)
        assert info.value.last_status is not None and info.value.last_status.status == "running"
        assert info.value.task_id == handler.task_id and info.value.timeout == 0.3
    finally:
        await handler.aterminate()


async def test_long_poll_sees_the_end_with_one_status_request(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await saved(lorem_pipeline(unique("long-poll"), tokens=20, delay_ms=10), client)
    handler = await pipeline.astart({"query": "x"})
    before = faults.seen("GET", handler.task_id)
    await handler.aresult(poll_interval=1.0, timeout=30)
    assert faults.seen("GET", handler.task_id) - before == 1


async def test_without_long_poll_polls_are_paced(client: Client, faults: FaultInjector) -> None:
    pipeline = await saved(lorem_pipeline(unique("paced"), tokens=40, delay_ms=10), client)
    handler = await pipeline.astart({"query": "x"})
    # A server that refuses ?wait= (as one without the long-poll extension may): the wait paces
    # itself.
    faults.add(method="GET", path=r"/run/status/.*\?.*wait=", status=400, name="no long poll")
    started = time.monotonic()
    await handler.aresult(poll_interval=0.2, timeout=30)
    elapsed = time.monotonic() - started
    polls = faults.seen("GET", handler.task_id)
    # 50 ms, 100 ms, 200 ms, 200 ms ...: far fewer polls than a busy loop would make.
    assert 2 <= polls <= elapsed / 0.05 + 2


async def test_transient_500s_on_status_polls_do_not_fail_the_wait(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await saved(lorem_pipeline(unique("flaky-status"), tokens=10, delay_ms=5), client)
    handler = await pipeline.astart({"query": "x"})
    faults.add(method="GET", path="/run/status/", status=500, count=6)
    final = await handler.aresult(poll_interval=0.05, timeout=30)
    assert final.status == "succeeded"


async def test_429_with_retry_after_waits_then_succeeds(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await saved(echo_pipeline(unique("rate-limited")), client)
    run_path = f"/pipeline/{pipeline.id}/run"
    faults.add(method="POST", path=run_path, status=429, retry_after=1, count=1)
    started = time.monotonic()
    handler = await pipeline.astart({"query": "x"})
    waited = time.monotonic() - started
    assert handler.task_id
    assert waited >= 0.9, "the server asked for a 1 s pause"
    assert faults.seen("POST", f"/pipeline/{pipeline.id}/run") == 2


async def test_a_start_whose_answer_was_lost_is_resent_and_starts_one_run(
    client: Client, faults: FaultInjector, server: LocalServer
) -> None:
    pipeline = await saved(echo_pipeline(unique("no-double-start")), client)
    run_path = f"/pipeline/{pipeline.id}/run"
    faults.add(method="POST", path=run_path, status=502, when="after", count=1)
    handler = await pipeline.astart({"query": "x"})
    assert faults.seen("POST", f"/pipeline/{pipeline.id}/run") == 2
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute("SELECT task_id FROM runs WHERE pipeline_id = ?", (pipeline.id,))
        assert [task_id for (task_id,) in rows] == [handler.task_id]


async def test_keyed_start_is_retried_after_a_5xx(client: Client, faults: FaultInjector) -> None:
    pipeline = await saved(echo_pipeline(unique("keyed-start")), client)
    faults.add(method="POST", path=f"/pipeline/{pipeline.id}/run", status=503, count=1)
    handler = await pipeline.astart({"query": "x"}, idempotency_key=unique("key"))
    assert handler.task_id
    assert faults.seen("POST", f"/pipeline/{pipeline.id}/run") == 2


async def test_non_json_error_body_becomes_api_error_with_raw_text(
    client: Client, faults: FaultInjector
) -> None:
    faults.add(method="GET", path="/pipelines", status=418, body="<html>teapot</html>", count=1)
    with pytest.raises(ApiError) as info:
        await Pipeline.alist(client=client)
    assert info.value.status_code == 418
    assert info.value.error_message == "<html>teapot</html>" == info.value.body


async def test_unknown_status_is_bounded_by_timeout_and_logged_once(
    client: Client, faults: FaultInjector, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"task_id": "t-odd", "status": "hibernating"})
    faults.add(method="GET", path="/run/status/t-odd", status=200, body=body)
    handler = RunHandler(pipeline_id="p-odd", task_id="t-odd", client=client)
    with (
        caplog.at_level(logging.WARNING, logger="vectorshift"),
        pytest.raises(PollTimeoutError, match="hibernating") as info,
    ):
        await handler.aresult(poll_interval=0.05, timeout=0.5)
    assert info.value.last_status.raw_status == "hibernating"
    assert len([r for r in caplog.records if "hibernating" in r.getMessage()]) <= 1


async def test_malformed_pipeline_is_a_422_naming_the_node(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("malformed")), client)
    graph = pipeline.to_json()
    llm_id = pipeline.node("llm").id
    graph["nodes"][llm_id]["inputs"]["prompt"] = "{{ ghost_0.text }}"
    with pytest.raises(UnprocessableEntityError) as info:
        await client.http.request(
            "POST",
            f"/update/pipeline/{pipeline.id}",
            json_body={"nodes": graph["nodes"], "canvas_metadata": graph["canvas_metadata"]},
        )
    assert llm_id in info.value.error_message and "ghost_0" in info.value.error_message
    assert info.value.request_id


async def test_unknown_and_missing_inputs_fail_before_any_request(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await saved(echo_pipeline(unique("inputs")), client)
    before = faults.seen("POST", "/run")
    with pytest.raises(ValueError, match="'qeury'"):
        await pipeline.astart({"qeury": "typo"})
    with pytest.raises(ValueError, match="needs input 'query'"):
        await pipeline.arun({})
    assert faults.seen("POST", "/run") == before


async def test_bulk_run_keeps_input_order(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("bulk")), client)
    results = await pipeline.abulk_run([{"query": "one"}, {"query": "two"}, {"query": "three"}])
    assert [r["outputs"]["answer"] for r in results] == ["one", "two", "three"]


async def test_missing_key_is_a_configuration_error_before_any_request(
    server: LocalServer, faults: FaultInjector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VECTORSHIFT_API_KEY", raising=False)
    client = Client(api_key="", base_url=server.base_url)
    before = faults.seen("GET", "/pipelines")
    with pytest.raises(ConfigurationError, match="no API key") as info:
        await Pipeline.alist(client=client)
    assert not isinstance(info.value, ApiError)
    assert faults.seen("GET", "/pipelines") == before


async def test_invalid_key_is_authentication_error_without_the_key(server: LocalServer) -> None:
    client = Client(api_key="sk-wrong-secret", base_url=server.base_url)
    with pytest.raises(AuthenticationError) as info:
        await Pipeline.alist(client=client)
    assert info.value.status_code == 401
    assert "sk-wrong-secret" not in str(info.value) + repr(info.value.headers)


async def test_unreachable_server_is_connection_error_after_retries() -> None:
    with anyio.fail_after(10):
        client = Client(
            api_key="k",
            base_url="http://127.0.0.1:9/v1",
            retry=RetryPolicy(max_retries=2, backoff_base=0.01),
        )
        with pytest.raises(ApiConnectionError, match="connection failed"):
            await Pipeline.alist(client=client)


async def test_other_organisations_pipelines_are_not_found(client: Client) -> None:
    from vectorshift.local import ServerConfig

    config = ServerConfig(api_keys={"key-a": "org-a", "key-b": "org-b"})
    with LocalServer(config) as other:
        a = Client(api_key="key-a", base_url=other.base_url)
        b = Client(api_key="key-b", base_url=other.base_url)
        pipeline = echo_pipeline(unique("private"))
        pipeline._client = a
        await pipeline.asave()
        with pytest.raises(NotFoundError):
            await Pipeline.afetch(id=pipeline.id, client=b)


def test_handler_resumes_in_another_process(server: LocalServer, client: Client) -> None:
    async def start() -> RunHandler:
        pipeline = await saved(lorem_pipeline(unique("cross-process"), tokens=5), client)
        return await pipeline.astart({"query": "x"})

    handler = anyio.run(start)
    script = (
        "import asyncio, pickle, sys\n"
        "handler = pickle.loads(sys.stdin.buffer.read())\n"
        "final = asyncio.run(handler.aresult(timeout=30))\n"
        "print(final['result']['answer'])\n"
    )
    env = {"VECTORSHIFT_API_KEY": server.api_key, "VECTORSHIFT_BASE_URL": server.base_url}
    import os

    out = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(handler),
        capture_output=True,
        env={**os.environ, **env},
        check=True,
        timeout=60,
    )
    assert len(out.stdout.decode().split()) == 5


def test_one_client_survives_two_asyncio_runs(client: Client) -> None:
    import asyncio

    async def names() -> int:
        return len(await Pipeline.alist(client=client))

    assert asyncio.run(names()) >= 0
    assert asyncio.run(names()) >= 0
