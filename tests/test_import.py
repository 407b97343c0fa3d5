"""``import vectorshift`` stays cheap: no environment read, no thread, no connection, no catalog."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, os, sys, threading

class Spy(dict):
    reads = []
    def __getitem__(self, key):
        Spy.reads.append(key); return super().__getitem__(key)
    def get(self, key, default=None):
        Spy.reads.append(key); return super().get(key, default)
    def __contains__(self, key):
        Spy.reads.append(key); return super().__contains__(key)

os.environ = Spy(os.environ)
import socket
opened = []
real_socket = socket.socket
class CountingSocket(real_socket):
    def __init__(self, *a, **k):
        opened.append(a); super().__init__(*a, **k)
socket.socket = CountingSocket

import vectorshift
print(json.dumps({
    "env_reads": [k for k in Spy.reads if "VECTORSHIFT" in k or k.startswith("OPENAI")],
    "threads": threading.active_count(),
    "sockets": len(opened),
    "modules": sorted(m for m in ("httpx", "pydantic", "anyio", "vectorshift.pipeline",
                                  "vectorshift.pipeline._catalog",
                                  "vectorshift.pipeline._generated_nodes", "vectorshift.local",
                                  "starlette", "uvicorn") if m in sys.modules),
}))
"""


def probe() -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_import_reads_no_environment_starts_nothing_loads_no_catalog() -> None:
    result = probe()
    assert result["env_reads"] == []
    assert result["threads"] == 1
    assert result["sockets"] == 0
    assert result["modules"] == []


def test_public_names_resolve_lazily() -> None:
    import vectorshift

    for name in vectorshift.__all__:
        assert getattr(vectorshift, name) is not None or name in ("api_key", "base_url")
