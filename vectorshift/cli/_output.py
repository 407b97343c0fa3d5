"""What the command prints: results on stdout (for people, or JSON), errors and progress on stderr.

Exit codes are part of the command's interface (docs/guides/cli.md lists them); the table here
is their one home. Progress is drawn only when both stdout and stderr are terminals, so a
command in a pipe, a cron job or CI prints exactly its results.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TextIO, TypeVar

import anyio

from vectorshift.cli._messages import json_text, printable

__all__ = [
    "API_ERROR",
    "INTERRUPTED",
    "OK",
    "RUN_FAILED",
    "TIMED_OUT",
    "USAGE",
    "Output",
    "exit_code_of",
    "one_line",
    "show",
]

OK = 0
"""The command did what it was asked; a run it reports succeeded (or is still running)."""
RUN_FAILED = 1
"""The run failed or was cancelled."""
USAGE = 2
"""The command line or the configuration is wrong (argparse uses 2 too)."""
API_ERROR = 3
"""The API refused the request or could not be reached, after the client's retries."""
TIMED_OUT = 4
"""A ``--timeout`` ran out; the run goes on."""
INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it); the run goes on."""

_SPINNER = "|/-\\"
T = TypeVar("T")


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an exception that ended a command."""
    from vectorshift.errors import (
        ApiConnectionError,
        ApiError,
        ConfigurationError,
        PollTimeoutError,
        RunError,
        StreamError,
    )

    if isinstance(exc, PollTimeoutError):
        return TIMED_OUT
    if isinstance(exc, RunError):
        return RUN_FAILED
    if isinstance(exc, (ApiError, ApiConnectionError, StreamError)):
        return API_ERROR
    if isinstance(exc, (ConfigurationError, ValueError, KeyError, OSError)):
        return USAGE
    return API_ERROR


def one_line(exc: BaseException, message: str | None = None) -> str:
    """``exc`` as one line: its class and message, plus a request id it does not name yet.

    Args:
        exc: The exception.
        message: Its message as the command words it (:func:`~vectorshift.cli._messages.describe`);
            ``str(exc)`` by default.
    """
    text = " ".join((str(exc) if message is None else message).split()) or type(exc).__name__
    request_id = getattr(exc, "request_id", None)
    if request_id and request_id not in text:
        text += f" [request_id={request_id}]"
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0]
    return f"{type(exc).__name__}: {text}"


def show(value: Any) -> str:
    """A value for people: text as it is, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class Output:
    """Where one command writes.

    Args:
        json_mode: Print JSON documents (``--json``) instead of text for people.
        program: The command's name, as the user typed it, for messages.
        stdout: The result stream.
        stderr: The stream of errors, hints and progress.
    """

    def __init__(
        self,
        *,
        json_mode: bool,
        program: str,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.program = program
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._progress_shown = False

    @property
    def interactive(self) -> bool:
        """Whether progress may be drawn: stdout and stderr are both terminals."""
        return _isatty(self.stdout) and _isatty(self.stderr)

    def text(self, line: str = "", *, end: str = "\n") -> None:
        """Write text for people to stdout, now, its control characters shown escaped."""
        self.stdout.write(printable(line) + end)
        self.stdout.flush()

    def document(self, value: Any, *, stream: TextIO | None = None) -> None:
        """Write one JSON document (a line of JSON lines, for streams) to stdout, now."""
        target = stream or self.stdout
        target.write(json_text(json.dumps(value, ensure_ascii=False, default=str)) + "\n")
        target.flush()

    def outputs(self, outputs: Mapping[str, Any]) -> None:
        """A run's outputs for people: a single output's value alone, else ``name: value``."""
        if len(outputs) == 1:
            self.text(show(next(iter(outputs.values()))))
            return
        for name, value in outputs.items():
            self.text(f"{name}: {show(value)}")

    def note(self, message: str) -> None:
        """A line for people on stderr (hints, what was done); never part of the results."""
        self.stderr.write(printable(message) + "\n")
        self.stderr.flush()

    def error(
        self, exc: BaseException, message: str | None = None, *, resume: str | None = None
    ) -> None:
        """What an error gets on stderr: one line, or with ``--json`` one JSON object.

        Args:
            exc: The error.
            message: Its message as the command words it (``str(exc)`` by default).
            resume: The command line that picks the run up again, when the run goes on.
        """
        if not self.json_mode:
            self.note(f"{self.program}: error: {one_line(exc, message)}")
            if resume:
                self.note(f"the run goes on; resume with: {resume}")
            return
        shown = {
            "type": type(exc).__name__,
            "message": " ".join((str(exc) if message is None else message).split()),
            "request_id": getattr(exc, "request_id", None),
            "exit_code": exit_code_of(exc),
        }
        for name in ("status_code", "pipeline_id", "task_id", "trace_id"):
            value = getattr(exc, name, None)
            if value is not None:
                shown[name] = value
        if resume:
            shown["resume"] = resume
        self.document({"error": shown}, stream=self.stderr)

    async def waiting(self, describe: Callable[[], str], work: Callable[[], Awaitable[T]]) -> T:
        """Await ``work()``; past a second, draw ``describe()`` and a spinner on stderr.

        Nothing is drawn unless :attr:`interactive`; the line is erased when ``work`` ends.
        """
        if not self.interactive:
            return await work()
        outcome: list[T] = []
        failure: list[BaseException] = []

        async def guarded() -> None:
            try:
                outcome.append(await work())
            except BaseException as exc:  # re-raised below, outside the task group
                failure.append(exc)
            finally:
                group.cancel_scope.cancel()

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._draw, describe)
                await guarded()
        finally:
            self.clear_progress()
        if failure:
            raise failure[0]
        return outcome[0]

    async def _draw(self, describe: Callable[[], str]) -> None:
        await anyio.sleep(1.0)
        started = anyio.current_time() - 1.0
        frame = 0
        while True:
            elapsed = anyio.current_time() - started
            self.stderr.write(f"\r{_SPINNER[frame % 4]} {describe()} ({elapsed:.0f}s)\x1b[K")
            self.stderr.flush()
            self._progress_shown = True
            frame += 1
            await anyio.sleep(0.1)

    def clear_progress(self) -> None:
        """Erase the progress line, if one was drawn."""
        if self._progress_shown:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()
            self._progress_shown = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
