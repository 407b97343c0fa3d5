"""First use: the whole-process cost of the SDK's import against its runtime dependencies'."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

DEPENDENCIES = "import httpx, anyio, pydantic, sniffio, typing_extensions"
SDK = "from vectorshift import Pipeline, RunHandler, Client"


def _once(python: str, code: str, env: dict[str, str] | None) -> float:
    # The official client runs outside this checkout, whose vectorshift would shadow it.
    cwd = tempfile.gettempdir() if env is not None else None
    started = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, env=env, cwd=cwd)
    return time.perf_counter() - started


def bench_imports(rounds: int, official_python: str | None) -> dict[str, float]:
    """Median milliseconds of ``rounds`` interleaved fresh processes of each kind.

    ``python -c pass`` is measured too and taken off every figure: the ratio is of the
    imports themselves, not of the interpreter's start.
    """
    kinds = {
        "interpreter": (sys.executable, "pass"),
        "dependencies": (sys.executable, DEPENDENCIES),
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
    return {f"{name} import ms": value - bare for name, value in medians.items()}
