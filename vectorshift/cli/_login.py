"""``vectorshift login`` and ``logout``: the API key in ``~/.vectorshift/config.toml``.

The file is the platform CLI's: a TOML table ``[auth]`` with the key ``api_key``. Only that one
line is written or removed; everything else in the file stays as it was. The directory is made
mode 0700 and the file 0600, and the file is replaced atomically (written beside it, then
renamed), so the key is never readable by others, not even for a moment. The SDK's default
client reads the same file (``vectorshift._client.key_from_config_file``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from vectorshift._client import load_toml

__all__ = ["remove_key", "store_key"]

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")
_KEY_LINE = re.compile(r"^\s*api_key\s*=")


def _check_key(key: str) -> None:
    if not key or any(ch.isspace() or not ch.isprintable() or ord(ch) > 126 for ch in key):
        raise ValueError("an API key is one word of printable ASCII characters")


def _edit(text: str, key: str | None) -> str:
    """``text`` with its ``[auth] api_key`` set to ``key`` (removed when ``None``)."""
    new_line = None if key is None else f"api_key = {json.dumps(key)}"
    lines = text.splitlines()
    kept: list[str] = []
    table: str | None = None
    placed = False
    for line in lines:
        header = _HEADER.match(line)
        if header:
            if table == "auth" and new_line is not None and not placed:
                end = len(kept)
                while end and not kept[end - 1].strip():
                    end -= 1
                kept.insert(end, new_line)
                placed = True
            table = header.group(1).strip("\"'")
        elif table == "auth" and _KEY_LINE.match(line):
            continue
        kept.append(line)
    if new_line is not None and not placed:
        if table != "auth":
            if kept and kept[-1].strip():
                kept.append("")
            kept.append("[auth]")
        kept.append(new_line)
    return "\n".join(kept) + "\n" if kept else ""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    temporary, descriptor = _create_temporary(path)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def _create_temporary(path: Path) -> tuple[Path, int]:
    """A new file beside ``path``, mode 0600, that did not exist before (and is no symlink).

    ``O_EXCL|O_NOFOLLOW``: a file or symlink planted at the name is never opened, so it never
    receives the key; another name is tried instead.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    suffix = str(os.getpid())
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{suffix}.tmp")
        try:
            return temporary, os.open(temporary, flags, 0o600)
        except FileExistsError:
            suffix = f"{os.getpid()}.{secrets.token_hex(8)}"
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def _current(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    try:
        load_toml(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not valid TOML ({exc}); fix or remove it first") from None
    return text


def store_key(path: Path, key: str) -> None:
    """Write ``key`` as ``[auth] api_key`` of the file at ``path``, keeping the rest.

    Raises:
        ValueError: the key is not one word of printable ASCII, or the file is not TOML.
    """
    _check_key(key)
    text = _edit(_current(path), key)
    if load_toml(text).get("auth", {}).get("api_key") != key:
        raise ValueError(f"{path}: cannot place [auth] api_key in it; fix or remove it first")
    _write(path, text)


def remove_key(path: Path) -> bool:
    """Remove ``[auth] api_key`` from the file at ``path``; whether there was one.

    Raises:
        ValueError: the file is not TOML.
    """
    text = _current(path)
    auth = load_toml(text).get("auth") if text else None
    if not isinstance(auth, dict) or "api_key" not in auth:
        return False
    _write(path, _edit(text, None))
    return True
