"""Refuse requests whose ``Host`` is not the loopback server's own name (DNS rebinding).

A web page can make its own name resolve to 127.0.0.1 and then talk to a server on loopback
as if it were its own origin; the browser still sends the page's name as ``Host``. A server
listening on loopback is only ever reached honestly as ``127.0.0.1:<port>``,
``localhost:<port>`` or ``[::1]:<port>`` (and its own bound address), so any other ``Host``
is answered 421 with a message naming it. A server bound beyond loopback cannot know the names
it is reached by, and checks nothing (the command warns when it starts so).
"""

from __future__ import annotations

import ipaddress
import json

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HostGuard", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only listens on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` values a server listening on ``host:port`` (loopback) accepts."""
    names = {"127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host}
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names
    return frozenset(name.lower() for name in hosts)


class HostGuard:
    """ASGI middleware answering 421 to a request with a foreign ``Host`` header."""

    def __init__(self, app: ASGIApp, *, host: str, port: int) -> None:
        self.app = app
        self.allowed = allowed_hosts(host, port)
        self.shown = " or ".join(sorted(self.allowed))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            sent = [v for k, v in scope.get("headers", ()) if k == b"host"]
            value = sent[0].decode("latin-1") if len(sent) == 1 else None
            if len(sent) > 1 or (value is not None and value.lower() not in self.allowed):
                await self._refuse(send, value if value is not None else "several Host headers")
                return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, host: str) -> None:
        message = (
            f"unexpected Host header {host!r}: this server listens on loopback and answers "
            f"only {self.shown} (a foreign name may be a DNS rebinding attack)"
        )
        body = json.dumps({"status": "failed", "error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
