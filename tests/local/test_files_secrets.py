"""Issue 24 point 9: the database file, the server's key and the login file stay private."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from vectorshift.cli._login import store_key

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """The command started with ``args``; its base URL and the key it printed."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
    clean.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "vectorshift.local", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean,
        cwd=ROOT,
        preexec_fn=lambda: os.umask(0o022),
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("vectorshift.local serving at"), lines
        yield lines[0].split()[-1], lines[2].strip().partition("=")[2]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_a_database_made_by_the_command_is_private_with_its_wal_and_shm(
    tmp_path: Path,
) -> None:
    db = tmp_path / "new.db"
    with serving("--db", str(db), "--api-key", "k") as (url, key):
        headers = {"Authorization": f"Bearer {key}"}
        made = httpx.post(f"{url}/pipeline", headers=headers, json={"name": "p", "nodes": {}})
        assert made.status_code == 200, made.text
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(path.exists() for path in files)
        assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_the_key_comes_from_a_file_or_the_environment_not_only_argv(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file-key=team\n\nsecond-key\n")
    with serving("--api-key-file", str(key_file)) as (url, key):
        assert key == "from-file-key"
        for accepted in ("from-file-key", "second-key"):
            answer = httpx.get(f"{url}/pipelines", headers={"Authorization": f"Bearer {accepted}"})
            assert answer.status_code == 200, answer.text
    with serving(env={"VECTORSHIFT_LOCAL_API_KEY": "from-env-key"}) as (url, key):
        assert key == "from-env-key"
        answer = httpx.get(f"{url}/pipelines", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200


def test_help_says_where_a_key_can_come_from_besides_argv() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "vectorshift.local", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    text = " ".join(shown.stdout.split())
    assert "--api-key-file PATH" in text
    assert "VECTORSHIFT_LOCAL_API_KEY" in text
    assert "visible to other users" in text


def test_a_missing_key_file_is_a_usage_error(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "vectorshift.local", "--api-key-file", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert shown.returncode == 2 and "--api-key-file" in shown.stderr


def test_login_does_not_write_through_a_planted_symlink(tmp_path: Path) -> None:
    config = tmp_path / ".vectorshift" / "config.toml"
    config.parent.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("victim\n")
    planted = config.with_name(f".{config.name}.{os.getpid()}.tmp")
    planted.symlink_to(victim)
    store_key(config, "secret-key")
    assert victim.read_text() == "victim\n", "the key went through the planted symlink"
    assert not config.is_symlink() and mode(config) == 0o600
    assert config.read_text() == '[auth]\napi_key = "secret-key"\n'
