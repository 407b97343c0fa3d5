"""The request bodies of docs/protocol.md, declared once: what the SDK sends, what the server takes.

One model per body: :class:`CreatePipeline` (P1), :class:`UpdatePipeline` (P3),
:class:`RunPipeline` (P6), :class:`Terminate` (P8), :class:`BulkRun` (P9, with its
:class:`BulkRunItem`), :class:`Duplicate`, :class:`Revert` and :class:`RemoveNode`.
``vectorshift.local`` validates every body it receives with them (``model_validate_json`` on
the raw bytes) and answers a 400 naming the field (:func:`~vectorshift._schema._base.describe`);
the SDK's tests check that every body it sends validates.

A field sent as ``null`` counts as absent, as the platform treats it. Unknown fields are kept
and ignored (the official client sends some this server does not use).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from vectorshift._schema._base import json_kind
from vectorshift._schema._body import Body, JsonData, refuse

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "BulkRun",
    "BulkRunItem",
    "CreatePipeline",
    "Duplicate",
    "PublishPipeline",
    "RemoveNode",
    "Revert",
    "RunPipeline",
    "SharePipeline",
    "Terminate",
    "UnsharePipeline",
    "UpdatePipeline",
]

MAX_NAME_LENGTH = 1000
"""Longest name, description-like text or URL a body may hold, in characters."""

MAX_DESCRIPTION_LENGTH = 100_000
"""Longest description a body may hold, in characters (a list shows every description)."""

MAX_ID_LENGTH = 255
"""Longest id (run id, trace id, branch id) a body may hold, in characters."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise refuse("blank", "must not be empty")
    return value


def _string_or_integer(value: Any) -> Any:
    if (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int) and not isinstance(value, bool))
    ):
        return value
    raise refuse("one_of", f"must be a string or an integer, got {json_kind(value)}")


Name = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH), AfterValidator(_not_blank)]
"""A pipeline's name: 1 to :data:`MAX_NAME_LENGTH` characters, not only white space."""

Id: TypeAlias = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]
Text: TypeAlias = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)]
Description: TypeAlias = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH)]
Graph: TypeAlias = dict[str, JsonData]
Version: TypeAlias = Annotated[
    Any,
    AfterValidator(_string_or_integer),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}),
]


class CreatePipeline(Body):
    """P1 ``POST /pipeline``: a new pipeline."""

    name: Name = Field(description="The pipeline's name; not empty, at most 1000 characters.")
    nodes: Graph | None = Field(
        None, description="The graph: node id to node object (its `type`, `name`, `inputs`...)."
    )
    canvas_metadata: Graph | None = Field(
        None, description="Editor layout (node positions, edges); stored and returned as sent."
    )
    description: Description | None = Field(None, description="Free text shown with the pipeline.")
    inputs: Graph | None = Field(
        None, description="Pipeline inputs; ignored: the server derives them from `nodes`."
    )
    outputs: Graph | None = Field(
        None, description="Pipeline outputs; ignored: the server derives them from `nodes`."
    )


class UpdatePipeline(Body):
    """P3 ``POST /update/pipeline/<id>``: save a new graph (and optionally rename or re-version),
    or only move the pipeline to a folder (``{"folder_id"}``, what ``move_to_folder`` sends)."""

    nodes: Graph | None = Field(
        None, description="The new graph: node id to node object; required unless `folder_id`."
    )
    folder_id: Id | None = Field(
        None, description="The folder to file the pipeline in; alone, the graph is kept."
    )
    canvas_metadata: Graph | None = Field(
        None, description="Editor layout; the stored one is kept when absent."
    )
    branch_id: Id | None = Field(None, description="The branch saved to; accepted and ignored.")
    deploy: bool | None = Field(
        None,
        description="Make the saved graph a new version (numbered by `bump`, `patch` when "
        "absent); absent or false: only the current graph changes.",
    )
    name: Name | None = Field(None, description="A new name; not empty, at most 1000 characters.")
    description: Description | None = Field(
        None, description="A new description; also the changelog of the version made."
    )
    bump: Literal["patch", "minor", "major"] | None = Field(
        None,
        description="Which part of the semantic version to increase; given, the save makes a "
        "new version even without `deploy`.",
    )

    @model_validator(mode="after")
    def _a_graph_or_a_folder(self) -> UpdatePipeline:
        if self.nodes is None and self.folder_id is None:
            raise PydanticCustomError("missing", "Field required", {"field": "nodes"})
        return self


class RunPipeline(Body):
    """P6 ``POST /pipeline/<id>/run``: one run, blocking unless `background` or `stream`.

    The same fields come as form fields when the run has file inputs (multipart).
    """

    inputs: Graph | None = Field(
        None, description="Input values by input node name; file inputs go as multipart parts."
    )
    background: bool | None = Field(
        None, description="Answer `{task_id, trace_id}` at once and run in the background."
    )
    stream: bool | None = Field(
        None, description="Answer with the run's frames as server-sent events."
    )
    send_intermediate_results: bool | None = Field(
        None, description="Publish every node output as a frame (default true)."
    )
    trace_id: Id | None = Field(
        None, description="The client's id of this run, echoed back; a new one when absent."
    )
    stream_all_outputs: bool | None = Field(None, description="Accepted and ignored.")
    session_id: Text | None = Field(None, description="Chat session; accepted and ignored.")
    webhook_url: Text | None = Field(
        None, description="Where the platform posts the result; accepted and ignored."
    )
    node_input_overrides: Graph | None = Field(
        None, description="Node inputs to override for this run; accepted and ignored."
    )
    version: Version = Field(
        None,
        description='Which stored version of the pipeline to run (`"1.2.0"` or `"latest"`);'
        " the current graph when absent; an unknown one is a 404.",
    )

    @model_validator(mode="after")
    def _one_answer_kind(self) -> RunPipeline:
        if self.background and self.stream:
            raise refuse("exclusive", "fields 'background' and 'stream' cannot both be true")
        return self


class Terminate(Body):
    """P8 ``POST /pipeline/<id>/terminate``: stop a run."""

    run_id: Id = Field(description="The task id of the run to stop.")


class BulkRunItem(Body):
    """One run of a P9 bulk run."""

    inputs: Graph | None = Field(None, description="Input values by input node name.")
    trace_id: Id | None = Field(
        None, description="The client's id of this run; a new one when absent."
    )


class BulkRun(Body):
    """P9 ``POST /pipeline/<id>/bulk-run``: several blocking runs, answered together."""

    runs: list[BulkRunItem] = Field(
        description="The runs, answered in this order; the server may limit how many."
    )


class Duplicate(Body):
    """``POST /pipeline/<id>/duplicate``: a copy of the pipeline's current graph."""

    name: Name | None = Field(None, description="The copy's name; `<name> (copy)` when absent.")
    description: Description | None = Field(
        None, description="The copy's description; the original's when absent."
    )
    folder_id: Id | None = Field(None, description="The folder the copy goes to.")


class Revert(Body):
    """``POST /pipeline/<id>/revert``: make a stored version's graph the current one."""

    version: Annotated[Id, AfterValidator(_not_blank)] = Field(
        description='The version to go back to (`"0.2.0"`, or `"latest"`); unknown: a 404.'
    )


class RemoveNode(Body):
    """``POST /pipeline/<id>/remove-node``: remove one node from the stored graph."""

    node_id: Id | None = Field(None, description="The id of the node to remove.")
    node_name: Text | None = Field(
        None, description="The name of the node to remove (when `node_id` is absent)."
    )

    @model_validator(mode="after")
    def _one_node(self) -> RemoveNode:
        if self.node_id is None and self.node_name is None:
            raise refuse("missing", "give field 'node_id' or field 'node_name'")
        return self


def _one_target(user_id: str | None, org_id: str | None) -> None:
    if user_id is None and org_id is None:
        raise refuse("one_of", "give 'user_id' or 'org_id': who the pipeline is shared with")


class SharePipeline(Body):
    """``POST /pipeline/<id>/share``: let a user or an organisation see (or edit) the pipeline."""

    user_id: Id | None = Field(
        None, description="The user to share with; `vectorshift.local` has no users (refused)."
    )
    org_id: Id | None = Field(None, description="The organisation to share with.")
    role: Literal["viewer", "editor"] = Field(
        "viewer", description="`viewer` may fetch and run; `editor` may also save."
    )
    name: Text | None = Field(
        None, description="A display name for whom it is shared with; stored and listed."
    )

    @model_validator(mode="after")
    def _someone(self) -> SharePipeline:
        _one_target(self.user_id, self.org_id)
        return self


class UnsharePipeline(Body):
    """``POST /pipeline/<id>/unshare``: take back what ``share`` gave."""

    user_id: Id | None = Field(None, description="The user to take access from.")
    org_id: Id | None = Field(None, description="The organisation to take access from.")

    @model_validator(mode="after")
    def _someone(self) -> UnsharePipeline:
        _one_target(self.user_id, self.org_id)
        return self


class PublishPipeline(Body):
    """``POST /marketplace/publish``: list the pipeline on the VectorShift marketplace.

    `vectorshift.local` has no marketplace: it checks the body, then refuses it (422).
    """

    object_type: Literal["pipeline"] = Field(description="What is published: `pipeline`.")
    object_id: Id = Field(description="The pipeline's id.")
    title: Text = Field(description="The marketplace listing's title.")
    description: Text | None = Field(None, description="The listing's description.")
    tags: list[Text] | None = Field(None, description="The listing's tags.")
    internal: bool | None = Field(
        None, description="List it only inside the organisation (true) or publicly."
    )
