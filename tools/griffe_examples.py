"""A griffe extension for the docs build: docstrings written for ``help()`` read well on the site.

Two rewrites, before griffe parses a docstring:

- ``Example:`` sections read as ``Examples:``. The package's Google docstrings title their
  doctest sections ``Example:`` (the Google style guide's spelling); griffe renders only
  ``Examples:`` as code, and would otherwise render the ``>>>`` lines as Markdown text.
- Cross-reference roles (``:class:`~vectorshift.RunHandler```, ``:meth:`astart```) become inline
  code of the name they show (``RunHandler``, ``astart``), as ``help()`` readers see them;
  mkdocstrings' Markdown would print the role literally.

mkdocs.yml loads this file; nothing else uses it.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.M)
_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):`(~?)([^`]+)`")


def _shown(match: re.Match[str]) -> str:
    """The name a role shows: the last dotted part with ``~``, else the whole target."""
    tilde, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class ExampleSections(griffe.Extension):
    """Retitle ``Example:`` sections and resolve roles, before docstrings are parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the object's docstring text (griffe parses it lazily, later)."""
        if obj.docstring is not None:
            text = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_shown, text)
