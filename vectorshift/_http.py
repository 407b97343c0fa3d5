"""The one HTTP seam: the only module that imports httpx.

It owns connection pools, turns error responses into :mod:`vectorshift.errors` types, and retries
failures in one loop (:meth:`HttpTransport._send`) that asks the
:class:`~vectorshift._retry.RetryPolicy` which of them are transient and how long to wait.

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

from vectorshift import _log
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


def _never_reached_server(exc: Exception) -> bool:
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _redact(url: httpx.URL) -> str:
    return str(url.copy_with(query=None)) if url.query else str(url)


class _CountedStream(httpx.AsyncByteStream):
    """A response body that tells its :class:`_Accounting` when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, accounting: _Accounting) -> None:
        self._stream = stream
        self._accounting = accounting
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._accounting.open_responses -= 1
        await self._stream.aclose()


class _Accounting(httpx.AsyncBaseTransport):
    """Wraps the real transport and counts the responses whose body is not closed yet.

    A connection is busy exactly while its response body is open, so the count is the number
    of connections in use, known without reading the connection pool's private state.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport
        self.open_responses = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        if not isinstance(response.stream, httpx.AsyncByteStream):
            return response
        self.open_responses += 1
        response.stream = _CountedStream(response.stream, self)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


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
        self._pools: OrderedDict[tuple[str, object], tuple[httpx.AsyncClient, _Accounting]] = (
            OrderedDict()
        )
        self._ssl_context: ssl.SSLContext | None = None

    def _loop_client(self) -> httpx.AsyncClient:
        key = _loop_key()
        for stale in [k for k in self._pools if k[0] == "asyncio" and k[1].is_closed()]:  # type: ignore[attr-defined]
            del self._pools[stale]
        pool = self._pools.get(key)
        if pool is None:
            if self._ssl_context is None:
                # Built once: loading the CA bundle costs ~25 ms, and every event loop that
                # uses this client gets a pool of its own.
                self._ssl_context = httpx.create_ssl_context()
            accounting = _Accounting(
                self._transport
                or httpx.AsyncHTTPTransport(
                    verify=self._ssl_context,
                    limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                )
            )
            client = httpx.AsyncClient(
                timeout=self.timeout,
                transport=accounting,
                headers={"User-Agent": f"vectorshift-python/{__version__}", **self._headers},
            )
            pool = self._pools[key] = (client, accounting)
            trio_keys = [k for k in self._pools if k[0] == "trio"]
            if len(trio_keys) > _MAX_TRIO_POOLS:
                del self._pools[trio_keys[0]]
        return pool[0]

    async def aclose(self) -> None:
        """Close the pool of the running event loop and forget the pools of other loops."""
        key = _loop_key()
        pool = self._pools.pop(key, None)
        self._pools.clear()
        if pool is not None:
            await pool[0].aclose()

    def open_responses(self) -> int:
        """Responses of the current loop's pool whose body is still open: connections in use.

        Counted by this client as responses are received and closed (for tests and
        diagnostics); 0 once every stream was closed and every body read.
        """
        pool = self._pools.get(_loop_key())
        return 0 if pool is None else pool[1].open_responses

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
            retry_after=self.retry.server_wait(parse_retry_after(response.headers)),
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
        timeout = (
            self.timeout
            if isinstance(read_timeout, _Default)
            else _with_read(self.timeout, read_timeout)
        )
        response = await self._send(
            method,
            path,
            _Body(params, json_body, data, files),
            headers=headers or {},
            retry_mode=retry_mode,
            max_retries=max_retries,
            timeout=timeout,
            stream=False,
        )
        body, _ = _decode(response)
        return ApiResponse(
            response.status_code, response.headers, body, response.headers.get("x-request-id")
        )

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
        response = await self._send(
            method,
            path,
            _Body(params, json_body, data, files),
            headers={"Accept": "text/event-stream", **(headers or {})},
            retry_mode=retry_mode,
            max_retries=max_retries,
            timeout=_with_read(self.timeout, None),
            stream=True,
        )
        try:
            yield response.headers, _body(response, method, self._url(path))
        finally:
            await response.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        body: _Body,
        *,
        headers: Mapping[str, str],
        retry_mode: RetryMode,
        max_retries: int | None,
        timeout: httpx.Timeout,
        stream: bool,
    ) -> httpx.Response:
        """The retry loop of every request: send, and ask the policy about each failure.

        Returns a response below 400: read (``stream=False``) or with its body still open.
        """
        url = self._url(path)
        policy = self.retry if max_retries is None else self.retry.with_max_retries(max_retries)
        request_headers = {**self._auth_headers(method, url), **headers}
        attempt = 0
        while True:
            try:
                response = await self._attempt(
                    method, url, body, request_headers, timeout, stream=stream
                )
            except (ApiError, ApiConnectionError) as exc:
                repeatable = retry_mode == "safe"
                if attempt >= policy.max_retries or not policy.is_retryable(
                    exc, repeatable=repeatable
                ):
                    raise
                delay = policy.delay(exc, attempt)
                attempt += 1
                _log.retrying(
                    f"{method} {path}", exc, attempt, delay, budget=policy.max_retries
                )
                await anyio.sleep(delay)
                continue
            _log.event(
                logging.DEBUG,
                "%s %s -> %s",
                method, path, response.status_code,
                request_id=response.headers.get("x-request-id"),
                attempt=attempt + 1,
            )
            return response

    async def _attempt(
        self,
        method: str,
        url: str,
        body: _Body,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        *,
        stream: bool,
    ) -> httpx.Response:
        """One try: the response below 400, or the SDK error standing for what went wrong."""
        client = self._loop_client()
        request = client.build_request(
            method,
            url,
            params=_query(body.params),
            json=body.json_body,
            data=body.data,
            files=body.files,
            headers=headers,
            timeout=timeout,
        )
        try:
            response = await client.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise _connection_error(exc, method, url) from exc
        if response.status_code >= 400:
            try:
                await response.aread()
            except httpx.HTTPError as exc:
                raise _connection_error(exc, method, url) from exc
            finally:
                await response.aclose()
            self._raise_for_status(method, response)
        return response


@dataclass(frozen=True)
class _Body:
    """What a request sends besides its headers; the same for every try."""

    params: Mapping[str, Any] | None
    json_body: Any
    data: Mapping[str, str] | None
    files: FormParts | None


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
    sent = not _never_reached_server(exc)
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(
            f"request timed out ({type(exc).__name__})", method=method, url=url, request_sent=sent
        )
    detail = str(exc) or type(exc).__name__
    return ApiConnectionError(
        f"connection failed: {detail}", method=method, url=url, request_sent=sent
    )
