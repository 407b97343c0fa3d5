"""A griffe extension for the docs build: ``Example:`` sections read as ``Examples:``.

The package's Google docstrings title their doctest sections ``Example:`` (the Google style
guide's spelling); griffe renders only ``Examples:`` as code, and would otherwise render the
``>>>`` lines as Markdown text. mkdocs.yml loads this file; nothing else uses it.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.M)


class ExampleSections(griffe.Extension):
    """Retitle ``Example:`` docstring sections as ``Examples:`` before they are parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the object's docstring text (griffe parses it lazily, later)."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
