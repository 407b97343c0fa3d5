"""First use: the whole-process cost of the SDK's import against its runtime dependencies'."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

DEPENDENCIES = "import httpx, anyio, pydantic, sniffio, typing_extensions"
SDK = "from vectorshift import Pipeline, RunHandler, Client"


def _once(python: str, code: str) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", code], check=True)
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
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, (python, code) in kinds.items():
            samples[name].append(_once(python, code))
    medians = {name: 1000 * statistics.median(values) for name, values in samples.items()}
    bare = medians.pop("interpreter")
    return {f"{name} import ms": value - bare for name, value in medians.items()}
