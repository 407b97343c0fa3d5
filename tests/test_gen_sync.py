"""tools/gen_sync.py: the generated sync twins run, match their async methods and type-check."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from vectorshift._sync._iter import SyncStream
from vectorshift._sync._loop import private_loop_tasks

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "gen_sync.py"
SAMPLE = "samplepkg"
GENERATED = f"{SAMPLE}/_generated_widget.py"
SAMPLE_ARGS = ("--class", f"{SAMPLE}/_widget.py:Widget")


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_sync", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_sync"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


gen = load_tool()


def run_gen_sync(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python tools/gen_sync.py --root <root> <args>`` as a user would."""
    return subprocess.run(
        [sys.executable, str(TOOL), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_gen_sync_fresh(root: Path, *args: str) -> None:
    """Fail, with the diff, unless the generated sync files under ``root`` are up to date.

    For the repository itself: ``assert_gen_sync_fresh(REPO)``.
    """
    proc = run_gen_sync(root, "--check", *args)
    assert proc.returncode == 0, f"stale sync facade:\n{proc.stdout}{proc.stderr}"


def sample_config() -> Any:
    return dataclasses.replace(gen.CONFIG, classes=((f"{SAMPLE}/_widget.py", "Widget"),))


def make_sample(root: Path, generate: bool = True) -> Path:
    """Copy tests/gen_sample to ``root/samplepkg`` and (by default) generate its mixin.

    ``root`` gets the repository's ruff settings, which the generator formats its output with.
    """
    package = root / SAMPLE
    shutil.copytree(REPO / "tests" / "gen_sample", package)
    (root / "ruff.toml").write_text(
        f'extend = "{REPO / "pyproject.toml"}"\nsrc = ["."]\n', encoding="utf-8"
    )
    if generate:
        gen.write(sample_config(), root)
    return package


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("gen_sync")
    make_sample(root)
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [n for n in sys.modules if n == SAMPLE or n.startswith(SAMPLE + ".")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def widget_class(sample_root: Path) -> Any:
    return importlib.import_module(f"{SAMPLE}._widget").Widget


def test_the_generated_methods_run_on_the_private_loop(widget_class: Any) -> None:
    widget = widget_class.new(3)
    assert isinstance(widget, widget_class)
    assert widget.scale == 3
    assert widget.multiply(4) == ("product", 24)
    assert widget.multiply(4, 1, label="single") == ("single", 12)
    assert widget.total(1, 2, bonus=0.5) == 9.5
    assert widget.list() == [0, 1, 2]
    assert widget.sorted([3, 1, 2]) == [1, 2, 3]
    assert widget_class.version() == "1.0"
    with pytest.raises(LookupError, match="missing"):
        widget.fail("missing")
    assert private_loop_tasks() == 0


def test_the_context_manager_twin_enters_and_exits(widget_class: Any) -> None:
    with widget_class(1) as widget:
        assert isinstance(widget, widget_class)
    assert widget.events == ["entered", "exited (cleanly)"]


def test_the_async_generator_twin_yields_and_closes_on_break(widget_class: Any) -> None:
    widget = widget_class(1)
    assert list(widget.count(3)) == [0, 1, 2]
    assert widget.events == ["count closed"]
    for number in widget.count(100):
        if number == 1:
            break
    assert widget.events == ["count closed", "count closed"]
    assert private_loop_tasks() == 0


def test_the_stream_twins_return_sync_streams(widget_class: Any) -> None:
    widget = widget_class(1)
    with widget.open(3) as stream:
        assert isinstance(stream, SyncStream)
        assert list(stream) == [0, 1, 2]
    assert widget.events == ["stream entered", "stream closed"]
    assert widget.fetch("ab") == "AB"
    characters = widget.fetch("ab", stream=True)
    assert isinstance(characters, SyncStream)
    assert list(characters) == ["a", "b"]
    assert private_loop_tasks() == 0


def test_a_plain_def_returning_a_coroutine_or_a_stream_gets_a_twin_that_awaits(
    widget_class: Any,
) -> None:
    widget = widget_class(1)
    assert widget.read("ab") == "AB"
    assert widget.read_later("cd") == "CD"
    characters = widget.read("ab", stream=True)
    assert isinstance(characters, SyncStream)
    assert list(characters) == ["a", "b"]
    with pytest.raises(ValueError, match="refused at the call"):
        widget.read("")
    assert inspect.signature(widget_class.read).return_annotation == "str | SyncStream[str]"
    assert inspect.signature(widget_class.read_later).return_annotation == "str"
    assert private_loop_tasks() == 0


def test_twins_have_the_async_signatures(widget_class: Any) -> None:
    pairs = [("new", "anew"), ("multiply", "amultiply"), ("total", "atotal"), ("fail", "afail")]
    pairs += [("version", "aversion"), ("__enter__", "__aenter__"), ("__exit__", "__aexit__")]
    for sync_name, async_name in pairs:
        sync = inspect.signature(getattr(widget_class, sync_name))
        coroutine = inspect.signature(getattr(widget_class, async_name))
        assert sync == coroutine, sync_name
    for sync_name, async_name in [("count", "acount"), ("open", "aopen"), ("fetch", "afetch")]:
        sync = inspect.signature(getattr(widget_class, sync_name))
        coroutine = inspect.signature(getattr(widget_class, async_name))
        assert sync.parameters == coroutine.parameters, sync_name
    assert inspect.signature(widget_class.count).return_annotation == "Iterator[int]"
    assert inspect.signature(widget_class.open).return_annotation == "SyncStream[int]"
    assert inspect.signature(widget_class.fetch).return_annotation == "str | SyncStream[str]"
    # In the mixin's class body the twin named ``list`` hides the builtin, so it is qualified.
    assert inspect.signature(widget_class.list).return_annotation == "builtins.list[int]"


def test_docstrings_are_rewritten_for_sync_use(widget_class: Any) -> None:
    new_doc = inspect.getdoc(widget_class.new) or ""
    assert new_doc.startswith("Create a widget.")
    assert ">>> widget = Widget.new(3)" in new_doc
    assert ">>> widget.multiply(2)" in new_doc
    assert "await" not in new_doc
    count_doc = inspect.getdoc(widget_class.count) or ""
    assert ">>> for number in widget.count(3):" in count_doc
    assert "async" not in count_doc
    assert ":meth:`total` adds instead" in (inspect.getdoc(widget_class.multiply) or "")


def test_ordinary_and_private_methods_get_no_twin(widget_class: Any) -> None:
    assert not hasattr(widget_class, "ppend")
    assert not hasattr(widget_class, "_refresh")
    assert "append" not in vars(widget_class.__mro__[1])


def test_generated_sample_passes_mypy_strict_and_ruff(sample_root: Path) -> None:
    usage = sample_root / "use_widget.py"
    usage.write_text(
        textwrap.dedent(
            """
            from collections.abc import Iterator

            from typing_extensions import assert_type

            from samplepkg._widget import Widget
            from vectorshift._sync._iter import SyncStream

            widget = Widget.new(3)
            assert_type(widget, Widget)
            assert_type(widget.multiply(2, 3, label="x"), tuple[str, int])
            assert_type(widget.total(1, 2, bonus=0.5), float)
            assert_type(widget.count(3), Iterator[int])
            assert_type(widget.open(2), SyncStream[int])
            assert_type(widget.fetch("k"), str)
            assert_type(widget.fetch("k", stream=True), SyncStream[str])
            assert_type(widget.read("k"), str)
            assert_type(widget.read("k", stream=True), SyncStream[str])
            assert_type(widget.read_later("k"), str)
            assert_type(widget.list(), list[int])
            assert_type(Widget.version(), str)
            with Widget() as entered:
                assert_type(entered, Widget)
            """
        )
    )
    options = ["--strict", "--follow-imports=silent", "--cache-dir", ".mypy_cache"]
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", *options, SAMPLE, usage.name],
        cwd=sample_root,
        env={**os.environ, "MYPYPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", GENERATED],
        cwd=sample_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--no-cache", GENERATED],
        cwd=sample_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_check_passes_when_fresh_and_fails_with_a_diff_when_stale(tmp_path: Path) -> None:
    package = make_sample(tmp_path)
    assert_gen_sync_fresh(tmp_path, *SAMPLE_ARGS)
    source = package / "_widget.py"
    source.write_text(
        source.read_text().replace(
            "    def append(self",
            "    async def aping(self) -> str:\n        return 'pong'\n\n    def append(self",
        )
    )
    stale = run_gen_sync(tmp_path, "--check", *SAMPLE_ARGS)
    assert stale.returncode == 1
    assert "+    def ping(self) -> str:" in stale.stdout
    assert "1 stale generated file(s)" in stale.stdout
    assert run_gen_sync(tmp_path, *SAMPLE_ARGS).stdout == f"wrote {GENERATED}\n"
    assert_gen_sync_fresh(tmp_path, *SAMPLE_ARGS)


def test_check_fails_when_a_generated_file_is_missing(tmp_path: Path) -> None:
    make_sample(tmp_path, generate=False)
    proc = run_gen_sync(tmp_path, "--check", *SAMPLE_ARGS)
    assert proc.returncode == 1
    assert f"{GENERATED} (missing)" in proc.stdout


def test_a_generated_file_nothing_produces_any_more_is_reported_and_deleted(
    tmp_path: Path,
) -> None:
    package = make_sample(tmp_path)
    orphan = package / "_generated_gadget.py"
    orphan.write_text(f"# GENERATED by tools/gen_sync.py from {SAMPLE}/_gadget.py: DO NOT EDIT.\n")
    proc = run_gen_sync(tmp_path, "--check", *SAMPLE_ARGS)
    assert proc.returncode == 1
    assert "_generated_gadget.py: generated, but no configured class produces it" in proc.stdout
    deleted = run_gen_sync(tmp_path, *SAMPLE_ARGS).stdout
    assert deleted == f"deleted {SAMPLE}/_generated_gadget.py\n"
    assert not orphan.exists()


def test_a_hand_written_module_with_a_generated_name_is_never_overwritten_or_deleted(
    tmp_path: Path,
) -> None:
    package = make_sample(tmp_path, generate=False)
    mine = package / "_generated_widget.py"
    mine.write_text("# written by hand\n")
    notes = package / "_generated_notes.py"
    notes.write_text("# also written by hand\n")
    proc = run_gen_sync(tmp_path, *SAMPLE_ARGS)
    assert proc.returncode == 2
    assert f"its output {GENERATED} is taken" in proc.stderr
    assert mine.read_text() == "# written by hand\n"
    mine.unlink()
    assert run_gen_sync(tmp_path, *SAMPLE_ARGS).stdout == f"wrote {GENERATED}\n"
    assert notes.read_text() == "# also written by hand\n"


def test_list_prints_the_pairs(tmp_path: Path) -> None:
    make_sample(tmp_path)
    proc = run_gen_sync(tmp_path, "--list", *SAMPLE_ARGS)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert lines[0] == ["Widget", f"({SAMPLE}/_widget.py)", "->", GENERATED]
    pairs = {line[0]: line[2] for line in lines[1:]}
    assert pairs["new"] == "anew"
    assert pairs["count"] == "acount"
    assert pairs["__exit__"] == "__aexit__"
    assert "append" not in pairs


BROKEN = {
    "a missing class": ("class Other:\n    async def aping(self) -> None: ...\n", "not defined"),
    "a computed default": (
        "class Widget:\n    async def aping(self, n: int = len('x')) -> None: ...\n",
        "default `len('x')` is neither a literal nor an allowed name",
    ),
    "a sentinel defined in the source": (
        "NOT_GIVEN = object()\n\n"
        "class Widget:\n    async def aping(self, n: object = NOT_GIVEN) -> None: ...\n",
        "must be imported by the source module",
    ),
    "a badly named async method": (
        "class Widget:\n    async def ping(self) -> None: ...\n",
        "must be named a<name>",
    ),
    "a twin written by hand": (
        "class Widget:\n    async def aping(self) -> None: ...\n\n"
        "    def ping(self) -> None: ...\n",
        "Widget.ping is defined by hand",
    ),
    "an unknown decorator": (
        "import functools\n\nclass Widget:\n"
        "    @functools.cache\n    async def aping(self) -> None: ...\n",
        "decorator @functools.cache is not supported",
    ),
    "an unknown annotation": (
        "class Widget:\n    async def aping(self) -> Missing: ...\n",
        "`Missing` is neither imported nor defined",
    ),
    "nothing to mirror": ("class Widget:\n    def ping(self) -> None: ...\n", "no async method"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_sources_that_cannot_be_mirrored_are_errors_naming_the_place(
    tmp_path: Path, case: str
) -> None:
    source, message = BROKEN[case]
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "_widget.py").write_text(source)
    proc = run_gen_sync(tmp_path, "--class", "pkg/_widget.py:Widget")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not (tmp_path / "pkg" / "_generated_widget.py").exists()


def test_a_configured_source_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    proc = run_gen_sync(tmp_path, "--class", "nowhere/_gone.py:Gone")
    assert proc.returncode == 2
    assert "nowhere/_gone.py does not exist" in proc.stderr


def test_docstring_rewriting_touches_code_not_prose() -> None:
    names = {"astart": "start", "anew": "new", "__aenter__": "__enter__"}
    doc = (
        "Start it anew with :meth:`astart` or ``handler.astart()``.\n"
        ">>> handler = await Pipeline(id='x').astart(inputs)\n"
        ">>> async with client as c:\n"
        "...     async for chunk in await c.__aenter__():\n"
        ">>> await asyncio.sleep(1)"
    )
    assert gen.rewrite_docstring(doc, names) == (
        "Start it anew with :meth:`start` or ``handler.start()``.\n"
        ">>> handler = Pipeline(id='x').start(inputs)\n"
        ">>> with client as c:\n"
        "...     for chunk in c.__enter__():\n"
        ">>> await asyncio.sleep(1)"
    )


def test_docstring_rewriting_turns_aclosing_into_closing() -> None:
    doc = ">>> async with aclosing(pipeline.amap(rows)) as outcomes:"
    assert gen.rewrite_docstring(doc, {"amap": "map"}) == (
        ">>> with closing(pipeline.map(rows)) as outcomes:"
    )


def test_docstring_rewriting_drops_the_parentheses_an_await_needed() -> None:
    names = {"arun_status": "run_status", "astart": "start"}
    doc = (
        ">>> (await pipeline.arun_status(handler.task_id)).status\n"
        ">>> (await p.astart(dict(a=f(1)))).task_id\n"
        ">>> (await other()).x"
    )
    assert gen.rewrite_docstring(doc, names) == (
        ">>> pipeline.run_status(handler.task_id).status\n"
        ">>> p.start(dict(a=f(1))).task_id\n"
        ">>> (await other()).x"
    )


def test_the_committed_sync_facade_is_fresh() -> None:
    assert_gen_sync_fresh(REPO)


def test_sync_and_async_surfaces_match_name_for_name() -> None:
    import inspect

    from vectorshift import Client, Pipeline, RunHandler

    for cls in (Pipeline, RunHandler, Client):
        public = {name for name in dir(cls) if not name.startswith("_")}
        async_methods = {
            name
            for name in public
            if name.startswith("a")
            and (
                inspect.iscoroutinefunction(getattr(cls, name))
                or "AsyncStream" in str(inspect.signature(getattr(cls, name)).return_annotation)
            )
        }
        assert async_methods, cls
        for name in sorted(async_methods):
            twin = getattr(cls, name[1:], None)
            assert twin is not None, f"{cls.__name__}.{name} has no sync twin"
            sync_params = inspect.signature(twin).parameters
            async_params = inspect.signature(getattr(cls, name)).parameters
            assert [(p.name, p.kind, p.default) for p in sync_params.values()] == [
                (p.name, p.kind, p.default) for p in async_params.values()
            ], f"{cls.__name__}.{name[1:]} differs from {name}"
        if hasattr(cls, "__aenter__"):
            assert hasattr(cls, "__enter__") and hasattr(cls, "__exit__")
