"""Every example runs as a user runs it: a subprocess, no API key, the embedded platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"

EXPECTED = {
    "background_batch.py": "5/5 runs succeeded; the runaway run was terminated.",
    "background_batch_async.py": "8/8 runs succeeded; the runaway run was terminated.",
    "terminate_run.py": "terminated again: status=cancelled",
    "streaming.py": ": success]",
    "streaming_async.py": ": succeeded]",
    "intermediate_results.py": "formatter.output: 'TIDES / HAIKU'",
    "content_workflow.py": "result (succeeded)",
}


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_example_runs_on_the_embedded_platform(example: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "using the embedded local platform" in result.stdout
    assert EXPECTED[example] in result.stdout, result.stdout[-3000:]
