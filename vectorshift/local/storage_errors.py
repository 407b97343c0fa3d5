"""Storage failures: the database file cannot be written (disk full, I/O error, read-only...).

SQLite reports these as :class:`sqlite3.OperationalError` (``database or disk is full``,
``disk I/O error``, ``attempt to write a readonly database``...) or as a bare
:class:`sqlite3.DatabaseError` (``database disk image is malformed``). They are not bugs of the
request that met them: a request answers 503 naming the cause, with a ``Retry-After``
(:func:`vectorshift.local.responses.on_internal_error`), and a run whose writes failed ends
``failed`` with the cause once writes work again (:mod:`vectorshift.local.run_finish`).
"""

from __future__ import annotations

import sqlite3

__all__ = ["STORAGE_RETRY_AFTER", "storage_error", "storage_failure"]

STORAGE_RETRY_AFTER = 5
"""Seconds announced in ``Retry-After`` when the database cannot be written."""

_PREFIX = "storage full or failing: "
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")


def storage_failure(exc: BaseException) -> sqlite3.DatabaseError | None:
    """The storage failure ``exc`` is, wraps or groups (first found), else ``None``.

    Constraint violations and misuse (:class:`sqlite3.IntegrityError`,
    :class:`sqlite3.ProgrammingError`...) are not storage failures, nor is a busy database
    (``database is locked``: another connection holds the write lock for a while).
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if (
            isinstance(current, sqlite3.DatabaseError)
            and type(current) in (sqlite3.OperationalError, sqlite3.DatabaseError)
            and not _busy(current)
        ):
            return current
        pending.extend(getattr(current, "exceptions", ()))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return None


def _busy(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(_BUSY) or "is locked" in str(exc)


def storage_error(failure: BaseException) -> str:
    """The user-facing message of a storage failure: ``storage full or failing: <sqlite's>``."""
    return _PREFIX + (str(failure) or type(failure).__name__)
