"""Ghost runs: runs in progress in the store that this server owns but runs no executor for.

A start writes its run rows and then launches them; a start that fails between the two (a row
that cannot be read back, an error launching) would leave a run in progress for ever, holding
one of the organisation's active-run slots, since its owner is alive and recovery
(:mod:`vectorshift.local.sqlite_owners`) only fails the runs of dead owners.
:func:`end_ghosts` fails them; the run manager calls it when a start meets the limit and at
every heartbeat.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from vectorshift import _log
from vectorshift.local.store import Store

__all__ = ["GHOST_ERROR", "end_ghosts"]

logger = _log.get_logger("vectorshift.local")

GHOST_ERROR = "the local server did not run this run (its start failed after it was recorded)"


async def end_ghosts(store: Store, running: Container[str], quiet: Callable[[], bool]) -> int:
    """Fail the runs in progress that ``store``'s instance owns and that are not ``running``.

    Args:
        store: The store of this server.
        running: The task ids this server executes.
        quiet: Whether no start is between its write and its launch (asked once the owned
            runs are read: a start's runs are not ghosts before they are launched).

    Returns:
        How many runs were failed.
    """
    owned = await store.owned_runs()
    if not quiet():
        return 0
    ghosts = [task_id for task_id in owned if task_id not in running]
    for task_id in ghosts:
        await store.finish_run(task_id, "failed", error=GHOST_ERROR)
    if ghosts:
        logger.warning("failed %d run(s) that no executor ran: %s", len(ghosts), ", ".join(ghosts))
    return len(ghosts)
