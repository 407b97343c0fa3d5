"""Run handles are immutable values.

Against a real vectorshift.local server on loopback, on asyncio and trio.
"""

from __future__ import annotations

import copy
import pickle

import pytest
from support import echo_pipeline, unique

from vectorshift import Client, Pipeline, PipelineRunFailedError, RunHandler

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
    pipeline = Pipeline(unique("trace-in-error"), client=client)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model="nope", prompt=query.text)
    pipeline.add(name="answer").output(llm.response)
    await pipeline.asave()
    started = await pipeline.astart({"query": "x"})
    with pytest.raises(PipelineRunFailedError) as info:
        await pipeline.run_handler(started.task_id).aresult(timeout=30)
    assert info.value.trace_id == started.trace_id
