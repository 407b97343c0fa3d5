"""What the test platform records: requests the SDK sent, runs executed, prompts LLM nodes got."""

from __future__ import annotations

import os

import pytest
from support import unique

import vectorshift
from vectorshift import Client, NotFoundError, Pipeline, RetryPolicy
from vectorshift._client import default_client
from vectorshift.local import LocalServer
from vectorshift.testing import LocalPlatform, local_platform, shared_platform


def writer_pipeline(client: Client | None = None) -> Pipeline:
    pipeline = Pipeline(unique("recorded"), client=client)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="writer").llm(prompt=f"Write about {query.text}", token_delay_ms=0)
    pipeline.add(name="answer").output(llm.response)
    pipeline.save()
    return pipeline


def test_requests_are_recorded_with_method_path_key_and_body(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    pipeline = writer_pipeline()
    handler = pipeline.start({"query": "tides"}, idempotency_key="order-42")
    handler.result(timeout=30)
    (start,) = vectorshift_local_shared.requests("POST", r"/run$")
    assert start.path == f"/v1/pipeline/{pipeline.id}/run"
    assert start.idempotency_key == "order-42"
    assert start.json()["inputs"] == {"query": "tides"} and start.json()["background"] is True
    assert start.status == 200 and start.org == vectorshift_local_shared.org
    assert start.headers["authorization"] == "Bearer <redacted>"
    assert start.headers["user-agent"].startswith("vectorshift-python/")
    polls = vectorshift_local_shared.requests("GET", "/run/status/")
    assert polls and all(r.query.get("wait") for r in polls)


def test_a_retried_start_is_one_run_with_one_key(vectorshift_local_shared: LocalPlatform) -> None:
    vectorshift_local_shared.faults.add(
        method="POST", path=r"/run$", status=503, when="after", count=2
    )
    client = Client(
        api_key=vectorshift_local_shared.api_key,
        base_url=vectorshift_local_shared.url,
        retry=RetryPolicy(max_retries=3, backoff_base=0.01, max_backoff=0.05),
    )
    pipeline = writer_pipeline(client)
    pipeline.start({"query": "x"}).result(timeout=30)
    starts = vectorshift_local_shared.requests("POST", r"/run$")
    assert [r.status for r in starts] == [503, 503, 200]
    assert len({r.idempotency_key for r in starts}) == 1
    assert len({r.body for r in starts}) == 1
    assert len(vectorshift_local_shared.runs()) == 1


def test_a_dropped_connection_is_recorded_without_a_status(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.faults.add(method="GET", path=r"/pipelines$", drop=True, count=1)
    Pipeline.list()
    assert [r.status for r in vectorshift_local_shared.requests("GET", r"/pipelines$")] == [
        None,
        200,
    ]


def test_runs_are_recorded_with_inputs_outputs_status_timing_and_prompts(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="writer", answer="Tides rise.", name="tides")
    pipeline = writer_pipeline()
    pipeline.run({"query": "tides"})
    (run,) = vectorshift_local_shared.runs(pipeline.id)
    assert run.inputs == {"query": "tides"} and run.outputs == {"answer": "Tides rise."}
    assert run.status == "completed" and run.error is None
    assert run.duration is not None and 0 <= run.duration < 10
    assert run.prompts == ["Write about tides"]
    (call,) = vectorshift_local_shared.llm_calls("writer")
    assert (call.run_id, call.scripted, call.rule, call.answer) == (
        run.task_id,
        True,
        "tides",
        "Tides rise.",
    )
    assert vectorshift_local_shared.prompts() == ["Write about tides"]


def test_unscripted_calls_are_recorded_with_the_simulated_answer(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    writer_pipeline().run({"query": "sea"})
    (call,) = vectorshift_local_shared.llm_calls()
    assert (call.scripted, call.answer, call.provider) == (False, "Write about sea", "openai")


def test_wait_for_runs_returns_once_background_runs_end(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="writer", answer="slow", token_delay_ms=200)
    pipeline = writer_pipeline()
    pipeline.start({"query": "a"})
    pipeline.start({"query": "b"})
    runs = vectorshift_local_shared.wait_for_runs(timeout=10)
    assert [r.status for r in runs] == ["completed", "completed"]


def test_a_server_records_nothing_unless_asked() -> None:
    with LocalServer() as server:
        writer_pipeline(Client(api_key=server.api_key, base_url=server.base_url)).run(
            {"query": "x"}
        )
        assert server.recorder.requests() == [] and server.recorder.runs() == []


def test_shared_organisations_do_not_see_each_other() -> None:
    with LocalServer(record=True) as server:
        with shared_platform(server) as first:
            pipeline = writer_pipeline()
            pipeline.run({"query": "x"})
        with shared_platform(server) as second:
            assert second.org != first.org and second.runs() == []
            with pytest.raises(NotFoundError):
                Pipeline.fetch(id=pipeline.id)
        assert first.api_key not in server.config.api_keys


def test_the_default_client_and_environment_are_restored_after() -> None:
    before = default_client()
    env_before = os.environ.get("VECTORSHIFT_BASE_URL")
    with local_platform() as platform:
        assert default_client() is platform.client
        assert vectorshift.base_url == platform.url == os.environ["VECTORSHIFT_BASE_URL"]
        assert Client().base_url == platform.url
    assert default_client() is before and vectorshift.base_url is None
    assert os.environ.get("VECTORSHIFT_BASE_URL") == env_before


def test_a_test_platform_always_records() -> None:
    with pytest.raises(ValueError, match="always records"), local_platform(record=False):
        pass
