"""Why the local server cannot start, said in one line that names the cause and the path.

A user meets these at the command line (``vectorshift-local --db ...``) or when a host app
starts the embedded server, so each is an :class:`OSError` whose message is the whole story
(``str(exc)``, no traceback needed) and whose ``errno`` is the condition's, when there is one:

- the database path is a directory, its directory is missing or read-only, or the file is not
  a SQLite database, cannot be read, or is read-only (:func:`check_database`);
- the port is out of range, or the address is in use or not available (:func:`listen`).

The checks run before anything is opened, so a refused start leaves nothing behind. Being root
passes the permission checks, as it passes SQLite's.
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3

__all__ = ["check_database", "create_private_database", "listen", "startup_error"]

_SQLITE_HEADER = b"SQLite format 3\x00"


def startup_error(code: int | None, message: str) -> OSError:
    """An :class:`OSError` whose ``str()`` is exactly ``message`` and whose errno is ``code``."""
    exc = OSError(message)
    exc.errno = code
    return exc


def check_database(path: str) -> None:
    """Refuse a database path SQLite could not open for writing, saying why.

    A missing file is fine (it is created); an empty one is refused later, by
    :func:`~vectorshift.local.db_integrity.check_integrity`, with the damaged ones.

    Raises:
        OSError: The path is unusable; the message names the cause and the absolute path.
    """
    full = os.path.abspath(path)
    directory = os.path.dirname(full)
    if os.path.isdir(full):
        raise startup_error(errno.EISDIR, f"the database path is a directory, not a file: {full}")
    if not os.path.isdir(directory):
        raise startup_error(errno.ENOENT, f"the database's directory does not exist: {directory}")
    if os.path.exists(full):
        if not os.access(full, os.R_OK):
            raise startup_error(errno.EACCES, f"the database file cannot be read: {full}")
        with open(full, "rb") as file:
            header = file.read(len(_SQLITE_HEADER))
        if header and header != _SQLITE_HEADER:
            raise startup_error(None, f"not a SQLite database: {full}")
        if not os.access(full, os.W_OK):
            raise startup_error(errno.EACCES, f"the database file is read-only: {full}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise startup_error(
            errno.EACCES,
            f"the database's directory is read-only (SQLite writes its journal beside the "
            f"file): {directory}",
        )


def create_private_database(path: str) -> None:
    """Create the database file at ``path`` mode 0600 when it does not exist yet.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so they are
    private too; the process's umask (usually 022) would otherwise leave all three readable by
    every user. The file is made a SQLite database at once (WAL mode, the store's), so it is
    never left empty. An existing file keeps its mode: it is the owner's choice.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.close(os.open(path, flags, 0o600))
    except FileExistsError:
        return
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()


def listen(host: str, port: int) -> socket.socket:
    """A non-blocking TCP socket bound to ``host:port`` and listening.

    Raises:
        OSError: The port is out of range, or the address cannot be bound; the message names
            the address and the cause, and ``errno`` is the system's.
    """
    if not 0 <= port <= 65535:
        raise startup_error(
            errno.EINVAL, f"port {port} is out of range (0-65535; 0 picks a free one)"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when proto says TCP.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            cause = "is already in use (stop what listens there, or pick another port)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            cause = "is not an address of this machine"
        else:
            cause = f"cannot be listened on: {exc.strerror or exc}"
        raise startup_error(exc.errno, f"{address} {cause}") from None
    except OverflowError as exc:
        sock.close()
        raise startup_error(errno.EINVAL, f"{address} cannot be listened on: {exc}") from None
    sock.setblocking(False)
    return sock
