"""Template references inside node inputs: finding them and rendering them.

A reference is ``{{ <node id>.<output field> }}`` with optional whitespace inside the braces.
It is the only thing this module recognises: any other text between double braces
(``{{ not a ref }}``, ``{{ 1 + 1 }}``) is left exactly as written. Nothing is ever evaluated,
and a substituted value is never scanned again, so a value that itself contains
``{{ other.field }}`` is inserted as plain text.

Rendering rules:

- A string that is exactly one reference becomes the referenced value with its own type
  (a list stays a list, a number stays a number).
- A reference inside a longer string is interpolated as text (see :func:`to_text`).
- Lists and dicts are rendered element by element; anything that is not a string, list or
  dict passes through unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Reference", "find_references", "render", "single_reference", "to_text"]

_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_\-]+)\.([A-Za-z0-9_\-]+)\s*\}\}")

Lookup = Callable[[str, str], Any]


@dataclass(frozen=True)
class Reference:
    """One ``{{ node_id.field }}`` reference found in a node input."""

    node_id: str
    field: str


def find_references(value: Any) -> Iterator[Reference]:
    """Yield every reference in ``value``, searching strings inside lists and dicts too.

    Example:
        >>> list(find_references(["{{ a.text }}", {"k": "x {{b.out}}"}]))
        [Reference(node_id='a', field='text'), Reference(node_id='b', field='out')]
    """
    if isinstance(value, str):
        for match in _REFERENCE.finditer(value):
            yield Reference(match.group(1), match.group(2))
    elif isinstance(value, list):
        for item in value:
            yield from find_references(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from find_references(item)


def single_reference(value: Any) -> Reference | None:
    """The reference when ``value`` is a string holding one reference and nothing else."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.fullmatch(value)
    return Reference(match.group(1), match.group(2)) if match else None


def to_text(value: Any) -> str:
    """The text form of a value, used when a reference sits inside a longer string.

    ``None`` is empty text, booleans are ``true``/``false``, lists are their elements' text
    forms joined by newlines, dicts are compact JSON, everything else is ``str(value)``.

    Example:
        >>> to_text(["a", 1, True])
        'a\\n1\\ntrue'
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(to_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def render(value: Any, lookup: Lookup, count: Callable[[int], None] | None = None) -> Any:
    """Replace the references in ``value`` by the values ``lookup(node_id, field)`` returns.

    Exceptions raised by ``lookup`` propagate (the engine uses that to skip nodes whose
    inputs come from an untaken branch), and so do those of ``count``.

    Args:
        value: The node input.
        lookup: Gives the value of a reference.
        count: Called with the length of each text interpolated into a longer string, before
            it is joined in (a lone reference copies nothing and is not counted): the engine
            bounds what one node may build this way.

    Example:
        >>> render("Hi {{ a.text }}!", lambda node, field: "Ada")
        'Hi Ada!'
    """
    if isinstance(value, str):
        whole = single_reference(value)
        if whole is not None:
            return lookup(whole.node_id, whole.field)

        def text(match: re.Match[str]) -> str:
            piece = to_text(lookup(match.group(1), match.group(2)))
            if count is not None:
                count(len(piece))
            return piece

        return _REFERENCE.sub(text, value)
    if isinstance(value, list):
        return [render(item, lookup, count) for item in value]
    if isinstance(value, dict):
        return {key: render(item, lookup, count) for key, item in value.items()}
    return value
