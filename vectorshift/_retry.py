"""The retry policy: which failures are transient, when they are tried again, how long to wait.

This module is the one home of those rules. The request loop of the HTTP transport, the status
polls of ``result()``, the starts of ``map`` and the reconnections of a resumed stream all ask
:meth:`RetryPolicy.is_retryable` whether a failure is worth another try and
:meth:`RetryPolicy.delay` how long to wait first; none of them keeps a list of its own.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from vectorshift.errors import ApiConnectionError, ApiError, ApiTimeoutError, ConfigurationError

__all__ = ["DEFAULT_RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 429, *range(500, 600)})
"""Request Timeout, Too Many Requests and every 5xx."""

_NOTHING_DONE_STATUSES = frozenset({429})
"""Statuses that prove the server did not act on the request: a 429 is a refusal to start."""

_MAX_DOUBLINGS = 32
"""Past this many doublings the exponential cap is far above any ``max_backoff``."""


@dataclass(frozen=True)
class RetryPolicy:
    """An immutable description of which failed calls the SDK retries, and how.

    Every retry decision of the SDK is taken by :meth:`is_retryable` from these fields alone,
    and every wait comes from :meth:`delay`. Waits grow exponentially with *full jitter*:
    attempt ``n`` (counting from 0) sleeps a uniform random time in
    ``[0, min(max_backoff, backoff_base * 2**n)]``, so many clients hitting one limit spread out
    instead of retrying in lockstep. A server's ``Retry-After`` (or ``retry-after-ms``) replaces
    the computed wait; it is sanitised (NaN ignored, negative values taken as 0) and capped at
    ``max_retry_after``, so a misbehaving server cannot park a client for hours.

    A call that could act twice if repeated (an unkeyed run start) is retried only after a
    failure that proves the server did nothing: a 429, or a connection that was never made.

    Attributes:
        max_retries: Retries after the first attempt; 0 disables retrying. A resumed stream
            makes at most this many reconnections in a row, and ``map`` gives a start this many
            more rounds of retries.
        backoff_base: Seconds; the cap of the first jittered wait.
        max_backoff: Seconds; the largest computed wait.
        max_retry_after: Seconds; the largest server-requested wait that is honoured.
        retry_statuses: HTTP statuses worth retrying (408, 429 and 5xx by default); no status
            outside it is ever retried.
        retry_timeouts: Whether timeouts (connect, read, write, pool) are retried.
        retry_connection_errors: Whether lost connections are retried: refused or reset
            connections, protocol errors, and streams that break before their result.

    Example:
        >>> from vectorshift import Client, RetryPolicy
        >>> client = Client(retry=RetryPolicy(max_retries=5, max_backoff=20.0))
        >>> no_5xx = RetryPolicy(retry_statuses=frozenset({429}))
    """

    max_retries: int = 2
    backoff_base: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_timeouts: bool = True
    retry_connection_errors: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {self.max_retries}")
        waits = (self.backoff_base, self.max_backoff, self.max_retry_after)
        if not all(wait >= 0 for wait in waits):  # also rejects NaN
            raise ConfigurationError("backoff_base, max_backoff and max_retry_after must be >= 0")
        if not isinstance(self.retry_statuses, frozenset):
            object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    def __repr__(self) -> str:
        statuses = (
            "DEFAULT_RETRY_STATUSES"
            if self.retry_statuses == DEFAULT_RETRY_STATUSES
            else f"frozenset({{{', '.join(map(str, sorted(self.retry_statuses)))}}})"
        )
        return (
            f"RetryPolicy(max_retries={self.max_retries}, backoff_base={self.backoff_base}, "
            f"max_backoff={self.max_backoff}, max_retry_after={self.max_retry_after}, "
            f"retry_statuses={statuses}, retry_timeouts={self.retry_timeouts}, "
            f"retry_connection_errors={self.retry_connection_errors})"
        )

    def with_max_retries(self, max_retries: int) -> RetryPolicy:
        """A copy of this policy with another retry budget."""
        return replace(self, max_retries=max_retries)

    def is_retryable_status(self, status_code: int) -> bool:
        """Whether an HTTP status is transient under this policy (it is in ``retry_statuses``)."""
        return status_code in self.retry_statuses

    def is_retryable(self, exc: BaseException, *, repeatable: bool = True) -> bool:
        """Whether a failure is transient under this policy: the one classification of the SDK.

        The retry budget is not considered here: callers count their own attempts against
        ``max_retries``.

        Args:
            exc: What the attempt raised: an :class:`~vectorshift.ApiError` is judged by its
                status, an :class:`~vectorshift.ApiTimeoutError` by ``retry_timeouts``, any
                other :class:`~vectorshift.ApiConnectionError` (a stream that broke included)
                by ``retry_connection_errors``. Anything else is not transient.
            repeatable: Whether sending the request again cannot act twice (a read, an
                update, a terminate, a keyed start). When ``False`` only failures proving the
                server did nothing are retried: a 429, or a request that was never sent.

        Example:
            >>> error = InternalServerError("down", status_code=503, method="GET", url="/x")
            >>> RetryPolicy(retry_statuses=frozenset({429})).is_retryable(error)
            False
        """
        if isinstance(exc, ApiError):
            return self.is_retryable_status(exc.status_code) and (
                repeatable or exc.status_code in _NOTHING_DONE_STATUSES
            )
        if isinstance(exc, ApiConnectionError):
            enabled = (
                self.retry_timeouts
                if isinstance(exc, ApiTimeoutError)
                else self.retry_connection_errors
            )
            return enabled and (repeatable or not exc.request_sent)
        return False

    def server_wait(self, seconds: float | None) -> float | None:
        """A wait a server asked for, as this policy honours it; ``None`` when there is none.

        NaN counts as no request, a negative wait (a date in the past) as 0, and anything over
        ``max_retry_after`` (infinity, and integers too large for a float, included) as
        ``max_retry_after``. ``Retry-After``, ``retry-after-ms`` and the ``retry:`` field of an
        event stream all pass through here, and nothing else decides how long a server may make
        the SDK wait.
        """
        if seconds is None:
            return None
        try:
            wait = float(seconds)
        except OverflowError:  # an int beyond any float: as long as infinity
            wait = math.inf if seconds > 0 else 0.0
        if math.isnan(wait):
            return None
        return min(max(wait, 0.0), self.max_retry_after)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``.

        Args:
            attempt: How many retries were already made (0 before the first retry).
            retry_after: The server's requested wait, if it sent one (see :meth:`server_wait`).
        """
        honoured = self.server_wait(retry_after)
        if honoured is not None:
            return honoured
        doublings = min(max(attempt, 0), _MAX_DOUBLINGS)
        cap = min(self.max_backoff, self.backoff_base * (2**doublings))
        return random.uniform(0.0, cap)

    def delay(self, exc: BaseException | None, attempt: int, *, hint: float | None = None) -> float:
        """Seconds to wait after ``exc`` before retry number ``attempt + 1``.

        Args:
            exc: The failure; an :class:`~vectorshift.ApiError`'s ``retry_after`` is honoured.
            attempt: How many retries were already made.
            hint: A server's suggested base wait in seconds (an event stream's ``retry:``
                field): it replaces ``backoff_base`` (capped as :meth:`server_wait` caps).
        """
        retry_after = exc.retry_after if isinstance(exc, ApiError) else None
        if retry_after is not None:
            return self.backoff(attempt, retry_after)
        base = self.server_wait(hint)
        if base is None:
            return self.backoff(attempt)
        policy = replace(self, backoff_base=base, max_backoff=max(self.max_backoff, base))
        return policy.backoff(attempt)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait as the response headers ask, or ``None``; not sanitised.

    Reads ``retry-after-ms`` (milliseconds, preferred when it holds a number) and ``Retry-After``
    (seconds or an HTTP date, RFC 9110 section 10.2.3). Header lookup is case-insensitive when
    given an ``httpx.Headers``; plain dicts are searched in lower case too. The value is
    returned as the server wrote it (negative, NaN or huge): :meth:`RetryPolicy.server_wait`
    decides what of it is honoured.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            milliseconds = float(raw_ms)
        except ValueError:
            milliseconds = math.nan
        if not math.isnan(milliseconds):  # "nan" is no value: Retry-After may hold one
            return milliseconds / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    import email.utils  # only HTTP-date values need it; it costs ~15 ms to import

    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    moment = email.utils.mktime_tz(parsed)
    return moment - (time.time() if now is None else now)
