"""LLM nodes: the simulated local model, token streaming, concurrency, cancellation, and the
OpenAI-compatible provider against a fake endpoint served on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from vectorshift.local.engine import EngineOptions, RunFailure, execute
from vectorshift.local.providers import ProviderConfig, split_tokens


def real_openai(key: str, base_url: str) -> ProviderConfig:
    """Provider settings that call ``openai`` for real (every other provider simulated)."""
    return ProviderConfig(modes={"openai": "real"}, openai_api_key=key, openai_base_url=base_url)


def node(
    node_id: str, kind: str, name: str, outputs: list[str], /, **inputs: Any
) -> dict[str, Any]:
    """A node as the platform serialises it."""
    return {
        "id": node_id,
        "name": name,
        "type": kind,
        "inputs": inputs,
        "outputs": ["complete", *outputs],
        "task_name": kind,
        "execution_mode": "normal",
    }


def llm(node_id: str, prompt: str, **overrides: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "provider": "local",
        "model": "lorem",
        "prompt": prompt,
        "system": "",
        "temperature": 0.5,
        "max_tokens": 12,
        "stream": True,
        "json_response": False,
        "token_delay_ms": 0,
        "dependencies": [],
    }
    inputs.update(overrides)
    return node(
        node_id,
        "llm",
        node_id,
        ["credits_used", "input_tokens", "output_tokens", "response", "tokens_used"],
        **inputs,
    )


def output(node_id: str, value: str, kind: str = "stream<string>") -> dict[str, Any]:
    return node(node_id, "output", node_id, [], value=value, output_type=kind, description="")


def graph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {item["id"]: item for item in nodes}


def question() -> dict[str, Any]:
    return node("input_0", "input", "question", ["text"], input_type="string", default_value="")


class Recorder:
    """Collects frames; ``first_delta`` is set when the first token frame arrives."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.first_delta = anyio.Event()

    async def emit(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self.first_delta.set()

    def values(self, name: str) -> list[Any]:
        return [frame["output_value"] for frame in self.frames if frame["output_name"] == name]


async def run(
    nodes: dict[str, Any],
    inputs: dict[str, Any],
    options: EngineOptions,
    recorder: Recorder | None = None,
) -> dict[str, Any]:
    with anyio.fail_after(15):
        return await execute(nodes, inputs, (recorder or Recorder()).emit, options)


@pytest.mark.anyio
async def test_lorem_is_deterministic_and_has_exactly_max_tokens() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "{{ input_0.text }}", max_tokens=37),
        output("out", "{{ llm_0.response }}", "string"),
        output("count", "{{ llm_0.output_tokens }}", "int32"),
    )
    first = await run(nodes, {"question": "tell me"}, EngineOptions())
    again = await run(nodes, {"question": "tell me"}, EngineOptions())
    other = await run(nodes, {"question": "tell me more"}, EngineOptions())
    assert first == again
    assert first["count"] == 37
    assert len(split_tokens(first["out"])) == 37
    assert len(first["out"].split()) == 37
    assert other["out"] != first["out"]


@pytest.mark.anyio
async def test_echo_answers_the_prompt_and_counts_tokens() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "Q: {{ input_0.text }}", model="echo", system="be brief"),
        output("out", "{{ llm_0.response }}", "string"),
        output("used", "{{ llm_0.tokens_used }}", "int32"),
        output("credits", "{{ llm_0.credits_used }}", "int32"),
    )
    outputs = await run(nodes, {"question": "why  is it\nblue? "}, EngineOptions())
    assert outputs == {"out": "Q: why  is it\nblue? ", "used": 2 + 5 + 5, "credits": 0}


@pytest.mark.anyio
async def test_json_response_is_parsed() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "{{ input_0.text }}", model="echo", json_response=True),
        output("out", "{{ llm_0.response }}", "json"),
    )
    outputs = await run(nodes, {"question": "hi"}, EngineOptions())
    assert outputs == {"out": {"response": "hi"}}


@pytest.mark.anyio
async def test_token_deltas_concatenate_to_the_response() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "{{ input_0.text }}", max_tokens=25),
        output("streamed", "{{ llm_0.response }}"),
        output("whole", "{{ llm_0.response }}", "string"),
        output("decorated", "> {{ llm_0.response }}"),
    )
    recorder = Recorder()
    outputs = await run(nodes, {"question": "q"}, EngineOptions(stream_tokens=True), recorder)
    deltas = recorder.values("streamed")
    assert len(deltas) == 25
    assert "".join(deltas) == outputs["streamed"] == outputs["whole"]
    assert recorder.values("whole") == [outputs["whole"]]
    assert recorder.values("decorated") == ["> " + outputs["whole"]]


@pytest.mark.anyio
async def test_without_stream_tokens_a_stream_output_gets_one_final_frame() -> None:
    nodes = graph(
        question(), llm("llm_0", "{{ input_0.text }}"), output("streamed", "{{ llm_0.response }}")
    )
    recorder = Recorder()
    outputs = await run(nodes, {"question": "q"}, EngineOptions(), recorder)
    assert recorder.values("streamed") == [outputs["streamed"]]


@pytest.mark.anyio
async def test_llm_without_stream_flag_publishes_no_deltas() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "{{ input_0.text }}", stream=False),
        output("streamed", "{{ llm_0.response }}"),
    )
    recorder = Recorder()
    outputs = await run(nodes, {"question": "q"}, EngineOptions(stream_tokens=True), recorder)
    assert recorder.values("streamed") == [outputs["streamed"]]


@pytest.mark.anyio
async def test_independent_llm_nodes_run_concurrently() -> None:
    nodes = graph(
        question(),
        llm("llm_a", "a {{ input_0.text }}", max_tokens=10, token_delay_ms=100),
        llm("llm_b", "b {{ input_0.text }}", max_tokens=10, token_delay_ms=100),
        output("out_a", "{{ llm_a.response }}"),
        output("out_b", "{{ llm_b.response }}"),
    )
    recorder = Recorder()
    started = anyio.current_time()
    await run(nodes, {"question": "q"}, EngineOptions(stream_tokens=True), recorder)
    elapsed = anyio.current_time() - started
    order = [frame["output_name"] for frame in recorder.frames]
    last_a = len(order) - 1 - order[::-1].index("out_a")
    last_b = len(order) - 1 - order[::-1].index("out_b")
    assert order.index("out_b") < last_a and order.index("out_a") < last_b
    # Each node sleeps 10 x 100 ms: one after the other would take at least 2 s.
    assert elapsed < 1.8


@pytest.mark.anyio
async def test_cancelling_a_long_run_stops_token_generation() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "{{ input_0.text }}", max_tokens=100_000, token_delay_ms=20),
        output("out", "{{ llm_0.response }}"),
    )
    recorder = Recorder()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(
                execute, nodes, {"question": "q"}, recorder.emit, EngineOptions(stream_tokens=True)
            )
            await recorder.first_delta.wait()
            cancelled_at = anyio.current_time()
            group.cancel_scope.cancel()
    assert anyio.current_time() - cancelled_at < 2.0
    count = len(recorder.frames)
    await anyio.sleep(0.2)
    assert 1 <= count < 1000
    assert len(recorder.frames) == count


@pytest.mark.anyio
async def test_a_failing_node_cancels_the_rest_of_the_run() -> None:
    nodes = graph(
        question(),
        llm("llm_slow", "{{ input_0.text }}", max_tokens=100_000, token_delay_ms=20),
        llm("llm_bad", "{{ input_0.text }}", model="gpt-9"),
        output("a", "{{ llm_slow.response }}"),
        output("b", "{{ llm_bad.response }}"),
    )
    with pytest.raises(RunFailure) as caught:
        await run(nodes, {"question": "q"}, EngineOptions())
    assert str(caught.value).startswith("node 'llm_bad' (llm_bad): unknown model 'gpt-9'")


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["openai", "anthropic", "nowhere"])
async def test_every_provider_is_simulated_by_default(provider: str) -> None:
    nodes = graph(
        question(),
        llm(
            "llm_0",
            "Summarise: {{ input_0.text }}",
            provider=provider,
            model="any-model",
            max_tokens=None,
        ),
        output("out", "{{ llm_0.response }}"),
    )
    simulated: set[str] = set()
    with anyio.fail_after(15):
        outputs = await execute(
            nodes, {"question": "the tides"}, Recorder().emit, EngineOptions(), simulated
        )
    assert outputs == {"out": "Summarise: the tides"}
    assert simulated == {provider}


@pytest.mark.anyio
async def test_the_local_provider_is_not_reported_as_simulated() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "{{ input_0.text }}", model="echo"),
        output("out", "{{ llm_0.response }}"),
    )
    simulated: set[str] = set()
    await execute(nodes, {"question": "x"}, Recorder().emit, EngineOptions(), simulated)
    assert simulated == set()


@pytest.mark.anyio
async def test_a_real_provider_without_a_client_fails_naming_it() -> None:
    nodes = graph(
        question(),
        llm("llm_0", "{{ input_0.text }}", provider="anthropic"),
        output("out", "{{ llm_0.response }}"),
    )
    options = EngineOptions(providers=ProviderConfig(modes={"*": "real"}))
    with pytest.raises(RunFailure) as caught:
        await run(nodes, {"question": "q"}, options)
    assert str(caught.value) == (
        "node 'llm_0' (llm_0): the LLM provider 'anthropic' is set to be real, but "
        "vectorshift.local has no client for it (it calls openai); leave it simulated, e.g. "
        "--providers anthropic=simulated"
    )


@pytest.mark.anyio
async def test_unknown_local_model_is_named() -> None:
    nodes = graph(question(), llm("llm_0", "x", model="gpt-9"), output("o", "{{ llm_0.response }}"))
    with pytest.raises(RunFailure, match=r"^node 'llm_0' \(llm_0\): unknown model 'gpt-9'"):
        await run(nodes, {"question": "q"}, EngineOptions())


class FakeOpenAI:
    """A tiny OpenAI-compatible chat-completions endpoint that records what it receives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.slow_stream_closed = threading.Event()
        self.base_url = ""
        self.app = Starlette(
            routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])]
        )

    @staticmethod
    def chunk(**fields: Any) -> str:
        return f"data: {json.dumps({'object': 'chat.completion.chunk', **fields})}\n\n"

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"authorization": request.headers.get("authorization"), "body": body})
        if body["model"] == "fake-bad-key":
            return JSONResponse(
                {"error": {"message": "Incorrect API key provided"}}, status_code=401
            )
        if body["model"] == "fake-slow":
            return StreamingResponse(self.slow(), media_type="text/event-stream")
        pieces = ["Hel", "lo, ", body["messages"][-1]["content"]]
        if body["model"] == "fake-json":
            pieces = ['{"answer": ', "42}"]
        return StreamingResponse(self.answer(pieces), media_type="text/event-stream")

    async def answer(self, pieces: list[str]) -> AsyncIterator[str]:
        yield ": keep-alive\n\n"
        yield self.chunk(choices=[{"index": 0, "delta": {"role": "assistant"}}])
        for piece in pieces:
            yield "event: message\n" + self.chunk(
                choices=[{"index": 0, "delta": {"content": piece}}]
            )
        yield self.chunk(choices=[], usage={"prompt_tokens": 11, "completion_tokens": 3})
        yield "data: [DONE]\n\n"

    async def slow(self) -> AsyncIterator[str]:
        try:
            for _ in range(1000):
                yield self.chunk(choices=[{"index": 0, "delta": {"content": " tick"}}])
                await anyio.sleep(0.05)
        finally:
            self.slow_stream_closed.set()


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    fake.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    server = uvicorn.Server(
        uvicorn.Config(fake.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the fake OpenAI server did not start"
    yield fake
    server.should_exit = True
    thread.join(10)
    sock.close()


def openai_graph(model: str, **overrides: Any) -> dict[str, Any]:
    return graph(
        question(),
        llm(
            "llm_0",
            "{{ input_0.text }}",
            provider="openai",
            model=model,
            system="You are terse.",
            max_tokens=64,
            **overrides,
        ),
        output("streamed", "{{ llm_0.response }}"),
        output("used", "{{ llm_0.tokens_used }}", "int32"),
    )


@pytest.mark.anyio
async def test_openai_provider_streams_from_a_compatible_endpoint(fake_openai: FakeOpenAI) -> None:
    recorder = Recorder()
    options = EngineOptions(
        stream_tokens=True, providers=real_openai("sk-test", fake_openai.base_url)
    )
    outputs = await run(openai_graph("fake-model"), {"question": "world"}, options, recorder)
    assert outputs == {"streamed": "Hello, world", "used": 14}
    assert recorder.values("streamed") == ["Hel", "lo, ", "world"]
    sent = fake_openai.requests[-1]
    assert sent["authorization"] == "Bearer sk-test"
    assert sent["body"] == {
        "model": "fake-model",
        "stream": True,
        "temperature": 0.5,
        "max_tokens": 64,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "world"},
        ],
    }


@pytest.mark.anyio
async def test_openai_json_response(fake_openai: FakeOpenAI) -> None:
    options = EngineOptions(providers=real_openai("sk-test", fake_openai.base_url))
    outputs = await run(openai_graph("fake-json", json_response=True), {"question": "?"}, options)
    assert outputs["streamed"] == {"answer": 42}
    assert fake_openai.requests[-1]["body"]["response_format"] == {"type": "json_object"}


@pytest.mark.anyio
async def test_real_openai_without_a_key_fails_with_a_clear_message() -> None:
    options = EngineOptions(providers=ProviderConfig(modes={"openai": "real"}))
    with pytest.raises(RunFailure) as caught:
        await run(openai_graph("fake-model"), {"question": "x"}, options)
    assert str(caught.value) == (
        "node 'llm_0' (llm_0): the openai provider is set to be real but the server has no "
        "OPENAI_API_KEY (set it where the server starts, or leave openai simulated)"
    )


@pytest.mark.anyio
async def test_openai_error_status_is_reported(fake_openai: FakeOpenAI) -> None:
    options = EngineOptions(providers=real_openai("sk-wrong", fake_openai.base_url))
    with pytest.raises(RunFailure) as caught:
        await run(openai_graph("fake-bad-key"), {"question": "x"}, options)
    assert str(caught.value) == (
        "node 'llm_0' (llm_0): the openai provider answered HTTP 401: Incorrect API key provided"
    )


@pytest.mark.anyio
async def test_openai_unreachable_endpoint_is_reported() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    options = EngineOptions(providers=real_openai("sk", f"http://127.0.0.1:{port}/v1"))
    with pytest.raises(RunFailure, match="the openai provider could not be reached"):
        await run(openai_graph("fake-model"), {"question": "x"}, options)


@pytest.mark.anyio
async def test_cancelling_closes_the_openai_stream(fake_openai: FakeOpenAI) -> None:
    fake_openai.slow_stream_closed.clear()
    recorder = Recorder()
    options = EngineOptions(
        stream_tokens=True, providers=real_openai("sk-test", fake_openai.base_url)
    )
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(
                execute, openai_graph("fake-slow"), {"question": "x"}, recorder.emit, options
            )
            await recorder.first_delta.wait()
            group.cancel_scope.cancel()
    assert recorder.values("streamed")[0] == " tick"
    closed = await anyio.to_thread.run_sync(fake_openai.slow_stream_closed.wait, 5.0)
    assert closed, "the endpoint never saw the stream close"


def test_embedded_platform_streams_openai_tokens_through_the_sdk(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vectorshift import Pipeline
    from vectorshift.local import serve

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    with serve(providers="openai=real") as client:
        pipeline = Pipeline.new(name="openai-through-sdk", client=client)
        question = pipeline.add(name="question").input()
        answer = pipeline.add(name="llm").llm(model="fake-model", prompt=question.text, stream=True)
        pipeline.add(name="tokens").output(answer.response, "stream<string>")
        pipeline.save()
        with pipeline.stream({"question": "sdk"}) as chunks:
            seen = list(chunks)
    tokens = [c.output_value for c in seen if c.output_name == "tokens" and c.type == "stream"]
    assert tokens == ["Hel", "lo, ", "sdk"]
    assert seen[-1].outputs == {"tokens": "Hello, sdk"}
    assert fake_openai.requests[-1]["authorization"] == "Bearer sk-from-env"
