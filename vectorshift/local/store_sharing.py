"""What the local server's store keeps about folders and sharing: :class:`SharingStore`.

A part of the :class:`~vectorshift.local.store.Store` protocol, declared apart so the folder and
sharing methods stay together. On the local platform an organisation is what an API key acts
for (``ServerConfig.api_keys`` maps key to organisation); a pipeline belongs to one
organisation and may be shared with others, each with a role:

- ``viewer``: may fetch, list (``include_shared=true``) and run it;
- ``editor``: may also save it.

Only the owning organisation deletes it, files it in folders and shares or unshares it. A
folder is a label (an id) on the owner's pipeline: the local platform has no folder objects.
"""

from __future__ import annotations

from typing import Protocol

from vectorshift.local.records import PipelineRecord

__all__ = ["ROLES", "SharingStore"]

ROLES = ("viewer", "editor")
"""The roles a pipeline is shared with, least first."""


class SharingStore(Protocol):
    """Folders and shares of pipelines, behind async methods."""

    async def move_pipeline(self, org: str, pipeline_id: str, folder_id: str) -> bool:
        """File the organisation's pipeline in ``folder_id``; ``False`` when it has no such one."""
        ...

    async def share_pipeline(
        self, org: str, pipeline_id: str, *, target: str, role: str, name: str | None = None
    ) -> bool:
        """Share the organisation's pipeline with ``target`` as ``role`` (replacing any earlier
        share with it); ``False`` when the organisation has no such pipeline."""
        ...

    async def unshare_pipeline(self, org: str, pipeline_id: str, *, target: str) -> bool | None:
        """Take back ``target``'s access: whether it had any, or ``None`` when the organisation
        has no such pipeline."""
        ...

    async def shared_pipeline(
        self, org: str, pipeline_id: str
    ) -> tuple[PipelineRecord, str] | None:
        """The pipeline another organisation shares with ``org``, and ``org``'s role on it."""
        ...

    async def visible_pipelines(
        self,
        org: str,
        *,
        offset: int,
        limit: int,
        folder_id: str | None = None,
        include_shared: bool = False,
    ) -> list[tuple[PipelineRecord, str | None]]:
        """The organisation's pipelines (role ``None``), oldest first, then with
        ``include_shared`` those shared with it (their role); ``folder_id`` keeps those filed
        in that folder."""
        ...
