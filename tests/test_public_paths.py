"""Every public object reports the path users import it by, in reprs, tracebacks and help()."""

from __future__ import annotations

import inspect
import pickle
import pydoc
import subprocess
import sys
import types
from typing import Any

import pytest

import vectorshift

PACKAGE_DIR = vectorshift.__path__[0]
PUBLIC = sorted(
    name
    for name in vectorshift.__all__
    if isinstance(getattr(vectorshift, name), (type, types.FunctionType))
)


def package_functions(cls: type) -> list[tuple[str, type, types.FunctionType]]:
    """(attribute, the class defining it, function) for every function of the package on ``cls``."""
    found = []
    for attribute in dir(cls):
        owner = next((c for c in cls.__mro__ if attribute in vars(c)), None)
        member: Any = inspect.getattr_static(cls, attribute)
        if isinstance(member, (classmethod, staticmethod)):
            member = member.__func__
        functions = [member.fget] if isinstance(member, property) else [member]
        for function in functions:
            ours = isinstance(function, types.FunctionType) and function.__code__.co_filename
            if ours and ours.startswith(PACKAGE_DIR):
                assert owner is not None
                found.append((attribute, owner, function))
    return found


def test_the_public_names_cover_the_main_classes() -> None:
    assert {"Pipeline", "RunHandler", "Client", "SSEFrame", "NotFoundError"} <= set(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_a_public_object_reports_its_public_path(name: str) -> None:
    value = getattr(vectorshift, name)
    assert value.__module__ == "vectorshift"
    # An alias (``ApiStatusError = ApiError``) reports the public name it aliases.
    assert value.__qualname__ in PUBLIC
    assert getattr(vectorshift, value.__qualname__) is value
    if isinstance(value, type):
        assert type.__repr__(value) == f"<class 'vectorshift.{value.__qualname__}'>"


@pytest.mark.parametrize("name", [n for n in PUBLIC if isinstance(getattr(vectorshift, n), type)])
def test_methods_are_named_after_the_public_class_not_a_mixin(name: str) -> None:
    cls = getattr(vectorshift, name)
    for attribute, owner, function in package_functions(cls):
        if owner is cls or (len(owner.__subclasses__()) == 1 and owner.__name__ not in PUBLIC):
            # Defined by the class or by a base that only it extends (a generated mixin).
            assert function.__qualname__ == f"{cls.__qualname__}.{attribute}", (owner, function)
            assert function.__module__ == "vectorshift"
        else:
            # Inherited from another public class, or from a base several classes share.
            defining = function.__qualname__.split(".")[0]
            assert defining in PUBLIC or len(owner.__subclasses__()) > 1, function.__qualname__


def test_help_on_a_generated_sync_method_names_the_public_class() -> None:
    result = vectorshift.RunHandler.result
    assert result.__qualname__ == "RunHandler.result"
    text = pydoc.render_doc(result, renderer=pydoc.plaintext)
    assert "function result in module vectorshift\n" in text
    assert "_generated_" not in text and "RunHandlerSync" not in text
    assert vectorshift.Pipeline.run.__qualname__ == "Pipeline.run"
    assert vectorshift.Pipeline.add.__qualname__ == "Pipeline.add"
    assert vectorshift.Client.close.__qualname__ == "Client.close"


def test_public_paths_pickle_and_resolve() -> None:
    handler = vectorshift.RunHandler(pipeline_id="p", task_id="t")
    assert pickle.loads(pickle.dumps(handler)) == handler
    result = vectorshift.RunHandler.result
    assert pickle.loads(pickle.dumps(result)) is result
    frame = vectorshift.SSEFrame(event="message", data="x")
    assert repr(frame) == "SSEFrame(event='message', data='x', id=None, retry=None)"
    assert pickle.loads(pickle.dumps(frame)) == frame


def test_a_name_is_published_when_it_is_loaded_not_at_import() -> None:
    probe = (
        "import sys, vectorshift\n"
        "assert 'vectorshift.pipeline' not in sys.modules\n"
        "assert vectorshift.NotFoundError.__module__ == 'vectorshift'\n"
        "from vectorshift.pipeline._handler import RunHandler\n"
        "assert RunHandler.__module__ == 'vectorshift.pipeline._handler'\n"
        "assert vectorshift.RunHandler is RunHandler\n"
        "assert RunHandler.__module__ == 'vectorshift'\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.stdout == "ok\n", proc.stderr
