"""Client configuration (key, base URL, timeouts, retries) and the lazily built default client."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from vectorshift._generated_client import ClientSync
from vectorshift._intercept import Interceptor, check_interceptors
from vectorshift._retry import RetryPolicy
from vectorshift._urls import check_base_url, without_userinfo
from vectorshift.errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

    from vectorshift._http import HttpTransport

__all__ = ["DEFAULT_BASE_URL", "Client", "default_client"]

DEFAULT_BASE_URL = "https://api.vectorshift.ai/v1"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 2**20
"""64 MiB: far above any answer of the platform, far below what hurts a process."""
DEFAULT_STREAM_IDLE_TIMEOUT = 120.0
"""Seconds a stream may be silent: servers send a ``: keep-alive`` comment far more often."""


def _check_timeout(timeout: float | httpx.Timeout | None) -> None:
    """Refuse a timeout that would fail every request: zero, negative or NaN seconds.

    ``None`` (no bound) is allowed, and so is an ``httpx.Timeout`` whose set parts are
    positive.
    """
    parts: dict[str, object]
    if timeout is None:
        return
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        parts = {"timeout": timeout}
    elif hasattr(timeout, "as_dict"):
        parts = {f"timeout.{name}": value for name, value in timeout.as_dict().items()}
    else:
        raise ConfigurationError(
            f"timeout must be a number of seconds, an httpx.Timeout or None, got {timeout!r}"
        )
    for name, value in parts.items():
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise ConfigurationError(
                f"{name} must be a positive number of seconds or None, got {value!r}"
            )


class Client(ClientSync):
    """Connection settings shared by every call: key, base URL, timeouts and retry policy.

    A client is cheap to create and safe to share between threads and event loops: connection
    pools are opened lazily, one per event loop that uses the client. Anything left unset is
    resolved at each request, in this order: the argument, the module attribute
    (``vectorshift.api_key``, ``vectorshift.base_url``), the environment
    (``VECTORSHIFT_API_KEY``, ``VECTORSHIFT_BASE_URL``), then, for the key, the file
    ``vectorshift login`` writes (``~/.vectorshift/config.toml``, ``[auth] api_key``) and, for
    the base URL, the platform default.

    Mistakes fail before any request, with a :class:`~vectorshift.ConfigurationError` (a
    ``ValueError``): a base URL that is not ``http(s)://`` (here, or at the first request for
    one read from the environment), and no API key at all (at the first request).

    Args:
        api_key: The API key. It is sent as a bearer token and never logged or shown.
        base_url: The API root, e.g. ``https://api.vectorshift.ai/v1``. Credentials written
            into it (``user:pw@``) are neither sent nor shown: the API key is the credential.
        timeout: Seconds per network operation (connect, read, write), or an ``httpx.Timeout``;
            the wait for a stream's response too. It bounds each operation, not a whole run or
            stream: those take their own ``timeout=`` (``run``, ``stream``, ``result``).
        max_retries: Retries of transient failures (429, 5xx, timeouts, connection errors).
        retry: A full :class:`RetryPolicy`; ``max_retries`` overrides its retry count when given.
        headers: Extra headers for every request.
        transport: An ``httpx.AsyncBaseTransport`` every request goes through instead of the
            SDK's own connection pools: a proxy or custom TLS (``httpx.AsyncHTTPTransport(
            proxy=..., verify=...)``), mounts, retries at the transport level, an
            ``httpx.ASGITransport`` to call an app in process, or a wrapper around any of these.
            The SDK's retries, size cap, timeouts and hooks still apply above it. One transport
            object serves one event loop at a time (httpx's own transports do); the client's
            pool is closed, and the transport with it, by :meth:`aclose`.
        interceptors: :class:`~vectorshift.Interceptor` objects told of every operation
            (``start``, ``result``...), its retries and reconnections, and every request and
            response, in this order; e.g. ``vectorshift.otel.OpenTelemetryInterceptor()``.
        max_response_bytes: The largest body of a non-streamed response, counted as decoded
            (so a small compressed body that inflates past it is stopped while inflating);
            past it the call raises :class:`~vectorshift.ApiResponseError`. 64 MiB by default.
        stream_idle_timeout: Seconds a stream's connection may deliver nothing (not even a
            keep-alive) before it counts as lost and a typed stream resumes; ``None``: no
            bound. 120 s by default, above any server's keep-alive interval (15 s locally).

    Raises:
        ConfigurationError: ``base_url`` is not an ``http://`` or ``https://`` URL with a host;
            ``timeout``, ``max_response_bytes`` or ``stream_idle_timeout`` is not positive;
            ``max_retries`` is negative; an interceptor is not an
            :class:`~vectorshift.Interceptor`. A ``ValueError``, raised here, before any request.

    Example:
        >>> import vectorshift
        >>> client = vectorshift.Client(api_key="sk-...", max_retries=5)
        >>> pipeline = vectorshift.Pipeline.fetch(name="Summariser", client=client)
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        stream_idle_timeout: float | None = DEFAULT_STREAM_IDLE_TIMEOUT,
        interceptors: Iterable[Interceptor] | None = None,
    ) -> None:
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = policy.with_max_retries(max_retries)
        if base_url:
            check_base_url(base_url)
        if not max_response_bytes > 0:
            raise ConfigurationError(
                f"max_response_bytes must be positive, got {max_response_bytes}"
            )
        if stream_idle_timeout is not None and not stream_idle_timeout > 0:
            raise ConfigurationError(
                f"stream_idle_timeout must be positive or None, got {stream_idle_timeout}"
            )
        _check_timeout(timeout)
        self._api_key = api_key
        self._api_key_label = "Client(api_key=...)"
        """How a message names the key given here (the CLI says ``--api-key``)."""
        self._base_url = base_url
        self.max_response_bytes = max_response_bytes
        self.stream_idle_timeout = stream_idle_timeout
        self._timeout = timeout
        self.retry = policy
        self._headers = dict(headers or {})
        self._transport = transport
        self.interceptors: tuple[Interceptor, ...] = check_interceptors(interceptors)
        """The interceptors, in the order they are called."""
        self._http: HttpTransport | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        try:
            key = "set" if self._resolve_api_key() else "unset"
        except ConfigurationError:
            key = "unreadable"
        return f"Client(base_url={without_userinfo(self.base_url)!r}, api_key=<{key}>)"

    def __getstate__(self) -> None:
        raise TypeError(
            "a vectorshift.Client cannot be pickled (it holds a secret and connection pools); "
            "pickle ids (e.g. a RunHandler) and build the client again in the other process"
        )

    @property
    def base_url(self) -> str:
        """The API root this client talks to, resolved now."""
        if self._base_url:
            return self._base_url
        module_value = getattr(sys.modules.get("vectorshift"), "base_url", None)
        return module_value or os.environ.get("VECTORSHIFT_BASE_URL") or DEFAULT_BASE_URL

    def _resolve_api_key(self) -> str | None:
        return self._api_key_and_source()[0]

    def _api_key_and_source(self) -> tuple[str | None, str]:
        """The API key, and where it was found (for a message about a rejected key)."""
        if self._api_key:
            return self._api_key, self._api_key_label
        module_value = getattr(sys.modules.get("vectorshift"), "api_key", None)
        if module_value:
            return module_value, "vectorshift.api_key"
        from_env = os.environ.get("VECTORSHIFT_API_KEY")
        if from_env:
            return from_env, "the VECTORSHIFT_API_KEY environment variable"
        from_file = key_from_config_file()
        if from_file:
            return from_file, f"the api_key of {config_path()}"
        return None, "nowhere"

    @property
    def http(self) -> HttpTransport:
        """The transport; built on first use so that creating a client costs nothing."""
        if self._http is None:
            with self._lock:
                if self._http is None:
                    from vectorshift._http import HttpTransport, to_timeout

                    self._http = HttpTransport(
                        base_url=lambda: self.base_url,
                        api_key=self._api_key_and_source,
                        timeout=to_timeout(self._timeout),
                        retry=self.retry,
                        headers=self._headers,
                        transport=self._transport,
                        interceptors=self.interceptors,
                        max_response_bytes=self.max_response_bytes,
                    )
        return self._http

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop.

        Example:
            >>> await client.aclose()
        """
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def config_path() -> Path:
    """The file ``vectorshift login`` writes and the default client reads the key from."""
    return Path.home() / ".vectorshift" / "config.toml"


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML with the standard library's reader (``tomli`` before Python 3.11).

    Raises:
        ValueError: ``text`` is not TOML.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    return tomllib.loads(text)


_file_cache: tuple[tuple[str, int, int], str | None] | None = None


def key_from_config_file() -> str | None:
    """``[auth] api_key`` of :func:`config_path`, or ``None`` without the file or the key.

    Read again only when the file changes (one ``stat`` per request otherwise).

    Raises:
        ConfigurationError: the file is not TOML, or its ``api_key`` is not a string.
    """
    global _file_cache
    path = config_path()
    try:
        info = path.stat()
    except OSError:
        return None
    stamp = (str(path), info.st_mtime_ns, info.st_size)
    if _file_cache is not None and _file_cache[0] == stamp:
        return _file_cache[1]
    try:
        key = load_toml(path.read_text(encoding="utf-8")).get("auth", {}).get("api_key")
    except (OSError, ValueError, AttributeError) as exc:  # TOMLDecodeError is a ValueError
        raise ConfigurationError(f"cannot read the API key from {path}: {exc}") from None
    if key is not None and not isinstance(key, str):
        raise ConfigurationError(f"{path}: [auth] api_key must be a string")
    _file_cache = (stamp, key or None)
    return key or None


_default: Client | None = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The process-wide client used when a call gets no ``client=``; built on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Client()
    return _default
