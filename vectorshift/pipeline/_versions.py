"""Versions, copies and node removal on the platform: ``revert``, ``duplicate``, ``remove_node``.

:class:`PipelineVersions` holds these methods of :class:`~vectorshift.Pipeline`, with the
official client's names and argument order; their blocking twins are generated into
``_generated_versions.py``. Fetching a version is ``Pipeline.fetch(id=..., version=...)`` and
running one is ``start``/``stream``/``run(version=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from vectorshift._client import Client
from vectorshift.errors import ArgumentError
from vectorshift.pipeline._definition import PipelineDefinition
from vectorshift.pipeline._generated_versions import PipelineVersionsSync

if TYPE_CHECKING:
    from vectorshift.pipeline._pipeline import Pipeline

__all__ = ["PipelineVersions"]


class PipelineVersions(PipelineDefinition, PipelineVersionsSync):
    """The version methods of :class:`~vectorshift.Pipeline` (see there); package-internal."""

    _client: Client | None

    @property
    def client(self) -> Client:
        """The client this pipeline talks through."""
        raise NotImplementedError

    def _pipeline_class(self) -> type[Pipeline]:
        # Pipeline is this mixin's only subclass; importing it here would be an import cycle.
        return cast("type[Pipeline]", type(self))

    async def aduplicate(
        self,
        name: str | None = None,
        description: str | None = None,
        folder_id: str | None = None,
    ) -> Pipeline:
        """Copy the pipeline on the platform and return the copy, fetched.

        The copy has the saved graph (not unsaved local changes) and a version history of
        its own, starting again at ``0.0.0``.

        Args:
            name: The copy's name; by default the platform names it ``"<name> (copy)"``.
            description: The copy's description; by default the original's.
            folder_id: The folder the copy goes to.

        Raises:
            PipelineNotSavedError: the pipeline was never saved (nothing was sent).
            NotFoundError: the pipeline is not on the platform any more.

        Example:
            >>> copy = await pipeline.aduplicate(name="Summariser v2")
            >>> copy.id != pipeline.id
            True
        """
        from vectorshift._schema.answers import DUPLICATED

        given = {"name": name, "description": description, "folder_id": folder_id}
        body = {key: value for key, value in given.items() if value is not None}
        response = await self.client.http.request(
            "POST",
            f"/pipeline/{self._require_id()}/duplicate",
            json_body=body,
            retry_mode="unsafe",
        )
        new_id = response.parse(DUPLICATED).id
        return await self._pipeline_class().afetch(id=new_id, client=self._client)

    async def arevert(self, version: str) -> None:
        """Make a saved version's graph the pipeline's current one, here and on the platform.

        The platform keeps every version (a later one stays fetchable, and revertable) and
        the pipeline is at ``version`` again. Unlike the official client, this object's nodes
        are refreshed too, so a later ``save()`` does not undo the revert.

        Args:
            version: The version to go back to (``"0.2.0"``), or ``"latest"``.

        Raises:
            NotFoundError: the pipeline has no such version (the message lists its versions).

        Example:
            >>> await pipeline.asave(bump="minor")
            >>> await pipeline.arevert("0.1.0")
        """
        if not isinstance(version, str) or not version.strip():
            raise ArgumentError(
                f"version must be a version string such as '0.2.0', got {version!r}",
                argument="version",
            )
        from vectorshift._schema.answers import ACK

        response = await self.client.http.request(
            "POST", f"/pipeline/{self._require_id()}/revert", json_body={"version": version}
        )
        response.parse(ACK)
        current = await self._pipeline_class().afetch(id=self._require_id(), client=self._client)
        self._nodes = current._nodes
        self._mark_saved()

    async def aremove_node(self, node_id: str | None = None, node_name: str | None = None) -> str:
        """Remove a node from the saved pipeline on the platform, and from this object.

        The platform refuses to remove a node other nodes reference (the error names them):
        remove or change those first. The removal changes the current graph; it is not a
        new version until the next ``save(deploy=True)``.

        Args:
            node_id: The id of the node to remove.
            node_name: Its name, when ``node_id`` is not given.

        Returns:
            The removed node's id.

        Raises:
            ArgumentError: neither ``node_id`` nor ``node_name`` is given (nothing was sent).
            NotFoundError: the saved pipeline has no such node.
            UnprocessableEntityError: other nodes reference it.

        Example:
            >>> await pipeline.aremove_node(node_name="answer")
            'output_0'
        """
        if node_id is None and node_name is None:
            raise ArgumentError("give node_id= or node_name= to remove a node", argument="node_id")
        from vectorshift._schema.answers import NODE_REMOVED

        given = {"node_id": node_id, "node_name": node_name}
        body = {key: value for key, value in given.items() if value is not None}
        response = await self.client.http.request(
            "POST",
            f"/pipeline/{self._require_id()}/remove-node",
            json_body=body,
            retry_mode="unsafe",
        )
        removed = response.parse(NODE_REMOVED).node_id
        self._nodes = [node for node in self._nodes if node.id != removed]
        if self._saved is not None:
            self._saved = {key: value for key, value in self._saved.items() if key != removed}
        return removed
