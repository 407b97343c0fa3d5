"""The base of every request body: strict, keeping unknown fields, refusing non-finite numbers.

Only ``vectorshift.local`` (which validates bodies) and the SDK's tests build these models; the
SDK reads answers with :mod:`vectorshift._schema._base` alone, so a process that only reads
answers never builds them (they cost as much to build as every answer model together).
A refusal of our own (:func:`refuse`) is worded by :func:`~vectorshift._schema._base.describe`
as ``field '<path>' <phrase>``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

__all__ = ["Body", "JsonData", "refuse"]


def refuse(kind: str, phrase: str, where: str = "") -> PydanticCustomError:
    """A validation error of our own, which :func:`describe` renders as ``field '<path>' <phrase>``.

    Args:
        kind: The error type (``"blank"``, ``"json_value"``...), for code that tells them apart.
        phrase: What is wrong, as the end of a sentence whose subject is the field (``"must not
            be empty"``); a phrase that names its fields itself is raised by a model validator,
            whose location is the body.
        where: A path inside the value, appended to the field's (``"[2].x"``).

    Returns:
        The error, for a validator to raise.
    """
    return PydanticCustomError(kind, phrase, {"where": where})


def _finite_json(value: Any) -> Any:
    """``value`` itself, once every number in it is known finite (walked without recursion).

    The walk keeps no paths; only a value that holds a non-finite number is walked again to
    name where (:func:`_non_finite`).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            where, number = _non_finite(value)
            shown = (
                "NaN, which is not a JSON number"
                if math.isnan(number)
                else (f"a number out of range ({number}): JSON numbers here must be finite")
            )
            raise refuse("json_value", f"is {shown}", where)
    return value


def _non_finite(value: Any) -> tuple[str, float]:
    """The path in ``value`` (``"[2].x"``) of its first non-finite number, and that number."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where, item
        if isinstance(item, dict):
            stack.extend((f"{where}.{key}", child) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}[{index}]", child) for index, child in enumerate(item))
    raise AssertionError("no non-finite number in the value")


JsonData = Annotated[Any, AfterValidator(_finite_json)]
"""Any JSON value, its numbers finite (``NaN``, ``Infinity`` and ``1e999`` refused, by path)."""


class Body(BaseModel):
    """A request body a client sends: strict on the fields declared, keeping any other field.

    Unknown fields are kept as :data:`JsonData`, so they are refused for a non-finite number too.
    """

    model_config = ConfigDict(
        extra="allow", strict=True, frozen=True, populate_by_name=True, allow_inf_nan=False
    )
    __pydantic_extra__: dict[str, JsonData] = Field(init=False)
