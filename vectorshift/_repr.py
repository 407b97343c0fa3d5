"""One way to show a value in a message: its ``repr``, shortened.

Messages quote what a caller or a server gave (``got 'abc'``); a value of a megabyte must not
make a megabyte of message. This module imports nothing, so any module may use it, including
those ``import vectorshift`` loads.
"""

from __future__ import annotations

__all__ = ["short_repr"]


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to at most ``limit`` characters with ``...`` at the end.

    Example:
        >>> short_repr("x" * 100, 10)
        "'xxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
