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

from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'vectorshift.local' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
