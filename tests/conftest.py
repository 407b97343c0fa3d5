"""Shared test fixtures.

Every async test runs on asyncio and on trio (anyio's pytest plugin, parametrised through the
``anyio_backend`` fixture below).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from vectorshift import Client, RetryPolicy

if TYPE_CHECKING:
    from vectorshift.local import LocalServer
    from vectorshift.local.faults import FaultInjector


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    """One real vectorshift.local server on loopback for the whole session."""
    from vectorshift.local import LocalServer, ServerConfig

    with LocalServer(ServerConfig(max_active_runs=64, retry_after=1.0)) as running:
        yield running


@pytest.fixture
def faults(server: LocalServer) -> Iterator[FaultInjector]:
    """The server's fault injector, emptied before and after the test."""
    server.faults.clear()
    yield server.faults
    server.faults.clear()


@pytest.fixture
def client(server: LocalServer) -> Client:
    """A client of the session server with quick retries (tests should not sleep long)."""
    return Client(
        api_key=server.api_key,
        base_url=server.base_url,
        retry=RetryPolicy(max_retries=3, backoff_base=0.05, max_backoff=0.2),
    )
