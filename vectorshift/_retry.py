"""The retry policy: when a failed call is tried again, and how long to wait first."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """An immutable description of how the SDK retries failed calls.

    Waits grow exponentially with *full jitter*: attempt ``n`` (counting from 0) sleeps a uniform
    random time in ``[0, min(max_backoff, backoff_base * 2**n)]``, so many clients hitting one
    limit spread out instead of retrying in lockstep. A server's ``Retry-After`` (or
    ``retry-after-ms``) replaces the computed wait, capped at ``max_retry_after`` so a misbehaving
    server cannot park a client for hours.

    Attributes:
        max_retries: Retries after the first attempt; 0 disables retrying.
        backoff_base: Seconds; the cap of the first jittered wait.
        max_backoff: Seconds; the largest computed wait.
        max_retry_after: Seconds; the largest server-requested wait that is honoured.
        retry_statuses: HTTP statuses worth retrying (408, 429 and 5xx by default).

    Example:
        >>> from vectorshift import Client, RetryPolicy
        >>> client = Client(retry=RetryPolicy(max_retries=5, max_backoff=20.0))
    """

    max_retries: int = 2
    backoff_base: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("backoff_base, max_backoff and max_retry_after must be >= 0")

    def with_max_retries(self, max_retries: int) -> RetryPolicy:
        """A copy of this policy with another retry budget."""
        return replace(self, max_retries=max_retries)

    def is_retryable_status(self, status_code: int) -> bool:
        """Whether an HTTP status is transient under this policy."""
        return status_code in self.retry_statuses or status_code >= 500

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``.

        Args:
            attempt: How many retries were already made (0 before the first retry).
            retry_after: The server's requested wait, if it sent one.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        cap = min(self.max_backoff, self.backoff_base * (2**attempt))
        return random.uniform(0.0, cap)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait as the response headers ask, or ``None``.

    Reads ``retry-after-ms`` (milliseconds, preferred when present) and ``Retry-After`` (seconds
    or an HTTP date, RFC 9110 section 10.2.3). Header lookup is case-insensitive when given an
    ``httpx.Headers``; plain dicts are searched in lower case too.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    import email.utils  # only HTTP-date values need it; it costs ~15 ms to import

    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    moment = email.utils.mktime_tz(parsed)
    return max(moment - (time.time() if now is None else now), 0.0)
