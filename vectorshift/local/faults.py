"""Fault injection for the local server: error statuses, delays, dropped connections, cut streams.

Rules are plain data, so they come from Python at run time (``server.faults.add(...)``) or from
the command line (``--faults '<json>'``). The first rule that matches a request *and* fires decides
what happens to it; requests no rule fires on are served normally. Every request is counted, so
tests can assert how many attempts a client made.

Example:
    >>> injector = FaultInjector()
    >>> rule = injector.add(method="POST", path=r"/run$", status=503, retry_after=1, count=2)
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_KEY = "vectorshift.request_id"
"""Scope key holding the request id (set by the application)."""

TRANSPORT_KEY = "vectorshift.transport"
"""Scope key holding the server's transport for the connection, when the server exposes one."""

_ID_SEGMENT = re.compile(r"^(?:[0-9a-f]{24}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$")


class ConnectionDropped(Exception):
    """Raised to abandon a response when the server gives no way to close the connection."""


@dataclass
class FaultRule:
    """One fault: which requests it matches, how often it fires, and what it does.

    Attributes:
        method: HTTP method to match (``"*"`` for any).
        path: Regular expression searched in the request path (``/v1/...``), or in the path
            followed by ``?`` and the query string.
        status: Answer this status instead of serving the request.
        retry_after: ``Retry-After`` header (seconds) sent with ``status``.
        body: Raw response body sent with ``status`` (default: a JSON error body).
        probability: Chance that a matching request fires the rule.
        count: Fire on the first ``count`` matching requests only (``None``: no limit).
        delay: Seconds to wait before acting (alone, it just slows the request down).
        drop: Close the connection without any response.
        cut_after_frames: For event streams: close the connection after this many frames.
        when: ``"before"`` acts instead of the handler; ``"after"`` lets the handler do its work
            (start the run, save the pipeline...) and then replaces its response by the fault,
            like a response lost on the way back.
        name: A label for tests.
        matched: Requests matched so far.
        fired: Times the rule fired so far.
    """

    method: str = "*"
    path: str = ""
    status: int | None = None
    retry_after: float | None = None
    body: str | None = None
    probability: float = 1.0
    count: int | None = None
    delay: float = 0.0
    drop: bool = False
    cut_after_frames: int | None = None
    when: Literal["before", "after"] = "before"
    name: str | None = None
    matched: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not isinstance(self.path, str):
            raise ValueError("fault rule: method and path must be strings")
        self.method = self.method.upper()
        try:
            self._pattern = re.compile(self.path)
        except re.error as exc:
            raise ValueError(f"fault rule: invalid path regex {self.path!r}: {exc}") from None
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"fault rule: status must be an HTTP status, got {self.status}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"fault rule: probability must be in [0, 1], got {self.probability}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"fault rule: count must be >= 0, got {self.count}")
        if self.delay < 0:
            raise ValueError(f"fault rule: delay must be >= 0, got {self.delay}")
        if self.cut_after_frames is not None and self.cut_after_frames < 0:
            raise ValueError("fault rule: cut_after_frames must be >= 0")
        if self.when not in ("before", "after"):
            raise ValueError(f"fault rule: when must be 'before' or 'after', got {self.when!r}")
        if self.when == "after" and self.status is None and not self.drop:
            raise ValueError("fault rule: when='after' needs a status or drop")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """Build a rule from its JSON form, rejecting unknown keys."""
        known = {f.name for f in fields(cls)} - {"matched", "fired"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"fault rule: unknown key(s) {unknown}; known: {sorted(known)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"fault rule: {exc}") from None

    def matches(self, method: str, target: str) -> bool:
        """Whether the rule applies to a request (regardless of whether it fires).

        ``target`` is the path, followed by ``?`` and the query string when there is one; the
        regex may match either the path alone or the whole target.
        """
        return self.method in ("*", method) and _search(self._pattern, target)


def _search(pattern: re.Pattern[str], target: str) -> bool:
    path = target.partition("?")[0]
    return pattern.search(path) is not None or pattern.search(target) is not None


def parse_rules(text: str) -> list[FaultRule]:
    """Parse rules from JSON: one rule object or a list of them.

    Raises:
        ValueError: Invalid JSON or an invalid rule.
    """
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise ValueError("faults must be a JSON object or a list of JSON objects")
    return [FaultRule.from_dict(item) for item in items]


def route_key(method: str, path: str) -> str:
    """``"POST /v1/pipeline/{id}/run"``: the path with id-like segments replaced by ``{id}``."""
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


class FaultInjector:
    """The rules in force and request counters; thread-safe (tests change it while serving).

    Args:
        rules: Initial rules, as :class:`FaultRule` objects or their JSON form.
        seed: Seed of the random source used by ``probability``.
    """

    def __init__(
        self, rules: Iterable[FaultRule | dict[str, Any]] = (), *, seed: int | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)
        self._counts: Counter[tuple[str, str]] = Counter()
        for rule in rules:
            self.add(rule)

    def add(self, rule: FaultRule | dict[str, Any] | None = None, **fields: Any) -> FaultRule:
        """Install a rule (after the existing ones) and return it.

        Example:
            >>> FaultInjector().add(path=r"/run/status/", status=500, count=1).status
            500
        """
        if rule is None:
            rule = FaultRule.from_dict(fields)
        elif isinstance(rule, dict):
            rule = FaultRule.from_dict({**rule, **fields})
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Uninstall a rule."""
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self) -> None:
        """Uninstall every rule and reset the counters."""
        with self._lock:
            self._rules.clear()
            self._counts.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """The installed rules, in matching order."""
        with self._lock:
            return list(self._rules)

    def counts(self) -> dict[str, int]:
        """Requests seen per route, keyed like :func:`route_key`."""
        with self._lock:
            totals: Counter[str] = Counter()
            for (method, target), n in self._counts.items():
                totals[route_key(method, target.partition("?")[0])] += n
            return dict(totals)

    def seen(self, method: str = "*", path: str = "") -> int:
        """Requests seen with this method whose path (or path and query) matches ``path``."""
        pattern = re.compile(path)
        with self._lock:
            return sum(
                n
                for (m, t), n in self._counts.items()
                if method in ("*", m) and _search(pattern, t)
            )

    def _select(self, method: str, target: str) -> FaultRule | None:
        with self._lock:
            self._counts[(method, target)] += 1
            for rule in self._rules:
                if not rule.matches(method, target):
                    continue
                rule.matched += 1
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None


class FaultMiddleware:
    """ASGI middleware applying a :class:`FaultInjector`'s rules to HTTP requests.

    Args:
        app: The wrapped application.
        injector: The rules and counters.
    """

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"{scope['path']}?{query}" if query else scope["path"]
        rule = self.injector._select(scope["method"], target)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.when == "after":
            await self.app(scope, receive, _swallow)
        if rule.delay:
            await anyio.sleep(rule.delay)
        if rule.drop:
            await _drop(scope, receive)
        elif rule.status is not None:
            await _respond(scope, send, rule)
        elif rule.cut_after_frames is not None:
            await self.app(scope, receive, _FrameCutter(scope, send, rule.cut_after_frames))
        else:
            await self.app(scope, receive, send)


async def _swallow(message: Message) -> None:
    """Discard a response: the handler ran, its answer is lost."""


async def _drop(scope: Scope, receive: Receive) -> None:
    transport = scope.get(TRANSPORT_KEY)
    if transport is None:
        raise ConnectionDropped("fault injection: connection dropped")
    transport.abort()
    with anyio.move_on_after(1.0):
        while (await receive())["type"] != "http.disconnect":
            pass


async def _respond(scope: Scope, send: Send, rule: FaultRule) -> None:
    assert rule.status is not None
    if rule.body is not None:
        body, media = rule.body.encode(), b"text/plain; charset=utf-8"
    else:
        error = {
            "status": "failed",
            "error": f"fault injected by vectorshift.local: HTTP {rule.status}",
            "request_id": scope.get(REQUEST_ID_KEY),
        }
        body, media = json.dumps(error).encode(), b"application/json"
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    if rule.retry_after is not None:
        headers.append((b"retry-after", f"{rule.retry_after:g}".encode()))
    await send({"type": "http.response.start", "status": rule.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _FrameCutter:
    """A ``send`` that passes an event stream through and cuts the connection after N frames.

    Frames end with a blank line; a block holding only comment lines (``: keep-alive``) is not a
    frame. Chunks may split frames anywhere, so the unfinished tail is kept for the next chunk.
    """

    def __init__(self, scope: Scope, send: Send, limit: int) -> None:
        self._scope = scope
        self._send = send
        self._left = limit
        self._tail = b""
        self._cut = False

    async def __call__(self, message: Message) -> None:
        if self._cut:
            return
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        data: bytes = message.get("body", b"")
        combined, start, send_upto = self._tail + data, 0, None
        while self._left > 0:
            end = combined.find(b"\n\n", start)
            if end < 0:
                break
            block, start = combined[start:end], end + 2
            if any(line and not line.startswith(b":") for line in block.split(b"\n")):
                self._left -= 1
                if self._left == 0:
                    send_upto = start - len(self._tail)
        if self._left > 0:
            self._tail = combined[start:]
            await self._send(message)
            return
        if send_upto:
            chunk = data[:send_upto]
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})
        self._cut = True
        transport = self._scope.get(TRANSPORT_KEY)
        if transport is None:
            raise ConnectionDropped("fault injection: stream cut")
        transport.abort()
