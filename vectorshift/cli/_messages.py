"""Errors as a command line speaks of them: flags and commands, never Python calls.

The SDK's messages are written for Python code (``Client(api_key=...)``,
``RunHandler(...).result()``); a user of the command has neither. :func:`describe` rewrites
what the command can say better from the exception's attributes, and :func:`printable` keeps
text that came from a server (names, descriptions, model outputs, error messages) from
driving the terminal: a pipeline named ``"\\x1b]0;pwned\\x07"`` must not retitle the window.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

__all__ = ["describe", "json_text", "no_key_message", "printable"]

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 controls but tab and newline, DEL, C1 controls (``\\x9b`` is a CSI on many terminals),
and the line separators and bidirectional overrides that reorder or split what is shown."""
_UNSAFE_IN_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with every control character shown as its escape (``\\x1b``, ``\\x9b``).

    Args:
        text: Text from anywhere (a server, a file).
        one_line: Escape tabs and newlines too (for names and table cells).
    """
    pattern = _UNSAFE_IN_LINE if one_line else _UNSAFE
    return pattern.sub(_escape, text)


def json_text(text: str) -> str:
    """A JSON document with the C1 controls and the separators JSON leaves raw escaped.

    ``json.dumps(..., ensure_ascii=False)`` escapes the C0 controls but writes U+0080-U+009F
    and U+2028/U+2029 as they are; as ``\\uXXXX`` escapes the document stays the same JSON.
    """
    return re.sub(
        "[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]",
        lambda m: f"\\u{ord(m.group(0)):04x}",
        text,
    )


def no_key_message(program: str) -> str:
    """What to do when no API key is configured, in the command's words."""
    return (
        f"no API key: give --api-key KEY, set VECTORSHIFT_API_KEY, or run `{program} login` "
        f"(`{program} local serve` prints the key of a local platform)"
    )


def describe(exc: BaseException, args: argparse.Namespace) -> str:
    """The message of ``exc`` as the command states it (without its class name)."""
    from vectorshift.errors import ConfigurationError, PollTimeoutError, _ids

    if isinstance(exc, PollTimeoutError):
        raw = getattr(exc.last_status, "raw_status", None)
        return (
            f"the run did not finish within {exc.timeout:g}s (last status: "
            f"{raw or 'none seen'}); it goes on on the server"
            + _ids(pipeline_id=exc.pipeline_id, task_id=exc.task_id, trace_id=exc.trace_id)
        )
    text = str(exc)
    if isinstance(exc, ConfigurationError) and text.startswith("base_url "):
        flag = "--base-url" if getattr(args, "base_url", None) else "VECTORSHIFT_BASE_URL"
        text = flag + text[len("base_url") :]
    return text
