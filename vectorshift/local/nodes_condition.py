"""The ``condition`` node: clause operators, AND/OR groups, and which path is taken.

A condition node's ``conditions`` input is a list of groups, one per path. A group is
``{"terms": [...], "operators": [...]}``: ``operators`` holds ``"AND"``/``"OR"`` between
consecutive terms, and a term is either a clause
``{"termType": "Clause", "operand1": ..., "operator": ..., "operand2": ...}`` or a nested group
``{"termType": "ConditionGroup", "terms": [...], "operators": [...]}``. AND binds tighter than
OR (``a OR b AND c`` is ``a OR (b AND c)``) and evaluation short-circuits. The first group that
is true gives path ``path_<index>``; when none is, ``path_else`` is taken.

Operators are the platform's, by the exact strings it stores
(:data:`vectorshift._schema.nodes_types.OPERATORS`, recorded from the official client):

================================  ==========================================================
``Equal``/``NotEqual``            numbers compare as numbers when either side is a number, a
                                  boolean equals the text ``true``/``false`` in any case,
                                  other values compare by their text form
``GreaterThan``, ``LessThan``,    both sides must be numbers or numeric text
``GreaterThanEqual``,
``LessThanEqual``
``TextContains``,                 case-sensitive, on the text forms
``TextDoesNotContains``,
``TextStartsWith``,
``TextDoesNotStartWith``,
``TextEndsWith``,
``TextDoesNotEndWith``
``TextGreaterThanNCharacters``    the text has more than ``operand2`` characters
``TextLessThanNCharacters``       the text has fewer than ``operand2`` characters
``IsEmpty``/``IsNotEmpty``        null, ``""``, ``[]`` and ``{}`` are empty (unary)
``IsTrue``/``IsFalse``            the boolean, or the text ``true``/``false`` in any case
``VecContainsItem``,              ``operand1`` must be a list; an element matches when it is
``VecDoesNotContainsItem``        ``Equal`` to ``operand2``
``MapContainsKey``                ``operand1`` must be an object having the key ``operand2``
================================  ==========================================================

Names are matched exactly, as the platform stores them. ``Expression`` (the platform's custom
expression, unary) is refused with a run error: its expression language is not documented, so
the local engine does not guess at it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vectorshift._schema.nodes_types import OPERATORS as PLATFORM_OPERATORS
from vectorshift.local.templates import to_text

__all__ = [
    "OPERATORS",
    "ConditionError",
    "condition_paths",
    "condition_problems",
    "first_true_group",
]


class ConditionError(Exception):
    """A condition cannot be evaluated (unknown operator, operands of the wrong kind)."""


_Binary = Callable[[Any, Any], bool]

_NOT_EVALUATED = {"Expression"}


def _number(value: Any, operator: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ConditionError(f"operator '{operator}' compares numbers, but {value!r} is not a number")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        # The platform stores operand2 as text, so ``True`` arrives as "True".
        return to_text(left).lower() == to_text(right).lower()
    if _is_number(left) or _is_number(right):
        try:
            return _number(left, "Equal") == _number(right, "Equal")
        except ConditionError:
            return False
    if isinstance(left, (list, dict)) and isinstance(right, (list, dict)):
        return bool(left == right)
    return to_text(left) == to_text(right)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _truth(value: Any, wanted: bool) -> bool:
    if isinstance(value, bool):
        return value is wanted
    return to_text(value).strip().lower() == ("true" if wanted else "false")


def _list(value: Any, operator: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConditionError(f"operator '{operator}' needs a list, got {type(value).__name__}")
    return value


def _map(value: Any, operator: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConditionError(f"operator '{operator}' needs an object, got {type(value).__name__}")
    return value


def _compare(test: Callable[[float, float], bool], name: str) -> _Binary:
    return lambda left, right: test(_number(left, name), _number(right, name))


def _text(test: Callable[[str, str], bool]) -> _Binary:
    return lambda left, right: test(to_text(left), to_text(right))


def _length(test: Callable[[int, float], bool], name: str) -> _Binary:
    return lambda left, right: test(len(to_text(left)), _number(right, name))


OPERATORS: dict[str, _Binary] = {
    "Equal": _equal,
    "NotEqual": lambda left, right: not _equal(left, right),
    "GreaterThan": _compare(lambda a, b: a > b, "GreaterThan"),
    "LessThan": _compare(lambda a, b: a < b, "LessThan"),
    "GreaterThanEqual": _compare(lambda a, b: a >= b, "GreaterThanEqual"),
    "LessThanEqual": _compare(lambda a, b: a <= b, "LessThanEqual"),
    "TextContains": _text(lambda a, b: b in a),
    "TextDoesNotContains": _text(lambda a, b: b not in a),
    "TextStartsWith": _text(lambda a, b: a.startswith(b)),
    "TextDoesNotStartWith": _text(lambda a, b: not a.startswith(b)),
    "TextEndsWith": _text(lambda a, b: a.endswith(b)),
    "TextDoesNotEndWith": _text(lambda a, b: not a.endswith(b)),
    "TextGreaterThanNCharacters": _length(lambda n, limit: n > limit, "TextGreaterThanNCharacters"),
    "TextLessThanNCharacters": _length(lambda n, limit: n < limit, "TextLessThanNCharacters"),
    "IsEmpty": lambda left, _right: _empty(left),
    "IsNotEmpty": lambda left, _right: not _empty(left),
    "IsTrue": lambda left, _right: _truth(left, True),
    "IsFalse": lambda left, _right: _truth(left, False),
    "VecContainsItem": lambda left, right: any(
        _equal(item, right) for item in _list(left, "VecContainsItem")
    ),
    "VecDoesNotContainsItem": lambda left, right: (
        not any(_equal(item, right) for item in _list(left, "VecDoesNotContainsItem"))
    ),
    "MapContainsKey": lambda left, right: to_text(right) in _map(left, "MapContainsKey"),
}
"""Every operator the local engine evaluates, by its platform name: ``f(operand1, operand2)``."""


def _operator(name: Any) -> _Binary:
    if not isinstance(name, str):
        raise ConditionError(f"operator {name!r} is not a string")
    found = OPERATORS.get(name)
    if found is not None:
        return found
    if name in _NOT_EVALUATED:
        raise ConditionError(
            f"operator '{name}' (a custom expression) is not evaluated by vectorshift.local: "
            "the platform's expression language is not documented; use the other operators"
        )
    raise ConditionError(
        f"unknown condition operator '{name}'; the platform's operators are "
        f"{', '.join(PLATFORM_OPERATORS)}"
    )


def _is_group(term: dict[str, Any]) -> bool:
    return term.get("termType") == "ConditionGroup" or ("termType" not in term and "terms" in term)


def _term_true(term: dict[str, Any]) -> bool:
    if _is_group(term):
        return _group_true(term)
    return _operator(term.get("operator"))(term.get("operand1"), term.get("operand2"))


def _group_true(group: dict[str, Any]) -> bool:
    terms: list[dict[str, Any]] = group["terms"]
    operators: list[str] = group.get("operators") or []
    # Split into OR-separated runs of AND-ed terms; evaluate lazily so that a later term is
    # not evaluated (and cannot fail) once the answer is known.
    runs: list[list[dict[str, Any]]] = [[terms[0]]]
    for operator, term in zip(operators, terms[1:], strict=True):
        if operator.upper() == "OR":
            runs.append([term])
        else:
            runs[-1].append(term)
    return any(all(_term_true(term) for term in run) for run in runs)


def first_true_group(conditions: list[dict[str, Any]]) -> int | None:
    """Index of the first group of ``conditions`` (already rendered) that is true, if any.

    Raises:
        ConditionError: an unknown operator, or operands the operator cannot compare.

    Example:
        >>> clause = {"termType": "Clause", "operand1": "my code", "operator": "TextContains",
        ...           "operand2": "code"}
        >>> first_true_group([{"terms": [clause], "operators": []}])
        0
    """
    for index, group in enumerate(conditions):
        if _group_true(group):
            return index
    return None


def condition_paths(inputs: dict[str, Any]) -> list[str]:
    """The output names of a condition node: ``path_0`` ... one per group, then ``path_else``."""
    conditions = inputs.get("conditions")
    count = len(conditions) if isinstance(conditions, list) else 0
    return [f"path_{index}" for index in range(count)] + ["path_else"]


def _group_problems(group: Any, where: str) -> list[str]:
    if not isinstance(group, dict):
        return [f"{where} must be an object with 'terms' and 'operators'"]
    terms = group.get("terms")
    operators = group.get("operators", [])
    if not isinstance(terms, list) or not terms:
        return [f"{where} needs a non-empty 'terms' list"]
    problems: list[str] = []
    if not isinstance(operators, list) or len(operators) != len(terms) - 1:
        problems.append(f"{where} needs {len(terms) - 1} operator(s) between its terms")
    elif any(not isinstance(op, str) or op.upper() not in ("AND", "OR") for op in operators):
        problems.append(f"{where} has an operator that is not AND or OR")
    for index, term in enumerate(terms):
        term_where = f"{where} term {index}"
        if not isinstance(term, dict):
            problems.append(f"{term_where} must be an object")
        elif _is_group(term):
            problems.extend(_group_problems(term, term_where))
        elif not isinstance(term.get("operator"), str) or "operand1" not in term:
            problems.append(f"{term_where} needs 'operand1' and a string 'operator'")
    return problems


def condition_problems(inputs: dict[str, Any]) -> list[str]:
    """Structural problems of a condition node's inputs (operator names are checked at run time).

    Example:
        >>> condition_problems({"conditions": [{"terms": [], "operators": []}]})
        ["condition 0 needs a non-empty 'terms' list"]
    """
    conditions = inputs.get("conditions")
    if not isinstance(conditions, list):
        return ["input 'conditions' must be a list of condition groups"]
    problems: list[str] = []
    for index, group in enumerate(conditions):
        problems.extend(_group_problems(group, f"condition {index}"))
    return problems
