"""The dashboard's HTML: one page layout and the pipeline pages, every value escaped.

Server-rendered markup with :func:`html.escape` around each value that came from a user, a
pipeline or a model (:func:`e`); the only markup not built here is the pipeline diagram, itself
escaped (:mod:`vectorshift.local.dashboard_diagram`). Pages load one stylesheet and one script,
both served by the package (no CDN, no inline script or style: the CSP forbids them).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from vectorshift.local.dashboard_auth import Session
from vectorshift.local.records import PipelineRecord, VersionRecord

__all__ = ["PREFIX", "e", "login_page", "page", "pipeline_page", "pipelines_page", "pretty"]

PREFIX = "/_dashboard"
"""Where every dashboard route but ``/`` lives (the platform's are under ``/v1``)."""

_MAX_SHOWN = 20_000
"""Most characters of one value a page shows (the rest is cut, saying so)."""

_OPEN_INPUTS = 8
"""Nodes with more inputs than this show them folded (an LLM node has some forty)."""
_FIELD_KINDS = {
    "int32": ("number", "1"),
    "float": ("number", "any"),
}
_TEXT_TYPES = ("string", "timestamp", "stream<string>")
_JSON_TYPES = ("json", "vec<string>")


def e(value: object) -> str:
    """``value`` as text, escaped for HTML content and attribute values."""
    return escape(str(value), quote=True)


def link(path: str, **query: str | None) -> str:
    """A dashboard address with its query (``None`` values left out), escaped for ``href``."""
    given = {k: v for k, v in query.items() if v}
    return e(path + ("?" + urlencode(given) if given else ""))


def seg(value: str) -> str:
    """One path segment (an id), percent-encoded."""
    return quote(value, safe="")


def pretty(value: Any) -> str:
    """A value as indented JSON text (strings as they are), cut at :data:`_MAX_SHOWN`."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    )
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + f"\n... ({len(text) - _MAX_SHOWN} more characters)"
    return text


def page(
    title: str, body: str, session: Session | None, name: str, data: dict[str, str] | None = None
) -> str:
    """A whole page: head, header (navigation only with a session) and ``body``."""
    attrs = "".join(f' data-{k}="{e(v)}"' for k, v in (data or {}).items())
    meta = f'<meta name="csrf" content="{e(session.csrf)}">' if session else ""
    nav = ""
    if session is not None:
        nav = (
            f'<nav><a href="/">Pipelines</a><a href="{PREFIX}/runs">Runs</a>'
            f'<a href="{PREFIX}/state">Platform</a></nav>'
            f'<span class="org">organisation <b>{e(session.org)}</b></span>'
            f'<form method="post" action="{PREFIX}/logout" class="logout">'
            f'<input type="hidden" name="csrf" value="{e(session.csrf)}">'
            '<button type="submit">Log out</button></form>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{e(title)} \u00b7 vectorshift.local</title>{meta}"
        f'<link rel="stylesheet" href="{PREFIX}/static/dashboard.css">'
        f'<script src="{PREFIX}/static/dashboard.js" defer></script>'
        f'</head><body data-page="{e(name)}"{attrs}>'
        f'<header><a class="brand" href="/">vectorshift.local</a>{nav}</header>'
        f"<main>{body}</main></body></html>"
    )


def login_page(error: str | None = None) -> str:
    """The page shown without a session: a form asking for an API key, and nothing else."""
    problem = f'<p class="error">{e(error)}</p>' if error else ""
    body = (
        '<section class="login"><h1>Dashboard</h1>'
        "<p>Open the <code>dashboard:</code> address the server printed when it started, or "
        "give an API key this server accepts.</p>"
        f"{problem}"
        f'<form method="post" action="{PREFIX}/login">'
        '<label>API key <input type="password" name="api_key" autocomplete="off" '
        'required autofocus></label> <button type="submit">Open</button></form></section>'
    )
    return page("Log in", body, None, "login")


def _table(head: list[str], rows: list[str], empty: str, tbody_id: str = "") -> str:
    ident = f' id="{tbody_id}"' if tbody_id else ""
    cells = "".join(f"<th>{e(h)}</th>" for h in head)
    content = "".join(rows) or f'<tr class="empty"><td colspan="{len(head)}">{e(empty)}</td></tr>'
    return f"<table><thead><tr>{cells}</tr></thead><tbody{ident}>{content}</tbody></table>"


def pipelines_page(session: Session, pipelines: list[PipelineRecord], query: str) -> str:
    """The pipelines of the session's organisation, searched by name."""
    rows = [
        f'<tr><td><a href="{PREFIX}/pipelines/{seg(p.id)}">{e(p.name)}</a></td>'
        f"<td><code>{e(p.id)}</code></td><td>{len(p.nodes)}</td><td>{e(p.version)}</td>"
        f"<td>{e(p.modified)}</td></tr>"
        for p in pipelines
    ]
    body = (
        "<h1>Pipelines</h1>"
        '<form method="get" action="/" class="filters">'
        f'<input type="search" name="q" value="{e(query)}" placeholder="Search by name" '
        'aria-label="Search by name"> <button type="submit">Search</button></form>'
        + _table(
            ["Name", "Id", "Nodes", "Version", "Modified"],
            rows,
            "No pipeline matches." if query else "No pipeline yet.",
        )
    )
    return page("Pipelines", body, session, "pipelines")


def _node_rows(pipeline: PipelineRecord) -> list[str]:
    rows = []
    for node_id, node in pipeline.nodes.items():
        node = node if isinstance(node, dict) else {}
        given = node.get("inputs")
        inputs: dict[str, Any] = given if isinstance(given, dict) else {}
        shown = "".join(
            f"<div><b>{e(k)}</b>: <code>{e(pretty(v)[:300])}</code></div>"
            for k, v in inputs.items()
        )
        if len(inputs) > _OPEN_INPUTS:
            shown = f"<details><summary>{len(inputs)} inputs</summary>{shown}</details>"
        outputs = node.get("outputs")
        names = sorted(outputs) if isinstance(outputs, (dict, list)) else []
        rows.append(
            f"<tr><td>{e(node.get('name', ''))}</td><td><code>{e(node_id)}</code></td>"
            f"<td>{e(node.get('type', ''))}</td><td>{shown}</td>"
            f"<td>{e(', '.join(str(n) for n in names))}</td></tr>"
        )
    return rows


def _field(name: str, spec: Any) -> str:
    io_type = spec.get("io_type") if isinstance(spec, dict) else None
    label = f"<b>{e(name)}</b> <small>{e(io_type)}</small>"
    field = f"in:{name}"
    if io_type in _FIELD_KINDS:
        kind, step = _FIELD_KINDS[io_type]
        control = f'<input type="{kind}" step="{step}" name="{e(field)}">'
    elif io_type == "bool":
        control = (
            f'<select name="{e(field)}"><option value="false">false</option>'
            '<option value="true">true</option></select>'
        )
    elif io_type in _TEXT_TYPES:
        control = f'<textarea name="{e(field)}" rows="2"></textarea>'
    elif io_type in _JSON_TYPES:
        control = f'<textarea name="{e(field)}" rows="2" placeholder="JSON"></textarea>'
    else:
        control = "<em>not run from the dashboard (use the SDK)</em>"
    return f"<label>{label}{control}</label>"


def pipeline_page(
    session: Session,
    pipeline: PipelineRecord,
    versions: list[VersionRecord],
    diagram: str,
    error: str | None = None,
) -> str:
    """One pipeline: diagram, nodes with their inputs and outputs, versions, and a run form."""
    version_rows = [
        f"<tr><td>{e(v.version)}</td><td>{e(v.created)}</td><td>{e(v.description)}</td></tr>"
        for v in versions
    ]
    problem = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    fields = "".join(_field(name, spec) for name, spec in pipeline.inputs.items())
    form = (
        f'<form method="post" action="{PREFIX}/pipelines/{seg(pipeline.id)}/run" '
        f'class="run-form">{problem}'
        f'<input type="hidden" name="csrf" value="{e(session.csrf)}">'
        f"{fields or '<p>This pipeline takes no input.</p>'}"
        '<button type="submit" id="start-run">Start a run</button></form>'
    )
    body = (
        f"<h1>{e(pipeline.name)}</h1>"
        f'<p class="meta"><code>{e(pipeline.id)}</code> \u00b7 version {e(pipeline.version)}'
        f" \u00b7 modified {e(pipeline.modified)} \u00b7 "
        f'<a href="{link(PREFIX + "/runs", pipeline=pipeline.id)}">its runs</a></p>'
        + (f"<p>{e(pipeline.description)}</p>" if pipeline.description else "")
        + f'<section><h2>Diagram</h2><div class="diagram-box">{diagram}</div></section>'
        + "<section><h2>Run it</h2>"
        + form
        + "</section>"
        + "<section><h2>Nodes</h2>"
        + _table(["Name", "Id", "Type", "Inputs", "Outputs"], _node_rows(pipeline), "No node.")
        + "</section><section><h2>Versions</h2>"
        + _table(["Version", "Created", "Changelog"], version_rows, "No version.")
        + "</section>"
    )
    return page(pipeline.name, body, session, "pipeline")
