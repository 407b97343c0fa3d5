"""Single entry point for tests, lint, typing, code generation and benchmarks.

    nox -s tests        # the suite on every Python 3.10-3.13 found (on PATH or via pyenv)
    nox -s lint         # ruff
    nox -s typing       # mypy --strict on the package and the typed usage files
    nox -s codegen      # regenerate the sync facade (the _generated_*.py mixins)
    nox -s bench        # benchmarks: ratios against raw httpx on the same local server
"""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.sessions = ["lint", "typing", "tests"]
nox.options.error_on_missing_interpreters = False


def _interpreter(version: str) -> str | None:
    """A working interpreter for ``version``: on PATH, or one pyenv has installed."""
    name = f"python{version}"
    if shutil.which(name) and subprocess.run([name, "-V"], capture_output=True).returncode == 0:
        return name
    if not shutil.which("pyenv"):
        return None
    installed = subprocess.run(
        ["pyenv", "versions", "--bare"], capture_output=True, text=True
    ).stdout.split()
    matches = sorted(v for v in installed if v.startswith(version + "."))
    if not matches:
        return None
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    path = os.path.join(root, "versions", matches[-1], "bin", name)
    return path if os.path.exists(path) else None


PYTHONS = [p for p in map(_interpreter, ("3.10", "3.11", "3.12", "3.13")) if p]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, examples and tools."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "vectorshift", "tests", "examples", "tools", "noxfile.py")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on the package and on tests/typing (which calls both API surfaces)."""
    session.install("-e", ".[test]", "mypy>=1.10")
    session.run("mypy", "--strict", "vectorshift")
    session.run("mypy", "--strict", "tests/typing")


@nox.session
def codegen(session: nox.Session) -> None:
    """Regenerate the sync facade: the ``_generated_*.py`` mixins beside their async sources.

    The generator needs only the standard library and ruff, which formats its output.
    """
    session.install("ruff>=0.5")
    session.run("python", "tools/gen_sync.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks as ratios against raw httpx, against one local server, in one run."""
    session.install("-e", ".[test]")
    session.run("python", "tools/bench.py", *session.posargs)
