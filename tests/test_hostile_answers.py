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


def answer(body: str | bytes, status: int = 200, content_type: str = "application/json",
           **headers: str) -> Callable[[RawRequest], bytes]:
    def respond(request: RawRequest) -> bytes:
        return http_response(
            status, body, content_type=content_type,
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
    (new, '{"status": "success"}', "'id' is missing"),
    (new, '{"id": {"$oid": "p-1"}}', "'id' must be a string"),
    (fetch, '{"status": "success"}', "'object' is missing"),
    (fetch, '{"object": {"_id": "p", "nodes": [1, 2]}}', "'object.nodes' must be an object"),
    (fetch, '{"object": {"_id": 7, "name": "n"}}', "'object._id' must be a string"),
    (fetch, '{"object": {"_id": "p", "nodes": {"n": {"name": "x"}}}}', "node the SDK rejects"),
    (list_all, '{"objects": "everything"}', "'objects' must be a list"),
    (list_all, '{"objects": [{"_id": "p", "nodes": {"n": {"inputs": 5}}}]}', "inputs' must be"),
    (bulk_run, '{"run_outputs": [1]}', "'run_outputs[0]' must be an object"),
    (bulk_run, '{"run_outputs": []}', "holds 0 results for 1 runs"),
    (bulk_run, '{"run_outputs": [{"run_id": "r", "outputs": []}]}', "outputs' must be an obj"),
    (status, '{"task_id": "t-1"}', "'status' is missing"),
    (status, '{"status": "completed", "trace_id": 5}', "'trace_id' must be a string"),
    (status, '{"status": "completed", "result": ["a"]}', "'result' must be an object"),
    (start, '{"task_id": {"id": "t-1"}}', "'task_id' must be a string"),
    (start, '{"trace_id": "x"}', "'task_id' or 'run_id' is missing"),
    (start, "[1, 2]", "JSON but not an object"),
    (run, '{"status": "success", "run_id": "r"}', "'outputs' is missing"),
    (run, '{"status": "success", "run_id": 12, "outputs": {}}', "'run_id' must be a string"),
    (run, b'{"status": "succ\xff"}', "not JSON"),
    (run, "[" * 100_000, "not JSON"),
]


@pytest.mark.parametrize(
    "call, body, reason", MALFORMED, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in
                                            enumerate(MALFORMED)]
)
async def test_a_malformed_answer_is_an_api_response_error_naming_the_field(
    call: Call, body: str | bytes, reason: str
) -> None:
    with raw_server(answer(body)) as server, pytest.raises(ApiResponseError) as info:
        await call(client_of(server.base_url))
    assert reason in info.value.reason
    assert info.value.status_code == 200 and info.value.request_id == REQUEST_ID


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
    ],
    ids=["name-a-list", "run-id-an-object", "node-id-a-number", "result-no-status",
         "outputs-a-string"],
)
async def test_a_frame_with_fields_of_the_wrong_type_is_a_stream_error_quoting_it(
    bad: dict[str, Any]
) -> None:
    with (
        raw_server(event_stream(frame(bad))) as server,
        pytest.raises(StreamError, match="not the platform's") as info,
    ):
        await chunks_of(client_of(server.base_url))
    assert info.value.frame is not None and '"run_id"' in info.value.frame


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
