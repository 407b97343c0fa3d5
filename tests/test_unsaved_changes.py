"""Runs of a pipeline whose graph changed since its last save refuse before any request.

The platform runs the saved graph, so running what was built in Python but not saved answers
with the platform's view of an older graph (``422 unknown input 'query' (pipeline inputs:
none)`` right after ``Pipeline.new()``). The SDK knows better and says to call ``save()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from support import echo_pipeline, unique

from vectorshift import Client, Pipeline

pytestmark = pytest.mark.anyio

SAVE_FIRST = r"has unsaved changes .* call save\(\) before running it"


def sent_paths(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The requests the SDK logged as sent (each answer is logged at DEBUG)."""
    return [r.getMessage() for r in caplog.records if " -> " in r.getMessage()]


async def saved_echo(client: Client, prefix: str) -> Pipeline:
    pipeline = echo_pipeline(unique(prefix))
    pipeline._client = client
    return await pipeline.asave()


def build_on(pipeline: Pipeline) -> None:
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model="echo", prompt=query.text)
    pipeline.add(name="answer").output(llm.response)


async def test_nodes_added_after_new_refuse_every_run_before_any_request(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    name = unique("unsaved")
    pipeline = await Pipeline.anew(name=name, client=client)
    build_on(pipeline)
    assert pipeline.has_unsaved_changes
    caplog.set_level(logging.DEBUG, logger="vectorshift")
    caplog.clear()
    calls: list[Callable[[], object]] = [
        lambda: pipeline.arun({"query": "hi"}),
        lambda: pipeline.arun({"query": "hi"}, timeout=5),
        lambda: pipeline.arun({"query": "hi"}, stream=True),
        lambda: pipeline.astream({"query": "hi"}),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=SAVE_FIRST) as caught:
            call()
        assert f"pipeline {name!r} ({pipeline.id})" in str(caught.value)
        assert "nodes 'answer', 'llm', 'query' added or changed" in str(caught.value)
    with pytest.raises(ValueError, match=SAVE_FIRST):
        await pipeline.astart({"query": "hi"})
    with pytest.raises(ValueError, match=SAVE_FIRST):
        await pipeline.abulk_run([{"query": "hi"}])
    with pytest.raises(ValueError, match=SAVE_FIRST):
        async for _ in pipeline.amap([{"query": "hi"}]):
            pass
    assert sent_paths(caplog) == []


async def test_after_save_the_same_pipeline_runs(client: Client) -> None:
    pipeline = await Pipeline.anew(name=unique("saved"), client=client)
    build_on(pipeline)
    await pipeline.asave()
    assert not pipeline.has_unsaved_changes
    assert (await pipeline.arun({"query": "hi"}))["outputs"]["answer"] == "hi"


async def test_a_node_changed_in_place_after_save_refuses_naming_it(client: Client) -> None:
    pipeline = await saved_echo(client, "changed")
    pipeline.node("llm").inputs["model"] = "nope"
    with pytest.raises(ValueError, match=SAVE_FIRST) as caught:
        await pipeline.arun({"query": "hi"})
    assert "nodes 'llm' added or changed" in str(caught.value)
    pipeline.node("llm").inputs["model"] = "echo"
    assert not pipeline.has_unsaved_changes
    assert (await pipeline.arun({"query": "back"}))["outputs"]["answer"] == "back"


async def test_fetched_and_listed_pipelines_run_as_they_are(client: Client) -> None:
    saved = await saved_echo(client, "fetched")
    fetched = await Pipeline.afetch(saved.id, client=client)
    assert not fetched.has_unsaved_changes
    assert (await fetched.arun({"query": "f"}))["outputs"]["answer"] == "f"
    (listed,) = [p for p in await Pipeline.alist(client=client, limit=500) if p.id == saved.id]
    assert (await listed.arun({"query": "l"}))["outputs"]["answer"] == "l"


async def test_a_pipeline_addressed_by_id_alone_runs_as_given(client: Client) -> None:
    saved = await saved_echo(client, "by-id")
    by_id = Pipeline("any name", id=saved.id, client=client)
    assert not by_id.has_unsaved_changes
    assert (await by_id.arun({"query": "id"}))["outputs"]["answer"] == "id"
    by_id.add(name="extra").input()
    with pytest.raises(ValueError, match=SAVE_FIRST):
        await by_id.arun({"query": "id"})


def test_the_readme_mistake_run_before_save_says_to_save(client: Client) -> None:
    pipeline = Pipeline.new(name=unique("readme"), client=client)
    build_on(pipeline)
    with pytest.raises(ValueError, match=SAVE_FIRST):
        pipeline.run({"query": "Why is the sky blue?"})
    with pytest.raises(ValueError, match=SAVE_FIRST):
        pipeline.stream({"query": "Why is the sky blue?"})
    pipeline.save()
    assert pipeline.run({"query": "blue"})["outputs"]["answer"] == "blue"
