"""The fixtures and marker of the pytest plugin (imported only when the extra is installed).

Nothing here imports the server until a fixture is used, so collecting tests stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from vectorshift.testing._platform import LocalPlatform, local_platform, shared_platform

if TYPE_CHECKING:
    from vectorshift.local import LocalServer

_MARKER = "vectorshift_local"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**settings): ServerConfig settings of the test's vectorshift_local "
        "platform (max_active_runs=2, script=[...], faults=[...], providers=...), and "
        "assert_all_called=False to allow script rules that no LLM call used",
    )


@pytest.fixture
def vectorshift_local(request: pytest.FixtureRequest) -> Iterator[LocalPlatform]:
    """A fresh local VectorShift platform for this test, the default client pointed at it.

    In-process, on a free loopback port, with a temporary SQLite file; stopped and deleted
    after the test, when the default client, ``vectorshift.api_key``/``base_url`` and the
    ``VECTORSHIFT_*`` environment are restored. Settings come from the
    ``@pytest.mark.vectorshift_local(...)`` marker (ServerConfig fields).

    Example:
        >>> def test_reply(vectorshift_local):
        ...     vectorshift_local.script.add(node="reply", answer="Thanks!")
    """
    settings = _marker_settings(request)
    with local_platform(**settings) as platform:
        yield platform


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes keyword arguments only")
        settings.update(marker.kwargs)
    return settings


@pytest.fixture(scope="session")
def vectorshift_local_server() -> Iterator[LocalServer]:
    """The local server behind ``vectorshift_local_shared``: one per session (per xdist worker)."""
    from vectorshift.local import LocalServer

    with LocalServer(record=True) as server:
        yield server


@pytest.fixture
def vectorshift_local_shared(
    request: pytest.FixtureRequest, vectorshift_local_server: LocalServer
) -> Iterator[LocalPlatform]:
    """This test's own organisation on the session's local platform: faster than a fresh one.

    Pipelines and runs of other tests are invisible to it (another organisation), and its
    script rules answer only its own runs, so a run another test left going never takes them;
    faults, script rules and records are emptied before and after the test. The default
    client is pointed at it for the test, as with ``vectorshift_local``. Of the marker's
    settings it reads only ``assert_all_called`` (the server is shared).
    """
    settings = _marker_settings(request)
    unknown = sorted(set(settings) - {"assert_all_called"})
    if unknown:
        raise pytest.UsageError(
            f"vectorshift_local_shared runs on the session's server: its marker takes only "
            f"assert_all_called, not {', '.join(unknown)} (use vectorshift_local for settings)"
        )
    with shared_platform(vectorshift_local_server, **settings) as platform:
        yield platform
