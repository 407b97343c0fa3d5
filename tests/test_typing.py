"""The public API type-checks as users write it: from an installed wheel, outside the repo.

A user's mypy sees our types only if the installed package carries a ``py.typed`` marker
(PEP 561); type-checking from the repo root would read the sources directly and never notice a
missing marker. So the wheel is built, installed into a scratch virtual environment, and mypy
runs from another directory on files that import ``vectorshift`` as a user's project does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from support import ROOT, build_wheel

MISSPELT = """
from vectorshift import Pipeline

p = Pipeline("typo")
query = p.add(name="query").input()
llm = p.add(name="llm").llm(prompt=query.text)
p.add(name="answer").output(llm.responce)
p.add(name="other").llm(promt=query.text)
p.add(name="kind").input("vec<int32>")
"""

NOT_A_STREAM = """
from vectorshift import Pipeline


async def main(pipeline: Pipeline) -> None:
    async with pipeline.arun({"query": "x"}) as frames:
        pass
    result = pipeline.arun({"query": "x"})
    print(result.outputs)
"""


RETURNING = """
from vectorshift import Pipeline


def by_key(pipeline: Pipeline) -> str:
    return pipeline.run({"query": "x"})["outputs"]["answer"]


def typed(pipeline: Pipeline) -> str:
    return pipeline.run({"query": "x"}).output("answer", str)
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="module")
def user_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a scratch venv where the wheel is installed, as ``pip install`` would.

    The wheel is pure Python, so installing it is unpacking it into site-packages. The
    runtime dependencies are not reinstalled: a ``.pth`` file makes this environment's
    site-packages visible after the wheel's own files, so ``vectorshift`` resolves to the
    wheel and never to the source tree.
    """
    wheel = build_wheel(tmp_path_factory.mktemp("dist"))
    env_dir = tmp_path_factory.mktemp("user-venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def mypy(
    cache_dir: Path, python: Path, cwd: Path, *targets: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(cache_dir),
            "--python-executable",
            str(python),
            *targets,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_ships_the_py_typed_marker(user_python: Path) -> None:
    found = subprocess.run(
        [
            str(user_python),
            "-c",
            "import pathlib, vectorshift; print(pathlib.Path(vectorshift.__file__).parent)",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=user_python.parent,
    ).stdout.strip()
    assert "user-venv" in found, f"vectorshift resolved outside the scratch venv: {found}"
    assert (Path(found) / "py.typed").is_file()


def test_typed_usage_passes_mypy_strict_in_a_user_project(
    cache_dir: Path, user_python: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "typing", project)
    result = mypy(cache_dir, user_python, project, ".")
    assert result.returncode == 0, result.stdout + result.stderr


def user_errors(
    cache_dir: Path, user_python: Path, project: Path, name: str, text: str
) -> list[str]:
    """The errors mypy reports on ``text``, a user's file called ``name`` in ``project``."""
    (project / name).write_text(text)
    result = mypy(cache_dir, user_python, project, name)
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert result.returncode != 0 and errors, result.stdout + result.stderr
    return errors


def test_mypy_rejects_a_misspelt_output_in_a_user_project(
    cache_dir: Path, user_python: Path, tmp_path: Path
) -> None:
    errors = user_errors(cache_dir, user_python, tmp_path, "misspelt.py", MISSPELT)
    assert len(errors) == 3, errors
    assert 'misspelt.py:7: error: "LlmNode" has no attribute "responce"' in errors[0]
    assert 'misspelt.py:8: error: Unexpected keyword argument "promt"' in errors[1]
    # The builder methods are written out, so mypy names the method.
    assert 'misspelt.py:9: error: Argument 1 to "input"' in errors[2]
    assert "has incompatible type" in errors[2]


def test_mypy_tells_a_blocking_run_from_a_stream_in_a_user_project(
    cache_dir: Path, user_python: Path, tmp_path: Path
) -> None:
    errors = user_errors(cache_dir, user_python, tmp_path, "not_a_stream.py", NOT_A_STREAM)
    assert len(errors) == 3, errors
    assert all("not_a_stream.py:6: error:" in line for line in errors[:2]), errors
    assert '"Coroutine[Any, Any, RunResult]" has no attribute "__aenter__"' in errors[0]
    assert (
        'not_a_stream.py:9: error: "Coroutine[Any, Any, RunResult]" has no attribute' in (errors[2])
    )


def test_a_typed_output_reads_where_dict_access_returns_any(
    cache_dir: Path, user_python: Path, tmp_path: Path
) -> None:
    errors = user_errors(cache_dir, user_python, tmp_path, "returning.py", RETURNING)
    assert len(errors) == 1, errors
    assert (
        'returning.py:6: error: Returning Any from function declared to return "str"' in (errors[0])
    )
