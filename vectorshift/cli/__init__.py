"""The ``vectorshift`` command (also ``python -m vectorshift``): pipelines and runs from a shell.

Nothing here is imported by ``import vectorshift``. Each command is a coroutine run on its
own event loop; Ctrl-C cancels it cleanly (connections closed, progress erased) and exits 130,
printing the command that resumes the run, which goes on: waiting and watching only read it.
Errors are one line on stderr with the ids they concern (the traceback only with
``--debug``), and the exit code says what happened (see :mod:`vectorshift.cli._output`).
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Sequence

from vectorshift.cli._context import Context
from vectorshift.cli._messages import describe
from vectorshift.cli._output import (
    API_ERROR,
    INTERRUPTED,
    OK,
    TIMED_OUT,
    USAGE,
    Output,
    exit_code_of,
)
from vectorshift.cli._parser import parser

__all__ = ["main"]

Handler = Callable[[Context], Awaitable[int]]


def _program() -> str:
    """The name the user typed: ``vectorshift``, or ``python -m vectorshift``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not name or name in ("__main__.py", "-c", "-m"):
        return "python -m vectorshift"
    return name


def _serve(argv: list[str], program: str) -> int:
    try:
        from vectorshift.local.__main__ import main as serve
    except ImportError as exc:
        print(
            f"{program}: error: the local platform needs its extra: "
            "install the SDK with its 'local' extra, or its packages: "
            f"pip install starlette uvicorn python-multipart ({exc})",
            file=sys.stderr,
        )
        return USAGE
    return serve(argv, prog=program)


async def _until_interrupted(handler: Handler, ctx: Context) -> int:
    """Run ``handler``; on SIGINT cancel it, let it clean up, then raise KeyboardInterrupt."""
    import anyio

    if threading.current_thread() is not threading.main_thread():
        return await handler(ctx)
    outcome: list[int] = []
    failure: list[BaseException] = []
    interrupted = False

    async def command() -> None:
        try:
            outcome.append(await handler(ctx))
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:  # re-raised below, outside the task group
            failure.append(exc)
        finally:
            group.cancel_scope.cancel()

    async def on_sigint() -> None:
        nonlocal interrupted
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                interrupted = True
                group.cancel_scope.cancel()
                return

    async with anyio.create_task_group() as group:
        group.start_soon(on_sigint)
        await command()
    if interrupted:
        raise KeyboardInterrupt
    if failure:
        raise failure[0]
    return outcome[0]


def _debug_logging() -> None:
    from vectorshift._log import DOCUMENTED_FORMAT

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(DOCUMENTED_FORMAT))
    package = logging.getLogger("vectorshift")
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line and return its exit code.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        0, 1 (the run failed or was cancelled), 2 (usage), 3 (API error), 4 (timed out) or
        130 (interrupted).
    """
    import anyio

    words = list(sys.argv[1:] if argv is None else argv)
    program = _program()
    if words[:2] == ["local", "serve"]:
        return _serve(words[2:], f"{program} local serve")
    args = parser(program).parse_args(words)
    out = Output(json_mode=args.json, program=program)
    ctx = Context(args, out)
    module, _, function = args.handler.partition(":")
    handler: Handler = getattr(importlib.import_module(f"vectorshift.cli.{module}"), function)
    if args.debug:
        _debug_logging()
    try:
        return anyio.run(_until_interrupted, handler, ctx)
    except KeyboardInterrupt:
        out.clear_progress()
        out.note(f"{program}: interrupted")
        if ctx.resume:
            out.note(f"the run goes on; resume with: {ctx.resume}")
        return INTERRUPTED
    except BrokenPipeError:
        # The reader left (``| head``): what it did not read is not an error of the command.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except Exception as exc:
        out.clear_progress()
        if args.debug:
            traceback.print_exc()
        code = exit_code_of(exc)
        resume = ctx.resume if code in (TIMED_OUT, API_ERROR) else None
        out.error(exc, describe(exc, args), resume=resume)
        return code
