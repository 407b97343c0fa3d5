"""How deeply a JSON value nests, and the one limit every body is held to.

A JSON body is parsed by pydantic-core, which refuses more than :data:`MAX_NESTING` levels of
arrays and objects (a 400). A multipart run's form fields hold JSON too (``inputs``,
``node_input_overrides``), parsed by Python's parser, whose own limit is the interpreter's
recursion limit: far deeper than what the store, the engine and the JSON answers can read back.
:func:`refuse_deep` holds those values to the same limit, so nothing is stored that a later
fetch, list or status answer cannot encode.
"""

from __future__ import annotations

from typing import Any

from vectorshift.local.validation import Refusal

__all__ = ["MAX_NESTING", "nesting", "refuse_deep", "too_deep"]

MAX_NESTING = 200
"""Levels of arrays and objects a body may hold, the body itself counted (pydantic-core's)."""


def nesting(value: Any, stop: int = MAX_NESTING + 1) -> int:
    """The levels of arrays and objects in ``value`` (0 for a scalar), walked without recursion;
    the walk stops at ``stop`` levels."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest >= stop:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def refuse_deep(value: Any, where: str, levels_above: int = 0) -> None:
    """Refuse ``value`` (found ``levels_above`` levels inside a body) if it nests too deeply.

    Raises:
        Refusal: 400 naming ``where`` and the limit.
    """
    limit = MAX_NESTING - levels_above
    if nesting(value, limit + 1) > limit:
        raise too_deep(where)


def too_deep(where: str) -> Refusal:
    """The 400 for ``where``, nested deeper than :data:`MAX_NESTING` levels."""
    return Refusal(
        400,
        f"{where} is nested too deeply: a body holds at most {MAX_NESTING} levels of arrays "
        "and objects",
    )
