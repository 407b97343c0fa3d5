"""Issue 24 point 3: clients that send headers and then a body slowly, or never.

Each slow socket sends complete headers with ``Content-Length: 1000000`` and then nothing, or a
byte now and then; the server must end them within its body timeout (408), keep serving other
clients meanwhile, and hold no more connections than its limit.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig

KEY = "slow-key"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    config = ServerConfig(
        api_keys={KEY: "slow"}, header_timeout=0.5, body_timeout=1.0, max_connections=20
    )
    with LocalServer(config) as running:
        yield running


def slow_socket(server: LocalServer | int) -> socket.socket:
    port = server if isinstance(server, int) else server.port
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST /v1/pipeline HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000\r\n\r\n{".encode()
    )
    return sock


def answer_and_close(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """What the server sent until it closed the socket, and when (at most ``limit`` s)."""
    began, data = time.monotonic(), b""
    sock.settimeout(limit)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return data, float("inf")
    except ConnectionResetError:
        pass
    return data, time.monotonic() - began


def test_silent_bodies_are_answered_408_within_the_body_timeout(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    sockets = [slow_socket(server) for _ in range(5)]
    try:
        served = httpx.get(
            f"{server.base_url}/pipelines", headers={"Authorization": f"Bearer {KEY}"}, timeout=5
        )
        assert served.status_code == 200, "another client is served meanwhile"
        for sock in sockets:
            data, took = answer_and_close(sock, 6.0)
            assert took < 3.0, "the connection is still open"
            assert data.startswith(b"HTTP/1.1 408"), data
            assert b"body" in data
    finally:
        for sock in sockets:
            sock.close()
    time.sleep(0.2)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "a client cut at the body timeout is no server error"


def test_a_body_trickled_a_byte_at_a_time_is_cut_off_too(server: LocalServer) -> None:
    sock = slow_socket(server)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.2):
            try:
                sock.sendall(b" ")
            except OSError:
                return

    trickler = threading.Thread(target=trickle)
    trickler.start()
    try:
        data, took = answer_and_close(sock, 6.0)
        assert took < 3.0 and data.startswith(b"HTTP/1.1 408"), data
    finally:
        stop.set()
        trickler.join()
        sock.close()


def test_a_normal_body_is_not_cut(server: LocalServer) -> None:
    body = {"name": "fine", "nodes": {}}
    answer = httpx.post(
        f"{server.base_url}/pipeline",
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text


def test_connections_past_the_limit_are_refused_not_held() -> None:
    config = ServerConfig(api_keys={KEY: "slow"}, body_timeout=30, max_connections=4)
    with LocalServer(config) as small:
        sockets = [slow_socket(small) for _ in range(4)]
        try:
            time.sleep(0.3)
            refused = httpx.get(
                f"{small.base_url}/pipelines", headers={"Authorization": f"Bearer {KEY}"}, timeout=5
            )
            assert refused.status_code == 503
        finally:
            for sock in sockets:
                sock.close()
        time.sleep(0.3)
        served = httpx.get(
            f"{small.base_url}/pipelines", headers={"Authorization": f"Bearer {KEY}"}, timeout=5
        )
        assert served.status_code == 200


def test_the_command_takes_both_limits() -> None:
    from .test_files_secrets import serving

    with serving("--api-key", KEY, "--body-timeout", "0.5", "--max-connections", "8") as (url, _):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        sock = slow_socket(port)
        data, took = answer_and_close(sock, 6.0)
        sock.close()
        assert took < 3.0 and data.startswith(b"HTTP/1.1 408"), data
