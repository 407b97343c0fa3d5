"""What every process of the batch shares: settings, Redis keys, deterministic ids, logging.

The producer, the workers and the reporter are separate processes (on one machine or many); all
they share is Redis, the platform and this module. Settings come from the environment:

* ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``): the queue and the batch's state;
* ``VECTORSHIFT_BASE_URL`` / ``VECTORSHIFT_API_KEY``: the platform (by default a
  ``vectorshift-local`` server on port 8600 started with ``VECTORSHIFT_LOCAL_API_KEY=vs-local-dev``,
  as the README shows);
* ``BATCH_LOG_FILE``: write this process's log there instead of stderr;
* ``BATCH_HEARTBEAT_MS`` and ``BATCH_LEASE_MS``: how soon a dead worker's messages go back on the
  queue and its concurrency slots come free (the test makes both short).
"""

from __future__ import annotations

import contextvars
import logging
import os
import uuid
from dataclasses import dataclass

import redis

from vectorshift import Client, RetryPolicy

REDIS_URL_DEFAULT = "redis://127.0.0.1:6379/0"
LOCAL_BASE_URL = "http://127.0.0.1:8600/v1"
LOCAL_API_KEY = "vs-local-dev"
QUEUE = "batch"
PIPELINE_NAME = "batch-workers-example"

_TRACE_NAMESPACE = uuid.UUID("6f1c2a3e-9b7d-4e05-8a51-2d6c0b7e4f19")

current_input: contextvars.ContextVar[str] = contextvars.ContextVar("input_id", default="")
"""The batch input the current task (or coroutine) works on."""
current_run: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "run", default=("", "")
)
"""``(task_id, trace_id)`` of the run the current task works on, once known."""


def redis_url() -> str:
    """The Redis holding the queue and the batch state."""
    return os.environ.get("REDIS_URL", REDIS_URL_DEFAULT)


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment."""
    return int(os.environ.get(name, default))


RETRY = RetryPolicy(max_retries=5)
"""A batch has time: each call rides out a few more transient failures than by default."""


def client() -> Client:
    """A client of the platform: ``VECTORSHIFT_*`` when set, else a local server on port 8600."""
    if os.environ.get("VECTORSHIFT_API_KEY"):
        return Client(retry=RETRY)
    return Client(
        api_key=LOCAL_API_KEY,
        base_url=os.environ.get("VECTORSHIFT_BASE_URL", LOCAL_BASE_URL),
        retry=RETRY,
    )


def idempotency_key(batch: str, input_id: str) -> str:
    """One key per input of a batch: every start of that input, from any process, sends it."""
    return f"{batch}/{input_id}"


def trace_id(batch: str, input_id: str) -> str:
    """The trace id of an input's run, known before the run starts (the producer logs it)."""
    return uuid.uuid5(_TRACE_NAMESPACE, idempotency_key(batch, input_id)).hex


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one batch."""

    batch: str

    def _key(self, what: str) -> str:
        return f"batch:{self.batch}:{what}"

    @property
    def inputs(self) -> str:
        """Set: every input id of the batch."""
        return self._key("inputs")

    @property
    def limit(self) -> str:
        """String: runs the whole batch may have in progress at once."""
        return self._key("limit")

    @property
    def slots(self) -> str:
        """Sorted set: the leases of the runs in progress (see ``slots.py``)."""
        return self._key("slots")

    @property
    def handles(self) -> str:
        """Hash: input id -> ``{"pipeline_id", "task_id", "trace_id"}`` of its run."""
        return self._key("handles")

    @property
    def state(self) -> str:
        """Hash: input id -> ``started``, ``finished``, ``failed`` or ``cancelled``."""
        return self._key("state")

    @property
    def outputs(self) -> str:
        """Hash: input id -> the run's output, written once."""
        return self._key("outputs")

    @property
    def counters(self) -> str:
        """Hash: ``writes`` (outputs stored), ``duplicates`` (a second store refused), ..."""
        return self._key("counters")

    @property
    def stop(self) -> str:
        """String, when set: start no more runs (the reporter's ``--terminate``)."""
        return self._key("stop")

    def all(self) -> list[str]:
        """Every key of the batch (to start it again from nothing)."""
        return [
            self.inputs,
            self.limit,
            self.slots,
            self.handles,
            self.state,
            self.outputs,
            self.counters,
            self.stop,
        ]


def sync_redis() -> redis.Redis:
    """A blocking Redis client (producer, reporter)."""
    return redis.Redis.from_url(redis_url(), decode_responses=True)


class BatchFields(logging.Filter):
    """Give every record ``input_id``, ``task_id`` and ``trace_id``, from the context if need be.

    Records of the SDK carry ``task_id`` and ``trace_id`` when they concern a run (the structured
    fields of the ``vectorshift`` logger); those that do not know them (a retried request, a
    record of the queue library or of this example) get the ones of the input being processed,
    so one grep for an input id or a trace id follows that input through every process.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        task_id, trace = current_run.get()
        if not getattr(record, "input_id", ""):
            record.input_id = current_input.get() or "-"
        if not getattr(record, "task_id", ""):
            record.task_id = task_id or "-"
        if not getattr(record, "trace_id", ""):
            record.trace_id = trace or "-"
        return True


LOG_FORMAT = (
    "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s "
    "input=%(input_id)s task=%(task_id)s trace=%(trace_id)s"
)


def setup_logging(role: str) -> None:
    """Log this process's records (``role`` names it) with the batch's fields on every one."""
    path = os.environ.get("BATCH_LOG_FILE")
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler()
    )
    handler.addFilter(BatchFields())
    handler.setFormatter(logging.Formatter(f"{role} {LOG_FORMAT}"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("BATCH_LOG_LEVEL", "INFO"))
    logging.getLogger("httpx").setLevel(logging.WARNING)
