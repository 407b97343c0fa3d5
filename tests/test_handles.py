"""Run handles are immutable values, and the run vocabulary is the glossary's (docs/glossary.md).

Against a real vectorshift.local server on loopback, on asyncio and trio.
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import get_args

import pytest
from support import echo_pipeline, unique

from vectorshift import Client, Pipeline, PipelineRunFailedError, RunHandler, SSEFrame, StreamChunk
from vectorshift.types import RunState

pytestmark = pytest.mark.anyio


async def saved(pipeline: Pipeline, client: Client) -> Pipeline:
    pipeline._client = client
    await pipeline.asave()
    return pipeline


def test_a_handlers_ids_are_read_only() -> None:
    handler = RunHandler(pipeline_id="p", task_id="t", trace_id="tr")
    for name in ("pipeline_id", "task_id", "trace_id"):
        with pytest.raises(AttributeError):
            setattr(handler, name, "other")
    with pytest.raises(AttributeError):
        handler.cache = 1  # type: ignore[attr-defined]
    assert (handler.pipeline_id, handler.task_id, handler.trace_id) == ("p", "t", "tr")


def test_handlers_are_equal_and_hash_alike_on_the_run_they_name() -> None:
    one = RunHandler(pipeline_id="p", task_id="t")
    same = RunHandler(pipeline_id="p", task_id="t", trace_id="known later")
    other = RunHandler(pipeline_id="p", task_id="u")
    assert one == same and hash(one) == hash(same)
    assert one != other
    assert len({one, same, other}) == 2


def test_handlers_pickle_and_copy_with_their_ids() -> None:
    handler = RunHandler(pipeline_id="p", task_id="t", trace_id="tr", client=Client(api_key="k"))
    for clone in (pickle.loads(pickle.dumps(handler)), copy.copy(handler), copy.deepcopy(handler)):
        assert repr(clone) == repr(handler) and clone == handler
        assert clone.trace_id == "tr"


async def test_waiting_for_a_run_does_not_change_its_handler(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("immutable-wait")), client)
    started = await pipeline.astart({"query": "x"})
    bare = pipeline.run_handler(started.task_id)
    before = pickle.dumps(bare)
    final = await bare.aresult(timeout=30)
    assert final.status == "succeeded"
    assert final.trace_id == started.trace_id and final.trace_id is not None
    assert bare.trace_id is None and pickle.dumps(bare) == before


async def test_a_run_error_names_the_trace_id_the_status_brought(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("trace-in-error"), model="nope"), client)
    started = await pipeline.astart({"query": "x"})
    with pytest.raises(PipelineRunFailedError) as info:
        await pipeline.run_handler(started.task_id).aresult(timeout=30)
    assert info.value.trace_id == started.trace_id


async def test_run_status_takes_a_task_id_and_still_accepts_run_id(client: Client) -> None:
    pipeline = await saved(echo_pipeline(unique("status-by-task-id")), client)
    handler = await pipeline.astart({"query": "x"})
    await handler.aresult(timeout=30)
    by_position = await pipeline.arun_status(handler.task_id)
    by_name = await pipeline.arun_status(task_id=handler.task_id)
    by_old_name = await pipeline.arun_status(run_id=handler.task_id)
    assert by_position == by_name == by_old_name
    assert by_position.status == "succeeded"
    with pytest.raises(TypeError):
        await pipeline.arun_status()  # type: ignore[call-overload]


def from_frame(data: dict[str, object], event_id: str | None) -> StreamChunk:
    from vectorshift._schema.frames import chunk_of

    return chunk_of(SSEFrame(data=json.dumps(data), id=event_id))


def test_a_result_chunk_says_succeeded_and_keeps_the_platforms_word() -> None:
    chunk = from_frame({"type": "result", "status": "success", "outputs": {}}, "3")
    assert (chunk.status, chunk.raw_status) == ("succeeded", "success")
    assert chunk["status"] == "succeeded"
    cancelled = from_frame({"type": "result", "status": "terminated"}, None)
    assert (cancelled.status, cancelled.raw_status) == ("cancelled", "terminated")
    token = from_frame({"type": "stream", "output_value": "Once"}, "1")
    assert token.status is None and token.raw_status is None


def test_the_glossary_lists_the_status_words_the_code_uses() -> None:
    glossary = (Path(__file__).parent.parent / "docs" / "glossary.md").read_text()
    row = next(line for line in glossary.splitlines() if line.startswith("| status |"))
    assert [word for word in get_args(RunState) if f"`{word}`" in row] == list(get_args(RunState))
