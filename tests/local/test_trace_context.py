"""The local server keeps the W3C trace context a run was started with, and ignores bad ones."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from vectorshift.local import LocalServer
from vectorshift.local.trace_context import MAX_TRACESTATE, from_headers, parse_traceparent

from .graphs import llm_graph

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def api(server: LocalServer) -> Iterator[httpx.Client]:
    """Raw requests to the session's server (tests/conftest.py), as any client sends them."""
    auth = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=auth, timeout=20) as client:
        yield client


@pytest.fixture(scope="module")
def pipeline_id(api: httpx.Client) -> str:
    response = api.post("/pipeline", json={"name": "traced", "nodes": llm_graph()})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def start(api: httpx.Client, pipeline_id: str, headers: dict[str, str]) -> str:
    response = api.post(
        f"/pipeline/{pipeline_id}/run",
        json={"inputs": {"query": "hi"}, "background": True},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["task_id"])


def status(api: httpx.Client, pipeline_id: str, task_id: str) -> dict[str, object]:
    body: dict[str, object] = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}").json()
    return body


def test_a_started_run_answers_its_traceparent_and_tracestate(
    api: httpx.Client, pipeline_id: str
) -> None:
    task_id = start(api, pipeline_id, {"traceparent": VALID, "tracestate": "vendor=abc"})
    body = status(api, pipeline_id, task_id)
    assert (body["traceparent"], body["tracestate"]) == (VALID, "vendor=abc")


def test_a_run_started_without_trace_context_answers_none(
    api: httpx.Client, pipeline_id: str
) -> None:
    body = status(api, pipeline_id, start(api, pipeline_id, {}))
    assert "traceparent" not in body and "tracestate" not in body


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",  # no flags
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero parent id
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # forbidden version
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # upper case
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # 00 has 4 fields
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
    ],
)
def test_a_malformed_traceparent_is_ignored_and_the_run_starts(
    api: httpx.Client, pipeline_id: str, header: str
) -> None:
    body = status(api, pipeline_id, start(api, pipeline_id, {"traceparent": header}))
    assert "traceparent" not in body


def test_a_later_version_may_carry_more_fields() -> None:
    later = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more"
    assert parse_traceparent(later) == later


def test_a_tracestate_is_kept_only_beside_a_valid_traceparent_and_within_bounds() -> None:
    assert from_headers({"tracestate": "a=b"}) is None
    assert from_headers({"traceparent": VALID, "tracestate": "x" * (MAX_TRACESTATE + 1)}) == (
        VALID,
        None,
    )
    assert from_headers({"traceparent": VALID, "tracestate": "a=\x00"}) == (VALID, None)
    assert from_headers({"traceparent": f" {VALID} ", "tracestate": " a=b "}) == (VALID, "a=b")


def test_a_replayed_idempotent_start_keeps_the_first_trace_context(
    api: httpx.Client, pipeline_id: str
) -> None:
    other = "00-11111111111111111111111111111111-2222222222222222-01"
    first = start(api, pipeline_id, {"traceparent": VALID, "Idempotency-Key": "trace-replay"})
    again = start(api, pipeline_id, {"traceparent": other, "Idempotency-Key": "trace-replay"})
    assert first == again
    assert status(api, pipeline_id, first)["traceparent"] == VALID
