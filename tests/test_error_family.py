"""One error family: every exception the package raises on purpose is a VectorshiftError, and
each one that replaced a builtin is still that builtin. A walk over the package's source fails
on any ``raise`` of a builtin exception that is not listed below with its reason."""

from __future__ import annotations

import ast
import builtins
import math
from pathlib import Path

import pytest

import vectorshift
from vectorshift import (
    ArgumentError,
    ArgumentTypeError,
    Client,
    ConfigurationError,
    InputError,
    InputTypeError,
    Pipeline,
    PipelineNotSavedError,
    RetryPolicy,
    RunHandler,
    VectorshiftError,
)

PACKAGE = Path(vectorshift.__file__).parent

BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}

# (module, exception) -> why a builtin is right there. A module's whole folder may be named.
ALLOWED: dict[tuple[str, str], str] = {
    ("__init__.py", "AttributeError"): "a module __getattr__ must raise AttributeError",
    ("_lazy.py", "AttributeError"): "a module __getattr__ must raise AttributeError",
    ("pipeline/_condition.py", "AttributeError"): "__getattr__ protocol: hasattr() relies on it",
    ("types.py", "KeyError"): "mapping protocol: status['nope'] is a KeyError, as for a dict",
    ("_sync/_call.py", "KeyboardInterrupt"): "Ctrl-C during a sync call is re-raised as "
    "KeyboardInterrupt once the coroutine has cleaned up, as Python delivers it",
    ("cli/__init__.py", "KeyboardInterrupt"): "the command re-raises Ctrl-C to exit 130",
    ("_sync/_iter.py", "StopIteration"): "iterator protocol",
    ("pipeline/_async_stream.py", "StopAsyncIteration"): "async iterator protocol",
    ("pipeline/_versions.py", "NotImplementedError"): "the abstract hook a mixin's host class "
    "(Pipeline) overrides: the client property",
    ("local/sqlite_versions.py", "NotImplementedError"): "the abstract hooks a store mixin's "
    "host class (SQLiteStore) overrides: its read and write threads",
    ("pipeline/_runs.py", "NotImplementedError"): "the abstract hook a mixin's host class "
    "provides (the pipeline's saved id); never reached",
    ("pipeline/_sharing.py", "NotImplementedError"): "the abstract hook a mixin's host class "
    "provides (the pipeline's client); never reached",
    ("local/sqlite_listing.py", "NotImplementedError"): "the abstract hook (_read) of the "
    "listing mixin, supplied by SQLiteStore",
    ("local/sqlite_sharing.py", "NotImplementedError"): "the abstract hooks (_read, _write) "
    "SQLiteStore provides for its sharing mixin; never reached",
    ("pipeline/_generated_methods.py", "NotImplementedError"): "generated: the abstract hook of "
    "the builder mixin, provided by NodeBuilder; never reached",
    ("_client.py", "TypeError"): "pickle protocol: an object that cannot be pickled raises "
    "TypeError (a Client holds a secret and pools)",
    ("pipeline/_node.py", "TypeError"): "raised while Python defines a node class (two "
    "classes claiming one node type), as type() itself raises TypeError",
    ("pipeline/_map.py", "ImportError"): "an optional package that is missing (tqdm for "
    "progress=True) is an ImportError, the Python convention; the message names the package",
    ("pipeline/_async_stream.py", "RuntimeError"): "reading a stream object after it was "
    "closed: a misuse of one object's lifetime, as reading a closed file is",
    ("_sync/_iter.py", "RuntimeError"): "entering a sync stream twice: a misuse of one object's "
    "lifetime",
    ("_sync/_loop.py", "RuntimeError"): "a sync call from the private loop's own thread would "
    "deadlock; RuntimeError, as asyncio.run() inside a running loop raises",
    ("_sync/_loop.py", "TypeError"): "internal: run_sync() given something not a coroutine, "
    "a bug of the SDK, never of a caller",
    ("_sse.py", "ValueError"): "internal: the decoder's own size cap, set by the SDK",
    ("_log.py", "ValueError"): "internal: a logger name outside the package, a bug of the SDK",
    ("_schema/_body.py", "AssertionError"): "internal invariant of the non-finite number walk",
    ("testing", "AssertionError"): "the testing kit fails a test as pytest expects: an "
    "AssertionError (an unused script rule)",
    ("testing", "TimeoutError"): "the testing kit's wait_for_runs(timeout=) ran out: the "
    "builtin TimeoutError, as tests expect of a wait",
    ("testing", "ValueError"): "the testing kit refuses a platform without recording at "
    "setup, in the test's own code",
    ("local", "ValueError"): "the local platform's configuration (ServerConfig, scripts, "
    "fault rules, providers) refused where the server is set up, never in an SDK call",
    ("local", "RuntimeError"): "the local server's lifecycle (started twice, not running)",
    ("local", "KeyError"): "the local engine's lookups of stored pipelines, caught and answered "
    "as 4xx by the server",
    ("local", "TypeError"): "the local server's constructors given a ServerConfig and "
    "settings at once",
    ("cli", "ValueError"): "the command's usage errors, turned into exit code 2 by the command",
    ("cli/_login.py", "FileExistsError"): "login could not make its private temporary file "
    "(every name it tried exists): an OSError the command reports as a file error, exit 2",
    ("local/__main__.py", "SystemExit"): "the server's command ends with an exit status when "
    "its database cannot be used, after saying why on stderr",
}


def raises_of_builtins() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in BUILTIN_EXCEPTIONS:
                found.add((path.relative_to(PACKAGE).as_posix(), target.id))
    return found


def allowance(module: str, exception: str) -> str | None:
    for (where, name), reason in ALLOWED.items():
        if name == exception and (module == where or module.startswith(where + "/")):
            return reason
    return None


def test_every_raise_of_a_builtin_is_listed_with_its_reason() -> None:
    unlisted = sorted(
        (module, exception)
        for module, exception in raises_of_builtins()
        if allowance(module, exception) is None
    )
    assert not unlisted, (
        f"raise a VectorshiftError subclass (that is also the builtin) instead, or list the "
        f"raise in ALLOWED with its reason: {unlisted}"
    )


def test_no_listed_reason_is_left_over() -> None:
    found = raises_of_builtins()
    stale = [
        (where, name)
        for where, name in ALLOWED
        if not any(
            exception == name and (module == where or module.startswith(where + "/"))
            for module, exception in found
        )
    ]
    assert not stale, f"ALLOWED lists raises that are gone: {stale}"


CASES = [
    (
        "run an unsaved pipeline",
        lambda: Pipeline("never saved").run({}),
        PipelineNotSavedError,
        ValueError,
    ),
    ("a misspelt input", lambda: _with_query().check_inputs({"qury": "x"}), InputError, ValueError),
    ("a missing input", lambda: _with_query().check_inputs({}), InputError, ValueError),
    (
        "an int32 given text",
        lambda: _with_count().check_inputs({"count": "abc"}),
        InputError,
        ValueError,
    ),
    (
        "run(['hi'])",
        lambda: _with_query().check_inputs(["hi"]),  # type: ignore[arg-type]
        InputTypeError,
        TypeError,
    ),
    (
        "timeout=-1",
        lambda: RunHandler(pipeline_id="p", task_id="t").result(timeout=-1),
        ArgumentError,
        ValueError,
    ),
    (
        "poll_interval=0",
        lambda: RunHandler(pipeline_id="p", task_id="t").result(poll_interval=0),
        ArgumentError,
        ValueError,
    ),
    ("Client(max_retries=-1)", lambda: Client(max_retries=-1), ConfigurationError, ValueError),
    ("Client(timeout=0)", lambda: Client(timeout=0), ConfigurationError, ValueError),
    ("Client(timeout=-5)", lambda: Client(timeout=-5.0), ConfigurationError, ValueError),
    ("Client(timeout=nan)", lambda: Client(timeout=math.nan), ConfigurationError, ValueError),
    (
        "RetryPolicy(max_retries=-1)",
        lambda: RetryPolicy(max_retries=-1),
        ConfigurationError,
        ValueError,
    ),
    ("fetch() with neither id nor name", lambda: Pipeline.fetch(), ArgumentError, ValueError),
    (
        "RunHandler(task_id='')",
        lambda: RunHandler(pipeline_id="p", task_id=""),
        ArgumentError,
        ValueError,
    ),
    (
        "a handler's stream(after='')",
        lambda: RunHandler(pipeline_id="p", task_id="t").stream(after=""),
        ArgumentError,
        ValueError,
    ),
    (
        "run_status() with no id",
        lambda: Pipeline("p", id="0" * 24).run_status(),
        ArgumentTypeError,
        TypeError,
    ),
]


def _with_query() -> Pipeline:
    pipeline = Pipeline("with query")
    query = pipeline.add(name="query").input()
    pipeline.add(name="answer").output(query.text)
    return pipeline


def _with_count() -> Pipeline:
    pipeline = Pipeline("with count")
    count = pipeline.add(name="count").input(input_type="int32")
    pipeline.add(name="answer").output(count.value, output_type="int32")
    return pipeline


@pytest.mark.parametrize(("what", "call", "error", "builtin"), CASES, ids=[c[0] for c in CASES])
def test_the_common_mistakes_are_vectorshift_errors_and_still_their_builtin(
    what: str, call: object, error: type[Exception], builtin: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        call()  # type: ignore[operator]
    assert isinstance(caught.value, VectorshiftError)
    assert isinstance(caught.value, builtin)


def test_a_client_with_good_timeouts_is_built() -> None:
    import httpx

    Client(timeout=None)
    Client(timeout=0.5)
    Client(timeout=httpx.Timeout(5.0, connect=2.0))
    with pytest.raises(ConfigurationError, match=r"timeout\.read"):
        Client(timeout=httpx.Timeout(5.0, read=0))
