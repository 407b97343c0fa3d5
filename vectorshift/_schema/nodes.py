"""Node types, declared once: inputs, outputs per configuration, execution modes and docs.

Each node type is one pydantic model in :mod:`vectorshift._schema.nodes_types`. Its fields are
the node's saved inputs, in the order the platform saves them, with their types and the
defaults the platform's editor writes; the class variables say the rest (:class:`NodeType`).
Everything else is derived from these declarations:

- the builder's typed node classes and fluent methods (``InputNode``, ``pipeline.add(...)
  .llm(...)``): written out with real signatures and docstrings into
  ``vectorshift/pipeline/_generated_nodes.py``, ``_generated_transforms.py`` and
  ``_generated_methods.py`` by ``tools/gen_nodes.py``, which copies the facts as literals so
  building a pipeline never imports pydantic;
- the local engine's checks (required inputs, list inputs) and declared outputs
  (:mod:`vectorshift.local.engine`);
- the node-type tables of ``docs/api/nodes.md`` (same tool);
- the type check of run inputs and default values (:mod:`vectorshift._schema.io_types`).

Adding a node type touches:

1. ``vectorshift/_schema/nodes_types.py``: its declaration (a :class:`NodeType` subclass listed
   in ``NODE_TYPES``);
2. ``vectorshift/local/nodes.py``: its executor, ``@executor("<type>")``;
3. when the builder needs checks beyond the declared choices, a ``@prepares("<type>")`` hook in
   ``vectorshift/pipeline/_catalog.py`` (optional);
4. ``python tools/gen_nodes.py`` (or ``nox -s codegen``) rewrites the generated modules and
   the tables of ``docs/api/nodes.md``; no hand edit there.
5. If the class is public: its name in ``vectorshift/__init__.py``'s public table (``_PUBLIC``
   and the ``TYPE_CHECKING`` block) and a ``:::`` line in ``docs/api/nodes.md``.

Nothing else: the engine's graph checks (:mod:`vectorshift.local.node_checks`), the declared
outputs, the builder's exports (``vectorshift.pipeline`` re-exports the generated modules) and
the docs tables follow. ``tests/test_node_declarations.py`` fails until the executor exists and
the generated code is fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

__all__ = ["Builder", "NodeType", "Outputs", "Param", "spec"]


def spec(
    default: Any = None,
    doc: str = "",
    *,
    required: bool = False,
    wired: bool = False,
    choices: tuple[str, tuple[str, ...]] | None = None,
    alias: str | None = None,
) -> Any:
    """A declared input: its saved default, its docs and how the engine treats it.

    Args:
        default: What the platform's editor saves when the input is not set.
        doc: One sentence or more, shown in docstrings and the docs' tables.
        required: A saved node must have the input (the local engine refuses a graph without it).
        wired: The input may hold other nodes' outputs (templates such as ``{{ llm_0.response }}``).
        choices: ``(alias, values)``: the input is one of ``values``; the builder names their
            ``Literal`` type ``alias`` (``("Formatter", ("To Uppercase", ...))``).
        alias: The saved name, when it cannot be the field's (``outputs``).
    """
    extra: dict[str, Any] = {"x-required": required, "x-wired": wired}
    if choices is not None:
        extra["x-alias"], extra["x-choices"] = choices[0], list(choices[1])
    return Field(default=default, description=doc, json_schema_extra=extra, alias=alias)


@dataclass(frozen=True)
class Outputs:
    """A node type's output fields, besides ``complete``, for each configuration.

    Exactly one of the ways applies: ``fixed`` names; ``by`` an input whose value picks the
    names from ``cases``; or ``computed``, a description, for outputs the engine derives
    (a condition's paths) or a node lists itself (a pipeline node's).
    """

    fixed: tuple[str, ...] = ()
    by: str = ""
    cases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    computed: str = ""

    def names(self) -> tuple[str, ...]:
        """Every output name a node of the type may have, in first-seen order."""
        seen = dict.fromkeys(self.fixed)
        for names in self.cases.values():
            seen.update(dict.fromkeys(names))
        return tuple(seen)


@dataclass(frozen=True)
class Param:
    """A builder argument that is not a saved input as such (``token_delay_ms``...)."""

    annotation: str
    default: str
    doc: str


@dataclass(frozen=True)
class Builder:
    """How the builder exposes a node type: its class, method and argument order.

    Attributes:
        cls: The public class (``LlmNode``).
        method: The fluent method of ``pipeline.add(name=...)`` (``llm``).
        positional: Arguments after ``name`` that may be given by position.
        keywords: Keyword-only arguments after ``id``, ``dependencies`` last when declared.
        no_default: Arguments the user must give (no default in the signature).
        params: Arguments that are not saved inputs, by name.
        generate: Whether ``tools/gen_nodes.py`` writes the class (``False``: hand-written).
        name_doc: The docs of the ``name`` argument.
    """

    cls: str
    method: str
    positional: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    no_default: tuple[str, ...] = ()
    params: dict[str, Param] = field(default_factory=dict)
    generate: bool = True
    name_doc: str = "The node's name."


# What each declaration's fields say, computed once per class (see NodeType.inputs).
_INPUTS: dict[type[NodeType], dict[str, FieldInfo]] = {}
_DERIVED: dict[tuple[type[NodeType], str], tuple[str, ...]] = {}


class NodeType(BaseModel):
    """The declaration of one node type: its fields are the node's saved inputs.

    Instances validate a saved node's ``inputs``; inputs the platform adds are kept.

    Class variables:
        type_name: The platform's node type (``llm``).
        outputs: Its outputs per configuration.
        execution_modes: The values of the node's ``execution_mode`` the platform allows
            (``batch``: the node runs once per element of its list inputs, see
            :mod:`vectorshift.local.batch`).
        batch_fields: The inputs a batch node may take as lists, one element per run, in the
            order the official client writes them in the canvas's ``batchModeConfig``.
        builder: How the builder exposes it.
        raises: The builder's ``Raises:`` docstring section, without the heading.
        example: The builder's ``Example:`` section, without the heading.
    """

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    type_name: ClassVar[str]
    outputs: ClassVar[Outputs]
    execution_modes: ClassVar[tuple[str, ...]] = ("normal",)
    batch_fields: ClassVar[tuple[str, ...]] = ()
    builder: ClassVar[Builder]
    raises: ClassVar[str] = ""
    example: ClassVar[str] = ""

    @classmethod
    def inputs(cls) -> dict[str, FieldInfo]:
        """The declared inputs by saved name, in saved order (read-only: shared by callers).

        Kept per class after the first call: a declaration never changes once its class is
        made, and the server asks for it once per node of every graph it stores (reading
        pydantic's ``model_fields`` each time made checking a 10k-node graph take 0.2 s).
        """
        found = _INPUTS.get(cls)
        if found is None:
            found = _INPUTS[cls] = {
                info.alias or name: info for name, info in cls.model_fields.items()
            }
        return found

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """What the platform's editor saves for every input, in saved order."""
        return {
            name: info.get_default(call_default_factory=True) for name, info in cls.inputs().items()
        }

    @classmethod
    def extra(cls, name: str, what: str) -> Any:
        """What :func:`spec` recorded of input ``name``: ``required``, ``wired``, ``choices``..."""
        extra = cls.inputs()[name].json_schema_extra
        return extra.get(f"x-{what}") if isinstance(extra, dict) else None

    @classmethod
    def flag(cls, name: str, what: str) -> bool:
        """Whether input ``name`` is declared ``required`` or ``wired`` (``what``)."""
        return bool(cls.extra(name, what))

    @classmethod
    def required_inputs(cls) -> tuple[str, ...]:
        """Inputs a saved node must have."""
        key = (cls, "required")
        found = _DERIVED.get(key)
        if found is None:
            found = _DERIVED[key] = tuple(
                name for name in cls.inputs() if cls.flag(name, "required")
            )
        return found

    @classmethod
    def list_inputs(cls) -> tuple[str, ...]:
        """Inputs whose value is a list."""
        key = (cls, "list")
        found = _DERIVED.get(key)
        if found is None:
            found = _DERIVED[key] = tuple(
                name
                for name, info in cls.inputs().items()
                if name != "dependencies" and getattr(info.annotation, "__origin__", None) is list
            )
        return found

    @classmethod
    def outputs_for(cls, inputs: dict[str, Any]) -> tuple[str, ...]:
        """The outputs of a node with these saved inputs (none for ``computed`` outputs).

        An input's value the declaration has no case for counts as the input's default.
        """
        outputs = cls.outputs
        if not outputs.by:
            return outputs.fixed
        fallback = outputs.cases[str(cls.defaults()[outputs.by])]
        return outputs.cases.get(str(inputs.get(outputs.by)), fallback)

    @classmethod
    def summary(cls) -> str:
        """The docstring's text: what the node does (without this class's own docs)."""
        return (cls.__doc__ or "").strip()
