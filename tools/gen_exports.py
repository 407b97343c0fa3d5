"""Generate the ``TYPE_CHECKING`` block of ``vectorshift/__init__.py`` from its ``_PUBLIC`` table.

The package loads its public names lazily from ``_PUBLIC`` (module -> names); static tools
(mypy, IDEs) cannot run that table, so the package also holds the same names as imports under
``if TYPE_CHECKING:``. This tool writes that block from the table, between the markers
``# <generated: exports>`` and ``# </generated: exports>``, so a public name is added in one
place.

Usage::

    python tools/gen_exports.py            # rewrite the block
    python tools/gen_exports.py --check    # exit 1 when it is stale (tests/test_exports.py)

The table is read with :mod:`ast` (the package is not imported).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INIT = ROOT / "vectorshift" / "__init__.py"
BEGIN = "    # <generated: exports>"
END = "    # </generated: exports>"


def public_table(source: str) -> dict[str, tuple[str, ...]]:
    """The ``_PUBLIC`` dict literal of ``source`` (read from the part before the generated
    block, which may be stale or empty)."""
    for statement in ast.parse(source.partition("\nif TYPE_CHECKING:")[0]).body:
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == "_PUBLIC"
            and statement.value is not None
        ):
            table = ast.literal_eval(statement.value)
            assert isinstance(table, dict)
            return {str(module): tuple(names) for module, names in table.items()}
    raise SystemExit("gen_exports: no _PUBLIC table in vectorshift/__init__.py")


def block(table: dict[str, tuple[str, ...]]) -> str:
    """The generated lines, markers included: one import per module, ``X as X`` per name."""
    lines = [
        BEGIN,
        "    # Written by tools/gen_exports.py from _PUBLIC; do not edit. One import per module,",
        "    # each name re-exported explicitly (`X as X`), for static tools.",
        "    # isort: off",
    ]
    for module, names in table.items():
        ordered = sorted(names)
        if len(ordered) == 1:
            lines.append(f"    from {module} import {ordered[0]} as {ordered[0]}")
            continue
        lines.append(f"    from {module} import (")
        lines += [f"        {name} as {name}," for name in ordered]
        lines.append("    )")
    lines += ["    # isort: on", END]
    return "\n".join(lines)


def expected(source: str) -> str:
    """``source`` with its generated block rewritten."""
    if BEGIN not in source or END not in source:
        raise SystemExit(f"gen_exports: the markers {BEGIN.strip()!r} ... are missing")
    head, _, rest = source.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + block(public_table(source)) + tail


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the block is stale")
    options = parser.parse_args(argv)
    source = INIT.read_text(encoding="utf-8")
    wanted = expected(source)
    if options.check:
        if wanted != source:
            print("stale: vectorshift/__init__.py: run python tools/gen_exports.py")
            return 1
        return 0
    if wanted != source:
        INIT.write_text(wanted, encoding="utf-8")
        print("wrote vectorshift/__init__.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
