"""Which providers the local server simulates, and how a run says so (its status, its answers)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig

from .graphs import llm_graph


def provider_graph(provider: str, model: str = "gpt-4o-mini") -> dict[str, Any]:
    """query -> an llm node of ``provider`` prompted "Summarise: <query>" -> answer."""
    nodes = llm_graph()
    nodes["llm_0"]["inputs"] = {
        "provider": provider,
        "model": model,
        "prompt": "Summarise: {{ input_0.text }}",
        "token_delay_ms": 0,
        "stream": True,
    }
    return nodes


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with (
        LocalServer() as server,
        httpx.Client(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {server.api_key}"},
            timeout=20,
        ) as client,
    ):
        yield client


def create(api: httpx.Client, nodes: dict[str, Any]) -> str:
    response = api.post("/pipeline", json={"name": "providers", "nodes": nodes})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_a_blocking_run_of_an_openai_node_answers_offline_and_says_so(api: httpx.Client) -> None:
    pipeline_id = create(api, provider_graph("openai"))
    body = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "the tides"}}).json()
    assert body["status"] == "success"
    assert body["outputs"] == {"answer": "Summarise: the tides"}
    assert body["simulated_providers"] == ["openai"]


def test_the_status_and_the_result_frame_name_the_simulated_providers(api: httpx.Client) -> None:
    nodes = provider_graph("anthropic", "claude-3-5-sonnet")
    nodes["llm_1"] = {
        **nodes["llm_0"],
        "id": "llm_1",
        "name": "second",
        "inputs": {**nodes["llm_0"]["inputs"], "provider": "openai"},
    }
    pipeline_id = create(api, nodes)
    start = api.post(
        f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}, "background": True}
    ).json()
    status = api.get(
        f"/pipeline/{pipeline_id}/run/status/{start['task_id']}", params={"wait": "10"}
    ).json()
    assert status["status"] == "completed"
    assert status["simulated_providers"] == ["anthropic", "openai"]
    with api.stream("GET", f"/pipeline/{pipeline_id}/run/events/{start['task_id']}") as events:
        frames = [json.loads(line[5:]) for line in events.iter_lines() if line.startswith("data:")]
    assert frames[-1]["type"] == "result"
    assert frames[-1]["simulated_providers"] == ["anthropic", "openai"]


def test_a_run_of_the_local_model_names_no_simulated_provider(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    body = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "hi"}}).json()
    assert body["outputs"] == {"answer": "hi"}
    assert "simulated_providers" not in body


def test_bulk_runs_name_their_simulated_providers(api: httpx.Client) -> None:
    pipeline_id = create(api, provider_graph("openai"))
    runs = [{"inputs": {"query": "a"}}, {"inputs": {"query": "b"}}]
    body = api.post(f"/pipeline/{pipeline_id}/bulk-run", json={"runs": runs}).json()
    assert [entry["simulated_providers"] for entry in body] == [["openai"]] * 2


def test_a_real_provider_the_server_has_no_client_for_fails_the_run_naming_it() -> None:
    with (
        LocalServer(providers="real") as server,
        httpx.Client(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {server.api_key}"},
            timeout=20,
        ) as api,
    ):
        pipeline_id = create(api, provider_graph("anthropic"))
        body = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}}).json()
    assert body["status"] == "failed"
    assert body["error"] == (
        "node 'llm' (llm_0): the LLM provider 'anthropic' is set to be real, but "
        "vectorshift.local has no client for it (it calls openai); leave it simulated, e.g. "
        "--providers anthropic=simulated"
    )


def test_a_real_openai_without_a_key_is_logged_once_at_start_and_fails_its_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vectorshift.local")
    with (
        LocalServer(ServerConfig(providers={"openai": "real"})) as server,
        httpx.Client(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {server.api_key}"},
            timeout=20,
        ) as api,
    ):
        pipeline_id = create(api, provider_graph("openai"))
        for _ in range(2):
            body = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}})
            assert "no OPENAI_API_KEY" in body.json()["error"]
    said = [r.getMessage() for r in caplog.records if r.name == "vectorshift.local"]
    assert said.count("LLM providers: openai real; every other one simulated") == 1
    assert (
        said.count(
            "openai is set to be real but OPENAI_API_KEY is not set: its LLM nodes will fail"
        )
        == 1
    )


@pytest.mark.parametrize(
    ("spec", "modes"),
    [
        ("", {}),
        ("real", {"*": "real"}),
        ("openai=real", {"openai": "real"}),
        ("real, Anthropic=simulated", {"*": "real", "anthropic": "simulated"}),
        ({"openai": "real"}, {"openai": "real"}),
    ],
)
def test_provider_specs_read_as_the_command_line_writes_them(
    spec: str | dict[str, str], modes: dict[str, str]
) -> None:
    assert ServerConfig(providers=spec).providers == modes


def test_an_unknown_provider_mode_is_refused_with_the_forms_that_work() -> None:
    with pytest.raises(ValueError) as caught:
        ServerConfig(providers="openai=yes")
    assert str(caught.value) == (
        "providers: unknown provider mode 'yes' for provider 'openai' (use 'simulated' or "
        "'real', e.g. --providers openai=real)"
    )
