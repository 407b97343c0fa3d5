"""Reading a declaration as the builder and the docs show it: annotations, defaults, docs."""

from __future__ import annotations

import textwrap
from typing import Any, get_args, get_origin

from vectorshift._schema.nodes import NodeType

ID_DOC = "The node's id; derived from the name by default."


def builder_args(decl: type[NodeType]) -> list[str]:
    """The builder's arguments after ``name``: positional ones, ``*``, ``id``, keyword ones."""
    return [*decl.builder.positional, "*", "id", *decl.builder.keywords]


def annotation(decl: type[NodeType], name: str) -> str:
    """The builder's annotation of argument ``name``."""
    if name in decl.builder.params:
        return decl.builder.params[name].annotation
    if name == "id":
        return "str | None"
    if name == "dependencies":
        return "Dependencies"
    alias = decl.extra(name, "alias")
    if alias:
        return str(alias)
    hint = decl.inputs()[name].annotation
    if decl.flag(name, "wired"):
        return "Sequence[Value]" if get_origin(hint) is list else "Value"
    return type_text(hint)


def type_text(hint: Any) -> str:
    """A field type as source text (``str``, ``list[Any]``)."""
    if hint is Any:
        return "Any"
    if get_origin(hint) is not None:
        args = ", ".join(type_text(arg) for arg in get_args(hint))
        return f"{get_origin(hint).__name__}[{args}]"
    return str(hint.__name__)


def default(decl: type[NodeType], name: str) -> str | None:
    """The builder's default of argument ``name`` as source, or ``None`` when it has none."""
    if name in decl.builder.params:
        return decl.builder.params[name].default
    if name == "id":
        return "None"
    if name == "dependencies":
        return "()"
    if name in decl.builder.no_default:
        return None
    return repr(decl.defaults()[name])


def arg_doc(decl: type[NodeType], name: str) -> str:
    """The docs of builder argument ``name``."""
    if name in decl.builder.params:
        return decl.builder.params[name].doc
    if name == "id":
        return ID_DOC
    return decl.inputs()[name].description or ""


def outputs_text(decl: type[NodeType]) -> str:
    """The node's outputs in a sentence (every node also has ``complete``)."""
    outputs = decl.outputs
    if outputs.computed:
        return f"Outputs: {outputs.computed}."
    if outputs.by:
        cases = "; ".join(
            f"``{case}``: {', '.join(f'``{name}``' for name in names) or 'none but complete'}"
            for case, names in outputs.cases.items()
        )
        return f"Outputs by ``{outputs.by}``: {cases}."
    return "Outputs: " + (", ".join(f"``{name}``" for name in outputs.fixed) or "none") + "."


NODE_NAME_DOC = (
    "The official client's keyword for ``name``. Without either, a pipeline names the node "
    "``<type>_<n>`` when it is added."
)


def docstring(decl: type[NodeType], indent: str, official: bool = False) -> str:
    """The builder's docstring of a node type, indented for a class or a method body.

    A class's (``official``) also documents ``node_name`` and ``execution_mode``.
    """
    summary = decl.summary()
    head, _, rest = summary.partition("\n\n")
    parts = [head.strip()]
    if rest.strip():
        parts.append(textwrap.dedent(rest).strip())
    parts.append(outputs_text(decl))
    text = "\n\n".join(textwrap.fill(part, 88) for part in parts)
    lines = ["Args:", *_item("name", decl.builder.name_doc)]
    for name in builder_args(decl):
        if name != "*":
            lines += _item(name, arg_doc(decl, name))
    if official:
        lines += _item("node_name", NODE_NAME_DOC)
        modes = " or ".join(f"``{mode}``" for mode in decl.execution_modes)
        lines += _item(
            "execution_mode",
            f"{modes}; ``normal`` by default."
            + (
                " ``batch`` runs the node once per element of its list inputs (its outputs are "
                "lists)."
                if "batch" in decl.execution_modes
                else ""
            ),
        )
    text += "\n\n" + "\n".join(lines)
    if decl.raises:
        text += "\n\nRaises:\n" + "\n".join(_item(*decl.raises.split(": ", 1)))
    if decl.example:
        text += "\n\nExample:\n" + textwrap.indent(decl.example, "    ")
    body = textwrap.indent(text, indent).strip()
    return f'{indent}"""{body}\n{indent}"""'


def _item(name: str, doc: str) -> list[str]:
    wrapped = textwrap.wrap(f"{name}: {doc}", 86, subsequent_indent="    ")
    return ["    " + line for line in wrapped]
