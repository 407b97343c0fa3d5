"""``serve()``: the embedded platform plus a client configured for it, in one context manager."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from vectorshift import Client
from vectorshift.local.config import ServerConfig
from vectorshift.local.server import LocalServer

__all__ = ["serve"]


class _Serving:
    """What :func:`serve` returns: a context manager for ``with`` and for ``async with``.

    ``async with`` starts and stops the server in a worker thread, so the event loop (asyncio
    or trio) keeps serving its other tasks meanwhile; ``with`` blocks the calling thread.
    """

    def __init__(self, server: LocalServer) -> None:
        self.server = server

    def _client(self) -> Client:
        return Client(api_key=self.server.api_key, base_url=self.server.base_url)

    def __enter__(self) -> Client:
        self.server.start()
        return self._client()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.close()

    async def __aenter__(self) -> Client:
        await self.server.astart()
        return self._client()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.server.aclose()


def serve(config: ServerConfig | None = None, **settings: Any) -> _Serving:
    """Start ``vectorshift.local`` on a free loopback port and give a client of it.

    The server runs in a background thread until the block exits; its SQLite file is a fresh
    temporary one, deleted then, unless ``db_path`` is given. Everything else
    (``max_active_runs``, ``api_keys``, ``providers``, ``faults``...) is a :class:`ServerConfig`
    setting. LLM nodes of every provider get the simulated model's answers unless
    ``providers`` says otherwise (``providers="openai=real"``); like
    ``python -m vectorshift.local``, it reads ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (when
    called, never at import) for a real openai.

    In async code use ``async with serve() as client:``: the server then starts and stops in a
    worker thread, where ``with`` would block the event loop for the start (some 0.3 s) and
    the stop.

    Args:
        config: A full server configuration (used as given: nothing is read from the
            environment).
        **settings: :class:`ServerConfig` fields, used when ``config`` is not given.

    Example:
        >>> from vectorshift import Pipeline
        >>> from vectorshift.local import serve
        >>> with serve() as client:
        ...     pipeline = Pipeline.new(name="demo", client=client)
        >>> async def main() -> None:
        ...     async with serve() as client:
        ...         pipeline = await Pipeline.anew(name="demo", client=client)
    """
    if config is not None and settings:
        raise TypeError("give either a ServerConfig or settings, not both")
    return _Serving(LocalServer(config or ServerConfig.from_env(**settings)))
