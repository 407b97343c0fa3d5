"""Command line: ``python -m vectorshift.local``, installed as ``vectorshift-local``.

The same command is ``vectorshift local serve``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from vectorshift._version import __version__
from vectorshift.local.cli_keys import ENV_KEY, database_key, resolve_keys
from vectorshift.local.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RUN_SIZE,
    DEFAULT_MAX_VALUE_SIZE,
    DEFAULT_ORG,
    ServerConfig,
    parse_duration,
)
from vectorshift.local.faults import parse_rules
from vectorshift.local.scripts import read_script
from vectorshift.local.startup import check_database

_LOG_LEVELS = ("debug", "info", "warning", "error")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FAULTS_HELP = (
    "fault-injection rules: a JSON object or a list of them, each with 'method' (default '*'), "
    "'path' (a regular expression), and what to do: 'status' (with optional 'retry_after' "
    "seconds and 'body'), 'delay' (seconds), 'drop' (true: close the connection), "
    "'cut_after_frames' (end an event stream after N frames); optional 'count', "
    "'probability' and 'when' ('before' or 'after' the handler); default none, e.g. "
    """'{"method": "POST", "path": "/run$", "status": 503, "retry_after": 1, "count": 2}'"""
)
_SCRIPT_HELP = (
    "a JSON file of scripted LLM answers, asked before any provider: a rule object, a list of "
    "them, or {\"rules\": [...]}; each matches by 'prompt' (exact), 'regex', 'node' (name or "
    "id), 'model' or 'provider', and gives 'answer', 'answers' (a queue), 'tokens' or 'error', "
    "with optional 'token_delay_ms' and 'count'; unscripted calls go to the providers as usual, "
    """e.g. [{"node": "classifier", "answers": ["spam", "ham"]}]"""
)


def _program() -> str:
    """The name the user typed: ``vectorshift-local``, or ``python -m vectorshift.local``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not name or name in ("__main__.py", "-c", "-m"):
        return "python -m vectorshift.local"
    return name


def _parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or _program(),
        description="Serve the VectorShift v1 API locally (pipelines, runs, streams) on SQLite. "
        "LLM nodes of every provider are answered by a simulated model (offline, "
        "deterministic) unless --providers asks for real ones.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8600, help="port (default %(default)s; 0: any free one)"
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="SQLite file to keep data in (default: a temporary file, deleted at exit)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY[=ORG]",
        action="append",
        help="accepted API key, optionally with its organisation (default: a key made for "
        "the database and kept in PATH.key beside it, with organisation "
        f"{DEFAULT_ORG}; a new one for a temporary database); repeat for several. A key in "
        f"the command line is visible to other users (ps): prefer --api-key-file or {ENV_KEY}",
    )
    parser.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the accepted keys from a file, one KEY[=ORG] a line, instead of the command "
        f"line; the environment variable {ENV_KEY}=KEY[=ORG] gives one key too (used when "
        "neither --api-key nor --api-key-file is given)",
    )
    parser.add_argument(
        "--max-active-runs",
        type=int,
        default=32,
        metavar="N",
        help="runs an organisation may have in progress at once (default %(default)s); one "
        "more answers 429",
    )
    parser.add_argument(
        "--retain",
        metavar="DURATION",
        type=_duration,
        default="7d",
        help="keep the stream events of finished runs this long, e.g. 90 (seconds), 30m, 12h, "
        "7d (default %(default)s); then only each run's status and result frame stay",
    )
    parser.add_argument(
        "--providers",
        metavar="SPEC",
        default="simulated",
        help="which LLM providers are called for real: 'real' (all), 'openai=real' (one, "
        "with OPENAI_API_KEY set), or a comma-separated mix; the others are simulated "
        "(default: every provider simulated)",
    )
    parser.add_argument("--faults", metavar="JSON", help=_FAULTS_HELP)
    parser.add_argument("--script", metavar="FILE", help=_SCRIPT_HELP)
    parser.add_argument(
        "--no-dashboard",
        action="store_true",
        help="serve the API only: no dashboard pages at / (by default the server prints a "
        "'dashboard:' address holding a token made at each start)",
    )
    parser.add_argument(
        "--log-level",
        choices=_LOG_LEVELS,
        default="info",
        help="level of the server's log on stderr (default %(default)s)",
    )
    _add_limits(parser)
    return parser


_LIMITS: tuple[tuple[str, str, type, float, str], ...] = (
    (
        "--header-timeout",
        "SECONDS",
        float,
        DEFAULT_HEADER_TIMEOUT,
        "close a connection whose request headers take longer than this",
    ),
    (
        "--body-timeout",
        "SECONDS",
        float,
        DEFAULT_BODY_TIMEOUT,
        "answer 408 and close a connection whose request body takes longer than this to arrive, "
        "once its headers are complete",
    ),
    (
        "--max-connections",
        "N",
        int,
        DEFAULT_MAX_CONNECTIONS,
        "connections open at once (streams included); one more is answered 503 and closed",
    ),
    (
        "--max-value-size",
        "CHARS",
        int,
        DEFAULT_MAX_VALUE_SIZE,
        "largest value one node may produce or read through its references, in characters; past "
        "it the run fails naming the node",
    ),
    (
        "--max-run-size",
        "CHARS",
        int,
        DEFAULT_MAX_RUN_SIZE,
        "most characters all node values of one run may add up to; past it the run fails naming "
        "the node",
    ),
)


def _add_limits(parser: argparse.ArgumentParser) -> None:
    limits = parser.add_argument_group("limits")
    for flag, metavar, kind, default, text in _LIMITS:
        limits.add_argument(
            flag,
            metavar=metavar,
            type=kind,
            default=kind(default),
            help=f"{text} (default {format(default, 'g') if kind is float else int(default)})",
        )
    parser.epilog = (
        "Limits: request bodies up to 32 MiB (413 past it); 256 runs per bulk run; "
        "--max-active-runs runs in progress per organisation (429 past it); request headers "
        "within --header-timeout and bodies within --body-timeout (408 past it); at most "
        "--max-connections connections (503 past it); idle keep-alive connections close "
        "after 5 s; streams send a "
        "keep-alive comment after 15 s of silence; each run's node values within "
        "--max-value-size and --max-run-size."
    )


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "header_timeout": args.header_timeout,
        "body_timeout": args.body_timeout,
        "max_connections": args.max_connections,
        "max_value_size": args.max_value_size,
        "max_run_size": args.max_run_size,
    }


def _configure_logging(level: str) -> None:
    """Print the package's records (the server's log) on stderr, at ``level`` and above."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    package = logging.getLogger("vectorshift")
    package.addHandler(handler)
    package.setLevel(level.upper())


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _api_keys(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    try:
        keys = resolve_keys(args.api_key, args.api_key_file, os.environ)
    except OSError as exc:
        parser.error(f"--api-key-file: cannot read {args.api_key_file}: {exc.strerror or exc}")
    except ValueError as exc:
        parser.error(f"--api-key/--api-key-file/{ENV_KEY}: {exc}")
    if keys:
        return keys
    try:
        return {database_key(args.db): DEFAULT_ORG}
    except (OSError, ValueError) as exc:
        try:
            check_database(args.db)  # an unusable database says so, as the start would
        except OSError as unusable:
            print(f"vectorshift.local: cannot start: {unusable}", file=sys.stderr)
            raise SystemExit(1) from None
        parser.error(f"cannot read or make the database's key file {args.db}.key: {exc}")


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the server until interrupted (Ctrl-C or SIGTERM).

    ``vectorshift local serve`` is this command under another name: it calls this function
    with its own ``prog``, so both take the same options.

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).
        prog: The command's name in its help and messages (default: as typed).

    Returns:
        The exit status.
    """
    parser = _parser(prog)
    args = parser.parse_args(argv)
    faults: list[dict[str, Any]] = []
    if args.faults:
        try:
            parse_rules(args.faults)
        except (ValueError, TypeError) as exc:
            parser.error(f"--faults: {exc}")
        loaded = json.loads(args.faults)
        faults = loaded if isinstance(loaded, list) else [loaded]
    script: list[dict[str, Any]] = []
    if args.script:
        try:
            script = read_script(args.script)
        except (OSError, ValueError) as exc:
            parser.error(f"--script: {exc}")
    try:
        config = ServerConfig.from_env(
            db_path=args.db,
            api_keys=_api_keys(parser, args),
            max_active_runs=args.max_active_runs,
            faults=faults,
            script=script,
            retain=args.retain,
            **_limits(args),
            providers=args.providers,
            dashboard=not args.no_dashboard,
        )
    except ValueError as exc:
        parser.error(str(exc))
    _configure_logging(args.log_level)

    from vectorshift.local.host_guard import is_loopback
    from vectorshift.local.server import LocalServer

    server = LocalServer(config, host=args.host, port=args.port)
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        server.close()
        print(f"vectorshift.local: cannot start: {exc}", file=sys.stderr)
        return 1
    # What the process holds now (modules, the app, the server) lives until exit: moved out of
    # the collector's sight, a full collection during a big run walks the run's objects only,
    # and pauses every request for that much less (issue 24, point 6). Only this command does
    # it: an embedded server does not change its host's collector.
    gc.freeze()
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if not is_loopback(args.host):
        print(
            f"vectorshift.local: warning: listening on {args.host}, beyond loopback: other "
            "machines can reach this server, and no Host check protects it from DNS rebinding",
            file=sys.stderr,
            flush=True,
        )
    print(f"vectorshift.local serving at {server.base_url}")
    print(f"  VECTORSHIFT_BASE_URL={server.base_url}")
    print(f"  VECTORSHIFT_API_KEY={server.api_key}")
    print(f"  database: {server.db_path}")
    if server.dashboard_url is not None:
        print(f"dashboard: {server.dashboard_url}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
