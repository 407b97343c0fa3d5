"""Where the command's API keys come from: ``--api-key``, ``--api-key-file``, the environment.

A key given as ``--api-key`` is in the process's argv, which every user of the machine can
read (``ps``); a key file or ``VECTORSHIFT_LOCAL_API_KEY`` is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vectorshift.local.config import DEFAULT_ORG

__all__ = ["ENV_KEY", "parse_key", "read_key_file", "resolve_keys"]

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
