"""The dashboard's run pages and the platform's state, as escaped HTML.

The live parts (the runs list updating, a run's token stream, the terminate button) are filled
by ``dashboard_static/dashboard.js`` from the JSON and event routes of
:mod:`vectorshift.local.dashboard`; what these pages render is the state when they were asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vectorshift.local.dashboard_auth import Session
from vectorshift.local.dashboard_html import PREFIX, _table, e, link, page, pretty, seg
from vectorshift.local.faults import FaultRule
from vectorshift.local.recording import LLMCall
from vectorshift.local.records import RUN_STATUSES, PipelineRecord, RunRecord

__all__ = ["duration", "run_page", "runs_page", "state_page"]


def duration(record: RunRecord) -> str:
    """The run's duration (``""`` while running or when its times do not parse)."""
    if record.finished is None:
        return ""
    try:
        seconds = (
            datetime.fromisoformat(record.finished) - datetime.fromisoformat(record.created)
        ).total_seconds()
    except ValueError:
        return ""
    return f"{seconds:.2f} s"


def run_row(record: RunRecord, pipeline_name: str) -> str:
    """One row of the runs list (the script builds the same ones when it refreshes)."""
    return (
        f'<tr><td><a href="{PREFIX}/runs/{seg(record.task_id)}"><code>{e(record.task_id)}'
        f"</code></a></td><td>{e(pipeline_name)}</td>"
        f'<td><span class="status s-{e(record.status)}">{e(record.status)}</span></td>'
        f"<td>{e(record.created)}</td><td>{e(duration(record))}</td></tr>"
    )


def runs_page(
    session: Session, runs: list[RunRecord], names: Mapping[str, str], status: str, pipeline_id: str
) -> str:
    """The organisation's runs, newest first, filtered by status and pipeline; live."""
    statuses = "".join(
        f'<option value="{e(s)}"{" selected" if s == status else ""}>{e(s or "any")}</option>'
        for s in ("", *RUN_STATUSES)
    )
    pipelines = "".join(
        f'<option value="{e(pid)}"{" selected" if pid == pipeline_id else ""}>{e(name)}</option>'
        for pid, name in [("", "any"), *sorted(names.items(), key=lambda item: item[1])]
    )
    body = (
        "<h1>Runs</h1>"
        f'<form method="get" action="{PREFIX}/runs" class="filters">'
        f'<label>Status <select name="status">{statuses}</select></label> '
        f'<label>Pipeline <select name="pipeline">{pipelines}</select></label> '
        '<button type="submit">Filter</button> <span id="live" class="live">live</span></form>'
        + _table(
            ["Run", "Pipeline", "Status", "Started", "Duration"],
            [run_row(r, names.get(r.pipeline_id, r.pipeline_id)) for r in runs],
            "No run matches.",
            tbody_id="runs-body",
        )
    )
    data = {"status": status, "pipeline": pipeline_id}
    return page("Runs", body, session, "runs", data)


def _dl(items: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _call(call: LLMCall, index: int) -> str:
    origin = (
        f"scripted ({call.rule})"
        if call.scripted and call.rule
        else ("scripted" if call.scripted else call.provider)
    )
    error = f'<p class="error">{e(call.error)}</p>' if call.error else ""
    system = f"<h4>System</h4><pre>{e(pretty(call.system))}</pre>" if call.system else ""
    return (
        f'<article class="llm-call"><h3>{index}. {e(call.node_name)} '
        f"<small>{e(call.provider)} / {e(call.model)} \u00b7 {e(origin)}</small></h3>{error}"
        f"{system}<h4>Prompt</h4><pre>{e(pretty(call.prompt))}</pre>"
        f'<h4>Answer</h4><pre class="answer">{e(pretty(call.answer))}</pre></article>'
    )


def run_page(
    session: Session,
    record: RunRecord,
    pipeline: PipelineRecord | None,
    calls: list[LLMCall],
    requests: list[tuple[str, str, str, int | None]],
    idempotency_key: str | None,
) -> str:
    """A run: status, timings, ids, inputs, outputs, its live stream and its LLM calls."""
    name = pipeline.name if pipeline is not None else record.pipeline_id
    traceparent = getattr(record, "traceparent", None)  # recorded by servers that keep it
    live = not record.terminal
    ids = _dl(
        [
            (
                "Status",
                f'<span id="run-status" class="status s-{e(record.status)}">'
                f"{e(record.status)}</span>",
            ),
            ("Pipeline", f'<a href="{PREFIX}/pipelines/{seg(record.pipeline_id)}">{e(name)}</a>'),
            ("Started", e(record.created)),
            ("Finished", e(record.finished or "")),
            ("Duration", e(duration(record))),
            ("Trace id", f"<code>{e(record.trace_id)}</code>"),
            (
                "Trace context",
                f"<code>{e(traceparent)}</code>"
                if traceparent
                else "<em>not recorded with this run</em>",
            ),
            (
                "Idempotency key",
                f"<code>{e(idempotency_key)}</code>" if idempotency_key else "<em>none</em>",
            ),
            ("Simulated providers", e(", ".join(record.simulated) or "none")),
        ]
    )
    error = f'<p class="error" id="run-error">{e(record.error)}</p>' if record.error else ""
    terminate = (
        '<button type="button" id="terminate" class="danger">Terminate</button>' if live else ""
    )
    request_rows = [
        f"<tr><td>{e(method)}</td><td><code>{e(path)}</code></td><td><code>{e(rid)}</code></td>"
        f"<td>{e(status if status is not None else '')}</td></tr>"
        for method, path, rid, status in requests
    ]
    calls_html = "".join(_call(c, i + 1) for i, c in enumerate(calls)) or (
        "<p><em>No LLM call kept for this run (calls are kept while the server runs, the "
        "last ones only).</em></p>"
    )
    body = (
        f"<h1>Run <code>{e(record.task_id)}</code></h1>{error}"
        f'<div class="actions">{terminate}<span id="action-result"></span></div>'
        + _dl_section("Run", ids)
        + f"<section><h2>Inputs</h2><pre>{e(pretty(record.inputs))}</pre></section>"
        + "<section><h2>Final outputs</h2>"
        + (
            f"<pre>{e(pretty(record.outputs))}</pre>"
            if record.outputs is not None
            else f"<p><em>{'None yet: the run is in progress.' if live else 'None.'}</em></p>"
        )
        + "</section>"
        + '<section><h2>Stream</h2><p class="hint">Token deltas of streamed outputs, as the '
        'run sends them <span id="stream-state"></span></p><div id="stream"></div></section>'
        + '<section><h2>Intermediate outputs</h2><div id="intermediate">'
        "<p><em>None yet.</em></p></div></section>"
        + f"<section><h2>LLM calls</h2>{calls_html}</section>"
        + "<section><h2>Requests</h2>"
        + _table(
            ["Method", "Path", "Request id", "Status"],
            request_rows,
            "No request of this run seen since the server started.",
        )
        + "</section>"
    )
    data = {"run": record.task_id, "live": "1" if live else "0"}
    return page(f"Run {record.task_id}", body, session, "run", data)


def _dl_section(title: str, content: str) -> str:
    return f"<section><h2>{e(title)}</h2>{content}</section>"


def _rule(rule: FaultRule) -> str:
    does = []
    if rule.status is not None:
        does.append(f"answer {rule.status}")
    if rule.delay:
        does.append(f"delay {rule.delay:g} s")
    if rule.drop:
        does.append("drop the connection")
    if rule.cut_after_frames is not None:
        does.append(f"cut streams after {rule.cut_after_frames} frames")
    left = "" if rule.count is None else str(max(rule.count - rule.fired, 0))
    return (
        f"<tr><td>{e(rule.name or '')}</td><td>{e(rule.method)}</td><td><code>{e(rule.path)}"
        f"</code></td><td>{e(', '.join(does))}</td><td>{e(rule.when)}</td>"
        f"<td>{e(rule.probability)}</td><td>{e(rule.fired)}</td><td>{e(left)}</td></tr>"
    )


def state_page(
    session: Session,
    rules: list[FaultRule],
    limits: list[tuple[str, Any]],
    active: Mapping[str, int],
    counts: Mapping[str, int],
) -> str:
    """The platform's state: fault rules in force, limits, active runs per organisation."""
    active_rows = [f"<tr><td>{e(org)}</td><td>{n}</td></tr>" for org, n in active.items()]
    limit_rows = [f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in limits]
    count_rows = [f"<tr><td>{e(k)}</td><td>{n}</td></tr>" for k, n in counts.items()]
    body = (
        "<h1>Platform</h1>"
        "<section><h2>Active runs per organisation</h2>"
        + _table(["Organisation", "Runs in progress"], active_rows, "No run in progress.")
        + "</section><section><h2>Fault rules in force</h2>"
        + _table(
            ["Name", "Method", "Path", "Does", "When", "Probability", "Fired", "Left"],
            [_rule(r) for r in rules],
            "No fault rule.",
        )
        + "</section><section><h2>Limits</h2>"
        + _table(["Setting", "Value"], limit_rows, "")
        + f"</section><section><h2>Runs of {e(session.org)} by status</h2>"
        + _table(["Status", "Runs"], count_rows, "")
        + f'</section><p><a href="{link(PREFIX + "/state")}">Refresh</a></p>'
    )
    return page("Platform", body, session, "state")
