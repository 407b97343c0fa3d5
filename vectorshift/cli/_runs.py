"""``vectorshift run``, ``start`` and ``runs ...``: start, check, wait for, watch and stop runs.

Waiting and watching only read a run: interrupting them (Ctrl-C) leaves the run going, and the
command prints the command line that picks it up again. ``run`` is a start and a wait, so it
knows the run's id from the start and can say the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vectorshift.cli._context import Context
from vectorshift.cli._inputs import parse_inputs
from vectorshift.cli._output import OK, RUN_FAILED, show

if TYPE_CHECKING:
    from vectorshift import AsyncStream, Pipeline, RunHandler, RunStatus, StreamChunk

__all__ = ["run", "start", "status", "terminate", "wait", "watch"]


def _ids(status: RunStatus | RunHandler) -> dict[str, Any]:
    return {
        "pipeline_id": status.pipeline_id,
        "task_id": status.task_id,
        "trace_id": status.trace_id,
    }


def _status_document(status: RunStatus) -> dict[str, Any]:
    return {
        **_ids(status),
        "status": status.status,
        "raw_status": status.raw_status,
        "outputs": status.outputs,
        "error": status.error,
    }


def _inputs(ctx: Context, pipeline: Pipeline) -> dict[str, Any]:
    from vectorshift.pipeline._graph import pipeline_io

    types = {name: str(spec["io_type"]) for name, spec in pipeline_io(pipeline.nodes)[0].items()}
    return parse_inputs(ctx.args.input or [], types)


async def _handler(ctx: Context) -> RunHandler:
    from vectorshift import RunHandler

    pipeline_id = await ctx.pipeline_id(ctx.args.pipeline)
    return RunHandler(pipeline_id=pipeline_id, task_id=ctx.args.task, client=ctx.client)


async def start(ctx: Context) -> int:
    """Start a run in the background; print its task id (``--json``: its ids)."""
    pipeline = await ctx.pipeline(ctx.args.pipeline)
    handler = await pipeline.astart(_inputs(ctx, pipeline))
    if ctx.out.json_mode:
        ctx.out.document(_ids(handler))
    else:
        ctx.out.text(handler.task_id)
    return OK


async def run(ctx: Context) -> int:
    """Run and print the outputs (``--stream``: as they are produced)."""
    pipeline = await ctx.pipeline(ctx.args.pipeline)
    inputs = _inputs(ctx, pipeline)
    outputs = _output_names(pipeline)
    if ctx.args.stream:
        stream = pipeline.astream(inputs, timeout=ctx.args.timeout)
        return await _follow(ctx, stream, outputs, pipeline.id)
    handler = await pipeline.astart(inputs)
    return await _wait(ctx, handler)


async def status(ctx: Context) -> int:
    """Print a run's status once (and its outputs, once it succeeded)."""
    return _report(ctx, await (await _handler(ctx)).arun_status())


def _report(ctx: Context, current: RunStatus) -> int:
    if ctx.out.json_mode:
        ctx.out.document(_status_document(current))
    else:
        ctx.out.text(current.status)
        if current.status == "succeeded":
            ctx.out.outputs(current.outputs)
        elif current.error:
            ctx.out.text(f"error: {current.error}")
    return RUN_FAILED if current.status in ("failed", "cancelled") else OK


async def wait(ctx: Context) -> int:
    """Wait for a run to end; print its outputs."""
    return await _wait(ctx, await _handler(ctx))


async def _wait(ctx: Context, handler: RunHandler) -> int:
    ctx.resume = ctx.command("runs", "wait", handler.pipeline_id, handler.task_id)
    final = await ctx.out.waiting(
        lambda: f"waiting for run {handler.task_id}",
        lambda: handler.aresult(timeout=ctx.args.timeout),
    )
    if ctx.out.json_mode:
        ctx.out.document(_status_document(final))
    else:
        ctx.out.outputs(final.outputs)
    return OK


async def terminate(ctx: Context) -> int:
    """Stop a run; print the status it ended with."""
    final = await (await _handler(ctx)).aterminate()
    if ctx.out.json_mode:
        ctx.out.document(_status_document(final))
    else:
        ctx.out.text(final.status)
    return OK


async def watch(ctx: Context) -> int:
    """Follow a run's events as they come (replayed from the start, or after ``--after``)."""
    from vectorshift import Pipeline

    handler = await _handler(ctx)
    outputs = None
    if not ctx.out.json_mode:
        outputs = _output_names(await Pipeline.afetch(id=handler.pipeline_id, client=ctx.client))
    stream = handler.astream(after=ctx.args.after, timeout=ctx.args.timeout)
    code = await _follow(ctx, stream, outputs, handler.pipeline_id)
    if stream.run_status is not None or ctx.args.after is None:
        return code
    # No result chunk: the run had ended at or before --after, so its status is the news.
    return _report(ctx, await handler.arun_status())


def _output_names(pipeline: Pipeline) -> list[str]:
    return [node.name for node in pipeline.nodes if node.type == "output"]


async def _follow(
    ctx: Context,
    stream: AsyncStream[StreamChunk],
    outputs: list[str] | None,
    pipeline_id: str | None,
) -> int:
    """Print a stream's chunks: JSON lines, or each output's tokens as they come.

    A failed or cancelled run raises after its ``result`` chunk was printed.
    """
    printer = _TokenPrinter(ctx, outputs or [])
    try:
        async with stream:
            async for chunk in stream:
                if stream.task_id:
                    ctx.resume = _watch_again(ctx, pipeline_id, stream)
                if ctx.out.json_mode:
                    ctx.out.document(
                        {
                            "pipeline_id": pipeline_id,
                            "task_id": stream.task_id,
                            **chunk.model_dump(exclude={"raw"}),
                        }
                    )
                else:
                    printer.chunk(chunk)
    finally:
        printer.end()
    return OK


def _watch_again(ctx: Context, pipeline_id: str | None, stream: AsyncStream[StreamChunk]) -> str:
    words = ["runs", "watch", pipeline_id or "PIPELINE", stream.task_id or "TASK"]
    if stream.last_event_id:
        words += ["--after", stream.last_event_id]
    return ctx.command(*words)


class _TokenPrinter:
    """Each pipeline output's deltas as they come; ``name:`` before each when there are several.

    Chunks of intermediate node values (``node.field``) are not outputs and are left out; the
    ``result`` chunk prints the outputs that had not been streamed.
    """

    def __init__(self, ctx: Context, outputs: list[str]) -> None:
        self._out = ctx.out
        self._outputs = outputs
        self._current: str | None = None
        self._printed: set[str] = set()

    def _switch(self, name: str) -> None:
        if self._current == name:
            return
        if self._current is not None:
            self._out.text()
        self._current = name
        if len(self._outputs) != 1:
            self._out.text(f"{name}: ", end="")

    def chunk(self, chunk: StreamChunk) -> None:
        if chunk.type == "result":
            for name, value in (chunk.outputs or {}).items():
                if name not in self._printed:
                    self._switch(name)
                    self._out.text(show(value), end="")
                    self._printed.add(name)
            return
        output = chunk.output_name
        if output is None or chunk.node_id is not None or output not in self._outputs:
            return
        self._switch(output)
        self._out.text(show(chunk.output_value), end="")
        self._printed.add(output)

    def end(self) -> None:
        if self._current is not None:
            self._out.text()
            self._current = None
