"""A damaged database file is found at start, never served (issue 24, point 4).

Each case makes a real database with a real server, damages the file on purpose and starts
a server on it again: a damaged index is rebuilt (``REINDEX``: indexes hold nothing the
tables do not), damaged tables refuse the start in one line naming the file and what to do,
and a zero-length file is refused rather than taken for a new, empty platform.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vectorshift.local import LocalServer, ServerConfig

from .test_server_lifecycle import client, subprocess_env

NAMES = [f"pipe-{i}" for i in range(40)]


def _graph() -> dict[str, object]:
    return {
        "input_0": {
            "id": "input_0",
            "name": "q",
            "type": "input",
            "inputs": {"input_type": "string"},
            "outputs": ["text"],
        }
    }


def _made(path: Path) -> None:
    """A database with the pipelines NAMES, checkpointed into the main file (no WAL left)."""
    with LocalServer(ServerConfig(db_path=str(path))) as server, client(server) as api:
        for name in NAMES:
            assert api.post("/pipeline", json={"name": name, "nodes": _graph()}).status_code == 200
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    db.close()


def _pages(path: Path, name: str) -> tuple[int, int]:
    """The page size and the root page of the table or index ``name``."""
    db = sqlite3.connect(path)
    try:
        (size,) = db.execute("PRAGMA page_size").fetchone()
        query = "SELECT rootpage FROM sqlite_master WHERE name = ?"
        (root,) = db.execute(query, (name,)).fetchone()
    finally:
        db.close()
    return int(size), int(root)


def _empty_the_name_index(path: Path) -> None:
    """Give the name index the (empty) b-tree of the runs' status index, and the other way round.

    Both b-trees stay sound, so only what they hold is wrong: the name index is empty (names
    are not found) and the status index holds rows of another table.
    """
    _, name_root = _pages(path, "pipelines_by_name")
    _, status_root = _pages(path, "runs_by_status")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA writable_schema=ON")
        swap = "UPDATE sqlite_master SET rootpage = ? WHERE name = ?"
        db.execute(swap, (status_root, "pipelines_by_name"))
        db.execute(swap, (name_root, "runs_by_status"))
    finally:
        db.close()


def _garble_the_pipelines_table(path: Path) -> None:
    size, root = _pages(path, "pipelines")
    with open(path, "r+b") as file:
        file.seek((root - 1) * size + 8)
        file.write(b"\xa5" * 64)


def test_a_damaged_name_index_is_rebuilt_and_names_are_found(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    _made(path)
    _empty_the_name_index(path)
    with LocalServer(ServerConfig(db_path=str(path))) as server, client(server) as api:
        for name in NAMES:
            found = api.get("/pipeline", params={"name": name})
            assert found.status_code == 200, (name, found.status_code, found.text[:200])
            assert name in found.text
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        db.close()


def test_damaged_tables_refuse_the_start_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "pages.db"
    _made(path)
    _garble_the_pipelines_table(path)
    with pytest.raises(OSError) as refused:
        LocalServer(ServerConfig(db_path=str(path))).start()
    message = str(refused.value)
    assert "\n" not in message and str(path) in message
    assert "damaged" in message and "backup" in message


def test_the_command_line_refuses_a_damaged_file_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "pages.db"
    _made(path)
    _garble_the_pipelines_table(path)
    done = subprocess.run(
        [sys.executable, "-m", "vectorshift.local", "--db", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=30,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("vectorshift.local: cannot start: ") and str(path) in lines[-1]
    assert "Traceback" not in done.stderr


def test_a_zero_length_file_is_refused_not_taken_for_a_new_platform(tmp_path: Path) -> None:
    path = tmp_path / "truncated.db"
    path.write_bytes(b"")
    with pytest.raises(OSError) as refused:
        LocalServer(ServerConfig(db_path=str(path))).start()
    message = str(refused.value)
    assert "\n" not in message and str(path) in message and "empty" in message
    assert path.stat().st_size == 0, "the refused file is left as it was"


def test_a_missing_file_is_a_new_platform(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with LocalServer(ServerConfig(db_path=str(path))) as server, client(server) as api:
        assert api.get("/pipelines").status_code == 200


def test_the_check_is_bounded_in_time_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from vectorshift.local.db_integrity import check_integrity

    path = tmp_path / "big.db"
    _made(path)
    with caplog.at_level("WARNING", logger="vectorshift.local"):
        check_integrity(str(path), seconds=-1.0)
    assert "started without a full check" in caplog.text


def test_a_repair_is_logged_naming_the_indexes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from vectorshift.local.db_integrity import check_integrity

    path = tmp_path / "index.db"
    _made(path)
    _empty_the_name_index(path)
    with caplog.at_level("WARNING", logger="vectorshift.local"):
        check_integrity(str(path))
    assert "rebuilt the damaged index pipelines_by_name, runs_by_status (REINDEX)" in caplog.text
