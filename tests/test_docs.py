"""Every Python block of the docs runs, as written, against ``python -m vectorshift.local``.

The blocks of one page run one after another in one subprocess, in page order (a guide builds
its pipeline once and later blocks use it), with only the environment the server printed
(``VECTORSHIFT_BASE_URL``, ``VECTORSHIFT_API_KEY``), as in tests/test_readme.py whose server
fixture and runner this reuses. A block with a top-level ``await`` runs inside ``async def``.

A comment on the line before a block changes how it runs:

* ``<!-- docs-test: pytest -->``: the block is a test; the page's such blocks are written to a
  test file (after ``import pytest``) and run by pytest, with the SDK's plugin.
* ``<!-- docs-test: skip REASON -->``: not run; the reason is required (platform-only code,
  a sketch that calls the reader's own code...).

Pages are found by walking ``docs/``, so a new page's blocks are run without listing it here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_readme import local_platform, run_script

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_BLOCK = re.compile(
    r"^(?:<!-- docs-test: (?P<mark>[^\n]*?) -->\n)?```python\n(?P<code>.*?)^```", re.M | re.S
)
_TOP_LEVEL_AWAIT = re.compile(r"^(?:async (?:with|for) |(?:\w+ = )?await )", re.M)

__all__ = ["local_platform"]


@dataclass
class Block:
    page: str
    line: int
    code: str
    mark: str


def blocks(path: Path) -> list[Block]:
    """The Python blocks of one page, with the docs-test mark before each (or ``""``)."""
    text = path.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("code"))
        found.append(
            Block(str(path.relative_to(ROOT)), line, match.group("code"), match.group("mark") or "")
        )
    return found


PAGES = sorted(p for p in DOCS.rglob("*.md") if blocks(p))


def as_script(page: list[Block]) -> str:
    parts = []
    for block in page:
        code = block.code
        if _TOP_LEVEL_AWAIT.search(code):
            code = (
                "import asyncio\nasync def _block():\n"
                + textwrap.indent(code, "    ")
                + "asyncio.run(_block())\n"
            )
        parts += [
            f"# {block.page}:{block.line}\n{code}",
            f"print('--- done: {block.page}:{block.line}')\n",
        ]
    return "\n".join(parts)


def test_every_mark_is_known_and_every_skip_says_why() -> None:
    for path in PAGES:
        for block in blocks(path):
            assert block.mark in ("", "pytest") or re.fullmatch(r"skip \S.{9,}", block.mark), (
                f"{block.page}:{block.line}: unknown mark or a skip without a reason: "
                f"{block.mark!r}"
            )


def test_the_guides_have_runnable_blocks() -> None:
    run = {p.relative_to(DOCS).as_posix() for p in PAGES if any(b.mark == "" for b in blocks(p))}
    for page in (
        "getting-started.md",
        "guides/background-runs.md",
        "guides/streaming.md",
        "guides/many-runs.md",
        "guides/sync-async.md",
        "guides/local-platform.md",
        "guides/observability.md",
        "errors.md",
    ):
        assert page in run


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_python_block_of_the_page_runs(
    path: Path, local_platform: dict[str, str], tmp_path: Path
) -> None:
    page = blocks(path)
    scripts = [b for b in page if b.mark == ""]
    tests = [b for b in page if b.mark == "pytest"]
    if scripts:
        out = run_script(as_script(scripts), local_platform, tmp_path)
        for block in scripts:
            assert f"--- done: {block.page}:{block.line}" in out, out
    if tests:
        test_file = tmp_path / "test_page.py"
        test_file.write_text("import pytest\n\n" + "\n\n".join(b.code for b in tests))
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
            capture_output=True,
            text=True,
            env=local_platform,
            cwd=tmp_path,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert f"{len(re.findall(r'^def test_', test_file.read_text(), re.M))} passed" in (
            done.stdout
        ), done.stdout
    assert scripts or tests, f"{path}: every block is skipped"


def test_the_example_diagrams_page_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "docs_examples.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
