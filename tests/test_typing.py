"""The public API type-checks as users write it, and mypy catches a misspelt node output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

MISSPELT = """
from vectorshift import Pipeline

p = Pipeline("typo")
query = p.add(name="query").input()
llm = p.add(name="llm").llm(prompt=query.text)
p.add(name="answer").output(llm.responce)
p.add(name="other").llm(promt=query.text)
p.add(name="kind").input("vec<int32>")
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def mypy(cache_dir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(cache_dir), *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_typed_usage_passes_mypy_strict(cache_dir: Path) -> None:
    result = mypy(cache_dir, "tests/typing")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_rejects_a_misspelt_output(cache_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "misspelt.py"
    script.write_text(MISSPELT)
    result = mypy(cache_dir, str(script))
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 3, result.stdout
    assert 'misspelt.py:7: error: "LlmNode" has no attribute "responce"' in errors[0]
    assert 'misspelt.py:8: error: Unexpected keyword argument "promt"' in errors[1]
    assert "misspelt.py:9: error: Argument 1 has incompatible type" in errors[2]
