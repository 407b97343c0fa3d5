"""The embedded server as a guest in a host's process, and its start-up failures as users meet them.

A host app under uvicorn keeps its own logs (startup, access, shutdown) and finds no temporary
files left after SIGTERM as after SIGINT. A server that cannot start says why in one line that
names the cause and the path or address.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vectorshift.local import LocalServer

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "vectorshift.local: cannot start: "


def env(tmp: Path) -> dict[str, str]:
    """The environment of a user without a platform key, temporary files under ``tmp``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    kept = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
    return {**kept, "PYTHONPATH": path, "TMPDIR": str(tmp)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def uninvolved_uvicorn_loggers() -> Iterator[None]:
    """Give uvicorn's loggers a handler and level, as a host app has, and restore them after."""
    names = ("uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names}
    handler = logging.NullHandler()
    for name in names:
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    yield
    for name, (level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.mark.usefixtures("uninvolved_uvicorn_loggers")
def test_an_embedded_server_leaves_uvicorns_loggers_as_the_host_set_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def state() -> list[tuple[str, int, bool, list[logging.Handler], list[object]]]:
        return [
            (name, lg.level, lg.propagate, list(lg.handlers), list(lg.filters))
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
            for lg in [logging.getLogger(name)]
        ]

    caplog.set_level(logging.DEBUG, logger="vectorshift.local")
    caplog.set_level(logging.DEBUG, logger="uvicorn.error")
    before = state()
    with LocalServer() as server:
        assert httpx.get(f"{server.base_url}/pipelines").status_code == 401
    assert state() == before
    uvicorn_lines = [r for r in caplog.records if r.name.startswith("uvicorn")]
    assert uvicorn_lines == []
    moved = [r.getMessage() for r in caplog.records if r.name == "vectorshift.local"]
    assert "uvicorn: Application startup complete." in moved


def host_app(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    """examples/fastapi_app.py under uvicorn, as its docstring says to start it."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "examples.fastapi_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the host app exited"
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the host app never answered /health")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_host_app_under_uvicorn_keeps_its_logs_and_no_temporary_files(
    tmp_path: Path, stop: signal.Signals
) -> None:
    port = free_port()
    process = host_app(tmp_path, port)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_healthy(base_url, process)
        assert list(tmp_path.glob("vectorshift-local-*")), "the embedded database is elsewhere"
        started = httpx.post(f"{base_url}/runs", json={"query": "hi"}, timeout=30)
        assert started.status_code == 200
        process.send_signal(stop)
        log, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    for line in (
        "Application startup complete.",
        f"Uvicorn running on http://127.0.0.1:{port}",
        '"GET /health HTTP/1.1" 200',
        '"POST /runs HTTP/1.1" 200',
        "Application shutdown complete.",
        "Finished server process",
    ):
        assert line in log, log
    assert log.count("Application startup complete.") == 1, log
    assert "/v1/" not in log, "the embedded server's requests are not the host's access log"
    assert list(tmp_path.iterdir()) == []


# Root ignores file permissions, a user does not. Under root, the command runs behind this
# launcher, which drops the capabilities that ignore them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)
# from its bounding set and then executes the command: from there on root is held to them.
AS_A_USER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for capability in (1, 2):
    if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def command_line(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    launcher = [sys.executable, "-c", AS_A_USER] if os.geteuid() == 0 else [sys.executable]
    return subprocess.run(
        [*launcher, "-m", "vectorshift.local", *args],
        cwd=tmp_path,
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(tmp_path: Path, *args: str) -> str:
    done = command_line(tmp_path, "--port", "0", *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), done.stderr
    return lines[0][len(PREFIX) :]


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    assert refused(tmp_path, "--db", "missing/data.db") == (
        f"the database's directory does not exist: {tmp_path / 'missing'}"
    )


def test_a_read_only_directory_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        assert refused(tmp_path, "--db", "locked/data.db") == (
            "the database's directory is read-only (SQLite writes its journal beside the "
            f"file): {locked}"
        )
    finally:
        locked.chmod(0o755)


def test_a_directory_as_the_database_is_named(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    assert refused(tmp_path, "--db", "folder") == (
        f"the database path is a directory, not a file: {tmp_path / 'folder'}"
    )


def test_a_file_that_is_not_sqlite_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n")
    expected = f"not a SQLite database: {tmp_path / 'notes.txt'}"
    assert refused(tmp_path, "--db", "notes.txt") == expected


def test_a_read_only_database_is_named(tmp_path: Path) -> None:
    database = tmp_path / "frozen.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE kept (x)")
    database.chmod(0o444)
    assert refused(tmp_path, "--db", "frozen.db") == f"the database file is read-only: {database}"


@pytest.mark.parametrize("port", ["65536", "-1"])
def test_a_port_out_of_range_is_named(tmp_path: Path, port: str) -> None:
    assert refused(tmp_path, "--port", port) == (
        f"port {port} is out of range (0-65535; 0 picks a free one)"
    )


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert refused(tmp_path, "--port", str(port)) == (
            f"127.0.0.1:{port} is already in use (stop what listens there, or pick another port)"
        )


def test_in_process_start_up_failures_are_the_same_one_line_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError) as caught:
        LocalServer(db_path=str(tmp_path / "missing" / "x.db")).start()
    assert caught.value.errno == errno.ENOENT
    assert str(caught.value) == (f"the database's directory does not exist: {tmp_path / 'missing'}")
