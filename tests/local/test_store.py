"""The SQLite store: schema migration, expiry, batched events, a loop that never waits on SQLite."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.config import parse_duration
from vectorshift.local.records import IDEMPOTENCY_TTL, PipelineRecord
from vectorshift.local.run_events import FLUSH_BURST, FLUSH_INTERVAL
from vectorshift.local.runs import RunManager
from vectorshift.local.sqlite_schema import SCHEMA_VERSION
from vectorshift.local.sqlite_store import SQLiteStore

from .graphs import llm_graph
from .test_server_runs import frames

# The schema exactly as the server created it before it was versioned (user_version 0).
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS pipelines (
    id TEXT PRIMARY KEY, org TEXT NOT NULL, name TEXT NOT NULL, nodes TEXT NOT NULL,
    canvas_metadata TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT NOT NULL,
    branch_id TEXT NOT NULL, version TEXT NOT NULL, description TEXT NOT NULL,
    created TEXT NOT NULL, modified TEXT NOT NULL, rev INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pipelines_by_name ON pipelines (org, name, rev);
CREATE TABLE IF NOT EXISTS runs (
    task_id TEXT PRIMARY KEY, pipeline_id TEXT NOT NULL, org TEXT NOT NULL, status TEXT NOT NULL,
    inputs TEXT NOT NULL, outputs TEXT, error TEXT, trace_id TEXT NOT NULL,
    owner_host TEXT NOT NULL, owner_pid INTEGER NOT NULL, owner_instance TEXT NOT NULL,
    created TEXT NOT NULL, finished TEXT);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, org);
CREATE TABLE IF NOT EXISTS events (
    task_id TEXT NOT NULL, seq INTEGER NOT NULL, frame TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
    org TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL, task_id TEXT NOT NULL,
    trace_id TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (org, key));
"""

OLD_FINISHED = "2024-03-01T12:00:00.250000+00:00"
OLD_FINISHED_EPOCH = 1709294400.25


def old_database(path: Path) -> None:
    """A file as the unversioned server left it: a pipeline, a finished run with 3 events."""
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("PRAGMA journal_mode=WAL")
    nodes = json.dumps(llm_graph())
    db.execute(
        "INSERT INTO pipelines VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            "a" * 24,
            "local",
            "old",
            nodes,
            "{}",
            "{}",
            "{}",
            "b" * 24,
            "1.0.3",
            "kept",
            "2024-03-01T11:00:00+00:00",
            "2024-03-01T11:00:00+00:00",
            1,
        ),
    )
    db.execute(
        "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            "run-old",
            "a" * 24,
            "local",
            "completed",
            '{"query":"q"}',
            '{"answer":"ab"}',
            None,
            "trace-old",
            "elsewhere",
            1,
            "gone",
            "2024-03-01T11:59:00+00:00",
            OLD_FINISHED,
        ),
    )
    stored = [
        {"type": "stream", "output_name": "answer", "output_value": "a", "run_id": "run-old"},
        {"type": "stream", "output_name": "answer", "output_value": "b", "run_id": "run-old"},
        {"type": "result", "run_id": "run-old", "status": "success", "outputs": {"answer": "ab"}},
    ]
    for seq, frame in enumerate(stored, 1):
        db.execute("INSERT INTO events VALUES (?,?,?)", ("run-old", seq, json.dumps(frame)))
    db.execute(
        "INSERT INTO idempotency VALUES (?,?,?,?,?,?)",
        ("local", "key-old", "hash", "run-old", "trace-old", time.time()),
    )
    db.commit()
    db.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(str(tmp_path / "vs.db"))
    yield opened
    opened.close()


def user_version(path: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


@pytest.mark.anyio
async def test_a_database_of_the_unversioned_schema_opens_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_database(path)
    assert user_version(str(path)) == 0
    store = SQLiteStore(str(path))
    try:
        assert user_version(str(path)) == SCHEMA_VERSION
        pipeline = await store.get_pipeline("local", "a" * 24)
        assert isinstance(pipeline, PipelineRecord)
        assert (pipeline.name, pipeline.version, pipeline.description) == ("old", "1.0.3", "kept")
        run = await store.get_run("local", "run-old")
        assert run is not None and run.outputs == {"answer": "ab"}
        assert [seq for seq, _ in await store.events_after("run-old", 0)] == [1, 2, 3]
        # The migration dated the old run's end, so expiry applies to it like to new ones.
        assert await store.expire(now=OLD_FINISHED_EPOCH + 10, retain=11) == (0, 0)
        assert await store.expire(now=OLD_FINISHED_EPOCH + 10, retain=9) == (1, 0)
        remaining = await store.events_after("run-old", 0)
        assert [(seq, frame["type"]) for seq, frame in remaining] == [(3, "result")]
        (created,), fresh = await store.create_runs("local", "a" * 24, [({}, "t")], limit=5)
        assert fresh and created.status == "in_progress"
    finally:
        await store.aclose()
    reopened = SQLiteStore(str(path))  # a migrated file opens as it is
    reopened.close()
    assert user_version(str(path)) == SCHEMA_VERSION


def test_a_database_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "new.db")
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="upgrade vectorshift"):
        SQLiteStore(path)


@pytest.mark.anyio
async def test_expiry_keeps_result_frames_and_forgets_keys_after_a_day(
    store: SQLiteStore,
) -> None:
    (run,), _ = await store.create_runs(
        "local", "p" * 24, [({}, "t")], limit=5, idempotency=("key", "hash")
    )
    frame = {"type": "stream", "output_name": "answer", "output_value": "x"}
    assert await store.append_events(run.task_id, [frame, frame, frame]) == [1, 2, 3]
    now = time.time()
    assert await store.expire(now=now, retain=0) == (0, 0)  # in progress: nothing expires
    assert await store.finish_run(run.task_id, "completed", outputs={}) is not None
    assert await store.expire(now=now + 60, retain=3600) == (0, 0)
    assert await store.expire(now=now + 3601, retain=3600) == (1, 0)
    assert [seq for seq, _ in await store.events_after(run.task_id, 0)] == [4]
    assert await store.expire(now=now + 7200, retain=3600) == (0, 0)  # each run pruned once
    again, replayed = await store.create_runs(
        "local", "p" * 24, [({}, "t")], limit=5, idempotency=("key", "hash")
    )
    assert not replayed and again[0].task_id == run.task_id  # the key still answers
    assert await store.expire(now=now + IDEMPOTENCY_TTL + 1, retain=3600) == (0, 1)
    _, started = await store.create_runs(
        "local", "p" * 24, [({}, "t")], limit=5, idempotency=("key", "other body")
    )
    assert started  # the key was forgotten: a new run, not a conflict


@pytest.mark.anyio
async def test_nothing_is_appended_after_the_result_frame(store: SQLiteStore) -> None:
    (run,), _ = await store.create_runs("local", "p" * 24, [({}, "t")], limit=5)
    assert await store.finish_run(run.task_id, "cancelled") == (
        1,
        {"type": "result", "run_id": run.task_id, "status": "cancelled", "outputs": {}},
    )
    assert await store.append_events(run.task_id, [{"type": "stream"}]) is None
    assert await store.finish_run(run.task_id, "completed") is None


class CountingStore(SQLiteStore):
    """Counts the transactions that append stream events."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.batches: list[int] = []

    async def append_events(
        self, task_id: str, frames: Sequence[dict[str, Any]]
    ) -> list[int] | None:
        self.batches.append(len(frames))
        return await super().append_events(task_id, frames)


@pytest.mark.anyio
async def test_a_fast_stream_is_stored_in_batches_without_loss(tmp_path: Path) -> None:
    store = CountingStore(str(tmp_path / "vs.db"))
    manager = RunManager(store, ServerConfig(db_path=store.path))
    try:
        nodes = llm_graph(model="lorem", tokens=600, delay_ms=0)
        pipeline = await store.create_pipeline(
            "local", name="fast", nodes=nodes, canvas_metadata={}, inputs={}, outputs={}
        )
        async with manager.running():
            began = time.monotonic()
            (record,), _ = await manager.start(
                "local", pipeline, [({"query": "q"}, "t")], intermediate_results=False
            )
            final = await manager.wait(record, 30)
            elapsed = time.monotonic() - began
        assert final.status == "completed"
        stored = await store.events_after(record.task_id, 0)
        assert [seq for seq, _ in stored] == list(range(1, 602))  # 600 tokens, then the result
        deltas = [f["output_value"] for _, f in stored[:600]]
        assert "".join(deltas) == final.outputs["answer"]  # type: ignore[index]
        assert sum(store.batches) == 600
        # A burst, then one write per FLUSH_INTERVAL at most: not a transaction per token.
        bound = FLUSH_BURST + elapsed / FLUSH_INTERVAL + 1
        assert len(store.batches) <= bound, (elapsed, store.batches)
        assert len(store.batches) < 600, store.batches
    finally:
        await store.aclose()


def read_stream(response: httpx.Response, limit: int | None = None) -> list[tuple[int, Any]]:
    received = []
    for seq, frame in frames(response.iter_lines()):
        if frame is not None:
            assert seq is not None
            received.append((seq, frame))
            if limit is not None and len(received) == limit:
                break
    return received


@pytest.mark.parametrize("resume_on", ["same server", "another server"])
def test_a_stream_resumed_mid_run_while_batching_loses_and_repeats_nothing(
    tmp_path: Path, resume_on: str
) -> None:
    path = str(tmp_path / "vs.db")
    headers = {"Authorization": "Bearer vs-local-dev"}
    with (
        LocalServer(ServerConfig(db_path=path)) as owner,
        LocalServer(ServerConfig(db_path=path)) as other,
    ):
        resumer = owner if resume_on == "same server" else other
        with (
            httpx.Client(base_url=owner.base_url, headers=headers, timeout=30) as api,
            httpx.Client(base_url=resumer.base_url, headers=headers, timeout=30) as later,
        ):
            graph = llm_graph(model="lorem", tokens=3000, delay_ms=0)
            pipeline_id = api.post("/pipeline", json={"name": "r", "nodes": graph}).json()["id"]
            body = {"inputs": {"query": "q"}, "stream": True}
            with api.stream("POST", f"/pipeline/{pipeline_id}/run", json=body) as response:
                first = read_stream(response, limit=50)
            task_id = first[0][1]["run_id"]
            url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
            with later.stream("GET", url, headers={"Last-Event-ID": str(first[-1][0])}) as rest:
                second = read_stream(rest)
    received = first + second
    assert [seq for seq, _ in received] == list(range(1, len(received) + 1))
    result = received[-1][1]
    assert result["type"] == "result" and result["status"] == "success"
    deltas = [f["output_value"] for _, f in received if f.get("output_name") == "answer"]
    assert len(deltas) == 3000  # a streamed answer is sent as its deltas only
    assert "".join(deltas) == result["outputs"]["answer"]


def test_a_write_waiting_for_another_process_does_not_stall_reads(tmp_path: Path) -> None:
    path = str(tmp_path / "vs.db")
    headers = {"Authorization": "Bearer vs-local-dev"}
    with (
        LocalServer(ServerConfig(db_path=path)) as server,
        httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as api,
    ):
        api.post("/pipeline", json={"name": "before", "nodes": {}})
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        created: list[httpx.Response] = []

        def create() -> None:
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as own:
                created.append(own.post("/pipeline", json={"name": "during", "nodes": {}}))

        writer = threading.Thread(target=create)
        try:
            writer.start()
            time.sleep(0.3)  # the create is now waiting for the lock, on the writer thread
            began = time.monotonic()
            listed = api.get("/pipelines")
            elapsed = time.monotonic() - began
            assert listed.status_code == 200 and len(listed.json()["object_ids"]) == 1
            assert elapsed < 1.0, elapsed
            assert not created  # still waiting
        finally:
            blocker.execute("COMMIT")
            blocker.close()
            writer.join(15)
        assert created and created[0].status_code == 200
        assert len(api.get("/pipelines").json()["object_ids"]) == 2


def test_a_tiny_retention_prunes_events_in_the_background(tmp_path: Path) -> None:
    config = ServerConfig(db_path=str(tmp_path / "vs.db"), retain=0.2)
    headers = {"Authorization": "Bearer vs-local-dev"}
    with (
        LocalServer(config) as server,
        httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as api,
    ):
        graph = llm_graph(model="lorem", tokens=20, delay_ms=0)
        pipeline_id = api.post("/pipeline", json={"name": "e", "nodes": graph}).json()["id"]
        done = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}}).json()
        task_id = done["run_id"]
        url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
        deadline = time.monotonic() + 10
        while len(server.store.events_after(task_id, 0)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        with api.stream("GET", url) as response:
            replay = read_stream(response)
        state = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}").json()
    assert len(replay) == 1 and replay[0][1]["type"] == "result"
    assert replay[0][0] > 20  # the result frame keeps its place after the 20 pruned tokens
    assert replay[0][1]["outputs"] == done["outputs"]
    assert state["status"] == "completed" and state["result"] == done["outputs"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800.0), ("12h", 43200.0), ("30m", 1800.0), ("90", 90.0), ("2.5s", 2.5), ("0", 0.0)],
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "-1h", "soon", "inf", "nan", "3w"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_a_negative_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="retain"):
        ServerConfig(retain=-1)
