"""The request ids of each run, for the dashboard: which API requests started or watched it.

:class:`RunRequestLog` wraps the platform's application. A request whose path names a run
(status, events) is noted under that run; a request starting runs is noted under each run it
started, learnt through :data:`vectorshift.local.recording.STARTING` (the run manager tells
the recorder of each start in the request's own context). Kept in memory and bounded: the last
:data:`MAX_RUNS` runs, :data:`MAX_PER_RUN` requests each.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectorshift.local.recording import STARTING

__all__ = ["RunRequestLog"]

MAX_RUNS = 2000
MAX_PER_RUN = 50
_RUN_PATH = re.compile(r"/run/(?:status|events)/([^/]+)$")

Entry = tuple[str, str, str, "int | None"]
"""(method, path, request id, status answered)."""


class RunRequestLog:
    """ASGI middleware noting the ``X-Request-Id`` of every request about a run."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, list[list[object]]] = OrderedDict()

    def of_run(self, task_id: str) -> list[tuple[str, str, str, int | None]]:
        """The requests noted for a run, oldest first."""
        with self._lock:
            entries = list(self._runs.get(task_id, ()))
        return [
            (str(m), str(p), str(r), s if isinstance(s, int) else None) for m, p, r, s in entries
        ]

    def _note(self, task_id: str, entry: list[object]) -> None:
        with self._lock:
            entries = self._runs.setdefault(task_id, [])
            self._runs.move_to_end(task_id)
            if len(entries) < MAX_PER_RUN:
                entries.append(entry)
            while len(self._runs) > MAX_RUNS:
                self._runs.popitem(last=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        named = _RUN_PATH.search(path)
        starting = scope["method"] == "POST" and path.endswith(("/run", "/bulk-run", "/bulk_run"))
        if named is None and not starting:
            await self.app(scope, receive, send)
            return
        entry: list[object] = [scope["method"], path, "", None]
        started: list[str] = []
        token = STARTING.set(started) if starting else None

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry[3] = int(message["status"])
                for name, value in message.get("headers", []):
                    if name == b"x-request-id":
                        entry[2] = value.decode("latin-1")
                for task_id in started if named is None else [named.group(1)]:
                    self._note(task_id, entry)
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            if token is not None:
                STARTING.reset(token)
