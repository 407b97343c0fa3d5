"""A small async class written the way the SDK writes its public classes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from types import TracebackType
from typing import Any, Literal, overload

import anyio
import anyio.lowlevel
from typing_extensions import Self

from ._generated_widget import WidgetSync
from ._types import NOT_GIVEN, AsyncStream, Label, NotGiven


class Widget(WidgetSync):
    """Counts things, asynchronously."""

    def __init__(self, scale: int = 1) -> None:
        self.scale = scale
        self.events: list[str] = []

    @classmethod
    async def anew(cls, scale: int = 2) -> Self:
        """Create a widget.

        Example:
            >>> widget = await Widget.anew(3)
            >>> await widget.amultiply(2)
        """
        await anyio.lowlevel.checkpoint()
        return cls(scale)

    async def amultiply(
        self, value: int, /, factor: int = 2, *, label: str | NotGiven = NOT_GIVEN
    ) -> Label:
        """Multiply ``value`` by the scale and ``factor``; :meth:`atotal` adds instead.

        Example:
            >>> await widget.amultiply(2, label="double")
        """
        await anyio.lowlevel.checkpoint()
        name = "product" if isinstance(label, NotGiven) else label
        return name, value * factor * self.scale

    async def atotal(self, *values: int, **weights: float) -> float:
        """Add ``values`` up, each key of ``weights`` adding its weight as well."""
        await anyio.lowlevel.checkpoint()
        return sum(values) * self.scale + sum(weights.values())

    async def acount(self, limit: int) -> AsyncIterator[int]:
        """Yield 0, 1, ... up to ``limit``, then record that the counter was closed.

        Example:
            >>> async for number in widget.acount(3):
            ...     print(number)
        """
        try:
            for number in range(limit):
                await anyio.lowlevel.checkpoint()
                yield number
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
            self.events.append("count closed")

    def aopen(self, limit: int) -> AsyncStream[int]:
        """A stream of ``limit`` numbers; use it with ``async with``."""
        return AsyncStream(list(range(limit)), self.events)

    @overload
    async def afetch(self, key: str, *, stream: Literal[False] = False) -> str: ...

    @overload
    async def afetch(self, key: str, *, stream: Literal[True]) -> AsyncStream[str]: ...

    async def afetch(self, key: str, *, stream: bool = False) -> str | AsyncStream[str]:
        """The value of ``key``, or with ``stream=True`` a stream of its characters."""
        await anyio.lowlevel.checkpoint()
        return AsyncStream(list(key), self.events) if stream else key.upper()

    @overload
    def aread(self, key: str, *, stream: Literal[False] = False) -> Coroutine[Any, Any, str]: ...

    @overload
    def aread(self, key: str, *, stream: Literal[True]) -> AsyncStream[str]: ...

    def aread(
        self, key: str, *, stream: bool = False
    ) -> Coroutine[Any, Any, str] | AsyncStream[str]:
        """Like :meth:`afetch`, but the stream is returned without awaiting anything."""
        if not key:
            raise ValueError("an empty key is refused at the call")
        return AsyncStream(list(key), self.events) if stream else self._upper(key)

    async def _upper(self, key: str) -> str:
        await anyio.lowlevel.checkpoint()
        return key.upper()

    def aread_later(self, key: str) -> Coroutine[Any, Any, str]:
        """A plain def returning a coroutine only."""
        return self._upper(key)

    async def alist(self) -> list[int]:
        """Everything counted so far."""
        await anyio.lowlevel.checkpoint()
        return list(range(self.scale))

    async def asorted(self, values: list[int]) -> list[int]:
        """``values`` in order (its annotations are written after a twin named ``list``)."""
        await anyio.lowlevel.checkpoint()
        return sorted(values)

    async def afail(self, message: str) -> None:
        """Raise ``LookupError(message)``."""
        await anyio.lowlevel.checkpoint()
        raise LookupError(message)

    @staticmethod
    async def aversion() -> str:
        """The widget protocol version."""
        await anyio.lowlevel.checkpoint()
        return "1.0"

    async def __aenter__(self) -> Self:
        self.events.append("entered")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.events.append(f"exited ({exc_type.__name__ if exc_type else 'cleanly'})")

    def append(self, event: str) -> None:
        """An ordinary method whose name starts with "a": it gets no twin."""
        self.events.append(event)

    async def _arefresh(self) -> None:
        """Private: no twin."""
