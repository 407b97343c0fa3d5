"""The handle a test gets of its local platform, and the context managers that make one.

:func:`local_platform` starts a fresh :class:`~vectorshift.local.LocalServer` (in this process,
on a free loopback port, on a temporary SQLite file, recording what happens) and points the
default client at it; :func:`shared_platform` gives a test its own organisation on a server
that outlives it. Both yield a :class:`LocalPlatform`. The pytest fixtures of
:mod:`vectorshift.testing.plugin` are these two context managers; code without pytest (unittest,
a notebook, a script) can use them directly.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from vectorshift import _client
from vectorshift._client import Client

if TYPE_CHECKING:
    from vectorshift.local import LocalServer
    from vectorshift.local.faults import FaultInjector
    from vectorshift.local.recording import LLMCall, RecordedRequest, RecordedRun
    from vectorshift.local.scripts import OrgScript, ScriptRule

__all__ = ["LocalPlatform", "local_platform", "shared_platform"]

_ENV_KEY, _ENV_URL = "VECTORSHIFT_API_KEY", "VECTORSHIFT_BASE_URL"
_orgs = itertools.count(1)


class LocalPlatform:
    """A local VectorShift platform seen from one test: where it is, what to script, what happened.

    What it lists is what the test's organisation did: requests sent with its key (and those
    with no key the server knows), runs of its pipelines and the LLM calls of those runs.

    Script rules added through :attr:`script` are the test's own: they answer only its
    organisation's runs. A rule that no call used is an error when the platform's block (the
    fixture) ends, as a mock whose expectations were not met: it usually means a misspelt node
    name, prompt or model. A test that means it sets ``assert_all_called = False``.

    Attributes:
        server: The running server (shared with other tests by :func:`shared_platform`).
        api_key: The key of the test's organisation; ``org`` is that organisation.
        client: A client of the platform, also the default client while the test runs.
        assert_all_called: Whether a script rule no call used fails the test at its end
            (default ``True``; also ``@pytest.mark.vectorshift_local(assert_all_called=False)``).

    Example:
        >>> with local_platform() as vs:
        ...     vs.script.add(node="writer", answer="Hello!")
        ...     pipeline = vectorshift.Pipeline.new(name="demo")  # uses vs.client
    """

    def __init__(
        self, server: LocalServer, api_key: str, org: str, *, assert_all_called: bool = True
    ) -> None:
        from vectorshift.local.scripts import OrgScript

        self.server = server
        self.api_key = api_key
        self.org = org
        self.client = Client(api_key=api_key, base_url=server.base_url)
        self.assert_all_called = assert_all_called
        self._script = OrgScript(server.script, org)

    def __repr__(self) -> str:
        return f"LocalPlatform(url={self.url!r}, org={self.org!r})"

    @property
    def url(self) -> str:
        """The base URL clients use, ``http://127.0.0.1:<port>/v1``."""
        return self.server.base_url

    @property
    def faults(self) -> FaultInjector:
        """The fault injector: ``faults.add(path=r"/run$", status=503, count=2)``.

        Rules hold for the whole server and are removed after the test; see
        :class:`~vectorshift.local.faults.FaultRule` for every field.
        """
        return self.server.faults

    @property
    def script(self) -> OrgScript:
        """The scripted LLM answers: ``script.add(node="classifier", answer="spam")``.

        Rules answer only this test's runs and are removed after the test; see
        :class:`~vectorshift.local.scripts.ScriptRule` for every field.
        """
        return self._script

    def check_all_called(self) -> None:
        """Fail when a script rule of this test was never used (unless ``assert_all_called``
        is off); the fixtures call it when the test's block ends without an error.

        Raises:
            AssertionError: naming each unused rule by what it matches.
        """
        unused = self._script.unused()
        if not unused or not self.assert_all_called:
            return
        shown = "; ".join(_rule_text(rule) for rule in unused)
        raise AssertionError(
            f"{len(unused)} script rule(s) of this test answered no LLM call: {shown}. A "
            "misspelt node name, prompt or model matches nothing; if the test means it, set "
            "vectorshift_local.assert_all_called = False or mark it "
            "@pytest.mark.vectorshift_local(assert_all_called=False)"
        )

    def requests(self, method: str = "*", path: str = "") -> list[RecordedRequest]:
        """The requests the platform received, oldest first.

        Args:
            method: Only this method (``"*"``: any).
            path: Only paths this regular expression is found in (e.g. ``r"/run$"``).

        Example:
            >>> starts = vs.requests("POST", r"/run$")
            >>> {r.idempotency_key for r in starts}
            {'order-42'}
        """
        pattern = re.compile(path)
        return [
            r
            for r in self.server.recorder.requests()
            if r.org in (self.org, None)
            and method.upper() in ("*", r.method)
            and pattern.search(r.path)
        ]

    def runs(self, pipeline_id: str | None = None) -> list[RecordedRun]:
        """The runs the platform started, oldest first, with their LLM calls.

        Example:
            >>> [run.status for run in vs.runs()]
            ['completed']
        """
        return [
            r
            for r in self.server.recorder.runs(self.org)
            if pipeline_id is None or r.pipeline_id == pipeline_id
        ]

    def llm_calls(self, node: str | None = None) -> list[LLMCall]:
        """The calls LLM nodes made, oldest first (of the node with this name or id, if given).

        Example:
            >>> vs.llm_calls("writer")[0].prompt
            'Write about tides'
        """
        return [
            c
            for c in self.server.recorder.llm_calls(self.org)
            if node is None or node in (c.node_name, c.node_id)
        ]

    def prompts(self, node: str | None = None) -> list[str]:
        """The user prompts LLM nodes got, oldest first (of one node, if given)."""
        return [call.prompt for call in self.llm_calls(node)]

    def wait_for_runs(self, timeout: float = 10.0) -> list[RecordedRun]:
        """Block until no run of the test's organisation is in progress; return the runs.

        For tests of code that starts background runs and returns. It blocks the calling
        thread (not the server), so an async test may call it between awaits.

        Raises:
            TimeoutError: A run is still in progress after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs()
            active = [r.task_id for r in runs if r.status == "in_progress"]
            if not active:
                return runs
            if time.monotonic() >= deadline:
                raise TimeoutError(f"runs still in progress after {timeout:g} s: {active}")
            time.sleep(0.005)

    def reset(self) -> None:
        """Remove every fault and script rule and forget what was recorded."""
        self.server.faults.clear()
        self.server.script.clear()
        self.server.recorder.clear()


@contextmanager
def default_client(platform: LocalPlatform) -> Iterator[Client]:
    """Point the default client, ``vectorshift.api_key``/``base_url`` and the environment at
    the platform for the block, and restore all of them after.

    The environment (``VECTORSHIFT_API_KEY``, ``VECTORSHIFT_BASE_URL``) covers ``Client()``
    objects built inside the block and subprocesses it starts.
    """
    import vectorshift

    saved_default = _client._default
    saved_module = (vectorshift.api_key, vectorshift.base_url)
    saved_env = {name: os.environ.get(name) for name in (_ENV_KEY, _ENV_URL)}
    _client._default = platform.client
    vectorshift.api_key, vectorshift.base_url = platform.api_key, platform.url
    os.environ[_ENV_KEY], os.environ[_ENV_URL] = platform.api_key, platform.url
    try:
        yield platform.client
    finally:
        _client._default = saved_default
        vectorshift.api_key, vectorshift.base_url = saved_module
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_RULE_FIELDS = (
    "name",
    "node",
    "prompt",
    "regex",
    "model",
    "provider",
    "answer",
    "answers",
    "tokens",
    "error",
    "count",
)


def _rule_text(rule: ScriptRule) -> str:
    given = (
        f"{name}={getattr(rule, name)!r}"
        for name in _RULE_FIELDS
        if getattr(rule, name) is not None
    )
    return f"ScriptRule({', '.join(given)})"


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    if "record" in settings and not settings["record"]:
        raise ValueError("a test platform always records (record=False is not available)")
    return {**settings, "record": True}


@contextmanager
def local_platform(*, assert_all_called: bool = True, **settings: Any) -> Iterator[LocalPlatform]:
    """A fresh local platform for the block, the default client pointed at it.

    The server runs in this process, on a free loopback port, with a temporary SQLite file
    deleted at the end, and records every request, run and LLM call.

    Args:
        assert_all_called: Fail at the end of the block when a script rule added through the
            platform was never used (:meth:`LocalPlatform.check_all_called`).
        **settings: :class:`~vectorshift.local.ServerConfig` fields (``max_active_runs``,
            ``script``, ``faults``, ``providers``...). Nothing is read from the environment.

    Example:
        >>> with local_platform(max_active_runs=2) as vs:
        ...     print(vs.url)  # doctest: +SKIP
    """
    from vectorshift.local import LocalServer, ServerConfig

    with LocalServer(ServerConfig(**_settings(settings))) as server:
        org = server.config.api_keys[server.api_key]
        platform = LocalPlatform(server, server.api_key, org, assert_all_called=assert_all_called)
        with default_client(platform):
            yield platform
        platform.check_all_called()


@contextmanager
def shared_platform(
    server: LocalServer, *, assert_all_called: bool = True
) -> Iterator[LocalPlatform]:
    """A new organisation on a running server for the block, the default client pointed at it.

    The organisation gets its own key, so its pipelines and runs are invisible to the other
    tests of the server (404) and its run limit is its own. Faults, script rules and records
    are the server's: they are emptied before and after the block (tests of one process run
    one at a time; with pytest-xdist each worker process has its own server).

    Args:
        server: A server started with ``record=True``.
        assert_all_called: Fail at the end of the block when a script rule added through the
            platform was never used (:meth:`LocalPlatform.check_all_called`).

    Raises:
        ValueError: The server does not record.
    """
    if not server.recorder.enabled:
        raise ValueError("shared_platform needs a server started with record=True")
    org = f"test-{next(_orgs)}"
    key = f"vs-test-{uuid.uuid4().hex}"
    server.config.api_keys[key] = org
    platform = LocalPlatform(server, key, org, assert_all_called=assert_all_called)
    platform.reset()
    try:
        with default_client(platform):
            yield platform
        platform.check_all_called()
    finally:
        platform.reset()
        server.config.api_keys.pop(key, None)
