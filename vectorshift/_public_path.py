"""Public objects report the path users import them by: ``vectorshift.Pipeline``.

Classes are defined in private modules (``vectorshift.pipeline._pipeline``) and their sync
methods in generated mixins (``PipelineSync`` in ``_generated_pipeline.py``), so without this
``repr(vectorshift.Pipeline)``, tracebacks and ``help()`` would name paths users never import,
and ``help(vectorshift.RunHandler.result)`` would show ``RunHandlerSync.result``. As httpx does
at the end of its ``__init__.py``, :func:`publish` sets ``__module__`` to ``"vectorshift"``. It
also gives the methods of the class, and of its *parts*, the public class's qualified name. A
part is a base defined in a private module of the package, not exported itself, that only
this class extends (the generated mixin, :class:`PipelineDefinition`); methods of a base
shared by several public classes (``_DictAccess``) keep their own name.

``vectorshift/__init__.py`` calls :func:`publish` when a name is loaded, so importing the
package stays cheap.
"""

from __future__ import annotations

import types
from collections.abc import Collection

__all__ = ["publish"]

PACKAGE = "vectorshift"


def _private_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == PACKAGE and any(part.startswith("_") for part in parts[1:])


def _functions(member: object) -> list[types.FunctionType]:
    """The functions behind a class attribute: a method, class/static method or property."""
    if isinstance(member, (classmethod, staticmethod)):
        member = member.__func__
    if isinstance(member, property):
        accessors = (member.fget, member.fset, member.fdel)
        return [f for f in accessors if isinstance(f, types.FunctionType)]
    return [member] if isinstance(member, types.FunctionType) else []


def _parts(cls: type, exported: Collection[str]) -> list[type]:
    """``cls`` and the private bases that exist only to build it, in MRO order."""
    parts = [cls]
    for base in cls.__mro__[1:]:
        subclasses: list[type] = type.__subclasses__(base)
        if (
            _private_module(base.__module__)
            and base.__name__ not in exported
            and all(subclass in parts for subclass in subclasses)
        ):
            parts.append(base)
    return parts


def publish(value: object, exported: Collection[str]) -> None:
    """Make ``value``, a public name of the package, report its public path.

    Args:
        value: The object ``vectorshift.<name>`` resolves to; what is not a class or function
            of this package (a string, a third-party class) is left alone.
        exported: The package's public names (its ``__all__``).
    """
    module = getattr(value, "__module__", None)
    if not (isinstance(module, str) and module.split(".")[0] == PACKAGE) or module == PACKAGE:
        return
    if isinstance(value, types.FunctionType):
        value.__module__ = PACKAGE
        return
    if not isinstance(value, type):
        return
    seen: set[str] = set()
    for part in _parts(value, exported):
        for name, member in vars(part).items():
            if name in seen:
                continue
            seen.add(name)
            for function in _functions(member):
                if function.__qualname__ == f"{part.__qualname__}.{name}":
                    function.__qualname__ = f"{value.__qualname__}.{name}"
                    function.__module__ = PACKAGE
    value.__module__ = PACKAGE
