"""Every Python block of README.md runs as written against ``python -m vectorshift.local``.

Each script runs in a subprocess, as a user runs a snippet: the environment holds only what the
server printed (``VECTORSHIFT_BASE_URL``, ``VECTORSHIFT_API_KEY``) and no ``OPENAI_API_KEY``.
Blocks that continue an earlier one (they use its ``pipeline``) are chained after it in README
order. Names a block uses without defining, because the README leaves them to the reader
(``save``, ``questions``...), get the small preludes of :data:`PRELUDES`; the one block with a
top-level ``await`` runs inside ``async def``. No block is left out: the test fails when the
README's blocks are not exactly those of :data:`STANDALONE` and :data:`CHAINED`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXTRA_KEY = "sk-..."
"""The key the "Configure" block sets; the server accepts it (organisation ``local``)."""

FIRST = "Build, save, run"
STANDALONE = ["Configure", FIRST]
"""Blocks that run alone. "Configure" fetches the pipeline that the first snippet saves."""

CHAINED = [
    FIRST,
    "Background runs",
    "Many runs, nothing lost or doubled",
    "Streaming",
    "Deadlines",
    "Building pipelines",
    "Async",
    "The embedded platform",
]
"""Blocks run one after another in one process, in README order, from the first snippet on."""

PRELUDES = {
    "Background runs": """
        def save(pipeline_id, task_id):  # "anywhere: Redis, a database..."
            global pid, tid
            pid, tid = pipeline_id, task_id
    """,
    "Many runs, nothing lost or doubled": """
        questions = ["What are tides?", "Why is the sky blue?", "What is rain?"]
        def row_id(row): return row["query"]
        def save(index, result): print("saved", index, result)
        def report(index, error): raise AssertionError(f"run {index} failed: {error}")
    """,
    "Building pipelines": """
        pipeline = Pipeline.new(name="Router")      # a new pipeline for the router nodes
        query = pipeline.add(name="query").input()
    """,
}

POSTLUDES = {
    "Building pipelines": """
        pipeline.save()
        print("routed:", pipeline.run({"query": "write code"})["outputs"]["answer"])
    """,
}


def python_blocks() -> dict[str, str]:
    """The README's Python blocks by the title of the section that holds them (one each)."""
    blocks: dict[str, str] = {}
    section = ""
    pattern = re.compile(r"^## ([^\n]+)$|^```python\n(.*?)^```", re.M | re.S)
    for match in pattern.finditer(README.read_text()):
        if match.group(1):
            section = match.group(1).strip()
        else:
            assert section not in blocks, f"two Python blocks under {section!r}"
            blocks[section] = match.group(2)
    return blocks


def script(titles: list[str]) -> str:
    blocks = python_blocks()
    parts = []
    for title in titles:
        code = blocks[title]
        if "await " in code:
            code = "import asyncio\nasync def _block():\n" + textwrap.indent(code, "    ")
            code += "asyncio.run(_block())\n"
        parts += [
            textwrap.dedent(PRELUDES.get(title, "")),
            code,
            textwrap.dedent(POSTLUDES.get(title, "")),
            f"print('--- done: {title}')\n",
        ]
    return "\n".join(parts)


@pytest.fixture
def local_platform(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``python -m vectorshift.local`` on a free port; the environment a user exports for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VECTORSHIFT_", "OPENAI_"))}
    command = [
        sys.executable,
        "-m",
        "vectorshift.local",
        "--port",
        "0",
        "--db",
        str(tmp_path / "readme.db"),
        "--api-key",
        "vs-local-dev",
        "--api-key",
        EXTRA_KEY,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(3)]
        exported = dict(line.strip().split("=", 1) for line in printed[1:])
        yield {**env, **exported}
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_script(code: str, env: dict[str, str], cwd: Path) -> str:
    path = cwd / "snippet.py"
    path.write_text(code)
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, cwd=cwd, timeout=180
    )
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_the_readme_blocks_are_the_ones_this_test_runs() -> None:
    assert list(python_blocks()) == STANDALONE[:1] + CHAINED


def test_the_first_snippet_runs_without_an_openai_key_and_again_later(
    local_platform: dict[str, str], tmp_path: Path
) -> None:
    code = python_blocks()[FIRST]
    assert 'Pipeline.fetch(name="Summariser")' in code and "gpt-4o-mini" in code
    first = run_script(code, local_platform, tmp_path)
    later = run_script(code, local_platform, tmp_path)
    assert first == later == "Summarise: ...\n"
    headers = {"Authorization": f"Bearer {local_platform['VECTORSHIFT_API_KEY']}"}
    listed = httpx.get(
        f"{local_platform['VECTORSHIFT_BASE_URL']}/pipelines",
        params={"verbose": "true"},
        headers=headers,
    ).json()
    assert [p["name"] for p in listed["objects"]] == ["Summariser"]


def test_every_python_block_of_the_readme_runs(
    local_platform: dict[str, str], tmp_path: Path
) -> None:
    for title in STANDALONE[::-1]:  # the first snippet saves what "Configure" fetches
        assert f"--- done: {title}" in run_script(script([title]), local_platform, tmp_path)
    out = run_script(script(CHAINED), local_platform, tmp_path)
    for title in CHAINED:
        assert f"--- done: {title}" in out, out
    assert "Summarise: ..." in out
    assert "routed: write code" in out
