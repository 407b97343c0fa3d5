"""How a run's frames are stored and handed to its followers: batched writes, paced.

Events are written in batches. The engine's frames go into a bounded queue per run (the engine
waits when it is full); one writer task per run takes every frame queued so far and appends them in
one transaction, then publishes them to the run's followers. Writes are paced by a token bucket: a
write starts as soon as a frame is queued while the run has written fewer than :data:`FLUSH_BURST`
times in the last ``FLUSH_BURST * FLUSH_INTERVAL``, else when the next :data:`FLUSH_INTERVAL` (20
ms) slot comes. So a slow stream, and the first frames of any run, are written frame by frame with
no added delay, and a fast one in batches of about 20 ms: a frame is stored and sent within 20 ms
plus one transaction (unless another process holds the write lock). A run end writes whatever is
queued before its result frame. Followers only ever see frames that are stored, with their stored
sequence numbers, so a client resuming with ``Last-Event-ID`` from any process sharing the file
loses nothing and sees nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from vectorshift import _log
from vectorshift.local.storage_errors import storage_error, storage_failure
from vectorshift.local.store import Store

__all__ = ["EVENT_QUEUE", "FLUSH_BURST", "FLUSH_INTERVAL", "ActiveRun", "write_events"]

logger = _log.get_logger("vectorshift.local")

FLUSH_INTERVAL = 0.02
"""Seconds per event write of one run, sustained (at most 50 writes per second)."""

FLUSH_BURST = 4
"""Event writes of one run that may start at once before :data:`FLUSH_INTERVAL` applies."""

EVENT_QUEUE = 1024
"""Frames a run may have queued for writing before its engine waits for the writer."""


@dataclass(eq=False)
class ActiveRun:
    """A run executing in this process, with every frame it has produced so far."""

    task_id: str
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    frames: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    done: anyio.Event = field(default_factory=anyio.Event)
    changed: anyio.Event = field(default_factory=anyio.Event)
    stop_error: str | None = None
    finished: bool = False
    discarding: bool = False
    """Set once the store refuses this run's events (it ended elsewhere, or the write failed)."""

    def publish(self, frames: list[tuple[int, dict[str, Any]]]) -> None:
        """Add stored frames, with their sequence numbers, and wake the followers."""
        self.frames.extend(frames)
        self.notify()

    def notify(self) -> None:
        """Wake the followers (a new frame, or the run's end)."""
        self.changed.set()
        self.changed = anyio.Event()

    @property
    def last_seq(self) -> int:
        """The sequence number of the last frame published (0: none yet)."""
        return self.frames[-1][0] if self.frames else 0


async def write_events(
    store: Store, run: ActiveRun, receive: MemoryObjectReceiveStream[dict[str, Any]]
) -> None:
    """Append the run's queued frames in batches until the engine is done, publishing each batch.

    A batch the store refuses (the run ended elsewhere) or cannot write stops the run: its
    scope is cancelled and later frames are dropped; a storage failure (disk full) is the
    run's error, named as such.

    Args:
        store: Where the frames are appended.
        run: The run, whose followers get each stored batch.
        receive: The engine's frames, closed when the engine is done.
    """
    allowance, stamp = float(FLUSH_BURST), anyio.current_time()
    async with receive:
        async for first in receive:
            now = anyio.current_time()
            allowance = min(FLUSH_BURST, allowance + (now - stamp) / FLUSH_INTERVAL)
            stamp = now
            if allowance < 1:  # what the engine emits meanwhile joins this batch
                await anyio.sleep((1 - allowance) * FLUSH_INTERVAL)
                allowance, stamp = 1.0, anyio.current_time()
            allowance -= 1
            batch = [first]
            while True:
                try:
                    batch.append(receive.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            if run.discarding:
                continue
            try:
                seqs = await store.append_events(run.task_id, batch)
            except Exception as exc:
                logger.exception("run %s: could not store its events", run.task_id)
                failure = storage_failure(exc)
                run.stop_error = (
                    f"the local server could not store this run's events: {exc}"
                    if failure is None
                    else storage_error(failure)
                )
                seqs = None
            if seqs is None:  # ended from elsewhere, or unwritable: stop the run
                run.discarding = True
                run.scope.cancel()
            else:
                run.publish(list(zip(seqs, batch, strict=True)))
