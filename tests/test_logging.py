"""Logging as a user meets it: silent until configured, then one readable format for all records."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from vectorshift import _log
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import logging, sys
from vectorshift import Client, NotFoundError, Pipeline, RetryPolicy, RunHandler

if sys.argv[3] != "unconfigured":  # as the docstring of vectorshift._log shows
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(sys.argv[4]))
    logging.getLogger("vectorshift").addHandler(handler)
    logging.getLogger("vectorshift").setLevel(getattr(logging, sys.argv[3]))
client = Client(
    base_url=sys.argv[1],
    api_key=sys.argv[2],
    retry=RetryPolicy(max_retries=2, backoff_base=0.01, max_backoff=0.02),
)
pipeline = Pipeline("quiet-logs", client=client)
query = pipeline.add(name="query").input()
llm = pipeline.add(name="llm").llm(provider="local", model="echo", prompt=query.text)
pipeline.add(name="answer").output(llm.response)
pipeline.save()
handler = pipeline.start({"query": "hi"})
print(handler.result(poll_interval=0.05, timeout=30).status)
try:
    RunHandler(pipeline_id=str(pipeline.id), task_id="no-such-run", client=client).run_status()
except NotFoundError:
    print("caught")
pipeline.delete()
"""
"""Saves a pipeline, waits for a run through the faults installed, and catches a 404."""


def run_user_script(server: LocalServer, faults: FaultInjector, level: str) -> str:
    """Run :data:`SCRIPT` in a fresh interpreter; returns its stderr."""
    # One status poll answers 503 (retried), one answers a status word the SDK does not know.
    faults.add(method="GET", path="/run/status/(?!no-such-run)", status=503, count=1)
    unknown = '{"status": "paused-by-operator"}'
    faults.add(method="GET", path="/run/status/(?!no-such-run)", status=200, body=unknown, count=1)
    documented = "%(levelname)s %(name)s: %(message)s task=%(task_id)s"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, server.base_url, server.api_key, level, documented],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["succeeded", "caught"]
    assert all(rule.fired == 1 for rule in faults.rules)
    return done.stderr


def test_nothing_reaches_stderr_unless_logging_is_configured(
    server: LocalServer, faults: FaultInjector
) -> None:
    # A retry, an unknown status (a WARNING) and a caught NotFoundError all happened.
    assert run_user_script(server, faults, "unconfigured") == ""


def test_configured_info_shows_news_once_and_no_caught_error(
    server: LocalServer, faults: FaultInjector
) -> None:
    stderr = run_user_script(server, faults, "INFO")
    assert "--- Logging error ---" not in stderr
    assert "vectorshift: vectorshift:" not in stderr
    assert "WARNING vectorshift: unknown run status 'paused-by-operator'" in stderr
    assert "INFO vectorshift: created pipeline 'quiet-logs'" in stderr
    assert "ended: succeeded task=" in stderr
    # The caller caught the 404, and the retried 503 recovered: neither is INFO news.
    # (Not a bare "503": a random task or trace id in the INFO lines may hold those digits.)
    assert "NotFoundError" not in stderr and "InternalServerError" not in stderr
    assert "(503 " not in stderr and " 503 " not in stderr


def test_configured_debug_formats_retries_and_raised_errors_with_every_field(
    server: LocalServer, faults: FaultInjector
) -> None:
    stderr = run_user_script(server, faults, "DEBUG")
    assert "--- Logging error ---" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("DEBUG vectorshift: ")]
    retried = [line for line in lines if "failed (503 InternalServerError" in line]
    assert len(retried) == 1 and "retry 1/2 in" in retried[0]
    assert any("status raised NotFoundError" in line for line in lines)
    assert all(" task=" in line for line in lines)


def test_the_documented_format_formats_records_of_every_logger_of_the_package(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="vectorshift")
    _log.get_logger("vectorshift.local").warning("a server record with %s", "no ids")
    _log.event(logging.INFO, "a client record", task_id="t-1")
    formatter = logging.Formatter(_log.DOCUMENTED_FORMAT)
    lines = [formatter.format(r) for r in caplog.records if r.name.startswith("vectorshift")]
    assert lines == [
        "WARNING vectorshift.local: a server record with no ids task= trace= pipeline= "
        "request= attempt=",
        "INFO vectorshift: a client record task=t-1 trace= pipeline= request= attempt=",
    ]
    with pytest.raises(ValueError, match="not a logger of the package"):
        _log.get_logger("elsewhere")


def test_a_lone_surrogate_from_a_server_never_reaches_a_handler_raw(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # JSON may carry "\ud800"; a UTF-8 log file, or a pipe to a test runner's controller,
    # cannot encode it, so the package writes it as its escape.
    with caplog.at_level(logging.DEBUG, logger="vectorshift"):
        _log.event(
            logging.WARNING,
            "unknown run status %r, then %s",
            "a\ud800",
            "b\udc00",
            task_id="t\ud83d",
            request_id="ok",
        )
    (record,) = [r for r in caplog.records if "unknown run status" in r.getMessage()]
    record.getMessage().encode("utf-8")
    assert "b\\udc00" in record.getMessage()
    assert record.task_id == "t\\ud83d" and record.request_id == "ok"


def test_an_interceptors_failure_is_logged_with_the_same_fields_as_every_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from vectorshift import _intercept, _log

    class Broken(_intercept.Interceptor):
        def on_operation_start(self, operation: _intercept.Operation) -> None:
            raise RuntimeError("broken")

    operation = _intercept.Operation("status", [Broken()], task_id="t\ud800", trace_id="tr")
    with caplog.at_level(logging.WARNING, logger="vectorshift"):
        _intercept.guarded(Broken().on_operation_start, operation)
    [record] = [r for r in caplog.records if "interceptor" in r.getMessage()]
    assert {name: getattr(record, name) for name in _log.FIELDS} == _log.fields(
        task_id="t\ud800", trace_id="tr"
    )
    assert record.task_id == "t\\ud800"  # a lone surrogate is written as its escape
