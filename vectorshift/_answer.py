"""Reading what a server answered: JSON bodies, error messages, and what is kept of them.

:mod:`vectorshift._http` sends requests and reads bodies (within the size cap); this module
turns the bytes into what callers get: an :class:`ApiResponse` of a JSON object, or the
:mod:`vectorshift.errors` type of an error status, a redirect or a body that is not JSON.

Whatever of an answer ends up in an exception (message, body, headers, excerpt) has the API
key replaced by ``[redacted]`` first: a server that echoes the key it was sent must not put it
into ``str(exc)``, where logs and error trackers would keep it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from vectorshift._retry import RetryPolicy, parse_retry_after
from vectorshift._urls import missing_version_hint, without_userinfo
from vectorshift.errors import ApiError, ApiResponseError, error_class_for_status

if TYPE_CHECKING:
    from vectorshift._schema._base import Shape

__all__ = [
    "ApiResponse",
    "Received",
    "Secret",
    "is_event_stream",
    "json_answer",
    "not_the_answer",
    "refusal",
    "scrub",
    "unread_refusal",
]

_MAX_ERROR_TEXT = 2000
_EXCERPT_CHARS = 200
_MIN_SECRET = 4
"""Shorter keys are not scrubbed from text: blanking one letter everywhere garbles messages."""

T = TypeVar("T")


@dataclass(frozen=True)
class Secret:
    """The API key of a request and where it was configured, for scrubbing and for hints."""

    key: str
    source: str

    def __repr__(self) -> str:
        return f"Secret(key=[redacted], source={self.source!r})"


def scrub(value: T, secret: Secret | None) -> T:
    """``value`` with every occurrence of the key in its strings replaced by ``[redacted]``.

    Strings, and the strings inside JSON-like lists and dicts (keys included), are scrubbed;
    anything else is returned as it is.
    """
    if secret is None or len(secret.key) < _MIN_SECRET:
        return value
    return _scrub(value, secret.key)  # type: ignore[no-any-return]


def _scrub(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return value.replace(key, "[redacted]")
    if isinstance(value, dict):
        return {_scrub(k, key): _scrub(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(item, key) for item in value]
    return value


def _excerpt(content: bytes, secret: Secret | None) -> str:
    head = content[: _EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    shown = scrub(head, secret)
    return shown if len(shown) <= _EXCERPT_CHARS else shown[:_EXCERPT_CHARS] + "..."


@dataclass(frozen=True, repr=False)
class ApiResponse:
    """A success answer whose body may be a JSON object, kept as the bytes received (``b""``
    for an empty body, which reads as ``{}``).

    The body is read by the shape the caller names (:meth:`parse`), straight from the bytes;
    ``method``, ``url`` and the key are kept so that an answer of the wrong shape can say which
    answer it was, with an excerpt (:meth:`malformed`). The repr leaves the body out.
    """

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    request_id: str | None
    method: str = ""
    url: str = ""
    secret: Secret | None = None

    def __repr__(self) -> str:
        return (
            f"ApiResponse({self.status_code} {self.method} {self.url}, "
            f"request_id={self.request_id!r})"
        )

    @property
    def excerpt(self) -> str:
        """The body's first characters, the key scrubbed from them."""
        return _excerpt(self.content, self.secret)

    def malformed(self, reason: str) -> ApiResponseError:
        """The error that says this answer is not the shape docs/protocol.md promises."""
        return ApiResponseError(
            reason,
            status_code=self.status_code,
            method=self.method,
            url=self.url,
            excerpt=self.excerpt,
            headers=scrub(dict(self.headers), self.secret),
            request_id=self.request_id,
        )

    def parse(self, shape: Shape[T], context: Any = None) -> T:
        """The body read by ``shape`` (:mod:`vectorshift._schema.answers`), from its bytes.

        Raises:
            ApiResponseError: the body is not JSON, not a JSON object where one is expected,
                or a field has the wrong type or is missing (the message names its path).
        """
        try:
            return shape.validate_json(self.content or _EMPTY, context=context)
        except ValueError as exc:  # pydantic's ValidationError, not imported before it is needed
            from pydantic import ValidationError

            from vectorshift._schema._base import describe, not_an_object

            if not isinstance(exc, ValidationError):
                raise

            problem = not_an_object(exc)
            if problem == "json":
                reason = f"the body is not JSON ({_content_type(self.headers)})"
            elif problem == "object":
                kind = type(exc.errors(include_url=False)[0]["input"]).__name__
                reason = f"the body is JSON but not an object (a {kind})"
            else:
                reason = describe(exc)
            raise self.malformed(reason) from None


def _content_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type") or "no Content-Type"


@dataclass(frozen=True, repr=False)
class Received:
    """A response as read: its status, headers and decoded body, and the request it answers.

    Attributes:
        secret: The key the request carried, scrubbed from whatever is kept of the answer.
    """

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    url: str
    secret: Secret | None

    def __repr__(self) -> str:
        return f"Received({self.status_code} {self.method} {self.url})"


def not_the_answer(
    received: Received, reason: str, location: str | None = None
) -> ApiResponseError:
    """An :class:`ApiResponseError` for an answer read no further than its status or bytes."""
    return ApiResponseError(
        reason,
        status_code=received.status_code,
        method=received.method,
        url=received.url,
        excerpt=_excerpt(received.content, received.secret),
        headers=scrub(dict(received.headers), received.secret),
        request_id=received.headers.get("x-request-id"),
        location=location,
    )


_EMPTY = b"{}"
_JSON_STARTS = frozenset(b"{[")


def json_answer(received: Received) -> ApiResponse | ApiResponseError:
    """The :class:`ApiResponse` of a success body that may be JSON (an empty one reads ``{}``).

    The body is not parsed here: the caller's :meth:`ApiResponse.parse` reads it once, by the
    shape it expects. A body that cannot be a JSON object or array is refused at once.

    Returns:
        The answer, or the error to raise (returned so that the caller raises it from a
        frame that holds no body): the body is not JSON (an HTML page from a proxy...), or
        is JSON but neither an object nor an array.
    """
    status_code, headers, content = received.status_code, received.headers, received.content
    request_id = headers.get("x-request-id")
    start = content.lstrip()[:1]
    if not start:
        content = b""  # read as {} by parse()
    elif start[0] not in _JSON_STARTS:
        try:
            data = json.loads(content)
        except (ValueError, RecursionError):
            return not_the_answer(received, f"the body is not JSON ({_content_type(headers)})")
        kind = type(data).__name__
        return not_the_answer(received, f"the body is JSON but not an object (a {kind})")
    return ApiResponse(
        status_code, headers, content, request_id, received.method, received.url, received.secret
    )


def _error_message(data: Any, text: str) -> str:
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            value = data.get(key)
            if value:
                return value if isinstance(value, str) else json.dumps(value)
    if text.strip():
        return text.strip()[:_MAX_ERROR_TEXT]
    return "no error message in the response body"


def _platform_error(data: Any) -> bool:
    """Whether an error body is the platform's: an object with a message under ``error``,
    ``message`` or ``detail`` (docs/protocol.md#transport)."""
    return isinstance(data, dict) and any(
        isinstance(data.get(key), (str, dict, list)) and data.get(key)
        for key in ("error", "message", "detail")
    )


def _decode_error_body(content: bytes) -> tuple[Any, str]:
    text = content.decode("utf-8", errors="replace")
    if not text:
        return None, ""
    try:
        return json.loads(text), text
    except (ValueError, RecursionError):
        return text[:_MAX_ERROR_TEXT], text


def _request_id_of(data: Any) -> str | None:
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _hint(status_code: int, base_url: str, secret: Secret | None) -> str:
    if status_code == 404:
        return missing_version_hint(without_userinfo(base_url))
    if status_code == 401 and secret is not None:
        return (
            f"; the key sent came from {secret.source}: check it (with no key given, "
            "VECTORSHIFT_API_KEY is used; a vectorshift.local server prints the key it "
            "accepts when it starts)"
        )
    return ""


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """Whether a success answer to a stream request may be one.

    ``text/event-stream``, or no type at all, or ``text/plain`` (which some servers send for
    events); an HTML page or a JSON document is an answer of another kind.
    """
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("", "text/event-stream", "text/plain")


def refusal(received: Received, *, base_url: str, retry: RetryPolicy) -> ApiError:
    """Why an answer that is not a success (or a stream that is not one) is not used.

    A success here answered a stream request with something else; a redirect is never
    followed (the key must not travel to another origin, and a loop would never end); an
    error status is its :mod:`vectorshift.errors` type (:func:`error_for_status`).
    """
    status_code, headers = received.status_code, received.headers
    if 200 <= status_code < 300:
        reason = (
            "an event stream was asked for (Accept: text/event-stream), and the answer "
            f"is {headers.get('content-type')}"
        )
        return not_the_answer(received, reason)
    if 300 <= status_code < 400:
        location = without_userinfo(headers.get("location", "")) or None
        reason = (
            f"the server redirected ({status_code}) to {location or 'nowhere'}, and the SDK "
            "follows no redirect (the API key must not travel elsewhere): set base_url to "
            "the URL that answers"
        )
        return not_the_answer(received, reason, location)
    return error_for_status(received, base_url=base_url, retry=retry)


def unread_refusal(
    received: Received, reason: str, *, base_url: str, retry: RetryPolicy
) -> ApiError:
    """The error of an answer whose body was not read (over the cap, an unknown coding...).

    An error status keeps the :mod:`vectorshift.errors` type of its status (a 400 too large to
    read is still a :class:`~vectorshift.BadRequestError`, a 503 is still retried), with no
    body and a message that says the body was not read and why. A success, a redirect and a
    404 (whose body alone tells the platform's from a proxy's) are answers that were not
    used: an :class:`~vectorshift.ApiResponseError`.
    """
    status_code, secret = received.status_code, received.secret
    if status_code < 400 or status_code == 404:
        return not_the_answer(received, reason)
    message = f"the body was not read: {reason}" + _hint(status_code, base_url, secret)
    return _status_error(received, message, None, retry)


def _status_error(received: Received, message: str, body: Any, retry: RetryPolicy) -> ApiError:
    """The :mod:`vectorshift.errors` type of ``received``'s status, with ``message``."""
    headers = received.headers
    return error_class_for_status(received.status_code)(
        message,
        status_code=received.status_code,
        method=received.method,
        url=received.url,
        body=body,
        headers=scrub(dict(headers), received.secret),
        request_id=headers.get("x-request-id") or _request_id_of(body),
        retry_after=retry.server_wait(parse_retry_after(headers)),
    )


def error_for_status(received: Received, *, base_url: str, retry: RetryPolicy) -> ApiError:
    """The :mod:`vectorshift.errors` type of an error status, its message scrubbed and hinted.

    A 404 from a base URL that does not end in ``/v1`` says so; a 401 names where the key
    came from and where the right one is found.

    A 404 whose body is not the platform's error (``{"error"|"message"|"detail": ...}``: an
    empty body, an HTML page, a JSON object without a message) did not come from the
    platform's API but from what stands before it (a gateway, a proxy, a wrong base URL): it
    is an :class:`~vectorshift.ApiResponseError` naming the base URL, never a
    :class:`~vectorshift.NotFoundError`, so ``except NotFoundError: create`` does not create a
    pipeline because a URL was wrong.
    """
    status_code, headers, secret = received.status_code, received.headers, received.secret
    data, text = _decode_error_body(received.content)
    if status_code == 404 and not _platform_error(data):
        shown = without_userinfo(base_url)
        kind = headers.get("content-type") or "no Content-Type"
        return not_the_answer(
            received,
            f"404 with no platform error body ({kind}): this answer did not come from the "
            f"VectorShift API but from what answers at {shown!r} (a gateway, a proxy, or a "
            "wrong base URL), so it does not say that the object is missing"
            + missing_version_hint(shown),
        )
    data = scrub(data, secret)
    message = scrub(_error_message(data, text), secret) + _hint(status_code, base_url, secret)
    return _status_error(received, message, data, retry)
