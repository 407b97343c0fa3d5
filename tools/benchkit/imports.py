"""First use: the whole-process cost of the SDK's import and first call.

The import is compared with the runtime dependencies' import; the first ``run_status`` of a
fresh process (its client, pools and TLS context included) with a fresh process's first raw
``httpx.Client`` GET of the same status, so work moved from the import into the first call
shows up here.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import vectorshift
from benchkit.server import Server

# The runtime dependencies (pyproject.toml; tomli is only for 3.10). Until 0.2 they included
# pydantic, the baseline the first import goal was set against: it is measured as well.
DEPENDENCIES = "import httpx, anyio, sniffio, typing_extensions"
WITH_PYDANTIC = DEPENDENCIES + ", pydantic"
SDK = "from vectorshift import Pipeline, RunHandler, Client"

# Each prints {"import": s, "call": s}: the import, then the first status call after it.
_FIRST_RAW = """
import json, sys, time
started = time.perf_counter()
import httpx
imported = time.perf_counter()
with httpx.Client(base_url=sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]}) as c:
    assert c.get(sys.argv[3]).json()["status"]
print(json.dumps({"import": imported - started, "call": time.perf_counter() - imported}))
"""
_FIRST_SDK = """
import json, sys, time
started = time.perf_counter()
from vectorshift import Pipeline, RunHandler, Client
imported = time.perf_counter()
with Client(api_key=sys.argv[2], base_url=sys.argv[1]) as client:
    handler = RunHandler(pipeline_id=sys.argv[4], task_id=sys.argv[5], client=client)
    assert handler.run_status().status
print(json.dumps({"import": imported - started, "call": time.perf_counter() - imported}))
"""


def _once(python: str, code: str, env: dict[str, str] | None) -> float:
    # The official client runs outside this checkout, whose vectorshift would shadow it.
    cwd = tempfile.gettempdir() if env is not None else None
    started = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, env=env, cwd=cwd)
    return time.perf_counter() - started


def _first(code: str, args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout
    return {k: float(v) for k, v in json.loads(out).items()}


def bench_imports(
    rounds: int, official_python: str | None, server: Server | None = None
) -> dict[str, float]:
    """Median milliseconds of ``rounds`` interleaved fresh processes of each kind.

    ``python -c pass`` is measured too and taken off every import figure: the ratio is of the
    imports themselves, not of the interpreter's start. Given a ``server``, the first call of
    a fresh process is timed as well (SDK and raw httpx, interleaved).

    The package is byte-compiled first, as installing a wheel does: the dependencies come with
    their ``.pyc`` files, and a checkout run with ``PYTHONDONTWRITEBYTECODE`` set would
    otherwise compile every module of the SDK from source in every process.
    """
    package = os.path.dirname(vectorshift.__file__)
    if not compileall.compile_dir(package, quiet=1):
        raise RuntimeError(f"could not byte-compile {package}")
    kinds = {
        "interpreter": (sys.executable, "pass"),
        "dependencies": (sys.executable, DEPENDENCIES),
        "dependencies and pydantic": (sys.executable, WITH_PYDANTIC),
        "SDK": (sys.executable, SDK),
    }
    if official_python:
        kinds["official client"] = (official_python, "from vectorshift.pipeline import Pipeline")
    # The official client is also named vectorshift: nothing of this project may shadow it.
    bare_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, (python, code) in kinds.items():
            env = bare_env if name == "official client" else None
            samples[name].append(_once(python, code, env))
    medians = {name: 1000 * statistics.median(values) for name, values in samples.items()}
    bare = medians.pop("interpreter")
    figures = {f"{name} import ms": value - bare for name, value in medians.items()}
    if server is not None:
        pipeline_id, task, url = server.finished_run("bench-first-use")
        first: dict[str, list[float]] = {"raw httpx": [], "SDK": []}
        for _ in range(rounds):
            first["raw httpx"].append(
                _first(_FIRST_RAW, [server.base_url, server.api_key, url])["call"]
            )
            first["SDK"].append(
                _first(_FIRST_SDK, [server.base_url, server.api_key, url, pipeline_id, task])[
                    "call"
                ]
            )
        figures["raw httpx first GET ms"] = 1000 * statistics.median(first["raw httpx"])
        figures["SDK first run_status() ms"] = 1000 * statistics.median(first["SDK"])
    return figures
