"""Shared test fixtures.

Every async test runs on asyncio and on trio (anyio's pytest plugin, parametrised through the
``anyio_backend`` fixture below).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from vectorshift import Client, RetryPolicy
from vectorshift._log import DOCUMENTED_FORMAT

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


class _DocumentedFormatCheck(logging.Handler):
    """Formats every record of the package with the documented format, noting failures."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.documented = logging.Formatter(DOCUMENTED_FORMAT)
        self.formatted = 0
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.documented.format(record)
        except Exception as exc:
            self.errors.append(f"{record.name} {record.msg!r}: {exc!r}")
            return
        if record.getMessage().startswith("vectorshift:"):
            self.errors.append(f"{record.name} repeats the logger name: {line!r}")
        self.formatted += 1


_FORMAT_CHECK = _DocumentedFormatCheck()


@pytest.fixture(scope="session", autouse=True)
def _every_record_formats_with_the_documented_format() -> Iterator[None]:
    """For the whole session, every record of the package (at any level) goes through the check."""
    package = logging.getLogger("vectorshift")
    level = package.level
    package.addHandler(_FORMAT_CHECK)
    package.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        package.removeHandler(_FORMAT_CHECK)
        package.setLevel(level)
    assert not _FORMAT_CHECK.errors, _FORMAT_CHECK.errors


@pytest.fixture(autouse=True)
def _no_record_of_this_test_broke_the_format() -> Iterator[None]:
    seen = len(_FORMAT_CHECK.errors)
    yield
    broken = _FORMAT_CHECK.errors[seen:]
    if broken:
        del _FORMAT_CHECK.errors[seen:]
        pytest.fail(f"log records the documented format cannot format: {broken}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(
        f"log records formatted with the documented format: {_FORMAT_CHECK.formatted}"
    )
