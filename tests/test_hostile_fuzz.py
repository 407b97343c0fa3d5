"""Fuzz: whatever JSON a server answers, the SDK returns a checked result or a typed error.

Hypothesis writes the body of a ``200`` (the platform's answer to the call with up to two
fields replaced by values of any type or removed, lone surrogates and huge numbers included,
or arbitrary JSON) and a raw server
(:mod:`hostile`) serves it; each call of the SDK must then return or raise one of the errors
it documents, never a ``KeyError``, ``TypeError`` or pydantic ``ValidationError`` from inside.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from raw_servers import RawRequest, RawServer, http_response, raw_server

from vectorshift import (
    ApiResponseError,
    Client,
    Pipeline,
    PipelineRunFailedError,
    RetryPolicy,
    RunError,
    RunHandler,
    StreamError,
)

TEXT = st.text(alphabet=st.characters(codec=None), max_size=8) | st.just("\ud800")
SCALARS = (
    st.none()
    | st.booleans()
    | TEXT
    | st.floats(allow_nan=False)
    | st.integers(min_value=-(10**30), max_value=10**30)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "id",
    "_id",
    "name",
    "nodes",
    "object",
    "objects",
    "run_outputs",
    "run_id",
    "task_id",
    "trace_id",
    "status",
    "outputs",
    "result",
    "error",
    "type",
    "inputs",
    "canvas_metadata",
]


NODE = {"id": "n1", "name": "q", "type": "input", "inputs": {}, "outputs": ["text"]}
STORED = {
    "_id": "p-1",
    "name": "n",
    "mainBranch": "b",
    "nodes": {"n1": NODE},
    "canvas_metadata": {"nodes": {}, "edges": []},
}
ANSWERS: dict[str, Any] = {
    "new": {"status": "success", "id": "p-1", "object": STORED},  # create, then fetch
    "fetch": {"status": "success", "object": STORED},
    "list": {"status": "success", "object_ids": ["p-1"], "objects": [STORED]},
    "run": {"status": "success", "run_id": "r", "outputs": {"a": 1}, "trace_id": "x"},
    "start": {"task_id": "t", "trace_id": "x"},
    "bulk_run": {"status": "success", "run_outputs": [{"run_id": "r", "outputs": {"a": 1}}]},
    "status": {"task_id": "t", "status": "completed", "trace_id": "x", "result": {"a": 1}},
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


_DELETE = object()


def _mutated(template: Any, changes: list[tuple[int, Any]]) -> Any:
    answer = json.loads(json.dumps(template))
    for choice, value in changes:
        paths = _paths(answer)
        if not paths:
            return value
        *parents, last = paths[choice % len(paths)]
        holder = answer
        for step in parents:
            holder = holder[step]
        if value is _DELETE and isinstance(holder, dict):
            del holder[last]
        elif value is not _DELETE:
            holder[last] = value
    return answer


def near(template: Any) -> st.SearchStrategy[Any]:
    """``template`` (a well-formed answer) with up to two fields replaced or removed."""
    change = st.tuples(st.integers(0, 1000), JSON | st.just(_DELETE))
    return st.lists(change, max_size=2).map(lambda changes: _mutated(template, changes))


class Scripted:
    """The body the raw server answers next; set by each example."""

    body = b"{}"
    content_type = "application/json"

    def __call__(self, request: RawRequest) -> bytes:
        return http_response(200, self.body, content_type=self.content_type)


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, RawServer]]:
    script = Scripted()
    with raw_server(script) as server:
        yield script, server


def stream_all(pipeline: Pipeline) -> list[Any]:
    with pipeline.stream({"q": "x"}) as chunks:
        return list(chunks)


CALLS: dict[str, Callable[[Client], Any]] = {
    "new": lambda c: Pipeline.new("made", client=c),
    "fetch": lambda c: Pipeline.fetch(id="p-1", client=c),
    "list": lambda c: Pipeline.list(client=c),
    "run": lambda c: Pipeline("p", id="p-1", client=c).run({"q": "x"}),
    "start": lambda c: Pipeline("p", id="p-1", client=c).start({"q": "x"}),
    "bulk_run": lambda c: Pipeline("p", id="p-1", client=c).bulk_run([{"q": "x"}]),
    "status": lambda c: RunHandler(pipeline_id="p-1", task_id="t", client=c).run_status(),
}
DOCUMENTED = (ApiResponseError, PipelineRunFailedError)
QUICK = RetryPolicy(max_retries=0)
ONE_LOCAL_SETTING = [HealthCheck.function_scoped_fixture]


def outcome(call: Callable[[], Any], documented: tuple[type[Exception], ...]) -> str:
    """``"returned"``, or the name of the documented error ``call`` raised (others propagate)."""
    try:
        call()
    except documented as exc:
        return type(exc).__name__
    return "returned"


def serve_json(scripted: tuple[Scripted, RawServer], body: Any) -> Client:
    script, server = scripted
    script.body = json.dumps(body).encode("utf-8", "surrogatepass")
    script.content_type = "application/json"
    return Client(api_key="vs-key", base_url=server.base_url, retry=QUICK)


@pytest.mark.parametrize("call", list(CALLS))
def test_the_answers_the_fuzz_starts_from_are_results(
    scripted: tuple[Scripted, RawServer], call: str
) -> None:
    client = serve_json(scripted, ANSWERS[call])
    assert outcome(lambda: CALLS[call](client), DOCUMENTED) == "returned"


@pytest.mark.parametrize("call", list(CALLS))
@settings(max_examples=60, deadline=None, suppress_health_check=ONE_LOCAL_SETTING)
@given(data=st.data())
def test_any_json_answer_is_a_result_or_a_documented_error(
    scripted: tuple[Scripted, RawServer], call: str, data: st.DataObject
) -> None:
    client = serve_json(scripted, data.draw(near(ANSWERS[call]) | JSON))
    seen = outcome(lambda: CALLS[call](client), DOCUMENTED)
    assert seen in ("returned", "ApiResponseError", "PipelineRunFailedError")


TOKEN = {"type": "stream", "run_id": "r", "output_name": "a", "output_value": "x"}
RESULT = {"type": "result", "run_id": "r", "status": "success", "outputs": {"a": "x"}}
FRAME = near(TOKEN) | near(RESULT) | st.dictionaries(TEXT, JSON, max_size=3)
EVENT_ID = st.none() | TEXT.filter(lambda text: "\n" not in text and "\r" not in text)


@settings(max_examples=80, deadline=None, suppress_health_check=ONE_LOCAL_SETTING)
@given(frames=st.lists(st.tuples(FRAME, EVENT_ID), min_size=1, max_size=4))
def test_any_event_stream_is_chunks_or_a_stream_or_run_error(
    scripted: tuple[Scripted, RawServer], frames: list[tuple[dict[str, Any], str | None]]
) -> None:
    script, server = scripted
    text = ""
    for data, event_id in frames:
        head = "" if event_id is None else f"id: {event_id}\n"
        text += f"{head}data: {json.dumps(data)}\n\n"
    script.body = text.encode("utf-8", "surrogatepass")
    script.content_type = "text/event-stream"
    client = Client(api_key="vs-key", base_url=server.base_url, retry=QUICK)
    pipeline = Pipeline("p", id="p-1", client=client)
    try:
        chunks = stream_all(pipeline)
    except (StreamError, RunError) as exc:
        # a bad frame, a stream cut short before its result, a run that failed or was cancelled
        assert str(exc)
        return
    assert chunks[-1].type == "result" and all(chunk.type != "result" for chunk in chunks[:-1])
