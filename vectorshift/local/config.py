"""Configuration of the local VectorShift server.

Nothing here reads the environment at import time: :meth:`ServerConfig.from_env` does, and only the
command line (or a caller that asks for it) calls it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY = "vs-local-dev"
"""The development key every fresh configuration accepts (organisation ``local``)."""

DEFAULT_ORG = "local"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


def _default_api_keys() -> dict[str, str]:
    return {DEFAULT_API_KEY: DEFAULT_ORG}


@dataclass
class ServerConfig:
    """Settings of one local server.

    The server is a real service, not a mock: the settings are the knobs a test or a developer
    turns, and everything else (pipelines, runs, events) lives in the SQLite file.

    Attributes:
        db_path: SQLite file holding pipelines, runs, events and idempotency keys. ``None`` means a
            fresh temporary file, removed when the :class:`~vectorshift.local.LocalServer` that
            created it is garbage-collected. Several processes may share one file.
        api_keys: Accepted API keys, each mapped to the organisation it acts for. Objects of one
            organisation are invisible (404) to the others.
        max_active_runs: Runs an organisation may have in progress at once; one more answers 429
            with ``Retry-After``.
        retry_after: Seconds announced in ``Retry-After`` when the run limit is reached.
        long_poll_max: Upper bound, in seconds, of the ``wait`` query parameter on run status.
        keepalive_interval: Seconds of silence after which a stream sends ``: keep-alive``.
        max_body_bytes: Largest request body accepted; a larger one answers 413.
        max_bulk_runs: Largest number of runs one bulk-run request may hold.
        faults: Fault-injection rules installed at start (see :mod:`vectorshift.local.faults`).
        openai_api_key: Key the engine uses for ``openai`` LLM nodes; ``None`` leaves them failing
            with a message saying so.
        openai_base_url: Base URL of the OpenAI-compatible API.

    Example:
        >>> config = ServerConfig(api_keys={"key-a": "org-a", "key-b": "org-b"}, max_active_runs=2)
        >>> config.default_api_key
        'key-a'
    """

    db_path: str | None = None
    api_keys: dict[str, str] = field(default_factory=_default_api_keys)
    max_active_runs: int = 32
    retry_after: float = 1.0
    long_poll_max: float = 30.0
    keepalive_interval: float = 15.0
    max_body_bytes: int = 32 * 1024 * 1024
    max_bulk_runs: int = 256
    faults: list[dict[str, Any]] = field(default_factory=list)
    openai_api_key: str | None = None
    openai_base_url: str = DEFAULT_OPENAI_BASE_URL

    def __post_init__(self) -> None:
        if not self.api_keys:
            raise ValueError("api_keys must hold at least one key")
        if self.max_active_runs < 1:
            raise ValueError(f"max_active_runs must be >= 1, got {self.max_active_runs}")
        if self.long_poll_max < 0:
            raise ValueError(f"long_poll_max must be >= 0, got {self.long_poll_max}")
        if self.keepalive_interval <= 0:
            raise ValueError(f"keepalive_interval must be > 0, got {self.keepalive_interval}")
        if self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after}")

    @property
    def default_api_key(self) -> str:
        """The first configured key: the one a :class:`LocalServer` hands out."""
        return next(iter(self.api_keys))

    @classmethod
    def from_env(cls, **overrides: Any) -> ServerConfig:
        """Build a configuration whose provider settings come from the environment.

        Reads ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``; keyword arguments override any field.

        Args:
            **overrides: Field values taking precedence over the environment.

        Returns:
            The configuration.

        Example:
            >>> config = ServerConfig.from_env(max_active_runs=4)
        """
        values: dict[str, Any] = {
            "openai_api_key": os.environ.get("OPENAI_API_KEY") or None,
            "openai_base_url": os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_BASE_URL,
        }
        values.update(overrides)
        return cls(**values)
