"""Issue 24 point 5: DNS rebinding. A loopback server answers only its own names.

A web page on ``evil.example`` whose name is made to resolve to 127.0.0.1 reaches the server
with ``Host: evil.example:<port>``; the server refuses it (421, naming the Host). Binding
beyond loopback warns, and the command's default key is made per database, not a fixed one.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig

from .test_files_secrets import ROOT, serving

KEY = "host-key"


@pytest.fixture(scope="module")
def server() -> LocalServer:
    with LocalServer(ServerConfig(api_keys={KEY: "host"})) as running:
        yield running  # type: ignore[misc]


def ask(port: int, host: str | None, family: int = socket.AF_INET) -> tuple[int, bytes]:
    """Status and body of ``GET /v1/pipelines`` sent with the ``Host`` header ``host``."""
    address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    with socket.create_connection((address, port), timeout=10) as sock:
        host_line = "" if host is None else f"Host: {host}\r\n"
        sock.sendall(
            f"GET /v1/pipelines HTTP/1.1\r\n{host_line}Authorization: Bearer {KEY}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "127.0.0.1.evil.example",
        "localhost:1",
        "127.0.0.1:{port}@evil",
        "10.0.0.1:{port}",
    ],
)
def test_a_foreign_host_is_refused_naming_it(server: LocalServer, host: str) -> None:
    sent = host.format(port=server.port)
    status, body = ask(server.port, sent)
    assert status == 421, body
    assert sent.encode() in body


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"]
)
def test_the_loopback_names_are_served(server: LocalServer, host: str) -> None:
    assert ask(server.port, host.format(port=server.port))[0] == 200


def test_a_client_on_the_base_url_is_served(server: LocalServer) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    assert httpx.get(f"{server.base_url}/pipelines", headers=headers).status_code == 200


def test_binding_beyond_loopback_warns_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "vectorshift.local", "--port", "0", "--host", "0.0.0.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("vectorshift.local serving at")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    warnings = [line for line in err.splitlines() if "0.0.0.0" in line and "warning" in line]
    assert len(warnings) == 1, err
    assert "beyond loopback" in warnings[0] and "other machines" in warnings[0]


def test_the_default_key_is_made_per_database_and_kept(tmp_path: Path) -> None:
    first_db, second_db = tmp_path / "a.db", tmp_path / "b.db"
    with serving("--db", str(first_db)) as (_, first):
        pass
    with serving("--db", str(first_db)) as (_, again):
        pass
    with serving("--db", str(second_db)) as (_, second):
        pass
    with serving() as (_, temporary):
        pass
    assert first == again, "a restart keeps the database's key"
    assert len({first, second, temporary, "vs-local-dev"}) == 4
    assert len(first) >= 30
    key_file = Path(f"{first_db}.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "vs-local-dev" not in key_file.read_text()
