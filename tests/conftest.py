"""Shared test fixtures.

Every async test runs on asyncio and on trio (anyio's pytest plugin, parametrised through the
``anyio_backend`` fixture below).
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
