"""Pipeline: create, fetch, save and delete a pipeline on the platform.

Its graph is built by :class:`~._definition.PipelineDefinition` and it is run by
:class:`~._runs.PipelineRuns`; :class:`Pipeline` is the one public class of the three.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from vectorshift import _intercept, _log
from vectorshift._client import Client, default_client
from vectorshift.errors import ArgumentError
from vectorshift.pipeline import _requests
from vectorshift.pipeline._generated_pipeline import PipelineSync
from vectorshift.pipeline._graph import deserialize_nodes
from vectorshift.pipeline._node import Node
from vectorshift.pipeline._official import OfficialPipeline
from vectorshift.pipeline._runs import PipelineRuns
from vectorshift.pipeline._sharing import PipelineSharing
from vectorshift.pipeline._versions import PipelineVersions

__all__ = ["Pipeline"]


class Pipeline(PipelineVersions, PipelineSharing, PipelineRuns, OfficialPipeline, PipelineSync):
    """A VectorShift pipeline: a graph of nodes, built in Python and run on the platform.

    Build it with the fluent builder, save it, then run it: blocking (``run``), in the
    background (``start``, returning a :class:`RunHandler`), or in bulk (``bulk_run``).
    Run inputs and outputs are keyed by node *name*.

    Args:
        name: The pipeline's name (``fetch(name=...)`` finds it by this name).
        id: The pipeline's id, once saved.
        branch_id: The branch saves go to (the platform's ``mainBranch`` when fetched).
        description: A description shown on the platform.
        nodes: Nodes to start from.
        client: The client to talk through; the default client when omitted.

    Example:
        >>> from vectorshift import NotFoundError, Pipeline
        >>> try:
        ...     pipeline = Pipeline.fetch(name="Summariser")
        ... except NotFoundError:
        ...     pipeline = Pipeline.new(name="Summariser")
        ...     q = pipeline.add(name="query").input()
        ...     llm = pipeline.add(name="llm").llm(model="gpt-4o-mini", prompt=q.text)
        ...     pipeline.add(name="answer").output(llm.response)
        ...     pipeline.save()
        >>> pipeline.run({"query": "Why is the sky blue?"})["outputs"]["answer"]
    """

    def __init__(
        self,
        name: str,
        *,
        id: str | None = None,
        branch_id: str | None = None,
        description: str | None = None,
        nodes: Iterable[Node] = (),
        client: Client | None = None,
    ) -> None:
        super().__init__(name, id=id, branch_id=branch_id, description=description, nodes=nodes)
        self._client = client

    @property
    def client(self) -> Client:
        """The client this pipeline talks through."""
        return self._client or default_client()

    def __repr__(self) -> str:
        return f"Pipeline(name={self.name!r}, id={self.id!r}, nodes={len(self._nodes)})"

    # -- the pipeline on the platform -------------------------------------------------------

    @classmethod
    def _from_object(cls, data: Mapping[str, Any], client: Client | None) -> Pipeline:
        pipeline = cls(
            str(data.get("name") or "unnamed"),
            id=data.get("_id") or data.get("id"),
            branch_id=data.get("mainBranch") or data.get("branch_id"),
            description=data.get("description"),
            client=client,
        )
        pipeline._nodes = deserialize_nodes(data)
        pipeline._mark_saved()
        return pipeline

    @classmethod
    async def anew(
        cls,
        name: str,
        *,
        nodes: Sequence[Node] = (),
        description: str | None = None,
        client: Client | None = None,
    ) -> Pipeline:
        """Create a pipeline on the platform and return it, ready for nodes to be added.

        Example:
            >>> pipeline = await Pipeline.anew(name="Summariser")
        """
        pipeline = cls(name, description=description, nodes=nodes, client=client)
        with _intercept.scope(pipeline.client.interceptors, "new"):
            await pipeline._create()
        return pipeline

    async def _create(self) -> None:
        body: dict[str, Any] = {**self.to_json(), "name": self.name}
        if self.description is not None:
            body["description"] = self.description
        self.id = await _requests.create(self.client, body)
        _intercept.note(pipeline_id=self.id)
        self._saved = body["nodes"]
        fetched = await _requests.fetch_object(self.client, dict, id=self.id)
        self.branch_id = fetched.get("mainBranch") or fetched.get("branch_id")
        _log.event(logging.INFO, "created pipeline %r", self.name, pipeline_id=self.id)

    @classmethod
    async def afetch(
        cls,
        id: str | None = None,
        *,
        name: str | None = None,
        branch_id: str | None = None,
        version: str | None = None,
        username: str | None = None,
        org_name: str | None = None,
        client: Client | None = None,
    ) -> Pipeline:
        """Fetch a saved pipeline by id or by name (the most recently modified of that name).

        Names are not unique: two pipelines of an organisation may share one. By name, the
        platform answers the one modified last (a ``save()`` of the older makes it the one
        returned); fetch by ``id`` to choose.

        Raises:
            NotFoundError: there is no such pipeline (or it belongs to another organisation).

        Example:
            >>> pipeline = await Pipeline.afetch(name="Summariser")
        """
        if (id is None) == (name is None):
            raise ArgumentError("give exactly one of id= or name= to fetch a pipeline")
        sender = client or default_client()
        with _intercept.scope(sender.interceptors, "fetch", pipeline_id=id):
            pipeline = await _requests.fetch_object(
                sender,
                lambda obj: cls._from_object(obj, client),
                id=id,
                name=name,
                branch_id=branch_id,
                version=version,
                username=username,
                org_name=org_name,
            )
            _intercept.note(pipeline_id=pipeline.id)
        return pipeline

    @classmethod
    async def alist(
        cls,
        *,
        offset: int = 0,
        limit: int = 100,
        folder_id: str | None = None,
        include_shared: bool = False,
        client: Client | None = None,
    ) -> list[Pipeline]:
        """The organisation's pipelines, with their graphs.

        Example:
            >>> [p.name for p in await Pipeline.alist(limit=10)]
        """
        if offset < 0 or limit < 1:
            raise ArgumentError(
                f"offset must be >= 0 and limit >= 1, got {offset} and {limit}",
                argument="offset" if offset < 0 else "limit",
            )
        return await _requests.list_objects(
            client or default_client(),
            lambda obj: cls._from_object(obj, client),
            offset=offset,
            limit=limit,
            verbose=True,
            folder_id=folder_id,
            include_shared=include_shared,
        )

    async def asave(
        self,
        *,
        deploy: bool = True,
        bump: Literal["patch", "minor", "major"] | None = None,
        description: str | None = None,
    ) -> Pipeline:
        """Save the graph: creates the pipeline if it has no id yet, else updates it.

        Runs use the saved graph, so they refuse while nodes added or changed since the last
        save (or fetch) are not saved (:attr:`has_unsaved_changes`).

        Args:
            deploy: Deploy the saved version (the platform runs deployed versions).
            bump: Bump the version number by ``patch``, ``minor`` or ``major``.
            description: A new description.

        Raises:
            PipelineDefinitionError: the graph is not valid; nothing was sent.

        Example:
            >>> await pipeline.asave()
        """
        if description is not None:
            self.description = description
        with _intercept.scope(self.client.interceptors, "save", pipeline_id=self.id):
            if self.id is None:
                await self._create()
                return self
            graph = self.to_json()
            await _requests.update(
                self.client,
                self.id,
                graph,
                branch_id=self.branch_id,
                deploy=deploy,
                bump=bump,
                description=description,
            )
        self._saved = graph["nodes"]
        return self

    async def adelete(self) -> None:
        """Delete the pipeline from the platform.

        Example:
            >>> await pipeline.adelete()
        """
        from vectorshift._schema.answers import ACK

        response = await self.client.http.request("DELETE", f"/pipeline/{self._require_id()}")
        response.parse(ACK)
