"""Base URLs: the one check of what a client may talk to, and how a URL is shown.

A base URL is checked when a :class:`~vectorshift.Client` is given one, and again at each
request for the values read lazily (``vectorshift.base_url``, ``VECTORSHIFT_BASE_URL``), so a
mistake fails before any request instead of being retried as a network failure.

Credentials written into a URL (``http://user:pw@host/v1``) are never sent nor shown: the API
key is the one credential of the API (docs/protocol.md#transport), sent as a bearer token. Every URL
the SDK puts in a request, a message, a repr or a log record has passed through
:func:`without_userinfo`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from vectorshift.errors import ConfigurationError

__all__ = ["check_base_url", "missing_version_hint", "without_userinfo"]


def without_userinfo(url: str) -> str:
    """``url`` without any ``user:password@`` part; the rest as written."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_base_url(url: str) -> str:
    """``url`` as requests use it (credentials removed), once it is an ``http(s)`` API root.

    Raises:
        ConfigurationError: a ``ValueError``: the URL has no ``http://`` or ``https://``
            scheme, or no host.
    """
    shown = without_userinfo(url)
    try:
        parts = urlsplit(shown)
        host = parts.hostname
    except ValueError as exc:
        raise ConfigurationError(f"base_url {shown!r} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        guess = shown.split("://", 1)[-1]
        raise ConfigurationError(
            f"base_url {shown!r} has no http:// or https:// scheme; "
            f"did you mean 'https://{guess}' (or 'http://{guess}' for a local server)?"
        )
    if not host:
        raise ConfigurationError(f"base_url {shown!r} names no host")
    return shown


def missing_version_hint(base_url: str) -> str:
    """Advice for a 404 when the base URL does not end in ``/v1``; ``""`` when it does."""
    path = urlsplit(base_url).path.rstrip("/")
    if path.endswith("/v1"):
        return ""
    suggestion = base_url.rstrip("/") + "/v1"
    return (
        f"; the base URL {base_url!r} does not end in /v1, where the API lives: "
        f"did you mean {suggestion!r}?"
    )
