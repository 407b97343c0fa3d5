"""Storage failures (issue 24, point 7): a full or failing disk is named, and no run is left going.

The writer connection of a real server on loopback is made to fail its writes with SQLite's own
``database or disk is full`` for a while, then to work again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig

from .graphs import llm_graph, long_graph
from .test_server_runs import start, status

FULL = "database or disk is full"
NAMED = f"storage full or failing: {FULL}"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Disk:
    """Makes the server's writes raise ``database or disk is full`` while :attr:`full` is set.

    ``only`` narrows the failing statements to those starting with it (e.g. the run's end).
    """

    def __init__(self) -> None:
        self.full = False
        self.only: str | None = None
        self.refused = 0

    def check(self, sql: str) -> None:
        statement = " ".join(sql.split()).upper()
        if not self.full:
            return
        failing = statement.startswith(self.only) if self.only else statement.startswith(_WRITES)
        if failing:
            self.refused += 1
            raise sqlite3.OperationalError(FULL)


class _Connection:
    def __init__(self, db: sqlite3.Connection, disk: Disk) -> None:
        self._db, self._disk = db, disk

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._disk.check(sql)
        return self._db.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._disk.check(sql)
        return self._db.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(api_keys={"key": "org"}, max_active_runs=1)) as server:
        yield server


@pytest.fixture
def disk(server: LocalServer) -> Disk:
    disk = Disk()
    writer = server._store._writer  # type: ignore[union-attr]
    submit = writer.submit

    def failing_submit(job: Callable[[sqlite3.Connection], Any]) -> Any:
        return submit(lambda db: job(_Connection(db, disk)))  # type: ignore[arg-type]

    writer.submit = failing_submit  # type: ignore[method-assign]
    return disk


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": "Bearer key"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        yield client


def create(api: httpx.Client, nodes: dict[str, Any]) -> str:
    response = api.post("/pipeline", json={"name": "disk", "nodes": nodes})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def ended(api: httpx.Client, pipeline_id: str, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        body = status(api, pipeline_id, task_id, wait=2)
        if body["status"] != "in_progress" or time.monotonic() > deadline:
            return body


def assert_named(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "failed"
    assert body["error"] == NAMED
    assert body["request_id"] == response.headers["x-request-id"]
    assert int(response.headers["retry-after"]) > 0


def test_a_write_refused_by_a_full_disk_answers_503_naming_it(
    api: httpx.Client, disk: Disk
) -> None:
    pipeline_id = create(api, llm_graph())
    disk.full = True
    assert_named(api.post("/pipeline", json={"name": "more", "nodes": llm_graph()}))
    assert_named(api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "hi"}}))
    assert api.get("/pipelines").status_code == 200  # reads still work
    disk.full = False
    assert api.post("/pipeline", json={"name": "more", "nodes": llm_graph()}).status_code == 200


def test_a_run_whose_event_writes_fail_ends_failed_once_writes_work(
    api: httpx.Client, disk: Disk
) -> None:
    pipeline_id = create(api, long_graph())
    task_id = start(api, pipeline_id)
    time.sleep(0.3)
    disk.full = True
    deadline = time.monotonic() + 10
    while disk.refused < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert disk.refused >= 2  # the events, then the run's end, were refused
    disk.full = False
    final = ended(api, pipeline_id, task_id)
    assert final["status"] == "failed"
    assert final["error"] == NAMED
    start(api, pipeline_id)  # the organisation's only active-run slot is free again


def test_a_run_whose_end_cannot_be_written_ends_failed_once_writes_work(
    api: httpx.Client, disk: Disk
) -> None:
    pipeline_id = create(api, llm_graph(tokens=3))
    disk.only, disk.full = "UPDATE RUNS SET STATUS", True
    task_id = start(api, pipeline_id)
    deadline = time.monotonic() + 10
    while disk.refused < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert disk.refused >= 2  # the end was refused, and tried again
    assert status(api, pipeline_id, task_id)["status"] == "in_progress"
    disk.full = False
    final = ended(api, pipeline_id, task_id)
    assert final["status"] == "failed"
    assert final["error"] == NAMED
    assert final.get("outputs") in (None, {})
    start(api, pipeline_id)  # the organisation's only active-run slot is free again


def test_storage_failures_are_told_from_other_database_errors() -> None:
    from vectorshift.local.storage_errors import storage_failure

    full = sqlite3.OperationalError(FULL)
    assert storage_failure(full) is full
    wrapped = RuntimeError("the run's task group")
    wrapped.__cause__ = full
    assert storage_failure(wrapped) is full
    malformed = sqlite3.DatabaseError("database disk image is malformed")
    assert storage_failure(malformed) is malformed
    assert storage_failure(sqlite3.OperationalError("database is locked")) is None
    assert storage_failure(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert storage_failure(RuntimeError("other")) is None
