"""Reading a source module with :mod:`ast`: its classes, its imports, and the names it binds.

The generator never imports the modules it mirrors; everything it needs to know about a name
used in a signature (where it comes from, so the generated module can import it too) is read
from the source text here.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class GenSyncError(Exception):
    """The sources cannot be mirrored as configured; the message says where and why."""


#: An import binding one name: (module, imported name or None for ``import module``, alias).
Spec = tuple[str, "str | None", "str | None"]


def bound_name(spec: Spec) -> str:
    """The name an import binds in the importing module."""
    module, name, alias = spec
    return alias or name or module.split(".")[0]


def import_line(spec: Spec) -> str:
    """One import statement for ``spec`` (the formatter sorts and merges them)."""
    module, name, alias = spec
    suffix = f" as {alias}" if alias else ""
    return f"from {module} import {name}{suffix}" if name else f"import {module}{suffix}"


@dataclass
class Source:
    """One parsed source module."""

    path: str  # POSIX, relative to the repository root
    module: str  # dotted module name
    tree: ast.Module
    imports: dict[str, Spec]  # bound name -> import, including those under TYPE_CHECKING
    defined: set[str]  # names defined at the top level

    @classmethod
    def read(cls, root: Path, path: str) -> Source:
        file = root / path
        if not file.is_file():
            raise GenSyncError(f"{path} does not exist (configured in gen_sync CLASSES)")
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=path)
        parts = list(Path(path).with_suffix("").parts)
        package = parts[:-1]  # the module's package; for an __init__.py, the module itself
        module = ".".join(package if parts[-1] == "__init__" else parts)
        imports: dict[str, Spec] = {}
        for node in _import_nodes(tree.body):
            for spec in _specs(node, package, path):
                imports[bound_name(spec)] = spec
        defined: set[str] = set()
        for stmt in tree.body:
            if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                defined.add(stmt.name)
            defined.update(assigned(stmt))
        return cls(path, module, tree, imports, defined)

    def find_class(self, name: str) -> ast.ClassDef:
        for stmt in self.tree.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == name:
                return stmt
        raise GenSyncError(f"class {name} is not defined at the top level of {self.path}")

    def resolve(self, name: str, where: str) -> Spec | None:
        """The import that binds ``name`` for the generated module; None for builtins."""
        if name in self.imports:
            return self.imports[name]
        if name in self.defined:
            return (self.module, name, None)
        if hasattr(builtins, name):
            return None
        raise GenSyncError(f"{where}: `{name}` is neither imported nor defined in {self.path}")


def _import_nodes(body: list[ast.stmt]) -> Iterable[ast.Import | ast.ImportFrom]:
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt
        elif isinstance(stmt, ast.If) and head(stmt.test) == "TYPE_CHECKING":
            yield from _import_nodes(stmt.body)


def _specs(node: ast.Import | ast.ImportFrom, package: list[str], path: str) -> list[Spec]:
    if isinstance(node, ast.Import):
        return [(alias.name, None, alias.asname) for alias in node.names]
    if node.module == "__future__":
        return []
    module = node.module or ""
    if node.level:
        if node.level - 1 > len(package):
            raise GenSyncError(f"{path}:{node.lineno}: relative import beyond the top package")
        base = package[: len(package) - (node.level - 1)]
        module = ".".join([*base, module] if module else base)
    return [(module, alias.name, alias.asname) for alias in node.names]


def assigned(stmt: ast.stmt) -> list[str]:
    """The plain names a statement assigns (``x = ...``, ``x: T = ...``, ``type X = ...``)."""
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    alias_type = getattr(ast, "TypeAlias", None)
    if alias_type is not None and isinstance(stmt, alias_type):
        return [stmt.name.id]
    return []


def head(expr: ast.expr | None) -> str | None:
    """The last name of ``X`` or ``a.b.X``."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def annotation_names(expr: ast.expr | None, where: str) -> set[str]:
    """The top-level names an annotation needs, looking inside string annotations."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            visit(node.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                visit(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                raise GenSyncError(f"{where}: cannot parse annotation {node.value!r}") from None
        elif isinstance(node, ast.Subscript):
            visit(node.value)
            name = head(node.value)
            if name == "Annotated" and isinstance(node.slice, ast.Tuple):
                visit(node.slice.elts[0])
            elif name != "Literal":
                visit(node.slice)
        else:
            for child in ast.iter_child_nodes(node):
                visit(child)

    if expr is not None:
        visit(expr)
    return found
