"""The dashboard served by ``vectorshift.local``: what ran, why it failed, what runs now.

Served beside the platform's API by a server started with ``dashboard=True`` (the command line
always does): ``/`` and everything under ``/_dashboard/`` go to the dashboard, the rest (``/v1``)
to the platform unchanged. Nothing else is needed: the pages are HTML rendered here
(:mod:`~vectorshift.local.dashboard_html`, :mod:`~vectorshift.local.dashboard_pages`), styled and
made live by one stylesheet and one script shipped in ``dashboard_static/`` (no CDN, no build).

Routes (``P`` = ``/_dashboard``): ``/`` pipelines (``?q=`` searches names), ``P/pipelines/<id>``
one pipeline, ``P/runs`` runs (``?status=&pipeline=``), ``P/runs/<task id>`` one run,
``P/state`` the platform's state; ``P/api/runs`` and ``P/api/runs/<task id>`` JSON for the live
parts, ``P/api/runs/<task id>/events`` the run's frames as server-sent events (``id:`` per frame,
``Last-Event-ID`` resumes, as the platform's events route); POST ``P/login``, ``P/logout``,
``P/pipelines/<id>/run`` and ``P/runs/<task id>/terminate``. Who may do what is
:mod:`~vectorshift.local.dashboard_auth`.

Every response carries ``Content-Security-Policy: default-src 'self'`` (no inline script or
style, no frame ancestors), ``X-Frame-Options: DENY``, ``no-store`` and
``Referrer-Policy: same-origin`` (no address of the dashboard leaves it; ``no-referrer`` would
make Chromium send ``Origin: null`` on its own forms).
"""

from __future__ import annotations

import json
import uuid
from importlib.resources import files
from typing import Any, cast
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectorshift.local.app_sharing import access
from vectorshift.local.dashboard_auth import DashboardAuth, Session, same_origin
from vectorshift.local.dashboard_diagram import diagram_css, pipeline_svg
from vectorshift.local.dashboard_html import (
    PREFIX,
    e,
    login_page,
    page,
    pipeline_page,
    pipelines_page,
)
from vectorshift.local.dashboard_log import RunRequestLog
from vectorshift.local.dashboard_pages import duration, run_page, runs_page, state_page
from vectorshift.local.providers import describe_providers
from vectorshift.local.records import RunRecord
from vectorshift.local.responses import event_stream
from vectorshift.local.run_inputs import run_inputs
from vectorshift.local.sqlite_listing import ListingStore
from vectorshift.local.validation import Refusal

__all__ = ["dashboard_router"]

_STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
_MAX_FORM = 1024 * 1024
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
        b"form-action 'self'; object-src 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class _Guarded:
    """ASGI middleware adding the security headers to every dashboard response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in _HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k not in names]
                message = {**message, "headers": kept + _HEADERS}
            await send(message)

        await self.app(scope, receive, with_headers)


class _Router:
    """``/`` and ``/_dashboard/...`` to the dashboard, everything else to the platform."""

    def __init__(self, platform: ASGIApp, dashboard: ASGIApp) -> None:
        self.platform = platform
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == "/" or path.startswith(PREFIX + "/")):
            await self.dashboard(scope, receive, send)
        else:
            await self.platform(scope, receive, send)


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return HTMLResponse(body, status_code=status, headers=headers)


def _see(location: str, cookie: str | None = None) -> Response:
    headers = {"Location": location}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Response(status_code=303, headers=headers)


def _form_value(io_type: Any, text: str) -> Any:
    """A form field's text as the value of its input's type (refused as the API would)."""
    if io_type in ("int32", "float", "bool", "json", "vec<string>"):
        if io_type in ("json", "vec<string>") and not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text  # run_inputs names the input and its expected type
    return text


class _Dashboard:
    """The handlers, sharing the platform application's state."""

    def __init__(self, platform: Starlette, auth: DashboardAuth, log: RunRequestLog) -> None:
        self.state = platform.state
        self.store = cast(ListingStore, platform.state.store)
        self.auth = auth
        self.log = log

    # Sessions ---------------------------------------------------------------------------------

    def _session(self, request: Request) -> Session | Response:
        """The request's session; else the response to give (token redirect or login page)."""
        token = request.query_params.get("token")
        if token is not None:
            session_id = self.auth.open_with_token(token)
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            location = request.url.path + ("?" + urlencode(rest) if rest else "")
            cookie = None if session_id is None else self.auth.cookie_header(session_id)
            return _see(location, cookie)
        session = self.auth.session(request)
        if session is None:
            if request.url.path.startswith(PREFIX + "/api/"):
                return JSONResponse({"error": "log in to the dashboard first"}, 401)
            return _html(login_page(), 401)
        return session

    def _refused(self, session: Session, status: int, message: str) -> Response:
        body = f'<h1>{e(status)}</h1><p class="error">{e(message)}</p>'
        return _html(page("Not available", body, session, "error"), status)

    async def login(self, request: Request) -> Response:
        if not same_origin(request):
            return _html(login_page("This form only works from the dashboard's own page."), 403)
        form = await request.form(max_files=0, max_fields=4)
        session_id = self.auth.open_with_key(str(form.get("api_key") or ""))
        if session_id is None:
            return _html(login_page("This server does not accept that key."), 401)
        return _see("/", self.auth.cookie_header(session_id))

    async def logout(self, request: Request) -> Response:
        session = self.auth.session(request)
        if session is not None:
            form = await request.form(max_files=0, max_fields=4)
            if self.auth.may_change(request, session, str(form.get("csrf") or "")):
                self.auth.close(request)
        return _see("/", self.auth.expired_cookie())

    # Pages ------------------------------------------------------------------------------------

    async def pipelines(self, request: Request) -> Response:
        session = self._session(request)
        if isinstance(session, Response):
            return session
        query = request.query_params.get("q", "")[:200]
        found = await self.store.visible_pipelines(
            session.org, offset=0, limit=1000, include_shared=True
        )
        wanted = query.casefold()
        shown = [p for p, _ in found if wanted in p.name.casefold()]
        return _html(pipelines_page(session, shown, query))

    async def pipeline(
        self, request: Request, error: str | None = None, status: int = 200
    ) -> Response:
        session = self._session(request)
        if isinstance(session, Response):
            return session
        try:
            record, _ = await access(self.store, session.org, request.path_params["pipeline_id"])
        except Refusal as exc:
            return self._refused(session, exc.status, str(exc))
        versions = await self.store.list_versions(record.org, record.id)
        html = pipeline_page(session, record, versions, pipeline_svg(record), error)
        return _html(html, status)

    async def runs(self, request: Request) -> Response:
        session = self._session(request)
        if isinstance(session, Response):
            return session
        status = request.query_params.get("status", "")
        pipeline_id = request.query_params.get("pipeline", "")
        records = await self.store.list_runs(
            session.org, status=status or None, pipeline_id=pipeline_id or None
        )
        names = await self._names(session.org)
        return _html(runs_page(session, records, names, status, pipeline_id))

    async def _names(self, org: str) -> dict[str, str]:
        found = await self.store.visible_pipelines(org, offset=0, limit=1000, include_shared=True)
        return {p.id: p.name for p, _ in found}

    async def run(self, request: Request) -> Response:
        session = self._session(request)
        if isinstance(session, Response):
            return session
        task_id = request.path_params["task_id"]
        record = await self.store.get_run(session.org, task_id)
        if record is None:
            return self._refused(session, 404, f"run {task_id[:100]!r} not found")
        pipeline = await self.store.get_pipeline(session.org, record.pipeline_id)
        if pipeline is None:
            shared = await self.store.shared_pipeline(session.org, record.pipeline_id)
            pipeline = shared[0] if shared is not None else None
        recorder = self.state.recorder
        html = run_page(
            session,
            record,
            pipeline,
            recorder.calls_of_run(task_id),
            self.log.of_run(task_id),
            await self.store.idempotency_key(session.org, task_id),
        )
        return _html(html)

    async def platform_state(self, request: Request) -> Response:
        session = self._session(request)
        if isinstance(session, Response):
            return session
        config = self.state.runs.config
        limits = [
            ("max_active_runs (per organisation)", config.max_active_runs),
            ("active runs in this process", self.state.runs.active_count),
            ("max_value_size (characters)", config.max_value_size),
            ("max_run_size (characters)", config.max_run_size),
            ("max_body_bytes", config.max_body_bytes),
            ("max_connections", config.max_connections),
            ("header_timeout (s)", config.header_timeout),
            ("body_timeout (s)", config.body_timeout),
            ("retain (s)", config.retain),
            ("providers", describe_providers(config.provider_config())),
        ]
        html = state_page(
            session,
            self.state.faults.rules,
            limits,
            await self.store.active_runs_by_org(),
            await self.store.run_counts(session.org),
        )
        return _html(html)

    # Actions ----------------------------------------------------------------------------------

    async def start_run(self, request: Request) -> Response:
        session = self._session(request)
        if isinstance(session, Response):
            return session
        if int(request.headers.get("content-length") or 0) > _MAX_FORM:
            return self._refused(session, 413, "the form is too large")
        form = await request.form(max_files=0, max_fields=1000)
        if not self.auth.may_change(request, session, str(form.get("csrf") or "")):
            return self._refused(
                session,
                403,
                "refused: not a same-origin request of this "
                "session (reload the page and try again)",
            )
        try:
            record, _ = await access(self.store, session.org, request.path_params["pipeline_id"])
            given = {
                name: _form_value(
                    spec.get("io_type") if isinstance(spec, dict) else None, str(form[f"in:{name}"])
                )
                for name, spec in record.inputs.items()
                if f"in:{name}" in form
            }
            given = {k: v for k, v in given.items() if v is not None}
            inputs = run_inputs(record, given, "")
            started = [(inputs, uuid.uuid4().hex)]
            records, _ = await self.state.runs.start(
                session.org, record, started, intermediate_results=True
            )
        except Refusal as exc:
            return await self.pipeline(request, str(exc), exc.status)
        except Exception as exc:  # the run limit, a stopping server: said on the page
            return await self.pipeline(request, f"the run did not start: {exc}", 503)
        return _see(f"{PREFIX}/runs/{records[0].task_id}")

    async def terminate(self, request: Request) -> Response:
        session = self.auth.session(request)
        if session is None:
            return JSONResponse({"error": "log in to the dashboard first"}, 401)
        if not self.auth.may_change(request, session, None):
            return JSONResponse(
                {"error": "refused: not a same-origin request of this session"}, 403
            )
        record = await self.store.get_run(session.org, request.path_params["task_id"])
        if record is None:
            return JSONResponse({"error": "run not found"}, 404)
        final = await self.state.runs.terminate(record)
        return JSONResponse({"status": final.status})

    # Live parts -------------------------------------------------------------------------------

    async def api_runs(self, request: Request) -> Response:
        session = self._session(request)
        if isinstance(session, Response):
            return session
        records = await self.store.list_runs(
            session.org,
            status=request.query_params.get("status") or None,
            pipeline_id=request.query_params.get("pipeline") or None,
        )
        names = await self._names(session.org)
        return JSONResponse(
            {
                "runs": [
                    {
                        "task_id": r.task_id,
                        "pipeline_id": r.pipeline_id,
                        "pipeline": names.get(r.pipeline_id, r.pipeline_id),
                        "status": r.status,
                        "created": r.created,
                        "duration": duration(r),
                    }
                    for r in records
                ]
            }
        )

    async def _api_record(self, request: Request) -> RunRecord | Response:
        """The session's run named by the path, or the JSON refusal to answer."""
        session = self._session(request)
        if isinstance(session, Response):
            return session
        record = await self.store.get_run(session.org, request.path_params["task_id"])
        return JSONResponse({"error": "run not found"}, 404) if record is None else record

    async def api_run(self, request: Request) -> Response:
        record = await self._api_record(request)
        if isinstance(record, Response):
            return record
        return JSONResponse(
            {
                **record.to_status(),
                "outputs": record.outputs,
                "finished": record.finished,
                "duration": duration(record),
            }
        )

    async def api_events(self, request: Request) -> Response:
        record = await self._api_record(request)
        if isinstance(record, Response):
            return record
        given = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        # Digits only (ASCII: "²" is a digit to isdigit), and fewer than MAX_EVENT_ID's 19.
        after = int(given) if given.isascii() and given.isdigit() and len(given) < 19 else 0
        return event_stream(self.state.runs, record, after, prelude=b"retry: 1000\n\n")

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return Response("not found", 404, media_type="text/plain")
        data = (files("vectorshift.local") / "dashboard_static" / name).read_bytes()
        if name == "dashboard.css":  # the diagram's rules: the CSP refuses them inline
            data += b"\n" + diagram_css().encode()
        return Response(data, media_type=_STATIC[name])


def dashboard_router(platform: Starlette, *, token: str, port: int) -> ASGIApp:
    """The platform's application with the dashboard beside it.

    Args:
        platform: The application of :func:`~vectorshift.local.app.create_app`.
        token: This start's dashboard token.
        port: The port served (it names the session cookie).

    Returns:
        An ASGI application routing ``/`` and ``/_dashboard/...`` to the dashboard.
    """
    log = RunRequestLog(platform)
    auth = DashboardAuth(token, platform.state.runs.config.api_keys, port)
    d = _Dashboard(platform, auth, log)
    routes = [
        Route("/", d.pipelines, methods=["GET"]),
        Route(PREFIX + "/login", d.login, methods=["POST"]),
        Route(PREFIX + "/logout", d.logout, methods=["POST"]),
        Route(PREFIX + "/pipelines/{pipeline_id}", d.pipeline, methods=["GET"]),
        Route(PREFIX + "/pipelines/{pipeline_id}/run", d.start_run, methods=["POST"]),
        Route(PREFIX + "/runs", d.runs, methods=["GET"]),
        Route(PREFIX + "/runs/{task_id}", d.run, methods=["GET"]),
        Route(PREFIX + "/runs/{task_id}/terminate", d.terminate, methods=["POST"]),
        Route(PREFIX + "/state", d.platform_state, methods=["GET"]),
        Route(PREFIX + "/api/runs", d.api_runs, methods=["GET"]),
        Route(PREFIX + "/api/runs/{task_id}", d.api_run, methods=["GET"]),
        Route(PREFIX + "/api/runs/{task_id}/events", d.api_events, methods=["GET"]),
        Route(PREFIX + "/static/{name}", d.static, methods=["GET"]),
    ]
    app = _Guarded(Starlette(routes=routes))
    return _Router(log, app)
