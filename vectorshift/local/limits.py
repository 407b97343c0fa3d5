"""How much one run may build: the limits that stop a small pipeline from making a huge output.

A text node whose input is ``{{ prev.text }}{{ prev.text }}`` doubles its input; twenty of them
in a row turn a few bytes into megabytes, thirty into gigabytes. The engine measures as it goes,
so no node ever builds more than the limit (plus one interpolated piece) before the run fails:

- what a node interpolates into its inputs (references inside longer strings; a lone reference
  copies nothing), and what an ``llm`` node streams, at most ``max_value_size`` characters;
- each output value of a node, at most ``max_value_size`` characters;
- the output values of every node of the run, sub-pipelines included, at most
  ``max_run_size`` characters in all.

Sizes are characters of a value's text form, counted cheaply by :func:`value_size`. Bounded
this way, no node's rendering holds the event loop for long.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vectorshift.local.nodes import NodeError

__all__ = ["Meter", "value_size"]


def value_size(value: Any, limit: float = float("inf")) -> int:
    """About how many characters ``value``'s text form holds (exact for a string).

    Containers count their items plus a character of punctuation each; scalars other than
    strings count 8. Counting stops once past ``limit``, so measuring a huge value is cheap.

    Example:
        >>> value_size(["ab", {"k": "xyz"}])
        12
    """
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += 1 + len(item)
            for key, child in item.items():
                total += len(key) if isinstance(key, str) else 8
                stack.append(child)
        elif isinstance(item, (list, tuple)):
            total += 1 + len(item)
            stack.extend(item)
        else:
            total += 8
    return total


class Meter:
    """What one run (sub-pipelines included) has produced, against its limits.

    Args:
        max_value_size: Most characters per value; ``None``: unbounded.
        max_run_size: Most characters in all; ``None``: unbounded.
    """

    def __init__(self, max_value_size: int | None, max_run_size: int | None) -> None:
        inf = float("inf")
        self.value_limit: float = inf if max_value_size is None else max_value_size
        self.run_limit: float = inf if max_run_size is None else max_run_size
        self.total = 0

    def reading(self, what: str) -> Callable[[int], None]:
        """A counter of what one node builds piece by piece (its inputs, its streamed answer).

        Args:
            what: Names it in the error (``"its inputs"``).
        """
        read = 0

        def count(size: int) -> None:
            nonlocal read
            read += size
            if read > self.value_limit:
                raise NodeError(
                    f"{what} would hold more than {self.value_limit:.0f} characters "
                    "(the server's limit per value, --max-value-size)"
                )

        return count

    def produced(self, result: dict[str, Any]) -> None:
        """Check a node's outputs against both limits and add them to the run's total."""
        for field, value in result.items():
            size = value_size(value, self.value_limit)
            if size > self.value_limit:
                raise NodeError(
                    f"its output '{field}' holds more than {self.value_limit:.0f} characters "
                    "(the server's limit per value, --max-value-size)"
                )
            self.total += size
            if self.total > self.run_limit:
                raise NodeError(
                    f"the run's values would exceed {self.run_limit:.0f} characters in all "
                    "(the server's limit per run, --max-run-size)"
                )
