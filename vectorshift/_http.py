"""The one HTTP seam: the only module that sends requests through httpx.

Its helpers on httpx's side wrap the transport of each connection pool: :mod:`vectorshift._lanes`
spreads requests over small pools, :mod:`vectorshift._accounting` counts the responses whose body
is open (both learn of a closed body through its one response-stream wrapper). A transport given
as ``Client(transport=)`` replaces the lanes; the count and everything above it stay.

Interceptors (:mod:`vectorshift._intercept`) see each request just before it is sent and each
response as it arrives, in :meth:`HttpTransport._attempt`; retries reach the current operation
through :func:`vectorshift._log.retrying`.

It owns connection pools, reads bodies within the client's size cap (inflating them with
:mod:`vectorshift._inflate`, whose cap holds while decoding), has :mod:`vectorshift._answer`
turn them into results or :mod:`vectorshift.errors` types, and retries failures in one loop
(:meth:`HttpTransport._send`) that asks the :class:`~vectorshift._retry.RetryPolicy` which of
them are transient and how long to wait.

Redirects are never followed (the key must not travel to another origin). The key is added by
an ``httpx.Auth`` as the request leaves, so no frame of the SDK holds it, and a connection
error's cause is disarmed (:func:`_disarm`) before it is chained.

Pools live per event loop. An ``httpx.AsyncClient`` is bound to the loop that first used it, so a
single :class:`vectorshift.Client` keeps one pool per running loop: it survives ``asyncio.run``
being called twice, works under trio, and never touches a closed loop.
"""

from __future__ import annotations

import logging
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import httpx
import sniffio

from vectorshift import _intercept, _log
from vectorshift._accounting import Accounting
from vectorshift._answer import (
    ApiResponse,
    Received,
    Secret,
    is_event_stream,
    json_answer,
    not_the_answer,
    refusal,
    unread_refusal,
)
from vectorshift._files import FormParts
from vectorshift._inflate import ACCEPT_ENCODING, UnreadableBody, read_body
from vectorshift._lanes import Lanes
from vectorshift._retry import RetryPolicy
from vectorshift._sync._runtime import close_with_loop
from vectorshift._urls import check_base_url
from vectorshift._version import __version__
from vectorshift.errors import ApiConnectionError, ApiError, ApiTimeoutError, ConfigurationError

__all__ = ["ApiResponse", "HttpTransport", "RetryMode", "to_timeout"]

RetryMode = Literal["safe", "unsafe"]
"""``safe``: the call may be repeated (reads, updates, terminate, keyed starts); ``unsafe``: a
repeat could act twice, so only failures that prove the server did nothing are retried."""

_EXCERPT_BYTES = 4096
"""How much of a body that is not an answer (a stream that is not one) is read, to quote it."""


class _Default:
    """The type of :data:`DEFAULT`: "use the client's setting"."""


DEFAULT = _Default()
_MAX_TRIO_POOLS = 4


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


def _never_reached_server(exc: Exception) -> bool:
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


class _BearerAuth(httpx.Auth):
    """Puts the API key on a request as it is sent; its repr shows no key."""

    def __init__(self, secret: Secret) -> None:
        self.secret = secret

    def __repr__(self) -> str:
        return "<bearer token [redacted]>"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.secret.key}"
        yield request


def _disarm(exc: BaseException) -> None:
    """Make an httpx failure safe to chain as a cause: no key in its request, no frames.

    The request's ``Authorization`` is replaced, and the tracebacks of the exception and of
    everything it chains are dropped: their frames (httpx's, httpcore's, h11's) hold the
    request's headers in locals, which error trackers record. Type and message stay.
    """
    request = getattr(exc, "_request", None)
    if isinstance(request, httpx.Request) and "authorization" in request.headers:
        request.headers["Authorization"] = "[redacted]"
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


class HttpTransport:
    """Requests with retries and error mapping, over per-event-loop connection pools.

    Args:
        base_url: Resolves the API base URL at request time (configuration is read lazily).
        api_key: Resolves the API key at request time, with where it was configured (named
            in the message of a 401); the key is never logged nor shown in errors.
        timeout: Per-operation timeouts (connect, read, write, pool). There is no total timeout,
            so streams and long polls are never cut while data keeps coming.
        retry: The retry policy.
        headers: Extra headers sent with every request.
        transport: An httpx transport to send through instead of the SDK's lanes of pools.
        interceptors: Told of each request before it is sent and each response as it arrives
            (:meth:`~vectorshift.Interceptor.on_request`, ``on_response``), with the operation
            it belongs to.
        max_response_bytes: The largest decoded body of a non-streamed response.
    """

    def __init__(
        self,
        *,
        base_url: Callable[[], str],
        api_key: Callable[[], tuple[str | None, str]],
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        interceptors: tuple[_intercept.Interceptor, ...] = (),
        max_response_bytes: int = 64 * 2**20,
    ) -> None:
        self._base_url = base_url
        self._interceptors = interceptors
        self._api_key = api_key
        self.timeout = timeout
        self.retry = retry
        self.max_response_bytes = max_response_bytes
        self._headers = dict(headers or {})
        self._transport = transport
        self._pools: OrderedDict[tuple[str, object], tuple[httpx.AsyncClient, Accounting]] = (
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
            accounting = Accounting(self._transport or Lanes(self._ssl_context))
            client = httpx.AsyncClient(
                timeout=self.timeout,
                transport=accounting,
                headers={"User-Agent": f"vectorshift-python/{__version__}", **self._headers},
            )
            pool = self._pools[key] = (client, accounting)
            if key[0] == "asyncio":
                close_with_loop(client)
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
        """The request URL: the checked base URL (credentials removed) and ``path``."""
        return check_base_url(self._base_url()).rstrip("/") + "/" + path.lstrip("/")

    def _secret(self) -> Secret:
        key, source = self._api_key()
        if not key:
            raise ConfigurationError(
                "no API key: pass Client(api_key=...), set vectorshift.api_key, "
                "set the VECTORSHIFT_API_KEY environment variable, or run `vectorshift login` "
                "(a vectorshift.local server prints its key at start)"
            )
        return Secret(key, source)

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
            ConfigurationError: no API key, or a base URL that is not ``http(s)://``.
            ApiResponseError: the answer is a redirect, not a JSON object, or over the size cap.
            ApiError: the server answered an error status (after retries, when transient).
            ApiConnectionError: no answer was received (after retries).
        """
        timeout = (
            self.timeout
            if isinstance(read_timeout, _Default)
            else _with_read(self.timeout, read_timeout)
        )
        _, answer = await self._send(
            method,
            path,
            _Body(params, json_body, data, files),
            headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
            retry_mode=retry_mode,
            max_retries=max_retries,
            timeout=timeout,
            stream=False,
        )
        assert answer is not None
        return answer

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

        The request is sent when the context is entered, so HTTP errors surface there, and
        so does an answer that is not an event stream (:class:`~vectorshift.ApiResponseError`,
        quoting its start). The response is closed when the context exits, however it exits.
        Reads have no timeout: a stream may stay quiet between frames for as long as its run
        needs.
        """
        response, _ = await self._send(
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
    ) -> tuple[httpx.Response, ApiResponse | None]:
        """The retry loop of every request: send, and ask the policy about each failure.

        Returns a success response and its JSON answer (``stream=False``), or a success
        response with its body still open and ``None`` (``stream=True``). An error raised
        after more than one attempt says how many were made.
        """
        url = self._url(path)
        policy = self.retry if max_retries is None else self.retry.with_max_retries(max_retries)
        auth = _BearerAuth(self._secret())
        attempt = 0
        while True:
            try:
                response, answer = await self._attempt(
                    method, url, body, headers, timeout, auth, stream=stream
                )
            except (ApiError, ApiConnectionError) as exc:
                repeatable = retry_mode == "safe"
                if attempt >= policy.max_retries or not policy.is_retryable(
                    exc, repeatable=repeatable
                ):
                    exc._note_attempts(attempt + 1)
                    raise
                delay = policy.delay(exc, attempt)
                attempt += 1
                _log.retrying(f"{method} {path}", exc, attempt, delay, budget=policy.max_retries)
                await anyio.sleep(delay)
                continue
            _log.event(
                logging.DEBUG,
                "%s %s -> %s",
                method,
                path,
                response.status_code,
                request_id=response.headers.get("x-request-id"),
                attempt=attempt + 1,
            )
            return response, answer

    async def _attempt(
        self,
        method: str,
        url: str,
        body: _Body,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        auth: _BearerAuth,
        *,
        stream: bool,
    ) -> tuple[httpx.Response, ApiResponse | None]:
        """One try: a success response (with its answer, unless streamed), or the SDK error.

        Every body is read within the size cap (:func:`~vectorshift._inflate.read_body`), and
        the response is closed before this returns unless it is an open event stream.
        """
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
        operation = _intercept.current() if self._interceptors else None
        if self._interceptors:
            for interceptor in self._interceptors:
                _intercept.guarded(interceptor.on_request, request, operation)
        try:
            response = await client.send(request, auth=auth, stream=True)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ConfigurationError(f"cannot send to {url!r}: {exc}") from None
        except httpx.HTTPError as exc:
            raise _connection_error(exc, method, url) from exc
        if self._interceptors:
            self._received(response, operation)
        status = response.status_code
        if stream and 200 <= status < 300 and is_event_stream(response.headers):
            return response, None
        try:
            outcome = await self._outcome(response, method, url, auth, stream=stream)
        finally:
            await response.aclose()
        if isinstance(outcome, ApiResponse):
            return response, outcome
        raise outcome

    def _received(self, response: httpx.Response, operation: _intercept.Operation | None) -> None:
        """Show a response to the interceptors, its request's key blanked first."""
        if "authorization" in response.request.headers:
            response.request.headers["Authorization"] = "[redacted]"
        if operation is not None:
            operation.request_id = response.headers.get("x-request-id") or operation.request_id
        for interceptor in self._interceptors:
            _intercept.guarded(interceptor.on_response, response, operation)

    async def _outcome(
        self, response: httpx.Response, method: str, url: str, auth: _BearerAuth, *, stream: bool
    ) -> ApiResponse | ApiError | ApiConnectionError:
        """What a response amounts to once read: its answer, or the error it stands for.

        The error is returned, not raised, so that no frame of its traceback holds the body
        (a body may echo the key, and error trackers record the locals of every frame).
        """
        status = response.status_code
        quote_only = stream and 200 <= status < 300
        limit = _EXCERPT_BYTES if quote_only else self.max_response_bytes
        try:
            content = await read_body(
                response.aiter_raw(), response.headers, limit, truncate=quote_only
            )
        except UnreadableBody as exc:
            received = Received(status, response.headers, exc.partial, method, url, auth.secret)
            if quote_only:
                return not_the_answer(received, str(exc))
            return unread_refusal(received, str(exc), base_url=self._base_url(), retry=self.retry)
        except httpx.HTTPError as exc:
            return _connection_error(exc, method, url)
        received = Received(status, response.headers, content, method, url, auth.secret)
        if stream or not 200 <= status < 300:
            return refusal(received, base_url=self._base_url(), retry=self.retry)
        return json_answer(received)


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
    """The SDK error for an httpx failure, with the failure (disarmed) as its cause."""
    _disarm(exc)
    sent = not _never_reached_server(exc)
    error: ApiConnectionError
    if isinstance(exc, httpx.TimeoutException):
        error = ApiTimeoutError(
            f"request timed out ({type(exc).__name__})", method=method, url=url, request_sent=sent
        )
    else:
        detail = str(exc) or type(exc).__name__
        error = ApiConnectionError(
            f"connection failed: {detail}", method=method, url=url, request_sent=sent
        )
    error.__cause__ = exc
    return error
