"""The pytest plugin of ``vectorshift[testing]``, loaded by pytest through ``pytest11``.

pytest loads every installed plugin in every run, so this module is cheap and decides whether
it is active: only when the packages the ``testing`` extra installs (the local server's
Starlette and uvicorn) can be found does it register its fixtures and marker (from
:mod:`vectorshift.testing._fixtures`). The SDK installed without the extra therefore adds
nothing to anyone's pytest: no fixture, no marker, no import of the server. ``-p no:vectorshift``
turns it off even with the extra.
"""

from __future__ import annotations

import importlib.util

EXTRA_MODULES = ("starlette", "uvicorn")
"""What ``vectorshift[testing]`` installs that a plain install lacks; the plugin needs them."""


def extra_installed() -> bool:
    """Whether the ``testing`` extra's packages can be imported (none is imported here)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in EXTRA_MODULES)
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken one
        return False


if extra_installed():
    from vectorshift.testing._fixtures import (
        pytest_configure,
        vectorshift_local,
        vectorshift_local_server,
        vectorshift_local_shared,
    )

    __all__ = [
        "pytest_configure",
        "vectorshift_local",
        "vectorshift_local_server",
        "vectorshift_local_shared",
    ]
