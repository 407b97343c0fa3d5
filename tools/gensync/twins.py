"""Which async methods of a class get a sync twin, and what each twin returns.

A public ``async def aX`` (or a ``def aX`` returning a configured async type, or a coroutine,
or a union of the two) gets a twin ``X``; ``__aenter__``/``__aexit__``/``__aiter__`` get
``__enter__``/``__exit__``/``__iter__``. Whatever cannot be mirrored faithfully is a
:class:`GenSyncError` naming the method.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from gensync.source import GenSyncError, Source, assigned, head


class SyncReturn(NamedTuple):
    """How the sync twin returns what the async method returns."""

    type: str  # the sync return type; it keeps the first type argument of the async one
    wrapper: str  # the callable that turns the async object into the sync one
    check: str  # the class that recognises the async object among other values (a union)


@dataclass(frozen=True)
class Config:
    """What to generate, and the names the generated code may use."""

    #: (source module path relative to the repository root, class name).
    classes: tuple[tuple[str, str], ...]
    #: Async return type (the last name of the annotation) -> its sync counterpart.
    return_types: Mapping[str, SyncReturn]
    #: Where the generated code imports the names it introduces.
    imports: Mapping[str, str]
    #: Names allowed as parameter defaults besides literals (sentinels imported by the source).
    default_names: frozenset[str] = frozenset()


#: Async special methods and their sync twins.
DUNDERS: Mapping[str, str] = {
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
}
_ASYNC_NAME = re.compile(r"a([a-z]\w*)")

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Twin:
    """One generated sync method and the async method it runs."""

    source: Function  # the implementation
    overloads: tuple[Function, ...]
    name: str
    binding: str  # "self", "class" or "static"
    kind: str  # "coroutine", "async generator" or "plain" (a def returning an async object)
    returns: ast.expr | None  # the sync return annotation
    convert: SyncReturn | None  # how the async result becomes the sync one, if it does
    checked: bool  # only results that are instances of ``convert.check`` are converted
    overload_returns: tuple[ast.expr | None, ...]  # the sync return annotation of each overload
    #: A plain def that returns a coroutine (in all cases, or as a member of a union): the
    #: twin runs what is not converted with ``call_sync``.
    awaits: bool = False
    #: Builtins that a sync method of the same class hides in the mixin's class body (a
    #: method named ``list``); annotations spell them ``builtins.list``.
    shadowed: frozenset[str] = frozenset()

    @property
    def async_name(self) -> str:
        return self.source.name

    def describe(self) -> str:
        """For ``--list``."""
        parts = [f"{self.binding}method" if self.binding != "self" else "", self.kind]
        parts += [
            f"-> {self.convert.type}" if self.convert else "",
            "overloaded" * bool(self.overloads),
        ]
        return ", ".join(p for p in parts if p)


def _is_generator(fn: Function) -> bool:
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return False


_AWAITABLES = {"Coroutine": -1, "Awaitable": 0}
"""Annotations of what a plain def may return to be awaited, and which argument is the result."""


def strip_awaitable(ann: ast.expr | None) -> tuple[ast.expr | None, bool]:
    """``ann`` with ``Coroutine[Any, Any, R]`` / ``Awaitable[R]`` (alone or in a union) as ``R``.

    Returns:
        The annotation and whether anything was replaced: a plain def returning such a value
        is mirrored by a twin that awaits it (``call_sync``).
    """
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        return strip_awaitable(ast.parse(ann.value, mode="eval").body)
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        left, left_awaits = strip_awaitable(ann.left)
        right, right_awaits = strip_awaitable(ann.right)
        union = ast.BinOp(left, ast.BitOr(), right)  # type: ignore[arg-type]
        return union, left_awaits or right_awaits
    if isinstance(ann, ast.Subscript) and head(ann.value) in _AWAITABLES:
        args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        return args[_AWAITABLES[head(ann.value) or ""]], True
    return ann, False


def sync_return(
    ann: ast.expr | None, table: Mapping[str, SyncReturn], where: str
) -> tuple[ast.expr | None, SyncReturn | None, bool]:
    """The sync annotation for ``ann``, its conversion, and whether every value is converted.

    ``AsyncStream[T]`` -> ``SyncStream[T]``; in a union (``R | AsyncStream[T]``) only the
    mapped members change, and the conversion is applied after an ``isinstance`` check.
    """
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        return sync_return(ast.parse(ann.value, mode="eval").body, table, where)
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        left, left_convert, left_all = sync_return(ann.left, table, where)
        right, right_convert, right_all = sync_return(ann.right, table, where)
        if left_convert and right_convert and left_convert != right_convert:
            raise GenSyncError(f"{where}: a union of different async types cannot be mirrored")
        union = ast.BinOp(left, ast.BitOr(), right)  # type: ignore[arg-type]
        return union, left_convert or right_convert, left_all and right_all
    entry = table.get(head(ann.value if isinstance(ann, ast.Subscript) else ann) or "")
    if ann is None or entry is None:
        return ann, None, False
    if not isinstance(ann, ast.Subscript):
        return ast.Name(entry.type), entry, True
    first = ann.slice.elts[0] if isinstance(ann.slice, ast.Tuple) else ann.slice
    return ast.Subscript(ast.Name(entry.type), first), entry, True


def _binding(fn: Function, where: str) -> str:
    """``"self"``, ``"class"`` or ``"static"``, from the decorators."""
    binding = "self"
    for decorator in fn.decorator_list:
        name = head(decorator)
        if name in ("classmethod", "staticmethod"):
            binding = "class" if name == "classmethod" else "static"
        elif name != "overload":
            raise GenSyncError(f"{where}: decorator @{ast.unparse(decorator)} is not supported")
    if binding != "static" and not (fn.args.posonlyargs or fn.args.args):
        raise GenSyncError(f"{where}: a method needs a first parameter (self or cls)")
    return binding


def _twin(fn: Function, overloads: list[Function], owner: str, config: Config) -> Twin | None:
    where = f"{owner}.{fn.name}"
    is_async = isinstance(fn, ast.AsyncFunctionDef)
    match = _ASYNC_NAME.fullmatch(fn.name)
    if fn.name in DUNDERS:
        name = DUNDERS[fn.name]
    elif match:
        name = match[1]
    elif is_async and not fn.name.startswith("_"):
        raise GenSyncError(f"{where}: a public async method must be named a<name> (sync: <name>)")
    else:
        return None
    awaits = False
    annotation = fn.returns
    if not is_async:
        annotation, awaits = strip_awaitable(fn.returns)
    returns, convert, converts_all = sync_return(annotation, config.return_types, where)
    if not is_async:
        kind = "plain"
        if convert is None and not awaits and fn.name in DUNDERS:
            raise GenSyncError(f"{where}: must be `async def` or return an async type")
        if convert is None and not awaits:
            return None  # an ordinary method whose name happens to start with "a"
    elif _is_generator(fn):
        kind = "async generator"
        if convert is None or convert.wrapper != "iterate_sync" or not converts_all:
            raise GenSyncError(f"{where}: annotate the async generator AsyncIterator[...]")
    else:
        kind = "coroutine"
    binding = _binding(fn, where)
    if any(_binding(variant, where) != binding for variant in overloads):
        raise GenSyncError(f"{where}: the overloads disagree on classmethod/staticmethod")
    checked = convert is not None and (awaits or not converts_all)
    variants = tuple(
        sync_return(
            strip_awaitable(v.returns)[0] if awaits else v.returns, config.return_types, where
        )[0]
        for v in overloads
    )
    return Twin(
        fn,
        tuple(overloads),
        name,
        binding,
        kind,
        returns,
        convert,
        checked,
        variants,
        awaits=awaits,
    )


def twins_of(source: Source, class_name: str, config: Config) -> list[Twin]:
    """The sync twins of one class, in source order."""
    cls = source.find_class(class_name)
    members = {n for s in cls.body for n in assigned(s)}
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    members |= {s.name for s in cls.body if isinstance(s, defs)}
    twins: list[Twin] = []
    overloads: dict[str, list[Function]] = {}
    for stmt in cls.body:
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if any(head(decorator) == "overload" for decorator in stmt.decorator_list):
            overloads.setdefault(stmt.name, []).append(stmt)
            continue
        twin = _twin(stmt, overloads.pop(stmt.name, []), class_name, config)
        if twin is None:
            continue
        if twin.name in members:
            raise GenSyncError(
                f"{class_name}.{twin.name} is defined by hand; it would hide the generated twin "
                f"of {twin.async_name}"
            )
        twins.append(twin)
    if not twins:
        raise GenSyncError(f"{class_name} in {source.path} has no async method to mirror")
    shadowed = frozenset({twin.name for twin in twins} & set(dir(builtins)))
    return [dataclasses.replace(twin, shadowed=shadowed) for twin in twins]


def rewrite_docstring(doc: str, names: Mapping[str, str]) -> str:
    """Turn an async method's docstring into its sync twin's.

    ``await obj.aX(`` becomes ``obj.X(``, ``async with``/``async for`` become ``with``/``for``,
    ``aclosing(`` becomes ``closing(``, and the async names of the mirrored methods become the
    sync names where they are code (``.aX``, ```aX```), not where they are prose.
    """
    doc = re.sub(r"\basync\s+(with|for)\b", r"\1", doc)
    doc = re.sub(r"\baclosing\(", "closing(", doc)
    if not names:
        return doc
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    chain = r"((?:[A-Za-z_]\w*(?:\([^()]*\))?\.)+)"
    # ``(await obj.aX(args)).attr``: without ``await`` the parentheses only group a call.
    arguments = r"(\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))"  # two levels of nesting
    doc = re.sub(
        rf"\(await\s+{chain}({alternatives}){arguments}\)",
        lambda m: m[1] + names[m[2]] + m[3],
        doc,
    )
    doc = re.sub(rf"\bawait\s+{chain}({alternatives})\b", lambda m: m[1] + names[m[2]], doc)
    return re.sub(rf"(?<=[.`])({alternatives})\b", lambda m: names[m[1]], doc)
