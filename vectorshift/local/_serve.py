"""``serve()``: the embedded platform plus a client configured for it, in one context manager."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vectorshift import Client
from vectorshift.local.config import ServerConfig
from vectorshift.local.server import LocalServer

__all__ = ["serve"]


@contextmanager
def serve(config: ServerConfig | None = None, **settings: Any) -> Iterator[Client]:
    """Start ``vectorshift.local`` on a free loopback port and yield a client of it.

    The server runs in a background thread until the block exits; its SQLite file is a fresh
    temporary one, deleted then, unless ``db_path`` is given. Everything else
    (``max_active_runs``, ``api_keys``, ``providers``, ``faults``...) is a :class:`ServerConfig`
    setting. LLM nodes of every provider get the simulated model's answers unless
    ``providers`` says otherwise (``providers="openai=real"``); like
    ``python -m vectorshift.local``, it reads ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (when
    called, never at import) for a real openai.

    Args:
        config: A full server configuration (used as given: nothing is read from the
            environment).
        **settings: :class:`ServerConfig` fields, used when ``config`` is not given.

    Example:
        >>> from vectorshift import Pipeline
        >>> from vectorshift.local import serve
        >>> with serve() as client:
        ...     pipeline = Pipeline.new(name="demo", client=client)
    """
    if config is not None and settings:
        raise TypeError("give either a ServerConfig or settings, not both")
    with LocalServer(config or ServerConfig.from_env(**settings)) as server:
        yield Client(api_key=server.api_key, base_url=server.base_url)
