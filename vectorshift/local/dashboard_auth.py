"""Who may see the dashboard, and which requests may change anything.

Choices (issue 25):

- **Token.** Each start of a server with the dashboard makes a random token, printed in the
  ``dashboard:`` line. A first visit with ``?token=T`` opens a session for the organisation of
  the server's first API key and answers 303 to the same address without the token, so the token
  stays in no address bar or history. A visitor without a session may instead post an API key
  (the login page's one field): the session is then that key's organisation. Nothing else opens
  a session, and a page asked for without one is the login page, showing no data.
- **Session cookie.** ``HttpOnly; SameSite=Strict; Path=/``, named after the port (cookies are
  per host, not per port, so two local servers do not overwrite each other's). The session id is
  random and kept in memory only: a restart logs everyone out, as it makes a new token anyway.
- **State-changing requests** (log in, start a run, terminate) are POSTs that need a same-origin
  request (``Origin`` equal to the address served, else ``Sec-Fetch-Site: same-origin``), and,
  but for logging in, the session's CSRF token (a form field or the ``X-Dashboard-CSRF``
  header). The ``Host`` check of :mod:`vectorshift.local.host_guard` runs before all of this.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request

__all__ = ["CSRF_HEADER", "DashboardAuth", "Session", "same_origin"]

CSRF_HEADER = "x-dashboard-csrf"
_MAX_SESSIONS = 256


@dataclass(frozen=True)
class Session:
    """One logged-in browser: the organisation it acts for and its CSRF token."""

    org: str
    csrf: str


def same_origin(request: Request) -> bool:
    """Whether a request comes from a page of this server (its ``Origin`` is this address).

    Browsers send ``Origin`` on every POST (``null`` in some cases); ``Sec-Fetch-Site``, which
    pages cannot set, is the fallback. A request with
    neither is refused: a state change from outside a browser uses the API, not the dashboard.
    """
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if origin is not None and origin != "null":
        return host is not None and origin.lower() == f"{request.url.scheme}://{host}".lower()
    # No Origin, or "null" (a browser hiding it under some referrer policies): what the
    # browser itself says of the request's site, which no page can forge.
    return request.headers.get("sec-fetch-site") == "same-origin"


class DashboardAuth:
    """The dashboard's token and sessions.

    Args:
        token: The token of this start (``?token=``).
        api_keys: The server's keys and their organisations (a posted key must be one).
        port: The port served, naming the cookie.
    """

    def __init__(self, token: str, api_keys: Mapping[str, str], port: int) -> None:
        self.token = token
        self.api_keys = api_keys
        self.cookie = f"vectorshift_dashboard_{port}"
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def _open(self, org: str) -> str:
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = Session(org, secrets.token_urlsafe(24))
        while len(self._sessions) > _MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session_id

    def open_with_token(self, given: str) -> str | None:
        """A new session id when ``given`` is this start's token, else ``None``."""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        return self._open(next(iter(self.api_keys.values())))

    def open_with_key(self, key: str) -> str | None:
        """A new session id when ``key`` is one of the server's API keys, else ``None``."""
        for known, org in self.api_keys.items():
            if hmac.compare_digest(key.strip().encode(), known.encode()):
                return self._open(org)
        return None

    def close(self, request: Request) -> None:
        """Forget the request's session (log out)."""
        self._sessions.pop(request.cookies.get(self.cookie, ""), None)

    def session(self, request: Request) -> Session | None:
        """The request's session, from its cookie, or ``None``."""
        return self._sessions.get(request.cookies.get(self.cookie, ""))

    def may_change(self, request: Request, session: Session, csrf: str | None) -> bool:
        """Whether a POST of this session may change state: same origin and its CSRF token."""
        given = csrf if csrf is not None else request.headers.get(CSRF_HEADER, "")
        return same_origin(request) and hmac.compare_digest(given.encode(), session.csrf.encode())

    def cookie_header(self, session_id: str) -> str:
        """The ``Set-Cookie`` value carrying a session."""
        return f"{self.cookie}={session_id}; HttpOnly; SameSite=Strict; Path=/"

    def expired_cookie(self) -> str:
        """The ``Set-Cookie`` value ending the session cookie."""
        return f"{self.cookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
