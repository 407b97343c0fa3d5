"""How the engine shares the server's event loop with the other requests while it runs.

The engine runs on the loop that answers every client, so its synchronous work must come in
short slices. A graph of 10k nodes used to hold the loop for over half a second at the start
of its run (validation, then 10k tasks started and stepped in one go), during which a status
request of another client waited. Two rules keep each slice short:

- a big graph is validated, and the nodes each node reads are found, in a worker thread (the
  graph is the run's own and is only read);
- a node's task is started only once the nodes it reads have finished (a task per node
  waiting from the start made 10k live tasks, whose garbage collections paused the loop
  for up to 0.3 s), and ready nodes are started in batches, the loop getting its turn
  between two batches. A node has no event to wait on either: 10k nodes made 30k live objects
  (events, their waiter queues) that each full garbage collection of the loop's thread scanned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from vectorshift.local.templates import find_references

__all__ = [
    "BATCH",
    "OFF_LOOP_NODES",
    "check_off_loop",
    "reads_of",
    "start_when_ready",
]

#: Graphs with more nodes than this are validated in a worker thread (smaller ones take
#: well under a millisecond, less than handing them to a thread).
OFF_LOOP_NODES = 200
#: Node tasks started between two turns of the loop (about 5 ms of work on a slow machine).
BATCH = 100


async def check_off_loop(
    check: Callable[[dict[str, Any]], None], nodes: dict[str, Any]
) -> dict[str, set[str]]:
    """``check(nodes)`` then :func:`reads_of`, in a worker thread when the graph is big.

    Returns:
        What :func:`reads_of` returns (only computed once ``check`` passed; its exception is
        raised).
    """

    def check_then_read(graph: dict[str, Any]) -> dict[str, set[str]]:
        check(graph)
        return reads_of(graph)

    if len(nodes) > OFF_LOOP_NODES:
        return await anyio.to_thread.run_sync(check_then_read, nodes)
    return check_then_read(nodes)


def reads_of(nodes: dict[str, Any]) -> dict[str, set[str]]:
    """The ids of the nodes each node reads (an input node reads none: it is given its value)."""
    return {
        node_id: set()
        if node["type"] == "input"
        else {ref.node_id for ref in find_references(node["inputs"])}
        for node_id, node in nodes.items()
    }


async def start_when_ready(
    group: TaskGroup,
    run_node: Callable[[str], Awaitable[None]],
    reads: dict[str, set[str]],
    finished: Callable[[str], bool],
) -> None:
    """Start ``run_node(node_id)`` in ``group`` for each node once the nodes it reads finished.

    Args:
        group: The run's task group.
        run_node: Runs one node (everything it reads is then finished).
        reads: The ids each node reads (:func:`reads_of` a validated graph: every reference
            exists, no cycle).
        finished: Whether a node finished well; the nodes reading one that did not (it failed,
            and the run is being cancelled) are never started.
    """
    waiting = {node_id: len(sources) for node_id, sources in reads.items()}
    readers: dict[str, list[str]] = {}
    for node_id, sources in reads.items():
        for source in sources:
            readers.setdefault(source, []).append(node_id)

    async def run_then_release(node_id: str) -> None:
        await run_node(node_id)
        if not finished(node_id):
            return
        for reader in readers.get(node_id, ()):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                group.start_soon(run_then_release, reader)

    ready = [node_id for node_id, count in waiting.items() if count == 0]
    for count, node_id in enumerate(ready, 1):
        group.start_soon(run_then_release, node_id)
        if count % BATCH == 0:
            await anyio.lowlevel.checkpoint()
