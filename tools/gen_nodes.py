"""Generate the builder's node classes and the docs' node tables from the node declarations.

The declarations (``vectorshift/_schema/nodes_types.py``, one pydantic model per node type) are
the one place a node type is described. This tool writes, from them:

- ``vectorshift/pipeline/_generated_nodes.py``: the typed node classes (``InputNode``,
  ``LlmNode``...) with written-out signatures and docstrings for mypy and IDEs, and the facts
  (defaults in saved order, choices, outputs) as literals, so building a pipeline never imports
  pydantic (the text transforms in ``_generated_transforms.py``, so that each module stays
  under 500 lines); ``_generated_methods.py`` beside them: the fluent methods of
  ``pipeline.add(name=...)``;
- the node-type tables of ``docs/api/nodes.md``, between its ``node-types`` markers.

Ruff formats the module as ``tools/gen_sync.py`` formats the sync facade.

Usage::

    python tools/gen_nodes.py            # (re)write both
    python tools/gen_nodes.py --check    # exit 1 with a diff when either is stale
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from gennodes.docs import DOCS, docs_text  # noqa: E402
from gennodes.module import (  # noqa: E402
    METHODS,
    MODULE,
    TRANSFORMS,
    methods_text,
    module_text,
    transforms_text,
)
from gensync.render import ruff_format  # noqa: E402
from gensync.source import GenSyncError  # noqa: E402

__all__ = ["generate", "main", "stale"]


def generate(root: Path) -> dict[str, str]:
    """The generated files: POSIX path relative to ``root`` -> text."""
    docs = root / DOCS
    current = docs.read_text(encoding="utf-8") if docs.is_file() else ""
    return {
        MODULE: ruff_format(module_text(), MODULE, root),
        TRANSFORMS: ruff_format(transforms_text(), TRANSFORMS, root),
        METHODS: ruff_format(methods_text(), METHODS, root),
        DOCS: docs_text(current),
    }


def stale(root: Path) -> list[str]:
    """Unified diffs for every generated file that differs from what it should be."""
    problems = []
    for path, text in generate(root).items():
        file = root / path
        current = file.read_text(encoding="utf-8") if file.is_file() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{path} (on disk)",
                f"{path} (generated)",
            )
            problems.append("".join(diff))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    options = parser.parse_args(argv)
    try:
        if options.check:
            problems = stale(options.root)
            for problem in problems:
                print(problem, end="")
            if problems:
                print(f"{len(problems)} stale generated file(s): run python tools/gen_nodes.py")
                return 1
            return 0
        for path, text in generate(options.root).items():
            file = options.root / path
            if not file.is_file() or file.read_text(encoding="utf-8") != text:
                file.write_text(text, encoding="utf-8", newline="\n")
                print(f"wrote {path}")
    except GenSyncError as exc:
        print(f"gen_nodes: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
