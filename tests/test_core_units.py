"""Pure units: retry policy, Retry-After parsing, status vocabulary, result models, errors."""

from __future__ import annotations

import email.utils
import logging
import pickle

import pytest

import vectorshift
from vectorshift import (
    ApiError,
    Client,
    InternalServerError,
    PipelineRunFailedError,
    PollTimeoutError,
    RateLimitError,
    RetryPolicy,
    RunError,
    RunHandler,
)
from vectorshift._retry import parse_retry_after
from vectorshift.errors import error_class_for_status
from vectorshift.types import RunResult, normalize_status


def test_policy_is_immutable() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_retries = 5  # type: ignore[misc]
    assert policy.with_max_retries(5).max_retries == 5
    assert policy.max_retries == 2


def test_backoff_uses_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(backoff_base=0.5, max_backoff=4.0)
    for attempt, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (8, 4.0)]:
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(0.0 <= wait <= cap for wait in waits)
        assert max(waits) > cap / 2, "full jitter spreads over the whole range"


def test_retry_after_replaces_backoff_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=10.0)
    assert policy.backoff(0, retry_after=1.0) == 1.0
    assert policy.backoff(0, retry_after=3600.0) == 10.0


def test_retry_after_header_forms() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    later = email.utils.formatdate(1_000_030.0, usegmt=True)
    assert parse_retry_after({"Retry-After": later}, now=1_000_000.0) == pytest.approx(30.0)
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_transient_statuses() -> None:
    policy = RetryPolicy()
    assert all(policy.is_retryable_status(code) for code in (408, 429, 500, 502, 503, 504, 599))
    assert not any(policy.is_retryable_status(code) for code in (400, 401, 403, 404, 409, 422))


def test_negative_retries_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("pending", "running"),
        ("queued", "running"),
        ("in_progress", "running"),
        ("running", "running"),
        ("started", "running"),
        ("completed", "succeeded"),
        ("succeeded", "succeeded"),
        ("success", "succeeded"),
        ("failed", "failed"),
        ("error", "failed"),
        ("cancelled", "cancelled"),
        ("canceled", "cancelled"),
        ("terminated", "cancelled"),
        ("aborted", "cancelled"),
        ("COMPLETED", "succeeded"),
    ],
)
def test_status_vocabulary(raw: str, state: str) -> None:
    assert normalize_status(raw) == (state, True)


def test_unknown_status_is_running_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="vectorshift"):
        assert normalize_status("paused-by-operator") == ("running", False)
        assert normalize_status("paused-by-operator") == ("running", False)
    assert len([r for r in caplog.records if "paused-by-operator" in r.getMessage()]) == 1


def test_run_status_answers_documented_dict_access() -> None:
    from vectorshift._schema.answers import RUN_STATUS, StatusIds

    status = RUN_STATUS.validate_json(
        b'{"task_id": "t1", "status": "completed", "result": {"answer": "42"}}',
        context=StatusIds("p1", "t1", None),
    )
    assert status.status == "succeeded" and status.raw_status == "completed"
    assert status.is_terminal
    assert status["result"] == {"answer": "42"} == status.get("result") == status.outputs
    assert status["outputs"]["answer"] == "42"
    assert status.get("missing", "default") == "default"
    assert "result" in status and "missing" not in status
    with pytest.raises(KeyError):
        status["missing"]


def test_run_result_exposes_run_id() -> None:
    result = RunResult(task_id="r1", status="succeeded", result={"a": 1})
    assert result.run_id == "r1" == result["run_id"]
    assert result["outputs"] == {"a": 1}


def test_error_classes_by_status() -> None:
    assert error_class_for_status(429) is RateLimitError
    assert error_class_for_status(503) is InternalServerError
    assert error_class_for_status(418) is ApiError
    assert vectorshift.VectorshiftApiError is ApiError is vectorshift.ApiStatusError


def test_run_errors_are_not_api_errors_and_name_their_ids() -> None:
    exc = PipelineRunFailedError("boom", pipeline_id="p1", task_id="t1", trace_id="tr1")
    assert isinstance(exc, RunError) and not isinstance(exc, ApiError)
    assert "boom" in str(exc) and "t1" in str(exc) and "p1" in str(exc) and "tr1" in str(exc)
    timeout = PollTimeoutError("slow", timeout=3.0, task_id="t2")
    assert isinstance(timeout, TimeoutError) and isinstance(timeout, RunError)
    assert timeout.timeout == 3.0


def test_handler_pickles_ids_only() -> None:
    client = Client(api_key="secret-key-123")
    handler = RunHandler(pipeline_id="p1", task_id="t1", trace_id="tr", client=client)
    data = pickle.dumps(handler)
    assert b"secret-key-123" not in data
    again = pickle.loads(data)
    assert again == handler and again.trace_id == "tr"


def test_handler_rejects_empty_ids() -> None:
    with pytest.raises(ValueError, match="task_id"):
        RunHandler(pipeline_id="p1", task_id="")


def test_client_hides_its_key() -> None:
    client = Client(api_key="secret-key-123")
    assert "secret-key-123" not in repr(client)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client)
