import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio here; add "trio" (and install trio) to run them on both."""
    return "asyncio"
