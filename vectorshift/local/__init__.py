"""``vectorshift.local``: a real VectorShift-compatible platform server that ships with the SDK.

It serves the v1 API (see ``PROTOCOL.md``) with Starlette and uvicorn, keeps pipelines, runs and
their events in SQLite, and executes pipelines with its own engine. Importing this package is
cheap: the server's dependencies (the ``local`` extra) load when a name below is first used.

Example:
    >>> from vectorshift.local import LocalServer
    >>> with LocalServer() as server:
    ...     print(server.base_url, server.api_key)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vectorshift._lazy import lazy_names

if TYPE_CHECKING:
    from vectorshift.local._serve import serve
    from vectorshift.local.config import ServerConfig
    from vectorshift.local.server import LocalServer

__all__ = ["LocalServer", "ServerConfig", "serve"]

_EXPORTS = {
    "LocalServer": "vectorshift.local.server",
    "ServerConfig": "vectorshift.local.config",
    "serve": "vectorshift.local._serve",
}


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals())
