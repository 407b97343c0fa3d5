"""``vectorshift pipelines ...``: list, show, delete, export and apply pipelines.

``export`` writes a pipeline as a JSON document (its name, description and graph, without the
ids and dates a platform gives it), and ``apply`` creates or updates a pipeline of that name
from such a document: pipelines can live in git and be deployed from CI. ``apply --dry-run``
says what would change without changing it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vectorshift.cli._context import Context
from vectorshift.cli._messages import printable
from vectorshift.cli._output import OK, show

if TYPE_CHECKING:
    from vectorshift import Pipeline

__all__ = ["apply", "delete", "export", "list_pipelines", "show_pipeline"]


def _one(text: str) -> str:
    """A name or description on one line: every control character (newlines too) escaped."""
    return printable(text, one_line=True)


def _io(pipeline: Pipeline) -> tuple[dict[str, str], dict[str, str]]:
    from vectorshift.pipeline._graph import pipeline_io

    inputs, outputs = pipeline_io(pipeline.nodes)
    return (
        {name: str(spec["io_type"]) for name, spec in inputs.items()},
        {name: str(spec["io_type"]) for name, spec in outputs.items()},
    )


def _summary(pipeline: Pipeline) -> dict[str, Any]:
    inputs, outputs = _io(pipeline)
    return {
        "id": pipeline.id,
        "name": pipeline.name,
        "description": pipeline.description,
        "inputs": inputs,
        "outputs": outputs,
        "nodes": [{"name": n.name, "type": n.type, "id": n.id} for n in pipeline.nodes],
    }


async def list_pipelines(ctx: Context) -> int:
    """Print the organisation's pipelines: id, name, inputs and outputs."""
    from vectorshift import Pipeline

    found = await Pipeline.alist(offset=ctx.args.offset, limit=ctx.args.limit, client=ctx.client)
    if ctx.out.json_mode:
        ctx.out.document([_summary(pipeline) for pipeline in found])
        return OK
    if not found:
        where = f" past the first {ctx.args.offset}" if ctx.args.offset else ""
        ctx.out.note(f"no pipelines{where} in this organisation")
    for pipeline in found:
        inputs, outputs = _io(pipeline)
        ctx.out.text(
            f"{pipeline.id}  {_one(pipeline.name)}  in: {_one(', '.join(inputs)) or '-'}  "
            f"out: {_one(', '.join(outputs)) or '-'}"
        )
    return OK


async def show_pipeline(ctx: Context) -> int:
    """Print one pipeline's inputs, outputs, nodes, and its graph by level (``describe()``)."""
    pipeline = await ctx.pipeline(ctx.args.pipeline)
    summary = _summary(pipeline)
    if ctx.out.json_mode:
        ctx.out.document(summary)
        return OK
    ctx.out.text(f"{_one(summary['name'])} ({summary['id']})")
    if summary["description"]:
        ctx.out.text(f"  {_one(summary['description'])}")
    for title in ("inputs", "outputs"):
        ctx.out.text(f"{title}:")
        for name, io_type in summary[title].items():
            ctx.out.text(f"  {_one(name)}: {_one(io_type)}")
    ctx.out.text("nodes:")
    for node in summary["nodes"]:
        ctx.out.text(f"  {_one(node['name'])}: {_one(node['type'])} ({node['id']})")
    ctx.out.text("graph:")
    for line in pipeline.describe().splitlines()[1:]:
        ctx.out.text(f"  {line}")
    return OK


async def delete(ctx: Context) -> int:
    """Delete a pipeline."""
    pipeline = await ctx.pipeline(ctx.args.pipeline)
    await pipeline.adelete()
    if ctx.out.json_mode:
        ctx.out.document({"id": pipeline.id, "name": pipeline.name, "deleted": True})
    else:
        ctx.out.text(f"deleted pipeline {_one(pipeline.name)!r} ({pipeline.id})")
    return OK


def document_of(pipeline: Pipeline) -> dict[str, Any]:
    """The exported form of a pipeline: name, description and graph, no platform ids."""
    document: dict[str, Any] = {"name": pipeline.name}
    if pipeline.description:
        document["description"] = pipeline.description
    return {**document, **pipeline.to_json()}


async def export(ctx: Context) -> int:
    """Write a pipeline as a JSON document, to stdout or ``--output``."""
    text = (
        json.dumps(document_of(await ctx.pipeline(ctx.args.pipeline)), indent=2, ensure_ascii=False)
        + "\n"
    )
    if ctx.args.output:
        import anyio

        await anyio.Path(ctx.args.output).write_text(text, encoding="utf-8")
    else:
        ctx.out.text(text, end="")
    return OK


def _changes(old: Pipeline | None, new: Pipeline) -> dict[str, list[str]]:
    from vectorshift.pipeline._graph import serialize_nodes

    before = {} if old is None else serialize_nodes(old.nodes)
    after = serialize_nodes(new.nodes)

    def name(nodes: dict[str, Any], node_id: str) -> str:
        return str(nodes[node_id].get("name") or node_id)

    changes = {
        "added": [name(after, i) for i in after if i not in before],
        "changed": [name(after, i) for i in after if i in before and before[i] != after[i]],
        "removed": [name(before, i) for i in before if i not in after],
    }
    if old is not None and (old.description or None) != (new.description or None):
        changes["changed"].append("(description)")
    return changes


async def apply(ctx: Context) -> int:
    """Create or update the pipeline a document names, so that it is what the document says."""
    from vectorshift import NotFoundError, Pipeline
    from vectorshift.cli._documents import read_document
    from vectorshift.pipeline._graph import deserialize_nodes

    document = read_document(ctx.args.file)
    name = document["name"]
    try:
        existing: Pipeline | None = await Pipeline.afetch(name=name, client=ctx.client)
    except NotFoundError:
        existing = None
    wanted = Pipeline(
        name,
        id=None if existing is None else existing.id,
        branch_id=None if existing is None else existing.branch_id,
        description=document.get("description"),
        nodes=deserialize_nodes(document),
        client=ctx.client,
    )
    wanted.validate()
    changes = _changes(existing, wanted)
    action = "create" if existing is None else ("update" if any(changes.values()) else "none")
    if action != "none" and not ctx.args.dry_run:
        await wanted.asave()
    _report(ctx, action, wanted, changes)
    return OK


def _report(ctx: Context, action: str, pipeline: Pipeline, changes: dict[str, list[str]]) -> None:
    dry = ctx.args.dry_run
    if ctx.out.json_mode:
        ctx.out.document(
            {
                "action": action,
                "dry_run": dry,
                "id": pipeline.id,
                "name": pipeline.name,
                **changes,
            }
        )
        return
    label = f"{pipeline.name!r}" + (f" ({pipeline.id})" if pipeline.id else "")
    if action == "none":
        ctx.out.text(f"pipeline {label} is up to date")
        return
    done, planned = {"create": ("created", "would create"), "update": ("updated", "would update")}[
        action
    ]
    ctx.out.text(f"{planned if dry else done} pipeline {label}")
    for what, names in changes.items():
        if names:
            ctx.out.text(f"  {what}: {', '.join(show(n) for n in names)}")
