"""Where the generated modules go, and writing or checking them.

Each mixin is written beside the module it mirrors: ``pkg/_handler.py`` ->
``pkg/_generated_handler.py`` (the ``_generated_`` prefix and the banner mark it). A file
carrying the banner that no configured class produces any more is an orphan: ``--check``
reports it and a write deletes it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from gensync.render import BANNER, module_text, ruff_format
from gensync.source import GenSyncError, Source
from gensync.twins import Config, twins_of

PREFIX = "_generated_"
_BANNER_START = BANNER.split("{")[0]


def output_path(source: str) -> str:
    """The generated module for the source module ``source`` (POSIX paths from the root)."""
    path = Path(source)
    return (path.parent / f"{PREFIX}{path.stem.lstrip('_')}.py").as_posix()


def _is_generated(file: Path) -> bool:
    with file.open(encoding="utf-8") as text:
        return text.readline().startswith(_BANNER_START)


def generate(config: Config, root: Path) -> dict[str, str]:
    """The generated files: POSIX path relative to ``root`` -> text."""
    by_source: dict[str, list[str]] = {}
    for path, class_name in config.classes:
        by_source.setdefault(path, []).append(class_name)
    sources = {path: Source.read(root, path) for path in by_source}
    twins = {(path, cls): twins_of(sources[path], cls, config) for path, cls in config.classes}
    names = {t.async_name: t.name for class_twins in twins.values() for t in class_twins}
    outputs: dict[str, str] = {}
    for path, class_names in by_source.items():
        out = output_path(path)
        if (
            out in outputs
            or out in by_source
            or ((root / out).is_file() and not _is_generated(root / out))
        ):
            raise GenSyncError(f"{path}: its output {out} is taken; rename the module")
        classes = [(c, twins[(path, c)]) for c in class_names]
        outputs[out] = ruff_format(module_text(sources[path], classes, config, names), out, root)
    return outputs


def _orphans(config: Config, root: Path, outputs: Mapping[str, str]) -> list[str]:
    """Generated files under the configured packages that nothing produces any more."""
    tops = {Path(path).parts[0] for path, _ in config.classes}
    found = sorted(file for top in tops for file in (root / top).rglob(f"{PREFIX}*.py"))
    return [
        file.relative_to(root).as_posix()
        for file in found
        if file.relative_to(root).as_posix() not in outputs and _is_generated(file)
    ]


def stale(config: Config, root: Path) -> list[str]:
    """Unified diffs (or notes) for every generated file that differs from what it should be."""
    outputs = generate(config, root)
    problems = []
    for path, text in outputs.items():
        file = root / path
        current = file.read_text(encoding="utf-8") if file.is_file() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{path} (on disk)" if file.is_file() else f"{path} (missing)",
                f"{path} (generated)",
            )
            problems.append("".join(diff))
    problems += [
        f"{path}: generated, but no configured class produces it\n"
        for path in _orphans(config, root, outputs)
    ]
    return problems


def write(config: Config, root: Path) -> list[str]:
    """Write the generated files and delete orphaned ones; returns what changed."""
    outputs = generate(config, root)
    changed = []
    for path, text in outputs.items():
        file = root / path
        if not file.is_file() or file.read_text(encoding="utf-8") != text:
            file.write_text(text, encoding="utf-8", newline="\n")
            changed.append(f"wrote {path}")
    for path in _orphans(config, root, outputs):
        (root / path).unlink()
        changed.append(f"deleted {path}")
    return changed


def pairs(config: Config, root: Path) -> list[str]:
    """``--list``: the sync <-> async pairs per class."""
    lines = []
    for path, class_name in config.classes:
        lines.append(f"{class_name} ({path}) -> {output_path(path)}")
        for twin in twins_of(Source.read(root, path), class_name, config):
            lines.append(f"    {twin.name:<20} <- {twin.async_name:<22} {twin.describe()}")
    return lines
