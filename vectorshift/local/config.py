"""Configuration of the local VectorShift server.

Nothing here reads the environment at import time: :meth:`ServerConfig.from_env` does, and only the
command line (or a caller that asks for it) calls it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vectorshift.local.providers import ProviderConfig, parse_providers

DEFAULT_API_KEY = "vs-local-dev"
"""The development key every fresh configuration accepts (organisation ``local``)."""

DEFAULT_ORG = "local"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_RETAIN = 7 * 24 * 3600.0
"""Seconds the events of a finished run are kept by default (7 days)."""

DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a connection may take to send a request's headers."""
DEFAULT_BODY_TIMEOUT = 60.0
"""Seconds a request's body may take to arrive, once its headers are complete."""
DEFAULT_MAX_CONNECTIONS = 512
"""Connections (and requests in progress) at once; past it new requests are answered 503."""
DEFAULT_MAX_VALUE_SIZE = 8 * 1024 * 1024
"""Characters one node value may hold (8 Mi)."""
DEFAULT_MAX_RUN_SIZE = 64 * 1024 * 1024
"""Characters the node values of one run may add up to (64 Mi)."""
DASHBOARD_CALLS = 2000
"""LLM calls a server with the dashboard keeps in memory (the last ones), to show them."""

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration written as a number with an optional unit ``s``, ``m``, ``h``, ``d``.

    Example:
        >>> parse_duration("7d"), parse_duration("90"), parse_duration("1.5h")
        (604800.0, 90.0, 5400.0)

    Raises:
        ValueError: Not such a duration, or negative.
    """
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:]) if value else None
    try:
        seconds = float(value[:-1] if scale else value) * (scale or 1.0)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90, 30m, 12h or 7d)") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"a duration must be finite and >= 0, got {text!r}")
    return seconds


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
        script: Scripted LLM answers installed at start, in their JSON form (see
            :mod:`vectorshift.local.scripts`); asked before any provider.
        dashboard: Serve the dashboard (:mod:`vectorshift.local.dashboard`) beside the API:
            pages at ``/`` and under ``/_dashboard/``, opened with a token made at each start
            (``LocalServer.dashboard_url``); the last LLM calls are kept in memory for it.
        record: Keep every request, run and LLM call in memory (see
            :mod:`vectorshift.local.recording`): for tests, not for a long-running server.
        providers: Which providers' LLM nodes call the real provider instead of the simulated
            model, as ``--providers`` takes it: ``"real"`` (all), ``"openai=real"`` (one), a
            comma-separated mix, or a mapping such as ``{"openai": "real"}`` (``"*"``: every
            other provider). Default: every provider simulated, so any pipeline runs offline;
            a run's status and result frame list the providers it simulated, as
            ``simulated_providers``. A provider set real that the server has no client for
            (only ``openai`` has one) fails its runs with a message naming it.
        openai_api_key: Key the engine uses for ``openai`` LLM nodes when openai is real;
            ``None`` leaves them failing with a message saying so.
        openai_base_url: Base URL of the OpenAI-compatible API.
        retain: Seconds the stream events of a finished run are kept (default 7 days); then they
            are deleted, except the run's ``result`` frame, so a late replay still ends with it.
            The run's status stays. Idempotency keys are kept 24 h whatever this says. Expiry
            runs when the server starts and then every ``min(retain, 1 h)``.
        header_timeout: Seconds a connection may take to send a request's headers (from when
            it opens, or from the end of its previous request); then it is closed. Idle
            keep-alive connections close after 5 s.
        body_timeout: Seconds a request's body may take to arrive once its headers are
            complete (all of it, however slowly it trickles); then the request is answered 408
            and the connection closed.
        max_connections: Connections open at once (each stream counts); past it new requests
            are answered 503 at once, so a crowd of slow clients cannot exhaust the process's
            file descriptors.
        max_value_size: Largest value, in characters of its text form, that one node may
            produce, and most it may read through its template references; a node going
            past it fails the run, naming the node.
        max_run_size: Most characters all the node values of one run may add up to
            (sub-pipelines included); the node going past it fails the run, naming the node.

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
    script: list[dict[str, Any]] = field(default_factory=list)
    record: bool = False
    dashboard: bool = False
    providers: str | Mapping[str, str] = ""
    openai_api_key: str | None = None
    openai_base_url: str = DEFAULT_OPENAI_BASE_URL
    retain: float = DEFAULT_RETAIN
    # Limits against hostile input (issue 12): one block, checked in __post_init__.
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_value_size: int = DEFAULT_MAX_VALUE_SIZE
    max_run_size: int = DEFAULT_MAX_RUN_SIZE

    def __post_init__(self) -> None:
        if not self.api_keys:
            raise ValueError("api_keys must hold at least one key")
        if self.max_active_runs < 1:
            raise ValueError(f"max_active_runs must be >= 1, got {self.max_active_runs}")
        if self.long_poll_max < 0:
            raise ValueError(f"long_poll_max must be >= 0, got {self.long_poll_max}")
        if self.keepalive_interval <= 0:
            raise ValueError(f"keepalive_interval must be > 0, got {self.keepalive_interval}")
        if not 0 <= self.retain < float("inf"):
            raise ValueError(f"retain must be finite and >= 0, got {self.retain}")
        if self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after}")
        if not 0 < self.header_timeout < float("inf"):
            raise ValueError(f"header_timeout must be finite and > 0, got {self.header_timeout}")
        if not 0 < self.body_timeout < float("inf"):
            raise ValueError(f"body_timeout must be finite and > 0, got {self.body_timeout}")
        if self.max_connections < 2:
            raise ValueError(f"max_connections must be >= 2, got {self.max_connections}")
        if self.max_value_size < 1 or self.max_run_size < self.max_value_size:
            raise ValueError(
                f"need 1 <= max_value_size <= max_run_size, got {self.max_value_size} and "
                f"{self.max_run_size}"
            )
        try:
            self.providers = parse_providers(self.providers)
        except ValueError as exc:
            raise ValueError(f"providers: {exc}") from None

    def provider_config(self) -> ProviderConfig:
        """The provider settings the engine runs with.

        Example:
            >>> ServerConfig(providers="openai=real").provider_config().is_real("openai")
            True
        """
        return ProviderConfig(
            modes=parse_providers(self.providers),
            openai_api_key=self.openai_api_key,
            openai_base_url=self.openai_base_url,
        )

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
