"""Where the command's API keys come from: ``--api-key``, ``--api-key-file``, the environment.

A key given as ``--api-key`` is in the process's argv, which every user of the machine can
read (``ps``); a key file or ``VECTORSHIFT_LOCAL_API_KEY`` is not.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence

from vectorshift.local.config import DEFAULT_ORG

__all__ = ["ENV_KEY", "database_key", "parse_key", "read_key_file", "resolve_keys"]

ENV_KEY = "VECTORSHIFT_LOCAL_API_KEY"


def parse_key(value: str) -> tuple[str, str]:
    """``KEY[=ORG]`` as a key and its organisation (default ``local``).

    Raises:
        ValueError: the key is empty or holds spaces.
    """
    key, _, org = value.strip().partition("=")
    if not key or any(ch.isspace() for ch in key):
        raise ValueError(f"not an API key: {value.strip()!r} (one word, optionally =ORG)")
    return key, org or DEFAULT_ORG


def read_key_file(path: str) -> dict[str, str]:
    """The keys of a file holding one ``KEY[=ORG]`` a line (blank lines and ``#`` lines skipped).

    Raises:
        OSError: the file cannot be read.
        ValueError: a line is no key, or the file holds none.
    """
    with open(path, encoding="utf-8") as file:
        lines = [line.strip() for line in file]
    keys = dict(parse_key(line) for line in lines if line and not line.startswith("#"))
    if not keys:
        raise ValueError(f"no API key in {path}")
    return keys


def resolve_keys(
    given: Sequence[str] | None, key_file: str | None, environ: Mapping[str, str]
) -> dict[str, str] | None:
    """The keys ``--api-key`` and ``--api-key-file`` give, else ``VECTORSHIFT_LOCAL_API_KEY``'s.

    ``None`` when none of them gives one.

    Raises:
        OSError, ValueError: as :func:`read_key_file` and :func:`parse_key`.
    """
    keys = dict(parse_key(value) for value in given or ())
    if key_file is not None:
        keys.update(read_key_file(key_file))
    if not keys and environ.get(ENV_KEY, "").strip():
        keys = dict([parse_key(environ[ENV_KEY])])
    return keys or None


def _new_key() -> str:
    return f"vs-local-{secrets.token_urlsafe(24)}"


def database_key(db_path: str | None) -> str:
    """The key of a server given none: made once per database and kept beside it.

    The key of ``--db PATH`` is in ``PATH.key`` (mode 0600), made at the first start and read
    at the next ones, so a restart keeps it; a temporary database gets a new key each time.
    A fixed default key would let any web page that reaches the server use it.

    Raises:
        OSError: the key file cannot be read or made; ValueError: it holds no key.
    """
    if db_path is None:
        return _new_key()
    path = f"{db_path}.key"
    if not os.path.lexists(path):
        temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(temporary, flags, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(_new_key() + "\n")
            os.link(temporary, path)  # atomic, and refused if another process made one first
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    with open(path, encoding="utf-8") as file:
        key = file.read().strip()
    parse_key(key)
    return key
