"""Generate the sync facade: one blocking twin for every async method of the public classes.

For each configured class this reads its source with :mod:`ast` (it never imports it) and writes,
beside it, ``_generated_<module>.py`` with a mixin ``<Class>Sync`` that the class inherits from
(``vectorshift/pipeline/_handler.py`` -> ``vectorshift/pipeline/_generated_handler.py``). Each
twin has the async method's signature and docstring (rewritten for sync use) and runs the
coroutine with ``call_sync`` (on the calling thread's loop, or the private one)::

    async def astart(self, inputs: dict[str, Any]) -> RunHandler   # written by hand
    def start(self, inputs: dict[str, Any]) -> RunHandler          # generated
        return call_sync(self.astart(inputs))

Async generators become iterators (``iterate_sync``), methods returning an ``AsyncStream``
become methods returning a ``SyncStream`` (see ``RETURN_TYPES``), ``__aenter__``/``__aexit__``
become ``__enter__``/``__exit__``, and ``@overload``s, class and static methods are kept. What
cannot be mirrored faithfully is an error that names the method, never a silent skip. Ruff (a
test dependency) sorts the imports and formats the output.

Usage::

    python tools/gen_sync.py            # (re)write the generated files
    python tools/gen_sync.py --check    # exit 1 with a diff when they are stale (CI, tests)
    python tools/gen_sync.py --list     # the sync <-> async pairs per class

The machinery is the ``gensync`` package beside this file; this file is the configuration and
the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gensync.files import pairs, stale, write
from gensync.source import GenSyncError
from gensync.twins import Config, SyncReturn, rewrite_docstring

#: (source module path relative to the repository root, class name). Every entry must exist.
CLASSES: tuple[tuple[str, str], ...] = (
    ("vectorshift/pipeline/_pipeline.py", "Pipeline"),
    ("vectorshift/pipeline/_runs.py", "PipelineRuns"),
    ("vectorshift/pipeline/_versions.py", "PipelineVersions"),
    ("vectorshift/pipeline/_sharing.py", "PipelineSharing"),
    ("vectorshift/pipeline/_handler.py", "RunHandler"),
    ("vectorshift/_client.py", "Client"),
)
#: Async return type (the last name of the annotation) -> its sync counterpart.
RETURN_TYPES: Mapping[str, SyncReturn] = {
    "AsyncIterator": SyncReturn("Iterator", "iterate_sync", "AsyncIterator"),
    "AsyncGenerator": SyncReturn("Iterator", "iterate_sync", "AsyncIterator"),
    "AsyncStream": SyncReturn("SyncStream", "SyncStream", "AsyncStreamLike"),
}
#: Where the generated code imports the names it introduces.
IMPORTS: Mapping[str, str] = {
    "call_sync": "vectorshift._sync._call",
    "iterate_sync": "vectorshift._sync._iter",
    "SyncStream": "vectorshift._sync._iter",
    "AsyncStreamLike": "vectorshift._sync._iter",
    "Iterator": "collections.abc",
    "AsyncIterator": "collections.abc",
    "overload": "typing",
    "cast": "typing",
    "Any": "typing",
    "Callable": "collections.abc",
    "Coroutine": "collections.abc",
}
#: Names allowed as parameter defaults besides literals (sentinels imported by the source).
DEFAULT_NAMES: frozenset[str] = frozenset({"NOT_GIVEN"})

CONFIG = Config(CLASSES, RETURN_TYPES, IMPORTS, DEFAULT_NAMES)
__all__ = ["CONFIG", "Config", "SyncReturn", "main", "pairs", "rewrite_docstring", "stale", "write"]
ROOT = Path(__file__).resolve().parent.parent


def _class_option(text: str) -> tuple[str, str]:
    path, _, name = text.rpartition(":")
    if not (path and name.isidentifier()):
        raise argparse.ArgumentTypeError(f"expected PATH:CLASS, got {text!r}")
    return path, name


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
    mode.add_argument("--list", action="store_true", help="print the sync <-> async pairs")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument(
        "--class",
        dest="classes",
        action="append",
        type=_class_option,
        metavar="PATH:CLASS",
        help="mirror this class instead of the configured ones (repeatable)",
    )
    options = parser.parse_args(argv)
    config = dataclasses.replace(CONFIG, classes=tuple(options.classes or CLASSES))
    try:
        if options.list:
            print("\n".join(pairs(config, options.root)))
            return 0
        if options.check:
            problems = stale(config, options.root)
            for problem in problems:
                print(problem, end="")
            if problems:
                print(f"{len(problems)} stale generated file(s): run python tools/gen_sync.py")
                return 1
            return 0
        for change in write(config, options.root):
            print(change)
    except GenSyncError as exc:
        print(f"gen_sync: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
