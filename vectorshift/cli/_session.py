"""``vectorshift login`` and ``logout``: store or remove the key the default client reads last."""

from __future__ import annotations

import getpass
import sys

from vectorshift.cli._context import Context
from vectorshift.cli._login import remove_key, store_key
from vectorshift.cli._output import OK

__all__ = ["login", "logout"]


def _read_key(ctx: Context) -> str:
    if ctx.args.api_key:
        return str(ctx.args.api_key)
    if sys.stdin.isatty():
        return getpass.getpass("API key (not shown): ").strip()
    return sys.stdin.readline().strip()


async def login(ctx: Context) -> int:
    """Check the key against the API (unless ``--no-verify``), then store it."""
    from vectorshift import Client
    from vectorshift._client import config_path

    key = _read_key(ctx)
    if not key:
        raise ValueError("no API key given: type it, pipe it in, or pass --api-key")
    path = config_path()
    if not ctx.args.no_verify:
        client = Client(api_key=key, base_url=ctx.args.base_url or None)
        async with client:
            await client.http.request(
                "GET", "/pipelines", params={"offset": 0, "limit": 1, "verbose": "false"}
            )
    store_key(path, key)
    checked = "" if ctx.args.no_verify else " (the API accepted it)"
    ctx.out.note(f"stored the API key in {path}{checked}")
    if ctx.out.json_mode:
        ctx.out.document({"path": str(path), "verified": not ctx.args.no_verify})
    return OK


async def logout(ctx: Context) -> int:
    """Remove the stored key (nothing to do is not an error)."""
    from vectorshift._client import config_path

    path = config_path()
    removed = remove_key(path)
    ctx.out.note(f"removed the API key from {path}" if removed else f"no API key stored in {path}")
    if ctx.out.json_mode:
        ctx.out.document({"path": str(path), "removed": removed})
    return OK
