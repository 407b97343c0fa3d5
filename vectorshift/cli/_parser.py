"""The ``vectorshift`` command line: every command, its options and its help.

Built with the standard library's argparse: the command needs subcommands, help and usage
errors (exit 2), which argparse gives, and nothing that would earn a dependency every SDK
install carries (see docs/guides/cli.md). Each command names its handler as
``"module:function"`` under ``vectorshift.cli``, imported only once the line is parsed, so
``--help`` and usage errors never load the SDK's HTTP stack.
"""

from __future__ import annotations

import argparse
from typing import Any

from vectorshift._version import __version__

__all__ = ["parser"]

_EPILOG = (
    "exit codes: 0 done (the run succeeded, or is still running for 'runs status'), 1 the run "
    "failed or was cancelled, 2 usage or configuration error, 3 API error (after retries), "
    "4 --timeout ran out (the run goes on), 130 interrupted (the run goes on; the command "
    "that resumes it is printed). The key comes from --api-key, VECTORSHIFT_API_KEY or "
    "~/.vectorshift/config.toml ('vectorshift login'); the API root from --base-url or "
    "VECTORSHIFT_BASE_URL."
)


def _common(*, suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    group = common.add_argument_group("common options")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key (default: VECTORSHIFT_API_KEY, then the "
        "key 'vectorshift login' stored); never printed",
        **default,
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="API root (default: VECTORSHIFT_BASE_URL, then https://api.vectorshift.ai/v1)",
        **default,
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print JSON (JSON lines for streams) for programs",
        **default,
    )
    group.add_argument(
        "--debug", action="store_true", help="show the traceback of an error", **default
    )
    return common


def _leaf(
    commands: Any, name: str, handler: str, help_text: str, **kwargs: Any
) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        parents=[_common(suppress=True)],
        epilog=_EPILOG,
        **kwargs,
    )
    command.set_defaults(handler=handler)
    return command


def _pipeline_arg(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "pipeline", metavar="PIPELINE", help="the pipeline's name, or its id (24 hex digits)"
    )


def _run_args(command: argparse.ArgumentParser) -> None:
    _pipeline_arg(command)
    command.add_argument(
        "-i",
        "--input",
        action="append",
        metavar="KEY=VALUE",
        help="a run input; KEY=@FILE reads a file (the file itself for a file input), "
        "KEY=@- standard input; repeat for each input",
    )


def _run_ids(command: argparse.ArgumentParser) -> None:
    _pipeline_arg(command)
    command.add_argument("task", metavar="TASK", help="the run's task id, as start printed it")


def _timeout(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"give up {what} after this long (exit 4; the run goes on); default: no limit",
    )


def _pipelines(commands: Any) -> None:
    group = commands.add_parser(
        "pipelines",
        help="list, show, delete, export and apply pipelines",
        description="list, show, delete, export and apply pipelines",
    )
    sub = group.add_subparsers(dest="pipelines_command", metavar="COMMAND", required=True)
    listed = _leaf(sub, "list", "_pipelines:list_pipelines", "list the pipelines")
    listed.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listed.add_argument("--offset", type=int, default=0, help="skip this many first")
    _pipeline_arg(
        _leaf(
            sub,
            "show",
            "_pipelines:show_pipeline",
            "show a pipeline's inputs, outputs, nodes and graph",
        )
    )
    _pipeline_arg(_leaf(sub, "delete", "_pipelines:delete", "delete a pipeline"))
    export = _leaf(
        sub,
        "export",
        "_pipelines:export",
        "write a pipeline as JSON (name, description, graph) for 'apply'",
    )
    _pipeline_arg(export)
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    apply = _leaf(
        sub,
        "apply",
        "_pipelines:apply",
        "create or update the pipeline an exported file names, by its name",
    )
    apply.add_argument("file", metavar="FILE", help="a file 'pipelines export' wrote")
    apply.add_argument(
        "--dry-run", action="store_true", help="print what would change, change nothing"
    )


def _runs(commands: Any) -> None:
    group = commands.add_parser(
        "runs",
        help="check, wait for, watch and terminate a run by its ids",
        description="check, wait for, watch and terminate a run by its ids",
    )
    sub = group.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    _run_ids(_leaf(sub, "status", "_runs:status", "print a run's status once"))
    wait = _leaf(sub, "wait", "_runs:wait", "wait for a run to end; print its outputs")
    _run_ids(wait)
    _timeout(wait, "waiting")
    watch = _leaf(
        sub, "watch", "_runs:watch", "follow a run's events token by token, resuming after drops"
    )
    _run_ids(watch)
    watch.add_argument(
        "--after",
        metavar="EVENT_ID",
        help="start after this event id (as an interrupted watch printed it)",
    )
    _timeout(watch, "watching")
    _run_ids(_leaf(sub, "terminate", "_runs:terminate", "stop a run"))


def parser(program: str) -> argparse.ArgumentParser:
    """The whole command line, named ``program`` in its help."""
    top = argparse.ArgumentParser(
        prog=program,
        parents=[_common(suppress=False)],
        epilog=_EPILOG,
        description="Run and watch VectorShift pipelines from a shell.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = _leaf(commands, "run", "_runs:run", "run a pipeline and print its outputs")
    _run_args(run)
    run.add_argument(
        "--stream",
        action="store_true",
        help="print the outputs token by token as they are produced",
    )
    _timeout(run, "waiting")
    _run_args(
        _leaf(commands, "start", "_runs:start", "start a run in the background; print its task id")
    )
    _runs(commands)
    _pipelines(commands)
    local = commands.add_parser(
        "local",
        help="the local platform (vectorshift.local)",
        description="the local platform (vectorshift.local)",
    )
    local_commands = local.add_subparsers(dest="local_command", metavar="COMMAND", required=True)
    local_commands.add_parser(
        "serve",
        add_help=False,
        help="serve the API locally on SQLite (as vectorshift-local; "
        "'local serve --help' lists its options)",
    )
    login = _leaf(
        commands,
        "login",
        "_session:login",
        "store an API key in ~/.vectorshift/config.toml (read from standard input, or --api-key)",
    )
    login.add_argument(
        "--no-verify", action="store_true", help="store the key without checking it against the API"
    )
    _leaf(commands, "logout", "_session:logout", "remove the stored API key")
    return top
