"""A 200 that is not the platform's answer is never believed (issue 12, points 8 and 9).

Each case is a server a user can meet behind a broken proxy or a wrong base URL, served as raw
bytes over loopback (:mod:`hostile`): the SDK must raise :class:`ApiResponseError` (status,
request id, a short excerpt) instead of returning ``succeeded`` with empty outputs, ``[]``, or
raising a ``KeyError``/``ValidationError`` from inside.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from raw_servers import RawRequest, http_response, raw_server

from vectorshift import (
    ApiError,
    ApiResponseError,
    Client,
    Pipeline,
    RetryPolicy,
    RunHandler,
    StreamError,
)

pytestmark = pytest.mark.anyio

KEY = "vs-hostile-test-key"
REQUEST_ID = "req_hostile"
Call = Callable[[Client], Awaitable[Any]]


def client_of(base_url: str) -> Client:
    return Client(api_key=KEY, base_url=base_url, retry=RetryPolicy(max_retries=2, backoff_base=0))


def answer(
    body: str | bytes, status: int = 200, content_type: str = "application/json", **headers: str
) -> Callable[[RawRequest], bytes]:
    def respond(request: RawRequest) -> bytes:
        return http_response(
            status,
            body,
            content_type=content_type,
            headers={"X-Request-Id": REQUEST_ID, **headers},
        )

    return respond


def a_pipeline(client: Client) -> Pipeline:
    return Pipeline("remote", id="p-1", client=client)


async def run(client: Client) -> Any:
    return await a_pipeline(client).arun({"query": "hi"})


async def bulk_run(client: Client) -> Any:
    return await a_pipeline(client).abulk_run([{"query": "hi"}])


async def start(client: Client) -> Any:
    return await a_pipeline(client).astart({"query": "hi"})


async def new(client: Client) -> Any:
    return await Pipeline.anew("made", client=client)


async def fetch(client: Client) -> Any:
    return await Pipeline.afetch(id="p-1", client=client)


async def list_all(client: Client) -> Any:
    return await Pipeline.alist(client=client)


async def status(client: Client) -> Any:
    return await RunHandler(pipeline_id="p-1", task_id="t-1", client=client).arun_status()


PROXY_PAGE = answer(
    "<html><body>Please log in to the proxy</body></html>", content_type="text/html"
)
EMPTY_OBJECT = answer("{}")


def redirect_loop(request: RawRequest) -> bytes:
    return http_response(302, "", headers={"Location": request.target})


@pytest.mark.parametrize("call", [run, bulk_run], ids=["run", "bulk_run"])
@pytest.mark.parametrize(
    "respond, excerpt",
    [(PROXY_PAGE, "Please log in"), (EMPTY_OBJECT, "{}"), (redirect_loop, "")],
    ids=["html-from-a-proxy", "empty-object", "redirect-loop"],
)
async def test_a_success_that_is_not_the_answer_is_an_api_response_error(
    call: Call, respond: Callable[[RawRequest], bytes], excerpt: str
) -> None:
    with raw_server(respond) as server, pytest.raises(ApiResponseError) as info:
        await call(client_of(server.base_url))
    error = info.value
    assert isinstance(error, ApiError)
    assert error.status_code in (200, 302)
    assert excerpt in error.excerpt
    assert len(server.requests) == 1  # not retried, and no redirect followed
    if error.status_code == 200:
        assert error.request_id == REQUEST_ID
        assert error.excerpt and error.excerpt in str(error)


async def test_a_cross_origin_redirect_is_not_followed_so_the_key_stays_home() -> None:
    with raw_server(answer('{"status": "success", "run_outputs": []}')) as elsewhere:
        target = elsewhere.base_url.replace("127.0.0.1", "localhost") + "/pipeline/p-1/run"
        with (
            raw_server(answer("", status=307, Location=target)) as server,
            pytest.raises(ApiResponseError, match="redirected") as info,
        ):
            await run(client_of(server.base_url))
        assert elsewhere.requests == []
    assert info.value.status_code == 307
    assert info.value.location == target


MALFORMED = [
    (new, '{"status": "success"}', "field 'id' is missing"),
    (new, '{"id": {"$oid": "p-1"}}', "field 'id' must be a string, got an object"),
    (new, '{"id": ""}', "field 'id' is empty"),
    (fetch, '{"status": "success"}', "field 'object' is missing"),
    (
        fetch,
        '{"object": {"_id": "p", "nodes": [1, 2]}}',
        "field 'object.nodes' must be an object, got an array",
    ),
    (
        fetch,
        '{"object": {"_id": 7, "name": "n"}}',
        "field 'object._id' must be a string, got a number",
    ),
    (
        fetch,
        '{"object": {"_id": "p", "nodes": {"n": {"outputs": ["a", 2]}}}}',
        "field 'object.nodes.n.outputs[1]' must be a string, got a number",
    ),
    (
        fetch,
        '{"object": {"_id": "p", "canvas_metadata": {"nodes": []}}}',
        "field 'object.canvas_metadata.nodes' must be an object, got an array",
    ),
    (fetch, '{"object": {"_id": "p", "nodes": {"n": {"name": "x"}}}}', "node the SDK rejects"),
    (list_all, '{"objects": "everything"}', "field 'objects' must be an array, got a string"),
    (
        list_all,
        '{"objects": [{"_id": "p", "nodes": {"n": {"inputs": 5}}}]}',
        "field 'objects[0].nodes.n.inputs' must be an object, got a number",
    ),
    (bulk_run, '{"run_outputs": [1]}', "field 'run_outputs[0]' must be an object, got a number"),
    (bulk_run, '{"run_outputs": []}', "holds 0 results for 1 runs"),
    (
        bulk_run,
        '{"run_outputs": [{"run_id": "r", "outputs": []}]}',
        "field 'run_outputs[0].outputs' must be an object, got an array",
    ),
    (bulk_run, '[{"run_id": "r"}]', "field 'run_outputs[0].outputs' is missing"),
    (bulk_run, '"done"', "the body is JSON but not an object (a str)"),
    (status, '{"task_id": "t-1"}', "field 'status' is missing"),
    (status, '{"status": 3}', "field 'status' must be a string, got a number"),
    (
        status,
        '{"status": "completed", "trace_id": 5}',
        "field 'trace_id' must be a string, got a number",
    ),
    (
        status,
        '{"status": "completed", "result": ["a"]}',
        "field 'result' must be an object, got an array",
    ),
    (start, '{"task_id": {"id": "t-1"}}', "field 'task_id' must be a string, got an object"),
    (start, '{"trace_id": "x"}', "field 'task_id' is missing"),
    (start, "[1, 2]", "the body is JSON but not an object (a list)"),
    (run, '{"status": "success", "run_id": "r"}', "field 'outputs' is missing"),
    (
        run,
        '{"status": "success", "run_id": 12, "outputs": {}}',
        "field 'run_id' must be a string, got a number",
    ),
    (run, b'{"status": "succ\xff"}', "the body is not JSON (application/json)"),
    (run, "[" * 100_000, "the body is not JSON (application/json)"),
    (run, "12", "the body is JSON but not an object (a int)"),
]


@pytest.mark.parametrize(
    "call, body, reason",
    MALFORMED,
    ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(MALFORMED)],
)
async def test_a_malformed_answer_is_an_api_response_error_naming_the_field(
    call: Call, body: str | bytes, reason: str
) -> None:
    with raw_server(answer(body)) as server, pytest.raises(ApiResponseError) as info:
        await call(client_of(server.base_url))
    assert info.value.reason == reason or (
        (reason in info.value.reason and "holds" in reason) or "SDK rejects" in reason
    )
    assert info.value.status_code == 200 and info.value.request_id == REQUEST_ID
    assert info.value.excerpt


EXTENDED = [
    (fetch, '{"object": {"_id": "p-9", "nodes": {}, "owner": {"by": 1}}, "page": 1}', "p-9"),
    (
        status,
        '{"task_id": "t-1", "status": "completed", "result": {"a": 1}, "cost": 0.2}',
        "succeeded",
    ),
    (start, '{"task_id": "t-7", "trace_id": "x", "queue": {"position": 3}}', "t-7"),
    (run, '{"status": "success", "run_id": "r", "outputs": {"a": 1}, "usage": [1]}', "r"),
]


@pytest.mark.parametrize("call, body, expected", EXTENDED, ids=[c.__name__ for c, _, _ in EXTENDED])
async def test_fields_the_platform_may_add_are_kept_not_refused(
    call: Call, body: str, expected: str
) -> None:
    with raw_server(answer(body)) as server:
        got = await call(client_of(server.base_url))
    read = {
        fetch: lambda: got.id,
        status: lambda: got.status,
        start: lambda: got.task_id,
        run: lambda: got.run_id,
    }[call]()
    assert read == expected
    if call in (status, run):
        assert got.raw == json.loads(body)


async def test_a_bulk_run_answered_as_a_bare_list_is_read_like_run_outputs() -> None:
    body = json.dumps(
        [
            {"run_id": "r-1", "outputs": {"a": 1}, "extra": True},
            {"run_id": "r-2", "status": "failed", "error": {"code": 7}},
        ]
    )

    async def two(client: Client) -> Any:
        return await a_pipeline(client).abulk_run([{"query": "1"}, {"query": "2"}])

    with raw_server(answer(body)) as server:
        first, second = await two(client_of(server.base_url))
    assert (first.run_id, first.status, first.outputs) == ("r-1", "succeeded", {"a": 1})
    assert first.raw == {"run_id": "r-1", "outputs": {"a": 1}, "extra": True}
    assert (second.status, second.error, second.result) == ("failed", "{'code': 7}", None)


async def test_a_status_answer_may_name_its_outputs_outputs() -> None:
    body = '{"status": "in_progress"}', '{"status": "completed", "outputs": {"a": 1}}'
    for text, state, result in zip(body, ("running", "succeeded"), (None, {"a": 1}), strict=True):
        with raw_server(answer(text)) as server:
            got = await status(client_of(server.base_url))
        assert (got.task_id, got.status, got.raw_status, got.result) == (
            "t-1",
            state,
            json.loads(text)["status"],
            result,
        )


def event_stream(*frames: str) -> Callable[[RawRequest], bytes]:
    return answer("".join(frames), content_type="text/event-stream")


def frame(data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {json.dumps(data)}\n\n"


async def chunks_of(client: Client) -> list[Any]:
    async with a_pipeline(client).astream({"query": "hi"}) as chunks:
        return [chunk async for chunk in chunks]


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "stream", "run_id": "r", "output_name": ["answer"], "output_value": "x"},
        {"type": "stream", "run_id": {"id": "r"}, "output_name": "answer"},
        {"type": "stream", "run_id": "r", "node_id": 3},
        {"type": "result", "run_id": "r", "outputs": {}},
        {"type": "result", "run_id": "r", "status": "success", "outputs": "all"},
        {"type": "result", "run_id": "r", "status": 1, "outputs": {}},
        {"type": 2, "run_id": "r"},
    ],
    ids=[
        "name-a-list",
        "run-id-an-object",
        "node-id-a-number",
        "result-no-status",
        "outputs-a-string",
        "status-a-number",
        "type-a-number",
    ],
)
async def test_a_frame_with_fields_of_the_wrong_type_is_a_stream_error_quoting_it(
    bad: dict[str, Any],
) -> None:
    with (
        raw_server(event_stream(frame(bad))) as server,
        pytest.raises(StreamError, match="not the platform's") as info,
    ):
        await chunks_of(client_of(server.base_url))
    assert info.value.frame is not None and '"run_id"' in info.value.frame
    expected = {
        "name-a-list": "field 'output_name' must be a string, got an array",
        "run-id-an-object": "field 'run_id' must be a string, got an object",
        "node-id-a-number": "field 'node_id' must be a string, got a number",
        "result-no-status": "field 'status' is missing",
        "outputs-a-string": "field 'outputs' must be an object, got a string",
        "status-a-number": "field 'status' must be a string, got a number",
        "type-a-number": "field 'type' must be a string, got a number",
    }
    assert str(info.value).startswith("a stream frame is not the platform's: ")
    assert any(str(info.value).find(message) > 0 for message in expected.values())


@pytest.mark.parametrize(
    "data, message",
    [("not json", "does not hold valid JSON"), ("[1]", "holds an array where a JSON object")],
)
async def test_a_frame_that_is_not_a_json_object_is_a_stream_error(data: str, message: str) -> None:
    with (
        raw_server(event_stream(f"data: {data}\n\n")) as server,
        pytest.raises(StreamError, match=message),
    ):
        await chunks_of(client_of(server.base_url))


async def test_a_frame_may_carry_fields_the_platform_adds() -> None:
    extra = {
        "type": "stream",
        "pipeline_run_id": "r",
        "output_name": "a",
        "output_value": 1,
        "tokens": {"n": 1},
    }
    done = {"type": "result", "run_id": "r", "status": "success", "outputs": {"a": 1}, "x": [1]}
    with raw_server(event_stream(frame(extra, "1"), frame(done, "2"))) as server:
        first, last = await chunks_of(client_of(server.base_url))
    assert (first.run_id, first.id, first.raw) == ("r", "1", extra)
    assert (last.status, last.raw_status, last.raw) == ("succeeded", "success", done)


async def test_frames_numbered_with_non_ascii_digits_are_read_as_opaque_ids() -> None:
    def token(value: str) -> dict[str, Any]:
        return {"type": "stream", "run_id": "r", "output_name": "a", "output_value": value}

    frames = event_stream(
        frame(token("x"), "²"),
        frame(token("y"), "³"),
        frame(token("z"), "9" * 5000),  # more digits than int() reads
        frame({"type": "result", "run_id": "r", "status": "success", "outputs": {"a": "xyz"}}),
    )
    with raw_server(frames) as server:
        chunks = await chunks_of(client_of(server.base_url))
    assert [chunk.output_value for chunk in chunks[:3]] == ["x", "y", "z"]
    assert chunks[-1].status == "succeeded"


async def test_a_stream_answered_with_a_page_is_an_api_response_error() -> None:
    with (
        raw_server(PROXY_PAGE) as server,
        pytest.raises(ApiResponseError, match="an event stream was asked for") as info,
    ):
        await chunks_of(client_of(server.base_url))
    assert "Please log in" in info.value.excerpt
