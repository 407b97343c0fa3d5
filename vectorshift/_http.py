"""The one HTTP seam: the only module that imports httpx.

It owns connection pools, turns error responses into :mod:`vectorshift.errors` types, and retries
transient failures under a :class:`~vectorshift._retry.RetryPolicy`.

Pools live per event loop. An ``httpx.AsyncClient`` is bound to the loop that first used it, so a
single :class:`vectorshift.Client` keeps one pool per running loop: it survives ``asyncio.run``
being called twice, works under trio, and never touches a closed loop.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import httpx
import sniffio

from vectorshift._files import FormParts
from vectorshift._retry import RetryPolicy, parse_retry_after
from vectorshift._version import __version__
from vectorshift.errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    error_class_for_status,
)

__all__ = ["ApiResponse", "HttpTransport", "RetryMode", "to_timeout"]

log = logging.getLogger("vectorshift")

RetryMode = Literal["safe", "unsafe"]
"""``safe``: the call may be repeated (reads, updates, terminate, keyed starts); ``unsafe``: a
repeat could act twice, so only failures that prove the server did nothing are retried."""

_MAX_ERROR_TEXT = 2000


class _Default:
    """The type of :data:`DEFAULT`: "use the client's setting"."""


DEFAULT = _Default()
_MAX_TRIO_POOLS = 4


@dataclass(frozen=True)
class ApiResponse:
    """A decoded JSON response."""

    status_code: int
    headers: Mapping[str, str]
    data: Any
    request_id: str | None


def to_timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    """Normalise a user's timeout (seconds, ``httpx.Timeout`` or ``None`` for no limit)."""
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)


def _with_read(timeout: httpx.Timeout, read: float | None) -> httpx.Timeout:
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)


def _loop_key() -> tuple[str, object]:
    library = sniffio.current_async_library()
    if library == "asyncio":
        import asyncio

        return library, asyncio.get_running_loop()
    if library == "trio":
        import trio

        return library, trio.lowlevel.current_trio_token()
    return library, None


def _error_message(data: Any, text: str) -> str:
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            value = data.get(key)
            if value:
                return value if isinstance(value, str) else json.dumps(value)
    if text.strip():
        return text.strip()[:_MAX_ERROR_TEXT]
    return "no error message in the response body"


def _decode(response: httpx.Response) -> tuple[Any, str]:
    text = response.text
    if not text:
        return None, ""
    try:
        return json.loads(text), text
    except ValueError:
        return text[:_MAX_ERROR_TEXT], text


def _is_transient_exc(exc: Exception) -> bool:
    return isinstance(exc, (httpx.TransportError,))


def _never_reached_server(exc: Exception) -> bool:
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _redact(url: httpx.URL) -> str:
    return str(url.copy_with(query=None)) if url.query else str(url)


class HttpTransport:
    """Requests with retries and error mapping, over per-event-loop connection pools.

    Args:
        base_url: Resolves the API base URL at request time (configuration is read lazily).
        api_key: Resolves the API key at request time; never logged nor shown in errors.
        timeout: Per-operation timeouts (connect, read, write, pool). There is no total timeout,
            so streams and long polls are never cut while data keeps coming.
        retry: The retry policy.
        headers: Extra headers sent with every request.
        transport: An httpx transport to use instead of the network (tests of edge cases only).
    """

    def __init__(
        self,
        *,
        base_url: Callable[[], str],
        api_key: Callable[[], str | None],
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url
        self._api_key = api_key
        self.timeout = timeout
        self.retry = retry
        self._headers = dict(headers or {})
        self._transport = transport
        self._pools: OrderedDict[tuple[str, object], httpx.AsyncClient] = OrderedDict()
        self._ssl_context: ssl.SSLContext | None = None

    def _pool(self) -> httpx.AsyncClient:
        key = _loop_key()
        for stale in [k for k in self._pools if k[0] == "asyncio" and k[1].is_closed()]:  # type: ignore[attr-defined]
            del self._pools[stale]
        client = self._pools.get(key)
        if client is None:
            if self._ssl_context is None:
                # Built once: loading the CA bundle costs ~25 ms, and every event loop that
                # uses this client gets a pool of its own.
                self._ssl_context = httpx.create_ssl_context()
            client = httpx.AsyncClient(
                timeout=self.timeout,
                verify=self._ssl_context,
                transport=self._transport,
                headers={"User-Agent": f"vectorshift-python/{__version__}", **self._headers},
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
            self._pools[key] = client
            trio_keys = [k for k in self._pools if k[0] == "trio"]
            if len(trio_keys) > _MAX_TRIO_POOLS:
                del self._pools[trio_keys[0]]
        return client

    async def aclose(self) -> None:
        """Close the pool of the running event loop and forget the pools of other loops."""
        key = _loop_key()
        client = self._pools.pop(key, None)
        self._pools.clear()
        if client is not None:
            await client.aclose()

    def pool_stats(self) -> dict[str, int]:
        """Connections of the current loop's pool, by state (for tests and diagnostics)."""
        client = self._pools.get(_loop_key())
        if client is None:
            return {"idle": 0, "active": 0}
        pool = client._transport._pool  # type: ignore[attr-defined]
        connections = list(pool.connections)
        idle = sum(1 for c in connections if c.is_idle())
        return {"idle": idle, "active": len(connections) - idle}

    def _url(self, path: str) -> str:
        return self._base_url().rstrip("/") + "/" + path.lstrip("/")

    def _auth_headers(self, method: str, url: str) -> dict[str, str]:
        key = self._api_key()
        if not key:
            raise AuthenticationError(
                "no API key: pass Client(api_key=...), set vectorshift.api_key, "
                "or set the VECTORSHIFT_API_KEY environment variable",
                status_code=401,
                method=method,
                url=url,
            )
        return {"Authorization": f"Bearer {key}"}

    def _raise_for_status(self, method: str, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        data, text = _decode(response)
        url = _redact(response.request.url)
        raise error_class_for_status(response.status_code)(
            _error_message(data, text),
            status_code=response.status_code,
            method=method,
            url=url,
            body=data,
            headers=dict(response.headers),
            request_id=response.headers.get("x-request-id")
            or (data.get("request_id") if isinstance(data, dict) else None),
            retry_after=parse_retry_after(response.headers),
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        files: FormParts | None = None,
        headers: Mapping[str, str] | None = None,
        retry_mode: RetryMode = "safe",
        max_retries: int | None = None,
        read_timeout: float | _Default | None = DEFAULT,
    ) -> ApiResponse:
        """Send one logical request, retrying transient failures, and decode its JSON body.

        The body is ``json_body`` as JSON or, when ``files`` is given, ``multipart/form-data``
        of the ``data`` fields and the file parts; a retry resends the same bytes.

        Raises:
            ApiError: the server answered an error status (after retries, when transient).
            ApiConnectionError: no answer was received (after retries).
        """
        url = self._url(path)
        policy = self.retry if max_retries is None else self.retry.with_max_retries(max_retries)
        request_headers = {**self._auth_headers(method, url), **(headers or {})}
        timeout = (
            self.timeout
            if isinstance(read_timeout, _Default)
            else _with_read(self.timeout, read_timeout)
        )
        attempt = 0
        while True:
            try:
                response = await self._pool().request(
                    method,
                    url,
                    params=_query(params),
                    json=json_body,
                    data=data,
                    files=files,
                    headers=request_headers,
                    timeout=timeout,
                )
                self._raise_for_status(method, response)
            except ApiError as exc:
                retryable = policy.is_retryable_status(exc.status_code) and (
                    retry_mode == "safe" or exc.status_code == 429
                )
                if not retryable or attempt >= policy.max_retries:
                    raise
                delay = policy.backoff(attempt, exc.retry_after)
                log.info(
                    "vectorshift: %s %s answered %s; retry %d/%d in %.2fs",
                    method, path, exc.status_code, attempt + 1, policy.max_retries, delay,
                    extra={"request_id": exc.request_id, "attempt": attempt + 1},
                )
            except httpx.HTTPError as exc:
                retryable = _is_transient_exc(exc) and (
                    retry_mode == "safe" or _never_reached_server(exc)
                )
                if not retryable or attempt >= policy.max_retries:
                    raise _connection_error(exc, method, url) from exc
                delay = policy.backoff(attempt)
                log.info(
                    "vectorshift: %s %s failed (%s); retry %d/%d in %.2fs",
                    method, path, type(exc).__name__, attempt + 1, policy.max_retries, delay,
                    extra={"attempt": attempt + 1},
                )
            else:
                data, _ = _decode(response)
                request_id = response.headers.get("x-request-id")
                log.debug(
                    "vectorshift: %s %s -> %s", method, path, response.status_code,
                    extra={"request_id": request_id, "attempt": attempt + 1},
                )
                return ApiResponse(response.status_code, response.headers, data, request_id)
            attempt += 1
            await anyio.sleep(delay)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        files: FormParts | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_mode: RetryMode = "unsafe",
        max_retries: int | None = None,
    ) -> AsyncIterator[tuple[Mapping[str, str], AsyncIterator[bytes]]]:
        """Open a streamed response; yields its headers and an iterator of body chunks.

        The body is sent as :meth:`request` sends it (JSON, or multipart with ``files``).

        The request is sent when the context is entered, so HTTP errors surface there. The
        response is closed when the context exits, however it exits. Reads have no timeout:
        a stream may stay quiet between frames for as long as its run needs.
        """
        url = self._url(path)
        policy = self.retry if max_retries is None else self.retry.with_max_retries(max_retries)
        request_headers = {
            **self._auth_headers(method, url),
            "Accept": "text/event-stream",
            **(headers or {}),
        }
        attempt = 0
        while True:
            client = self._pool()
            request = client.build_request(
                method,
                url,
                params=_query(params),
                json=json_body,
                data=data,
                files=files,
                headers=request_headers,
                timeout=_with_read(self.timeout, None),
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                retryable = retry_mode == "safe" or _never_reached_server(exc)
                if not retryable or attempt >= policy.max_retries:
                    raise _connection_error(exc, method, url) from exc
                delay = policy.backoff(attempt)
            else:
                try:
                    if response.status_code >= 400:
                        await response.aread()
                        self._raise_for_status(method, response)
                except ApiError as exc:
                    await response.aclose()
                    retryable = policy.is_retryable_status(exc.status_code) and (
                        retry_mode == "safe" or exc.status_code == 429
                    )
                    if not retryable or attempt >= policy.max_retries:
                        raise
                    delay = policy.backoff(attempt, exc.retry_after)
                else:
                    try:
                        yield response.headers, _body(response, method, url)
                    finally:
                        await response.aclose()
                    return
            attempt += 1
            await anyio.sleep(delay)


async def _body(response: httpx.Response, method: str, url: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        raise _connection_error(exc, method, url) from exc


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    query: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        query[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return query


def _connection_error(exc: Exception, method: str, url: str) -> ApiConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(f"request timed out ({type(exc).__name__})", method=method, url=url)
    detail = str(exc) or type(exc).__name__
    return ApiConnectionError(f"connection failed: {detail}", method=method, url=url)
