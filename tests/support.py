"""Pipelines and helpers shared by the integration tests."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from vectorshift import Pipeline

ROOT = Path(__file__).parent.parent
"""The repository's root."""


def build_wheel(dist: Path) -> Path:
    """Build the project's wheel into ``dist`` as a release would, offline; its path."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("vectorshift-*.whl")
    return wheel


def lorem_pipeline(
    name: str, *, tokens: int = 5, delay_ms: int = 1, stream: bool = False
) -> Pipeline:
    """query -> local simulated llm ('lorem': ``tokens`` tokens, ``delay_ms`` each) -> answer."""
    pipeline = Pipeline(name)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(
        provider="local",
        model="lorem",
        prompt=query.text,
        max_tokens=tokens,
        token_delay_ms=delay_ms,
        stream=stream,
    )
    pipeline.add(name="answer").output(llm.response)
    return pipeline


def echo_pipeline(name: str, model: str = "echo") -> Pipeline:
    """query -> local 'echo' llm -> answer (the answer is the query).

    With ``model="nope"``, a model the local provider does not have, every run fails.
    """
    pipeline = Pipeline(name)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model=model, prompt=query.text)
    pipeline.add(name="answer").output(llm.response)
    return pipeline


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
