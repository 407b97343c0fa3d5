"""What ``pip install vectorshift`` gets: the files, the licence, the extras and the dependencies
in the wheel, each declared once and each used."""

from __future__ import annotations

import ast
import email
import re
import zipfile
from email.message import Message
from pathlib import Path

import pytest
from support import ROOT, build_wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return zipfile.ZipFile(build_wheel(tmp_path_factory.mktemp("dist")))


def metadata(wheel: zipfile.ZipFile) -> Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_the_licence_file_is_the_mit_licence_pyproject_declares(wheel: zipfile.ZipFile) -> None:
    declared = re.search(r'^license = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert declared is not None and declared.group(1) == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert metadata(wheel)["License-Expression"] == "MIT"
    shipped = [n for n in wheel.namelist() if n.endswith("/LICENSE")]
    assert shipped and wheel.read(shipped[0]).decode() == text


def test_the_progress_extra_installs_tqdm(wheel: zipfile.ZipFile) -> None:
    meta = metadata(wheel)
    assert "progress" in meta.get_all("Provides-Extra", [])
    assert any(
        req.startswith("tqdm") and re.search("extra == ['\"]progress['\"]", req)
        for req in meta.get_all("Requires-Dist", [])
    )


def test_the_wheel_holds_the_package_and_its_typing_marker(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {"vectorshift/__init__.py", "vectorshift/py.typed", "vectorshift/local/app.py"} <= names
    assert not [n for n in names if n.startswith(("tests/", "tools/", "examples/"))]


def test_the_wheel_ships_the_dashboards_script_and_style(wheel: zipfile.ZipFile) -> None:
    # The dashboard loads nothing from elsewhere (no CDN): what it serves is in the wheel.
    served = {
        f"vectorshift/local/dashboard_static/{name}" for name in ("dashboard.css", "dashboard.js")
    }
    assert served <= set(wheel.namelist())
    for name in served:
        text = wheel.read(name).decode()
        assert "http://" not in text and "https://" not in text and "innerHTML" not in text


def test_the_version_has_one_home_and_the_wheel_carries_it(wheel: zipfile.ZipFile) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"(?m)^version\s*=", project) is None
    assert re.search(r'(?m)^dynamic\s*=\s*\[[^\]]*"version"', project) is not None
    namespace: dict[str, str] = {}
    exec((Path(ROOT) / "vectorshift" / "_version.py").read_text(), namespace)
    assert metadata(wheel)["Version"] == namespace["__version__"]


def imported_top_level_modules() -> set[str]:
    """Every top-level module some file of the package imports."""
    found: set[str] = set()
    for path in (ROOT / "vectorshift").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.partition(".")[0])
    return found


def test_every_runtime_dependency_is_imported_by_the_package(wheel: zipfile.ZipFile) -> None:
    specs = metadata(wheel).get_all("Requires-Dist", [])
    names = [
        re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0] for spec in specs if "extra ==" not in spec
    ]
    imported = imported_top_level_modules()
    unused = [name for name in names if name.lower().replace("-", "_") not in imported]
    assert "httpx" in names and unused == [], f"declared but never imported: {unused}"
    # Every answer is validated with it (imported by the first answer, not by the import).
    assert "pydantic" in names


def test_the_metadata_has_classifiers_and_project_urls(wheel: zipfile.ZipFile) -> None:
    meta = metadata(wheel)
    classifiers = meta.get_all("Classifier", [])
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert {"Typing :: Typed", "Framework :: Trio", "Framework :: AsyncIO"} <= set(classifiers)
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL", []))
    assert urls["Homepage"] == "https://vectorshift.ai"
    assert urls["Platform API reference"].startswith("https://docs.vectorshift.ai/")


INSTALL_LINE = re.compile(r"pip install[^\n`]*")


def test_no_install_command_in_the_docs_fetches_the_registrys_vectorshift() -> None:
    # The registry's `vectorshift` is the official client: every command that installs this
    # SDK names its source (a path, a wheel, a URL), and each page that mentions the bare
    # command says it is the other package.
    pages = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "examples").rglob("README.md")),
    ]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for line in INSTALL_LINE.findall(text):
            installs_registry_sdk = re.search(
                r"pip install +'?vectorshift(\[[a-z,]+\])?'?( |$)", line
            )
            if installs_registry_sdk:
                around = text[max(0, text.find(line) - 120) : text.find(line) + 300]
                assert "official client" in around, f"{page.name}: {line!r}"
