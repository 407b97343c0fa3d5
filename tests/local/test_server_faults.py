"""Fault injection in the local server: statuses, raw bodies, delays, drops and cut streams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.faults import FaultInjector, FaultRule, parse_rules, route_key

from .graphs import llm_graph


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def faults(server: LocalServer) -> Iterator[FaultInjector]:
    server.faults.clear()
    yield server.faults
    server.faults.clear()


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=20) as client:
        yield client


def test_status_rule_with_count_fires_on_the_first_matches_only(
    api: httpx.Client, faults: FaultInjector
) -> None:
    rule = faults.add(method="GET", path=r"/pipelines$", status=503, retry_after=2, count=2)
    answers = [api.get("/pipelines") for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 200]
    assert answers[0].headers["retry-after"] == "2"
    body = answers[0].json()
    assert body["status"] == "failed" and body["request_id"] == answers[0].headers["x-request-id"]
    assert (rule.matched, rule.fired) == (3, 2)


def test_raw_body_rule_answers_non_json(api: httpx.Client, faults: FaultInjector) -> None:
    faults.add(path="/pipelines", status=502, body="<html>bad gateway</html>")
    response = api.get("/pipelines")
    assert response.status_code == 502
    assert response.text == "<html>bad gateway</html>"
    assert response.headers["content-type"].startswith("text/plain")


def test_rules_match_the_method(api: httpx.Client, faults: FaultInjector) -> None:
    faults.add(method="POST", path="/pipeline", status=500)
    assert api.get("/pipelines").status_code == 200
    assert api.post("/pipeline", json={"name": "x"}).status_code == 500


def test_rules_may_match_the_query_string(api: httpx.Client, faults: FaultInjector) -> None:
    faults.add(method="GET", path=r"verbose=true", status=500)
    assert api.get("/pipelines").status_code == 200
    assert api.get("/pipelines", params={"verbose": "true"}).status_code == 500


def test_drop_closes_the_connection_without_a_response(
    api: httpx.Client, faults: FaultInjector
) -> None:
    faults.add(path="/pipelines", drop=True, count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/pipelines")
    assert api.get("/pipelines").status_code == 200


def test_delay_slows_the_answer_down(api: httpx.Client, faults: FaultInjector) -> None:
    faults.add(path="/pipelines", delay=1.0, count=1)
    with pytest.raises(httpx.ReadTimeout):
        api.get("/pipelines", timeout=0.1)


def test_after_rules_let_the_handler_act_and_lose_its_answer(
    server: LocalServer, api: httpx.Client, faults: FaultInjector
) -> None:
    nodes = llm_graph(model="lorem", tokens=3)
    pipeline_id = api.post("/pipeline", json={"name": "x", "nodes": nodes}).json()["id"]
    faults.add(method="POST", path=r"/run$", status=502, when="after", count=1)
    faults.add(method="POST", path=r"/run$", drop=True, when="after", count=1)
    before = sum(server.store.run_counts().values())
    body = {"inputs": {"query": "q"}, "background": True}
    assert api.post(f"/pipeline/{pipeline_id}/run", json=body).status_code == 502
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(f"/pipeline/{pipeline_id}/run", json=body)
    assert sum(server.store.run_counts().values()) == before + 2


def test_cut_stream_resumes_from_last_event_id_without_loss_or_repeat(
    api: httpx.Client, faults: FaultInjector
) -> None:
    nodes = llm_graph(model="lorem", tokens=15, delay_ms=2)
    pipeline_id = api.post("/pipeline", json={"name": "cut", "nodes": nodes}).json()["id"]
    faults.add(method="POST", path=r"/run$", cut_after_frames=4, count=1)
    seen: list[tuple[int, dict[str, Any]]] = []
    seq = 0
    body = {"inputs": {"query": "q"}, "stream": True}
    with (
        pytest.raises(httpx.RemoteProtocolError),
        api.stream("POST", f"/pipeline/{pipeline_id}/run", json=body) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                seen.append((seq, json.loads(line[6:])))
    assert [s for s, _ in seen] == [1, 2, 3, 4]
    run_id = seen[0][1]["run_id"]
    url = f"/pipeline/{pipeline_id}/run/events/{run_id}"
    with api.stream("GET", url, headers={"Last-Event-ID": str(seq)}) as response:
        for line in response.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                seen.append((seq, json.loads(line[6:])))
    assert [s for s, _ in seen] == list(range(1, len(seen) + 1))
    result = seen[-1][1]
    assert result["type"] == "result" and result["status"] == "success"
    deltas = "".join(f["output_value"] for _, f in seen if f.get("output_name") == "answer")
    assert deltas == result["outputs"]["answer"]


def test_requests_are_counted_per_route(api: httpx.Client, faults: FaultInjector) -> None:
    api.get("/pipelines")
    api.get("/pipelines")
    api.get("/pipeline", params={"id": "0123456789abcdef01234567"})
    counts = faults.counts()
    assert counts["GET /v1/pipelines"] == 2
    assert counts["GET /v1/pipeline"] == 1
    assert faults.seen("GET", "/pipelines") == 2
    assert faults.seen("*", "0123456789abcdef01234567") == 1


def test_removed_rules_stop_firing(api: httpx.Client, faults: FaultInjector) -> None:
    rule = faults.add(path="/pipelines", status=500)
    assert api.get("/pipelines").status_code == 500
    faults.remove(rule)
    assert api.get("/pipelines").status_code == 200


def test_rules_from_the_configuration_are_installed_at_start() -> None:
    config = ServerConfig(faults=[{"path": "/pipelines", "status": 429, "retry_after": 1}])
    with LocalServer(config) as server:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        response = httpx.get(f"{server.base_url}/pipelines", headers=headers)
    assert response.status_code == 429 and response.headers["retry-after"] == "1"


def test_probability_fires_on_a_share_of_matches() -> None:
    injector = FaultInjector([{"path": "/x", "status": 500, "probability": 0.3}], seed=7)
    fired = sum(injector._select("GET", "/x") is not None for _ in range(1000))
    assert 200 < fired < 400
    never = FaultInjector([{"path": "/x", "status": 500, "probability": 0.0}])
    assert all(never._select("GET", "/x") is None for _ in range(50))


def test_rules_parse_from_json_and_reject_unknown_keys() -> None:
    (rule,) = parse_rules('{"method": "post", "path": "/run$", "status": 503, "count": 1}')
    assert rule == FaultRule(method="POST", path="/run$", status=503, count=1)
    assert len(parse_rules('[{"status": 500}, {"drop": true}]')) == 2
    with pytest.raises(ValueError, match="stauts"):
        parse_rules('{"stauts": 500}')
    with pytest.raises(ValueError, match="regex"):
        parse_rules('{"path": "(", "status": 500}')
    with pytest.raises(ValueError, match="probability"):
        parse_rules('{"status": 500, "probability": 2}')


def test_route_keys_hide_ids() -> None:
    key = route_key(
        "get",
        "/v1/pipeline/0123456789abcdef01234567/run/status/1f0c1b2e-3d4c-4b5a-8f9e-0a1b2c3d4e5f",
    )
    assert key == "GET /v1/pipeline/{id}/run/status/{id}"
