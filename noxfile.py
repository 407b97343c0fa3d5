"""Single entry point for tests, lint, typing, code generation and benchmarks.

nox -s tests        # the suite on every Python 3.10-3.13 found (on PATH or via pyenv)
nox -s lint         # ruff
nox -s typing       # mypy --strict on the package and the typed usage files
nox -s codegen      # regenerate the sync facade and node classes (the _generated_*.py)
nox -s bench        # benchmarks: ratios against raw httpx and the official client
nox -s compat       # the official client (vectorshift==0.1.15) drives vectorshift.local
nox -s docs         # build the documentation site, warnings as errors
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import nox

nox.options.sessions = ["lint", "typing", "tests"]
nox.options.error_on_missing_interpreters = False


def _interpreter(version: str) -> str | None:
    """``version`` if an interpreter for it works: on PATH, or one pyenv has installed (whose
    ``bin`` directory is then added to PATH, so sessions keep short names: ``tests-3.10``)."""
    name = f"python{version}"
    if shutil.which(name) and subprocess.run([name, "-V"], capture_output=True).returncode == 0:
        return version
    if not shutil.which("pyenv"):
        return None
    installed = subprocess.run(
        ["pyenv", "versions", "--bare"], capture_output=True, text=True
    ).stdout.split()
    matches = sorted(v for v in installed if v.startswith(version + "."))
    if not matches:
        return None
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    bindir = os.path.join(root, "versions", matches[-1], "bin")
    if not os.path.exists(os.path.join(bindir, name)):
        return None
    # Appended, not prepended: the pyenv directory also holds a ``python3``, which must not
    # shadow the one already on PATH.
    os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + bindir
    return version


PYTHONS = [p for p in map(_interpreter, ("3.10", "3.11", "3.12", "3.13")) if p]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, examples and tools: the lint rules, and the formatting."""
    session.install("ruff==0.17.6")
    paths = ("vectorshift", "tests", "examples", "tools", "noxfile.py")
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on the package and on tests/typing (which calls both API surfaces)."""
    session.install("-e", ".[test]", "mypy>=1.10")
    session.run("mypy", "--strict", "vectorshift")
    session.run("mypy", "--strict", "tests/typing")


@nox.session
def codegen(session: nox.Session) -> None:
    """Regenerate what is generated: the sync facade and the node classes (``_generated_*.py``),
    the ``TYPE_CHECKING`` exports of ``vectorshift/__init__.py``, and the protocol's shape docs.

    The sync generator needs only the standard library and ruff, which formats its output; the
    node and shape generators read the declarations, so they need the package (and pydantic).
    """
    session.install("ruff==0.17.6")
    session.run("python", "tools/gen_sync.py")
    session.run("python", "tools/gen_exports.py")
    session.install("-e", ".")
    session.run("python", "tools/gen_nodes.py")
    session.run("python", "tools/gen_schema.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks as users run them, every figure a ratio measured in the same run.

    The local server runs in a process of its own; the official client (for the fan-out and
    import figures) in a second venv, as it is also named ``vectorshift``. Arguments go to
    ``tools/bench.py``, e.g. ``nox -s bench -- --json bench.json --compare last.json``.
    """
    # httpx-sse is not a dependency: it is here only for the SSE decoding comparison (--only sse).
    session.install("-e", ".[test]", "httpx-sse")
    official = _official_venv(session)
    session.run("python", "tools/bench.py", "--official-python", official, *session.posargs)


def _official_venv(session: nox.Session) -> str:
    """A venv beside the session's with the official client alone; its python."""
    location = os.path.abspath(os.path.join(session.create_tmp(), "official-venv"))
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    python = os.path.join(location, bindir, "python")
    if not os.path.exists(python):
        session.run("python", "-m", "venv", location)
    session.run(python, "-m", "pip", "install", "-q", OFFICIAL_CLIENT, external=True)
    return python


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site (mkdocs.yml) into ``site/`` with ``--strict``: a warning fails the build.

    Broken links, anchors and API references are warnings, so they fail it too. The guides'
    Python snippets are run by tests/test_docs.py, with the suite.
    """
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        "site",
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


OFFICIAL_CLIENT = "vectorshift==0.1.15"
_SERVER_START_TIMEOUT = 60.0


def _project_venv(session: nox.Session) -> str:
    """A venv beside the session's with this project and its ``local`` extra; its python.

    The official client is also named ``vectorshift``, so the server cannot share its venv.
    """
    location = os.path.join(session.create_tmp(), "server-venv")
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    python = os.path.join(location, bindir, "python")
    if not os.path.exists(python):
        session.run("python", "-m", "venv", location)
    session.run(python, "-m", "pip", "install", "-q", "-e", ".[local]", external=True)
    return python


_COMPAT_KEY, _COMPAT_ORG = "compat-key", "compat-org"
_OTHER_KEY, _OTHER_ORG = "compat-other-key", "compat-other-org"
"""The compat server's two organisations: the second is whom the official client shares with."""


@contextlib.contextmanager
def _local_server(python: str) -> Iterator[dict[str, str]]:
    """``python -m vectorshift.local`` on a free loopback port; yields its URL and key as env.

    The server prints ``VECTORSHIFT_BASE_URL=...`` and ``VECTORSHIFT_API_KEY=...`` once it
    accepts requests. It is stopped with SIGTERM (it ends its runs and closes) on the way out,
    and killed if it has not exited 10 s later.
    """
    server = subprocess.Popen(
        [
            python,
            "-m",
            "vectorshift.local",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--api-key",
            f"{_COMPAT_KEY}={_COMPAT_ORG}",
            "--api-key",
            f"{_OTHER_KEY}={_OTHER_ORG}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(_SERVER_START_TIMEOUT, server.kill)
    watchdog.start()
    try:
        env: dict[str, str] = {}
        assert server.stdout is not None
        for line in server.stdout:
            name, _, value = line.strip().partition("=")
            if name in ("VECTORSHIFT_BASE_URL", "VECTORSHIFT_API_KEY"):
                env[name] = value
            if len(env) == 2:
                break
        watchdog.cancel()
        if len(env) != 2:
            raise RuntimeError(f"vectorshift.local did not start (exit status {server.wait()})")
        yield {**env, "COMPAT_OTHER_API_KEY": _OTHER_KEY, "COMPAT_OTHER_ORG": _OTHER_ORG}
    finally:
        watchdog.cancel()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@nox.session
def compat(session: nox.Session) -> None:
    """The official client drives vectorshift.local (tools/compat_official.py)."""
    session.install(OFFICIAL_CLIENT)
    server_python = _project_venv(session)
    with _local_server(server_python) as env:
        session.log(f"vectorshift.local at {env['VECTORSHIFT_BASE_URL']}")
        session.run("python", "tools/compat_official.py", env=env)
