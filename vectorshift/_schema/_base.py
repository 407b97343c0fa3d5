"""What every wire model shares: how strict it is, what it tolerates, how its errors read.

Two kinds of model, one rule each:

- :class:`Answer`: what a server sends. Fields the platform may add are kept (``extra="allow"``),
  so an SDK built today reads tomorrow's answers; the fields we read are checked strictly (an id
  that is an object, a list where a map was promised, is an error, never a coercion).
- :class:`Body`: what a client sends. Strict too (``"1"`` is not an integer, ``"true"`` not a
  boolean), and unknown fields are kept: the official client sends some this server ignores.
  Free-form JSON in a body (run inputs, a graph, unknown fields) is :data:`JsonData`: any JSON
  value whose numbers are finite, since no answer could carry ``NaN`` or ``1e999`` back.

A :class:`pydantic.ValidationError` becomes one line naming the field by its path in the JSON
(``runs[2].inputs``, ``nodes.llm_0.outputs[1]``) through :func:`describe`, for the SDK's
``ApiResponseError`` and for the local server's 4xx answers alike.
"""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from vectorshift._repr import short_repr

__all__ = ["Answer", "Shape", "describe", "field_path", "json_kind", "not_an_object"]

T = TypeVar("T")

_VALIDATOR_STEP = re.compile(
    r"^(function-[a-z]+|tagged-union|union|nullable|default|json-or-python|lax-or-strict|chain)\["
)
"""The names pydantic gives to steps of a validator (not fields) in an error's location."""


class Answer(BaseModel):
    """A shape a server sends: strict on the fields declared, keeping any other field."""

    # Built when a shape first validates (its Shape), not when this module is imported. A
    # field's docstring is its description for the docs (tools/gen_schema.py reads it from the
    # source); pydantic's use_attribute_docstrings would read every class's source at import.
    model_config = ConfigDict(
        extra="allow", strict=True, frozen=True, populate_by_name=True, defer_build=True
    )


class Shape(Generic[T]):
    """The validator of one wire shape, built when it first validates something.

    A process that reads one kind of answer builds one validator: building them all when the
    module is imported would put every shape's cost on the first answer.

    Example:
        >>> CREATED = Shape[Created](Created)
        >>> CREATED.validate_json(b'{"id": "p-1"}').id
        'p-1'
    """

    __slots__ = ("_adapter", "_type")

    def __init__(self, type_: Any) -> None:
        self._type = type_
        self._adapter: TypeAdapter[T] | None = None

    @property
    def adapter(self) -> TypeAdapter[T]:
        """The :class:`pydantic.TypeAdapter` of the shape (built on first use)."""
        if self._adapter is None:
            self._adapter = TypeAdapter(self._type)
        return self._adapter

    def validate_json(self, data: bytes | str, context: Any = None) -> T:
        """``data`` (JSON text) read as the shape; ``context`` goes to its validators.

        Raises:
            pydantic.ValidationError: the text is not JSON, or not of the shape.
        """
        adapter = self._adapter if self._adapter is not None else self.adapter
        return adapter.validate_json(data, context=context)


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a JSON path: ``("runs", 2, "inputs")`` -> ``runs[2].inputs``.

    Locations of tagged unions and function validators (``function-after[...]``) are not
    fields and are left out.
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _VALIDATOR_STEP.match(part):
            continue
        else:
            path += f".{part}" if path else part
    return path


_KINDS: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def json_kind(value: Any) -> str:
    """What JSON calls ``value``'s type, with an article: ``an object``, ``a string``, ``null``."""
    return _KINDS.get(type(value), type(value).__name__)


_EXPECTED: dict[str, str] = {
    "dict_type": "an object",
    "model_type": "an object",
    "list_type": "an array",
    "string_type": "a string",
    "bool_type": "a boolean",
    "int_type": "an integer",
    "float_type": "a number",
    "none_required": "null",
}

_OWN = frozenset({"json_value", "blank", "exclusive", "one_of"})
"""Error types our own validators raise (:func:`refuse`): their message is a phrase."""

_JSON_INVALID = re.compile(r"^Invalid JSON: (.*)$", re.DOTALL)


def _shown(value: Any) -> str:
    """``repr(value)``, at most 50 characters."""
    return short_repr(value, 50)


_NOT_AN_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type"})


def not_an_object(error: ValidationError) -> str | None:
    """Why a body failed before any of its fields was read, if it did.

    Returns:
        ``"json"`` when the text is not JSON, ``"object"`` when it is JSON but not an object,
        ``None`` when the problem is a field's.
    """
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return "json"
    if first["type"] in _NOT_AN_OBJECT and not first["loc"]:
        return "object"
    return None


def describe(error: ValidationError, prefix: str = "") -> str:
    """The first problem of ``error`` as one line naming the field by its JSON path.

    An error a validator raised for the whole object names its field in its context
    (``PydanticCustomError("missing", "Field required", {"field": "status"})``). A value
    outside a ``Literal`` of strings reads as a wrong type when it is not a string.

    Args:
        error: What pydantic raised.
        prefix: A path the model sits under (``"object."``), prepended to each field.

    Besides wrong types and missing fields, it words lengths (``is too long (5000 > 1000
    characters)``), literal choices (``must be one of 'patch', 'minor' or 'major'``), bounds,
    the refusals of :func:`refuse`, and bodies that are not JSON at all (``request body is not
    valid JSON: ...``, ``request body is nested too deeply``).

    Example:
        >>> describe(error)
        "field 'runs[2].inputs' must be an object, got an array"
    """
    first = error.errors(include_url=False)[0]
    kind = first["type"]
    ctx: dict[str, Any] = first.get("ctx") or {}
    path = field_path(tuple(first["loc"]))
    named = ctx.get("field")
    if named:
        path = f"{path}.{named}" if path else str(named)
    path = prefix + path
    if kind in _OWN:
        path += ctx.get("where", "")
        return f"field {path!r} {first['msg']}" if path else str(first["msg"])
    if kind == "json_invalid":
        reason = _JSON_INVALID.sub(r"\1", str(first["msg"]))
        if reason.startswith("recursion limit exceeded"):
            return f"request body is nested too deeply ({reason})"
        return f"request body is not valid JSON: {reason}"
    value = first.get("input")
    expected = _EXPECTED.get(kind)
    if not path:
        if expected is not None:
            return f"request body must be a JSON object, got {json_kind(value)}"
        return f"request body: {first['msg']}"
    label = repr(path)
    if kind == "missing":
        return f"field {label} is missing"
    if expected is not None:
        return f"field {label} must be {expected}, got {json_kind(value)}"
    if kind == "literal_error":
        if not isinstance(value, str):
            return f"field {label} must be a string, got {json_kind(value)}"
        return f"field {label} must be one of {ctx['expected']}, got {_shown(value)}"
    if kind == "string_too_long":
        size = len(value) if isinstance(value, str) else "more"
        return f"field {label} is too long ({size} > {ctx['max_length']} characters)"
    if kind == "string_too_short":
        if ctx["min_length"] == 1:
            return f"field {label} is empty"
        return f"field {label} is too short (at least {ctx['min_length']} characters)"
    if kind == "too_long":
        return f"field {label} holds too many items (at most {ctx['max_length']})"
    if kind == "too_short":
        return f"field {label} holds too few items (at least {ctx['min_length']})"
    bounds = {
        "greater_than": ">",
        "greater_than_equal": ">=",
        "less_than": "<",
        "less_than_equal": "<=",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"field {label} must be {bounds[kind]} {limit}, got {_shown(value)}"
    return f"field {label}: {first['msg']}"
