"""One timeout rule: every call that waits for a run waits as long as the run takes unless the
caller gives ``timeout=``, on both surfaces, and every such docstring says so."""

from __future__ import annotations

import inspect

import pytest

from vectorshift import Pipeline, RunHandler

WAITS = [(Pipeline, name) for name in ("run", "arun", "stream", "astream", "map", "amap")] + [
    (RunHandler, name) for name in ("result", "aresult", "stream", "astream")
]


@pytest.mark.parametrize(("cls", "name"), WAITS, ids=[f"{c.__name__}.{n}" for c, n in WAITS])
def test_every_wait_defaults_to_no_deadline(cls: type, name: str) -> None:
    parameter = inspect.signature(getattr(cls, name)).parameters["timeout"]
    assert parameter.default is None


@pytest.mark.parametrize(("cls", "name"), WAITS, ids=[f"{c.__name__}.{n}" for c, n in WAITS])
def test_every_wait_says_its_default_in_its_docstring(cls: type, name: str) -> None:
    doc = " ".join((inspect.getdoc(getattr(cls, name)) or "").split())
    assert "as long as" in doc and "timeout" in doc, doc


def test_no_wait_anywhere_keeps_the_old_five_minute_default() -> None:
    for cls in (Pipeline, RunHandler):
        for name, member in inspect.getmembers(cls, callable):
            if name.startswith("_"):
                continue
            timeout = inspect.signature(member).parameters.get("timeout")
            if timeout is not None:
                assert timeout.default is None, f"{cls.__name__}.{name}"
