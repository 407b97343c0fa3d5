"""Types the sample class uses in its signatures, imported relatively as in the SDK."""

from __future__ import annotations

from types import TracebackType
from typing import Generic, TypeVar

import anyio.lowlevel
from typing_extensions import Self

T = TypeVar("T")
Label = tuple[str, int]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an argument the caller left out."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


class AsyncStream(Generic[T]):
    """An SDK-style stream over fixed items: async iterator and async context manager."""

    def __init__(self, items: list[T], events: list[str]) -> None:
        self._items = list(items)
        self.events = events

    async def __aenter__(self) -> Self:
        self.events.append("stream entered")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        await anyio.lowlevel.checkpoint()
        if not self._items:
            raise StopAsyncIteration
        return self._items.pop(0)

    async def aclose(self) -> None:
        if "stream closed" not in self.events:
            self.events.append("stream closed")
