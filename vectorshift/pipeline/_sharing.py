"""Folders, sharing and the marketplace: the methods of :class:`~vectorshift.Pipeline` that file,
share and publish a saved pipeline, with the official client's names and argument order.

``vectorshift.local`` files pipelines in folders and shares them between its organisations (an
organisation is what an API key acts for; it has no users, so it refuses ``user_id=``). It has
no marketplace: ``publish`` and ``unpublish`` raise the
:class:`~vectorshift.UnprocessableEntityError` it answers, naming the feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from vectorshift._client import Client
from vectorshift.errors import ArgumentError
from vectorshift.pipeline._definition import PipelineDefinition
from vectorshift.pipeline._generated_sharing import PipelineSharingSync

__all__ = ["PipelineSharing"]


def _target(user_id: str | None, org_id: str | None, method: str) -> dict[str, Any]:
    if user_id is None and org_id is None:
        raise ArgumentError(
            f"{method}() needs user_id= or org_id=: whom the pipeline is shared with",
            argument="org_id",
        )
    given = {"user_id": user_id, "org_id": org_id}
    return {key: value for key, value in given.items() if value is not None}


class PipelineSharing(PipelineDefinition, PipelineSharingSync):
    """The folder, sharing and marketplace methods of :class:`~vectorshift.Pipeline` (see
    there); package-internal."""

    _client: Client | None

    @property
    def client(self) -> Client:
        """The client this pipeline talks through."""
        raise NotImplementedError

    async def _ack(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        from vectorshift._schema.answers import ACK

        response = await self.client.http.request(method, path, json_body=body)
        response.parse(ACK)

    async def amove_to_folder(self, folder_id: str) -> None:
        """File the saved pipeline in a folder (``Pipeline.list(folder_id=...)`` lists it there).

        Only the organisation that owns the pipeline may move it.

        Args:
            folder_id: The folder's id.

        Raises:
            PipelineNotSavedError: the pipeline has no id yet; nothing was sent.
            PermissionDeniedError: the pipeline is only shared with this organisation.

        Example:
            >>> await pipeline.amove_to_folder("reports")
            >>> [p.name for p in await Pipeline.alist(folder_id="reports")]
            ['Summariser']
        """
        pipeline_id = self._require_id()
        await self._ack("POST", f"/update/pipeline/{pipeline_id}", {"folder_id": folder_id})

    async def ashare(
        self,
        user_id: str | None = None,
        org_id: str | None = None,
        role: Literal["viewer", "editor"] = "viewer",
        name: str | None = None,
    ) -> None:
        """Share the saved pipeline with a user or an organisation.

        A ``viewer`` may fetch, list (``include_shared=True``) and run it; an ``editor`` may also
        save it. Sharing again with the same one changes its role. ``vectorshift.local`` has
        organisations, not users: it refuses ``user_id=`` (422).

        Args:
            user_id: The user to share with (on the VectorShift platform).
            org_id: The organisation to share with.
            role: ``"viewer"`` or ``"editor"``.
            name: A display name for whom it is shared with.

        Raises:
            ArgumentError: neither ``user_id`` nor ``org_id`` given (a ``ValueError``); nothing
                was sent.
            PermissionDeniedError: the pipeline is only shared with this organisation.
            NotFoundError: no such organisation (or pipeline).

        Example:
            >>> await pipeline.ashare(org_id="acme", role="editor")
        """
        body = {**_target(user_id, org_id, "share"), "role": role}
        if name is not None:
            body["name"] = name
        await self._ack("POST", f"/pipeline/{self._require_id()}/share", body)

    async def aunshare(self, user_id: str | None = None, org_id: str | None = None) -> None:
        """Take back what :meth:`ashare` gave a user or an organisation.

        Args:
            user_id: The user to take access from.
            org_id: The organisation to take access from.

        Raises:
            ArgumentError: neither ``user_id`` nor ``org_id`` given; nothing was sent.
            NotFoundError: the pipeline is not shared with them.

        Example:
            >>> await pipeline.aunshare(org_id="acme")
        """
        body = _target(user_id, org_id, "unshare")
        await self._ack("POST", f"/pipeline/{self._require_id()}/unshare", body)

    async def apublish(
        self,
        title: str,
        description: str = "",
        tags: Sequence[str] | None = None,
        internal: bool = False,
    ) -> dict[str, Any]:
        """Publish the saved pipeline on the VectorShift marketplace.

        ``vectorshift.local`` has no marketplace and refuses (422, naming the feature).

        Args:
            title: The listing's title.
            description: The listing's description.
            tags: The listing's tags.
            internal: List it only inside the organisation.

        Returns:
            The platform's answer, ``{"status": "success", "id": <marketplace id>}``; the id is
            what :meth:`aunpublish` takes.

        Raises:
            UnprocessableEntityError: on ``vectorshift.local``, which has no marketplace.

        Example:
            >>> listing = await pipeline.apublish("Summariser", tags=["text"])
            >>> await pipeline.aunpublish(listing["id"])
        """
        from vectorshift._schema.answers import PUBLISHED

        body: dict[str, Any] = {
            "object_type": "pipeline",
            "object_id": self._require_id(),
            "title": title,
            "description": description,
        }
        if tags is not None:
            body["tags"] = list(tags)
        if internal:
            body["internal"] = True
        response = await self.client.http.request(
            "POST", "/marketplace/publish", json_body=body, retry_mode="unsafe"
        )
        return response.parse(PUBLISHED).body

    async def aunpublish(self, marketplace_id: str) -> None:
        """Take a listing made by :meth:`apublish` off the marketplace.

        Args:
            marketplace_id: The listing's id (``apublish(...)["id"]``).

        Raises:
            UnprocessableEntityError: on ``vectorshift.local``, which has no marketplace.

        Example:
            >>> await pipeline.aunpublish(listing["id"])
        """
        await self._ack("DELETE", f"/marketplace/{marketplace_id}")
