"""Condition nodes: clauses, AND/OR groups, and the node that routes a run down one path.

A condition node holds one group of terms per path. The first group that is true gives path
``path_<index>``; when none is, ``path_else`` is taken. Nodes gated on a path
(``dependencies=[router.path_0]``) run only when that path is taken, and nodes downstream of a
skipped node are skipped too; a ``merge`` node picks the branch that ran.

Within a group, ``AND`` binds tighter than ``OR`` (``a OR b AND c`` is ``a OR (b AND c)``), as
the platform evaluates it. Clauses and groups combine with ``&`` and ``|`` with the same
precedence as Python's, nesting a group where flattening would change the meaning.

Nested groups (a group as a term of another) and ``&``/``|`` are this SDK's own: the
platform's builder and the official client make flat groups of clauses only. A nested group is
stored as a term with ``"termType": "ConditionGroup"``; ``vectorshift.local`` evaluates it.

Example:
    >>> router = pipeline.add(name="router").condition([
    ...     Clause(query.text, Operator.TEXT_CONTAINS, "code"),
    ...     Clause(query.text, Operator.IS_EMPTY)
    ...     | Clause(query.text, Operator.TEXT_STARTS_WITH, "?"),
    ... ])
    >>> code = pipeline.add(name="code").llm(prompt=query.text, dependencies=[router.path_0])
    >>> empty = pipeline.add(name="empty").text("empty", dependencies=[router.path_1])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from vectorshift.errors import PipelineDefinitionError
from vectorshift.pipeline._generated_nodes import UNARY_OPERATORS
from vectorshift.pipeline._node import MissingOutputError, Node, NodeOutput, Output, to_wire

__all__ = ["Clause", "ConditionGroup", "ConditionNode", "LogicalOp", "Operator"]

_PATH = re.compile(r"path_[0-9]+")


class Operator(str, Enum):
    """A clause operator; each member's value is the string the platform stores.

    The member names are the official client's (``TEXT_STARTS_WITH``, ``VEC_CONTAINS``...), so
    code written for it works unchanged; readable aliases name the same members
    (``TEXT_BEGINS_WITH is TEXT_STARTS_WITH``).

    Comparisons (``EQUAL``...) compare numbers as numbers and anything else by its text;
    ``GREATER_THAN`` and the like need numbers (or numeric text). Text operators are
    case-sensitive. ``TEXT_GREATER_THAN_N_CHARS``/``TEXT_LESS_THAN_N_CHARS`` compare the text's
    length in characters with ``operand2``. ``VEC_*`` need a list as ``operand1``;
    ``MAP_CONTAINS_KEY`` an object. ``IS_EMPTY``, ``IS_NOT_EMPTY``, ``IS_TRUE``, ``IS_FALSE`` and
    ``EXPRESSION`` are unary: they take no ``operand2``. ``EXPRESSION``'s ``operand1`` is the
    platform's custom expression; ``vectorshift.local`` does not evaluate expressions and fails
    a run that reaches one.
    """

    EQUAL = "Equal"
    NOT_EQUAL = "NotEqual"
    GREATER_THAN = "GreaterThan"
    LESS_THAN = "LessThan"
    GREATER_THAN_EQUAL = "GreaterThanEqual"
    LESS_THAN_EQUAL = "LessThanEqual"
    TEXT_CONTAINS = "TextContains"
    TEXT_DOES_NOT_CONTAIN = "TextDoesNotContains"
    TEXT_STARTS_WITH = "TextStartsWith"
    TEXT_DOES_NOT_START_WITH = "TextDoesNotStartWith"
    TEXT_ENDS_WITH = "TextEndsWith"
    TEXT_DOES_NOT_END_WITH = "TextDoesNotEndWith"
    TEXT_GREATER_THAN_N_CHARS = "TextGreaterThanNCharacters"
    TEXT_LESS_THAN_N_CHARS = "TextLessThanNCharacters"
    IS_EMPTY = "IsEmpty"
    IS_NOT_EMPTY = "IsNotEmpty"
    IS_TRUE = "IsTrue"
    IS_FALSE = "IsFalse"
    VEC_CONTAINS = "VecContainsItem"
    VEC_DOES_NOT_CONTAIN = "VecDoesNotContainsItem"
    MAP_CONTAINS_KEY = "MapContainsKey"
    EXPRESSION = "Expression"
    # Readable aliases: the same members under the names this SDK used first.
    GREATER_THAN_OR_EQUAL = "GreaterThanEqual"
    LESS_THAN_OR_EQUAL = "LessThanEqual"
    TEXT_BEGINS_WITH = "TextStartsWith"
    TEXT_DOES_NOT_BEGIN_WITH = "TextDoesNotStartWith"
    TEXT_LENGTH_GREATER_THAN = "TextGreaterThanNCharacters"
    TEXT_LENGTH_LESS_THAN = "TextLessThanNCharacters"
    LIST_CONTAINS = "VecContainsItem"
    LIST_DOES_NOT_CONTAIN = "VecDoesNotContainsItem"

    @property
    def is_unary(self) -> bool:
        """Whether the operator tests ``operand1`` alone (no ``operand2`` is stored)."""
        return self.value in UNARY_OPERATORS

    def __str__(self) -> str:
        return self.value


class LogicalOp(str, Enum):
    """How consecutive terms of a group combine; ``AND`` binds tighter than ``OR``."""

    AND = "AND"
    OR = "OR"

    def __str__(self) -> str:
        return self.value


def _operator(value: Operator | str) -> Operator:
    try:
        return Operator(value)
    except ValueError:
        names = ", ".join(op.value for op in Operator)
        raise PipelineDefinitionError(
            f"unknown condition operator {value!r}; use an Operator ({names})"
        ) from None


def _logical(value: LogicalOp | str) -> LogicalOp:
    try:
        return LogicalOp(value.upper() if isinstance(value, str) else value)
    except ValueError:
        raise PipelineDefinitionError(f"terms combine with AND or OR, not {value!r}") from None


class _Term:
    """What clauses and groups share: combining with ``&`` (AND) and ``|`` (OR).

    The operators are this SDK's own; the platform's builder has no counterpart.
    """

    def __and__(self, other: Term) -> ConditionGroup:
        return ConditionGroup([*_and_terms(self), *_and_terms(other)], LogicalOp.AND)

    def __or__(self, other: Term) -> ConditionGroup:
        left, right = _or_parts(self), _or_parts(other)
        terms = [*left[0], *right[0]]
        operators = [*left[1], LogicalOp.OR, *right[1]]
        return ConditionGroup(terms, operators)


@dataclass(frozen=True, eq=True)
class Clause(_Term):
    """One comparison: ``operand1 <operator> operand2``, or a unary test of ``operand1``.

    Args:
        operand1: The value tested, usually another node's output (``query.text``).
        operator: An :class:`Operator`, or its platform string (``"TextContains"``).
        operand2: What it is compared with: text, a number, a boolean or another node's output.
            The platform stores it as text (``10`` as ``"10"``). Required by binary operators;
            unary ones (``IS_EMPTY``, ``IS_NOT_EMPTY``, ``IS_TRUE``, ``IS_FALSE``,
            ``EXPRESSION``) take none.

    Raises:
        PipelineDefinitionError: the operator is not one the platform knows, a binary operator
            has no ``operand2``, a unary one has one, or ``operand2`` is a list or an object.

    Example:
        >>> Clause(query.text, Operator.TEXT_CONTAINS, "code")
        >>> Clause(query.text, Operator.IS_NOT_EMPTY)
    """

    operand1: Any
    operator: Operator
    operand2: Any = None

    def __post_init__(self) -> None:
        operator = _operator(self.operator)
        object.__setattr__(self, "operator", operator)
        if operator.is_unary and self.operand2 is not None:
            raise PipelineDefinitionError(
                f"operator {operator.name} ({operator.value!r}) tests operand1 alone; "
                f"it takes no operand2 (got {self.operand2!r})"
            )
        if not operator.is_unary:
            if self.operand2 is None:
                raise PipelineDefinitionError(
                    f"operator {operator.name} ({operator.value!r}) compares two values: "
                    "give operand2"
                )
            if not isinstance(self.operand2, (str, int, float, NodeOutput)):
                raise PipelineDefinitionError(
                    f"operator {operator.name} ({operator.value!r}): operand2 is stored as text, "
                    f"so it is text, a number, a boolean or a node output, not {self.operand2!r}"
                )

    def to_json(self) -> dict[str, Any]:
        """The clause as the platform stores it: ``operand2`` as text, none for unary operators."""
        data = {
            "operand1": to_wire(self.operand1),
            "operator": self.operator.value,
            "termType": "Clause",
        }
        if not self.operator.is_unary:
            data["operand2"] = str(to_wire(self.operand2))
        return data


class ConditionGroup(_Term):
    """Terms combined with AND/OR; a condition node has one group per path.

    Args:
        terms: Clauses, or nested groups (at least one). Nested groups are this SDK's own: the
            platform's builder makes groups of clauses only.
        operators: One :class:`LogicalOp` used between every pair of terms, or one per pair
            (``len(terms) - 1`` of them). ``AND`` by default.

    Raises:
        PipelineDefinitionError: no terms, or a wrong number of operators.

    Example:
        >>> ConditionGroup([Clause(q.text, Operator.IS_NOT_EMPTY),
        ...                 Clause(q.text, Operator.TEXT_LESS_THAN_N_CHARS, 200)])
    """

    def __init__(
        self,
        terms: Term | Sequence[Term],
        operators: LogicalOp | str | Sequence[LogicalOp | str] = LogicalOp.AND,
    ) -> None:
        if isinstance(terms, (Clause, ConditionGroup)):
            terms = [terms]
        if not terms:
            raise PipelineDefinitionError("a condition group needs at least one term")
        for term in terms:
            if not isinstance(term, (Clause, ConditionGroup)):
                raise PipelineDefinitionError(
                    f"a condition group's terms are Clause or ConditionGroup, not {term!r}"
                )
        if isinstance(operators, (LogicalOp, str)):
            ops = [_logical(operators)] * (len(terms) - 1)
        else:
            ops = [_logical(op) for op in operators]
        if len(ops) != len(terms) - 1:
            raise PipelineDefinitionError(
                f"a condition group of {len(terms)} terms needs {len(terms) - 1} operator(s) "
                f"between them, got {len(ops)}"
            )
        self.terms: tuple[Term, ...] = tuple(terms)
        self.operators: tuple[LogicalOp, ...] = tuple(ops)

    def __repr__(self) -> str:
        return f"ConditionGroup({list(self.terms)!r}, {[op.value for op in self.operators]!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ConditionGroup)
            and other.terms == self.terms
            and other.operators == self.operators
        )

    def __hash__(self) -> int:
        return hash((self.terms, self.operators))

    def to_json(self, *, nested: bool = True) -> dict[str, Any]:
        """The group as the platform stores it: a term of another group, or a path's group."""
        body = {
            "terms": [term.to_json() for term in self.terms],
            "operators": [op.value for op in self.operators],
        }
        return {"termType": "ConditionGroup", **body} if nested else body


Term = Clause | ConditionGroup
"""A term of a group: a clause or a nested group."""


def _and_terms(term: _Term) -> list[Term]:
    """The terms ``term`` contributes to an AND: its own if it is an all-AND group."""
    if isinstance(term, ConditionGroup) and all(op is LogicalOp.AND for op in term.operators):
        return list(term.terms)
    if isinstance(term, (Clause, ConditionGroup)):
        return [term]
    raise PipelineDefinitionError(f"only clauses and groups combine with '&', not {term!r}")


def _or_parts(term: _Term) -> tuple[list[Term], list[LogicalOp]]:
    """A term's terms and operators when it sits beside an OR (which binds loosest)."""
    if isinstance(term, ConditionGroup):
        return list(term.terms), list(term.operators)
    if isinstance(term, Clause):
        return [term], []
    raise PipelineDefinitionError(f"only clauses and groups combine with '|', not {term!r}")


def _group(path: Term, index: int) -> ConditionGroup:
    if isinstance(path, ConditionGroup):
        return path
    if isinstance(path, Clause):
        return ConditionGroup([path])
    raise PipelineDefinitionError(
        f"condition path {index} must be a Clause or a ConditionGroup, not {path!r}"
    )


class ConditionNode(Node):
    """Routes the run down the first path whose condition is true, else ``path_else``.

    Outputs: ``path_0``, ``path_1``... (one per condition, as attributes or :meth:`path`) and
    ``path_else``. Gate nodes on them with ``dependencies=[router.path_1]``.

    Args:
        name: The node's name, unique in its pipeline.
        paths: One condition per path, in order: a :class:`Clause` or a
            :class:`ConditionGroup` each (a single one gives one path).
        id: The node's id; derived from the name by default.
        dependencies: Outputs this node waits for besides those its clauses reference.

    Raises:
        PipelineDefinitionError: no paths, or a path that is not a clause or group.

    Example:
        >>> router = ConditionNode(name="router",
        ...                        paths=[Clause(q.text, Operator.TEXT_CONTAINS, "code")])
        >>> pipeline.add_node(router)
    """

    node_type = "condition"
    path_0 = Output()
    path_else = Output()

    def __init__(
        self,
        name: str,
        paths: Term | Sequence[Term],
        *,
        id: str | None = None,
        dependencies: Sequence[NodeOutput | str] = (),
    ) -> None:
        items = [paths] if isinstance(paths, (Clause, ConditionGroup)) else list(paths)
        if not items:
            raise PipelineDefinitionError(f"condition node {name!r} needs at least one path")
        groups = [_group(path, index) for index, path in enumerate(items)]
        fields = [f"path_{index}" for index in range(len(groups))] + ["path_else"]
        super().__init__(
            name=name,
            id=id,
            inputs={
                "conditions": [group.to_json(nested=False) for group in groups],
                "outputs": dict.fromkeys(fields, "path"),
                "dependencies": list(dependencies),
            },
            outputs=sorted(["complete", *fields]),
        )

    def path(self, index: int) -> NodeOutput:
        """The output of path ``index`` (``path(0)`` is ``path_0``).

        Raises:
            PipelineDefinitionError: the node has no such path.
        """
        return self.ref(f"path_{index}")

    def __getattr__(self, name: str) -> NodeOutput:
        # Only reached for attributes not found the normal way: ``path_1``, ``path_2``... exist
        # for as many paths as the node has, so they cannot be class attributes. For mypy every
        # such attribute is a NodeOutput; at run time an unknown one is an AttributeError.
        if _PATH.fullmatch(name) and name in self.__dict__.get("outputs", ()):
            return NodeOutput(self, name)
        if name.startswith("__") or "outputs" not in self.__dict__:
            raise AttributeError(name)
        paths = [field for field in self.outputs if field.startswith("path_")]
        raise MissingOutputError(
            f"condition node {self.name!r} ({self.id}) has no attribute {name!r}; "
            f"its paths are {', '.join(paths)}",
            node_ids=(self.id,),
        )
