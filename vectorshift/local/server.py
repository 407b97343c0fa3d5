"""Run the local server inside the current process, on a loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from types import TracebackType
from typing import Any

import h11
import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from uvicorn.protocols.http.h11_impl import H11Protocol

from vectorshift import _log
from vectorshift.local.app import create_app
from vectorshift.local.config import DASHBOARD_CALLS, ServerConfig
from vectorshift.local.db_integrity import check_integrity
from vectorshift.local.faults import FaultInjector
from vectorshift.local.host_guard import HostGuard, is_loopback
from vectorshift.local.log_limits import install, loop_exception_handler, watched
from vectorshift.local.recording import Recorder
from vectorshift.local.runs import RunManager
from vectorshift.local.scripts import Script
from vectorshift.local.sqlite_store import SQLiteStore
from vectorshift.local.startup import (
    check_database,
    create_private_database,
    listen,
    startup_error,
)
from vectorshift.local.store import BlockingStore

logger = _log.get_logger("vectorshift.local")

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 10.0

# A guest in a host's process leaves the host's logging as it found it. uvicorn would
# reconfigure its loggers, which are the host's too when the host is a uvicorn app: its default
# log config replaces their handlers, a log level sets their levels, and ``access_log=False``
# empties the access logger and stops it propagating, so the host's own startup and access lines
# vanish. So the embedded server passes no log config and no level, writes no access lines (its
# protocol below), and takes what uvicorn logs from its thread off ``uvicorn.error`` (the filter
# below) to put it on ``vectorshift.local``, where the package's records go.
_UVICORN_LOGGER = "uvicorn.error"


class _HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers take too long.

    It writes no access lines: uvicorn's access logger belongs to the host app, if any.

    The clock starts when the connection opens and again when a request cycle ends (for the
    next request's headers), and stops once a request's headers are complete; at
    :attr:`header_timeout` seconds the connection is closed. uvicorn's own keep-alive timeout
    ends an idle connection but stops at the first byte received, so a client sending headers
    a byte at a time (or a half request) would hold the connection forever.

    Once the headers are complete, a second clock gives the body :attr:`body_timeout` seconds
    to arrive in full (however slowly it trickles): then the request is answered 408, if no
    answer began, and the connection closed.
    """

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 512
    open_connections: set[asyncio.BaseTransport]  # one set per server: see _protocol
    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False  # uvicorn's access logger is the host's, when embedded

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        _cancel(self._header_timer)
        self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.open_connections) >= self.max_connections:
            # Past the limit: answered at once and closed, never held (nor its descriptor).
            transport.write(
                _refusal(
                    503,
                    "Service Unavailable",
                    (
                        f"the local server has {self.max_connections} connections open, its limit; "
                        "retry when some have closed"
                    ),
                )
            )
            transport.close()
            return
        self.open_connections.add(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open_connections.discard(self.transport)
        self._disarm()
        self._disarm_body()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.body_timeout, self._body_too_slow)
        else:
            self._disarm_body()
        if self.conn.their_state is not h11.IDLE:
            self._disarm()
        elif self._header_timer is None and not self.transport.is_closing():
            self._arm()  # a new request cycle began (after a response, or pipelined)

    def _disarm_body(self) -> None:
        _cancel(self._body_timer)
        self._body_timer = None

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            cycle.response_started = True  # the app's own answer, if any, is not sent now
            self.transport.write(
                _refusal(
                    408,
                    "Request Timeout",
                    (
                        f"the request body did not arrive within {self.body_timeout:g} s (the body "
                        "timeout)"
                    ),
                )
            )
        self.transport.close()


def _cancel(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()


def _refusal(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP response, written on the transport outside any request cycle."""
    body = json.dumps({"status": "failed", "error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A client gone mid-body (or cut at the body timeout) is no server error: no traceback."""
    logger.debug(
        "client gone before its request body arrived: %s %s", request.method, request.url.path
    )
    return Response(status_code=400)  # never sent: nobody is listening


def _protocol(config: ServerConfig) -> type[H11Protocol]:
    return type(
        "HeaderTimeoutProtocol",
        (_HeaderTimeoutProtocol,),
        {
            "header_timeout": config.header_timeout,
            "body_timeout": config.body_timeout,
            "max_connections": config.max_connections,
            "open_connections": set(),
        },
    )


class _FromThread(logging.Filter):
    """Moves the records of one thread from uvicorn's logger to ``vectorshift.local``.

    Warnings and errors keep their level; uvicorn's lifecycle lines ("Started server
    process"...) become ``DEBUG``, as they describe the embedded server, not the host.
    """

    def __init__(self) -> None:
        super().__init__()
        self.thread_id: int | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread_id:
            return True
        level = record.levelno if record.levelno >= logging.WARNING else logging.DEBUG
        logger.log(level, "uvicorn: %s", record.getMessage(), exc_info=record.exc_info)
        return False


class LocalServer:
    """A VectorShift-compatible server on a loopback port, for tests, examples and notebooks.

    uvicorn runs in a daemon thread with its own event loop; :meth:`start` returns once the server
    accepts requests. Stopping ends the active runs (marked failed: the server stopped) and closes
    the sockets. The database survives :meth:`restart`.

    Leaving the ``with`` block (or :meth:`close`) also deletes the temporary database the
    server made when ``db_path`` was not given; a server only stopped keeps it, so it can start
    again on it, until it is garbage-collected.

    Args:
        config: Server settings; default: a fresh temporary database and the dev key.
        host: Interface to listen on.
        port: Port to listen on; 0 picks a free one.
        **settings: :class:`ServerConfig` fields (``providers="openai=real"``,
            ``db_path``...), used when ``config`` is not given.

    Attributes:
        config: The settings in force.
        faults: Fault injection rules and request counters (changeable while running).
        script: Scripted LLM answers (changeable while running).
        recorder: The requests, runs and LLM calls seen, when ``config.record`` is set.
        host: The interface listened on.

    In async code, use ``async with LocalServer() as server:``: starting and stopping then run
    in a worker thread instead of blocking the event loop.

    Example:
        >>> with LocalServer() as server:
        ...     url, key = server.base_url, server.api_key
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **settings: Any,
    ) -> None:
        if config is not None and settings:
            raise TypeError("give either a ServerConfig or settings, not both")
        self.config = config if config is not None else ServerConfig(**settings)
        self.host = host
        self._port = port
        self.faults = FaultInjector(self.config.faults)
        self.script = Script(self.config.script)
        self.recorder = Recorder(
            enabled=self.config.record, keep_calls=DASHBOARD_CALLS if self.config.dashboard else 0
        )
        self._dashboard_token: str | None = None
        if self.config.db_path is None:
            directory = tempfile.mkdtemp(prefix="vectorshift-local-")
            self._db_path = os.path.join(directory, "vectorshift.db")
            self._cleanup: weakref.finalize[Any, Any] | None = weakref.finalize(
                self, shutil.rmtree, directory, ignore_errors=True
            )
        else:
            self._db_path = self.config.db_path
            self._cleanup = None
        self._store: SQLiteStore | None = None
        self._runs: RunManager | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._log_filter: _FromThread | None = None

    @property
    def db_path(self) -> str:
        """The SQLite file in use."""
        return self._db_path

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://<host>:<port>/v1``: what a client uses as its base URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}/v1"

    @property
    def dashboard_url(self) -> str | None:
        """``http://<host>:<port>/?token=...``: the dashboard's address with this start's token
        (``None`` unless started with ``dashboard=True``). The token is new at each start."""
        if self._dashboard_token is None:
            return None
        return self.base_url.removesuffix("/v1") + f"/?token={self._dashboard_token}"

    @property
    def api_key(self) -> str:
        """A key the server accepts (the first configured one)."""
        return self.config.default_api_key

    @property
    def store(self) -> BlockingStore:
        """The open database (only while running), with blocking methods.

        Each call runs the store's coroutine on the server's event loop and waits for it, e.g.
        ``server.store.get_run("local", task_id)``; call it from any thread but the server's.
        """
        if self._store is None or self._loop is None:
            raise RuntimeError("the local server is not running")
        return BlockingStore(self._store, self._loop)

    @property
    def active_runs(self) -> int:
        """Runs executing in this server right now (0 when stopped)."""
        return 0 if self._runs is None else self._runs.active_count

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LocalServer:
        """Start serving and return once requests are accepted.

        Returns:
            The server itself.

        Raises:
            RuntimeError: Already running, or the server failed to start.
            OSError: The port is out of range or cannot be bound, or the database cannot be
                used; the message is one line naming the cause and the address or path.
        """
        if self._thread is not None:
            raise RuntimeError("the local server is already running")
        check_database(self._db_path)
        check_integrity(self._db_path)
        sock = listen(self.host, self._port)
        try:
            create_private_database(self._db_path)
            store = SQLiteStore(self._db_path)
        except (sqlite3.Error, RuntimeError) as exc:
            sock.close()
            path = os.path.abspath(self._db_path)
            raise startup_error(None, f"cannot open the database {path}: {exc}") from None
        self._port = sock.getsockname()[1]
        app = create_app(
            self.config,
            store=store,
            faults=self.faults,
            script=self.script,
            recorder=self.recorder,
        )
        self._store, self._runs = store, app.state.runs
        app.add_exception_handler(ClientDisconnect, _client_gone)
        served: Any = app
        if self.config.dashboard:
            from vectorshift.local.dashboard import dashboard_router

            self._dashboard_token = secrets.token_urlsafe(24)
            served = dashboard_router(app, token=self._dashboard_token, port=self._port)
        if is_loopback(self.host):
            served = HostGuard(served, host=self.host, port=self._port)
        config = uvicorn.Config(
            served,
            log_config=None,
            log_level=None,
            lifespan="on",
            http=_protocol(self.config),
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._uvicorn, self._failure = server, None
        ready = threading.Event()

        install(logger.logger)  # repeated warnings and errors: once per interval, counted
        log_filter = self._log_filter = _FromThread()
        logging.getLogger(_UVICORN_LOGGER).addFilter(log_filter)

        def serve() -> None:
            log_filter.thread_id = threading.get_ident()

            async def main() -> None:
                self._loop = asyncio.get_running_loop()
                self._loop.set_exception_handler(loop_exception_handler(logger.logger))
                await server.serve(sockets=[sock])

            try:
                with watched():
                    asyncio.run(main())
            except BaseException as exc:
                self._failure = exc
            finally:
                sock.close()
                ready.set()

        self._thread = threading.Thread(target=serve, name="vectorshift-local", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            ready.wait(0.005)
        if not server.started:
            self._teardown()
            raise RuntimeError(f"the local server failed to start: {self._failure!r}")
        return self

    def stop(self) -> None:
        """Stop serving: end active runs, close the sockets and the database. Idempotent."""
        if self._thread is None:
            return
        loop, runs, server = self._loop, self._runs, self._uvicorn
        if loop is not None and runs is not None and self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(runs.shutdown(), loop)
            try:
                future.result(_STOP_TIMEOUT)
            except Exception:
                future.cancel()
        if server is not None:
            server.should_exit = True
        self._thread.join(_STOP_TIMEOUT)
        if self._thread.is_alive() and server is not None:
            server.force_exit = True
            self._thread.join(_STOP_TIMEOUT)
        self._teardown()

    def _teardown(self) -> None:
        if self._log_filter is not None:
            logging.getLogger(_UVICORN_LOGGER).removeFilter(self._log_filter)
            self._log_filter = None
        if self._store is not None:
            self._store.close()
        self._store = self._runs = self._uvicorn = self._loop = self._thread = None

    def restart(self) -> LocalServer:
        """Stop, then start again on the same database and, if it is free, the same port."""
        self.stop()
        try:
            return self.start()
        except OSError:
            self._port = 0
            return self.start()

    def __enter__(self) -> LocalServer:
        return self.start()

    async def astart(self) -> LocalServer:
        """:meth:`start` without blocking the event loop: it runs in a worker thread.

        Starting binds a socket, opens the database and waits for uvicorn's thread (some
        0.3 s); done on the loop's own thread, that would stall every other task meanwhile.
        Works under asyncio and trio.
        """
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.start)

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop: it runs in a worker thread."""
        import anyio.to_thread

        await anyio.to_thread.run_sync(self.close)

    async def __aenter__(self) -> LocalServer:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop, and delete the temporary database this server made (none with ``db_path``).

        Leaving the ``with`` block does this. A process ended by a signal collects no garbage,
        so code that stops the server on a signal should call this rather than :meth:`stop`.
        """
        self.stop()
        if self._cleanup is not None:
            self._cleanup()
