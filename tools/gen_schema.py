"""Generate the protocol's shape tables and a JSON Schema per shape from the pydantic models.

The wire's one declaration is :mod:`vectorshift._schema` (request bodies, answers, stream
frames) and the public results of :mod:`vectorshift.types`. This tool writes what the docs say
of them, so the docs cannot drift from what the SDK and ``vectorshift.local`` check:

- ``docs/protocol.md``: the section between ``<!-- shapes:begin -->`` and
  ``<!-- shapes:end -->``, one table per shape (field, type, required, what it is);
- ``docs/schemas/<Shape>.json``: the model's JSON Schema (``model_json_schema()``, validation
  mode: what a sender must write), one file per shape; files of shapes that are gone are removed.

Usage::

    python tools/gen_schema.py            # (re)write them
    python tools/gen_schema.py --check    # exit 1, naming the stale files, when they differ

``tests/test_schema_docs.py`` runs the check with the suite.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import itertools
import json
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- shapes:begin -->"
END = "<!-- shapes:end -->"

#: (section title, module, its shapes in reading order, what the section says).
GROUPS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "Request bodies",
        "vectorshift._schema.requests",
        (
            "CreatePipeline",
            "UpdatePipeline",
            "RunPipeline",
            "Terminate",
            "BulkRun",
            "BulkRunItem",
            "Duplicate",
            "Revert",
            "RemoveNode",
            "SharePipeline",
            "UnsharePipeline",
            "PublishPipeline",
        ),
        "What a client sends. `vectorshift.local` refuses a body that does not match with a 4xx "
        "naming the field; fields not listed are accepted and ignored.",
    ),
    (
        "Answers",
        "vectorshift._schema.answers",
        (
            "Created",
            "Fetched",
            "StoredPipeline",
            "VersionInfo",
            "StoredNode",
            "CanvasMetadata",
            "Listed",
            "Ack",
            "BlockingRun",
            "Started",
            "StatusAnswer",
            "BulkRunAnswer",
            "BulkItem",
            "Duplicated",
            "NodeRemoved",
            "Published",
        ),
        "What a server answers. The SDK validates each answer from its bytes; fields not listed "
        "are kept, so a platform that adds fields breaks nothing.",
    ),
    (
        "Stream frames",
        "vectorshift._schema.frames",
        ("StreamFrame", "ResultFrame"),
        "The `data:` object of each SSE frame of a streaming run.",
    ),
    (
        "Results",
        "vectorshift.types",
        ("RunStatus", "RunResult", "StreamChunk"),
        "What the SDK returns: pydantic models, with the dict access the platform docs show.",
    ),
)


@dataclass(frozen=True)
class Shape:
    """One model to document: its name, its group and the model class."""

    name: str
    group: str
    model: Any


def shapes() -> Iterator[Shape]:
    """Every documented model, group by group, in each module's ``__all__`` order."""
    from pydantic import BaseModel

    for title, module_name, names, _ in GROUPS:
        module = importlib.import_module(module_name)
        for name in names:
            value = getattr(module, name)
            if not (inspect.isclass(value) and issubclass(value, BaseModel)):
                raise TypeError(f"{module_name}.{name} is not a pydantic model")
            yield Shape(name, title, value)


def _type_of(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    """A JSON Schema fragment as a short type for a table: ``string``, ``array of Node``..."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        target = defs.get(name, {})
        if "enum" in target:
            return _type_of(target, defs)
        return f"[{name}](#{name.lower()})" if any(name == s for s in _NAMES) else name
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [_type_of(part, defs) for part in schema[key]]
            return " \\| ".join(dict.fromkeys(parts))
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return f"array of {_type_of(items, defs)}" if items else "array"
    if kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, Mapping) and values:
            return f"object of {_type_of(values, defs)}"
        return "object"
    if isinstance(kind, str):
        return "null" if kind == "null" else kind
    return "any"


_NAMES: list[str] = []
"""The documented shapes' names, so a field of another documented shape links to its table."""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _attributes(doc: str) -> dict[str, str]:
    """The ``Attributes:`` section of a Google-style docstring, by attribute name."""
    found: dict[str, str] = {}
    inside, name = False, ""
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break
        head, sep, text = line.strip().partition(": ")
        if line.startswith("    ") and not line.startswith("        ") and sep:
            name = head
            found[name] = text
        elif name and line.strip():
            found[name] += " " + line.strip()
    return found


def field_docstrings(model: Any) -> dict[str, str]:
    """The docstrings written under the fields of ``model`` and its bases, by field name.

    The models do not ask pydantic to read them (``use_attribute_docstrings`` reads every
    class's source when it is defined, at import); this reads them here, for the docs only.
    """
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and cls.__module__.startswith("vectorshift")):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0]
        assert isinstance(body, ast.ClassDef)
        statements = body.body
        for current, following in itertools.pairwise(statements):
            if (
                isinstance(current, ast.AnnAssign)
                and isinstance(current.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                found[current.target.id] = inspect.cleandoc(following.value.value)
    return found


def _describe_properties(schema: dict[str, Any], model: Any) -> None:
    docs = field_docstrings(model)
    aliases = {
        (
            info.validation_alias.choices[0]
            if hasattr(info.validation_alias, "choices")
            else info.validation_alias or info.alias or name
        ): name
        for name, info in model.model_fields.items()
    }
    for prop, spec in schema.get("properties", {}).items():
        name = aliases.get(prop, prop)
        if "description" not in spec and name in docs:
            spec["description"] = docs[name]


def schema_of(model: Any) -> dict[str, Any]:
    """The JSON Schema of ``model`` (validation mode, by alias), each property described by
    its ``Field(description=)`` or else by the docstring under the field, in the models it
    nests (``$defs``) too."""
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    _describe_properties(schema, model)
    nested = _nested_models(model)
    for name, definition in schema.get("$defs", {}).items():
        if name in nested:
            _describe_properties(definition, nested[name])
    return schema


def _nested_models(model: Any) -> dict[str, Any]:
    """The pydantic models a model's fields hold, however deep, by class name."""
    from pydantic import BaseModel

    found: dict[str, Any] = {}
    todo = [model]
    while todo:
        current = todo.pop()
        for info in current.model_fields.values():
            for kind in _classes_in(info.annotation):
                if issubclass(kind, BaseModel) and kind.__name__ not in found:
                    found[kind.__name__] = kind
                    todo.append(kind)
    return found


def _classes_in(annotation: Any) -> Iterator[type]:
    import typing

    if isinstance(annotation, type):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _classes_in(argument)


def table(shape: Shape) -> str:
    """The section of one shape: its docstring's first paragraph and a table of its fields."""
    schema = schema_of(shape.model)
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    doc = inspect.getdoc(shape.model) or ""
    summary = doc.split("\n\n")[0]
    lines = [
        f"### {shape.name}",
        "",
        _cell(summary),
        "",
        f"JSON Schema: [`schemas/{shape.name}.json`](schemas/{shape.name}.json)",
        "",
        "| field | type | required | description |",
        "|---|---|---|---|",
    ]
    documented = _attributes(doc)
    for field, spec in schema.get("properties", {}).items():
        about = spec.get("description") or documented.get(field, "")
        lines.append(
            f"| `{field}` | {_type_of(spec, defs)} | {'yes' if field in required else 'no'} "
            f"| {_cell(str(about))} |"
        )
    if not schema.get("properties"):
        lines.append("| | | | no fields |")
    return "\n".join(lines)


def section(all_shapes: Sequence[Shape]) -> str:
    """The generated part of docs/protocol.md, markers included."""
    _NAMES[:] = [shape.name for shape in all_shapes]
    parts = [
        BEGIN,
        "<!-- Generated by tools/gen_schema.py from vectorshift/_schema and vectorshift/types.py;"
        " edit the models, then run it. -->",
        "",
    ]
    for title, _, _, about in GROUPS:
        members = [shape for shape in all_shapes if shape.group == title]
        if not members:
            continue
        parts += [f"## {title}", "", about, ""]
        for shape in members:
            parts += [table(shape), ""]
    parts.append(END)
    return "\n".join(parts)


def outputs(root: Path) -> dict[Path, str]:
    """Every file this tool writes, with the content it should have."""
    all_shapes = list(shapes())
    protocol = root / "docs" / "protocol.md"
    text = protocol.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + section(all_shapes) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section(all_shapes) + "\n"
    files = {protocol: text}
    for shape in all_shapes:
        schema = schema_of(shape.model)
        files[root / "docs" / "schemas" / f"{shape.name}.json"] = (
            json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        )
    return files


def stale(root: Path) -> list[str]:
    """The files that differ from what would be written, and schemas of shapes that are gone."""
    expected = outputs(root)
    problems = [
        str(path.relative_to(root))
        for path, content in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    folder = root / "docs" / "schemas"
    if folder.exists():
        problems += [
            str(path.relative_to(root))
            for path in sorted(folder.glob("*.json"))
            if path not in expected
        ]
    return problems


def write(root: Path) -> list[str]:
    """Write every file; remove schemas of shapes that are gone; the paths changed."""
    changed = stale(root)
    expected = outputs(root)
    for path, content in expected.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    for path in sorted((root / "docs" / "schemas").glob("*.json")):
        if path not in expected:
            path.unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    options = parser.parse_args(argv)
    if options.check:
        problems = stale(options.root)
        for problem in problems:
            print(f"stale: {problem}")
        if problems:
            print(f"{len(problems)} stale file(s): run python tools/gen_schema.py")
            return 1
        return 0
    for change in write(options.root):
        print(f"wrote {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
