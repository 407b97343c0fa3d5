"""Lazy public names of a subpackage (PEP 562): each imported from its module when first used.

``vectorshift.local`` and ``vectorshift.testing`` name objects whose modules need optional
dependencies; importing the subpackage must stay cheap, so their names load on first access.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, exports: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose ``exports`` map names to modules.

    A name loaded once is kept in ``namespace`` (the package's globals), so later accesses
    are plain lookups.

    Example:
        >>> __getattr__, __dir__ = lazy_names(__name__, {"Thing": "pkg.things"}, globals())
    """

    def getattr_(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *exports})

    return getattr_, dir_
