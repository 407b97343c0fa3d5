"""The local server's folder, sharing and marketplace routes, and who may do what to a pipeline.

On the local platform an organisation is what an API key acts for; there are no users. A
pipeline belongs to the organisation that created it, which may share it with another
organisation as ``viewer`` (fetch, list with ``include_shared=true``, run) or ``editor`` (also
save). Only the owner deletes it, moves it to a folder, and shares or unshares it. Sharing with
a ``user_id`` is refused (422) naming that the local platform has organisations, not users:
treating a user id as an organisation would silently give access to whatever organisation
happened to bear that name.

The VectorShift marketplace does not exist here: ``POST /marketplace/publish`` and ``DELETE
/marketplace/<id>`` check what they are given, then answer a 422 naming the feature, never a
fake success. 422 (not 501) because the SDK retries every 5xx, and a refusal that no retry can
change must not be retried; 422 reads as "understood, and cannot be done here".
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vectorshift._schema.requests import (
    MAX_ID_LENGTH,
    PublishPipeline,
    SharePipeline,
    UnsharePipeline,
)
from vectorshift.local.config import ServerConfig
from vectorshift.local.records import PipelineRecord
from vectorshift.local.store import Store
from vectorshift.local.validation import Refusal, read_body

__all__ = ["NO_MARKETPLACE", "OWNER", "SharingApi", "access", "refuse_role"]

OWNER = "owner"
"""The role of the organisation that owns a pipeline."""

NO_MARKETPLACE = (
    "publishing to the VectorShift marketplace has no meaning on vectorshift.local: this server "
    "has no marketplace (publish and unpublish on the VectorShift platform)"
)
"""The refusal of ``publish`` and ``unpublish``."""

_NO_USERS = (
    "vectorshift.local has organisations, not users: share with org_id= (an organisation is "
    "what an API key acts for), not user_id="
)


async def access(store: Store, org: str, pipeline_id: str) -> tuple[PipelineRecord, str]:
    """The pipeline ``org`` may see, and its role on it (:data:`OWNER`, ``viewer``, ``editor``).

    Raises:
        Refusal: 404 when ``org`` neither owns it nor has it shared.
    """
    record = await store.get_pipeline(org, pipeline_id)
    if record is not None:
        return record, OWNER
    shared = await store.shared_pipeline(org, pipeline_id)
    if shared is None:
        raise Refusal(404, f"pipeline {pipeline_id[:MAX_ID_LENGTH]!r} not found")
    return shared


def refuse_role(org: str, record: PipelineRecord, role: str, action: str, allowed: str) -> None:
    """Raise a 403 naming ``org``'s ``role`` on the pipeline and who may ``action`` it."""
    raise Refusal(
        403,
        f"organisation {org!r} has the role {role!r} on pipeline {record.id!r}, shared by "
        f"{record.org!r}: a {role} may not {action} it ({allowed} may)",
    )


class SharingApi:
    """The handlers of the share, unshare and marketplace routes."""

    def __init__(self, config: ServerConfig, store: Store, org: Callable[[Request], str]) -> None:
        self.config = config
        self.store = store
        self._org = org

    async def _owned(self, org: str, pipeline_id: str, action: str) -> PipelineRecord:
        record, role = await access(self.store, org, pipeline_id)
        if role != OWNER:
            refuse_role(org, record, role, action, "only the organisation that owns it")
        return record

    def _target(self, org: str, user_id: str | None, org_id: str | None) -> str:
        if user_id is not None:
            raise Refusal(422, f"field 'user_id': {_NO_USERS}")
        assert org_id is not None  # the body's validator asks for one of the two
        if org_id == org:
            raise Refusal(422, f"organisation {org!r} owns this pipeline: share it with another")
        if org_id not in self.config.api_keys.values():
            raise Refusal(
                404,
                f"no organisation {org_id[:MAX_ID_LENGTH]!r} on this server (its organisations "
                "are those its API keys act for)",
            )
        return org_id

    async def share(self, request: Request) -> Response:
        """``POST /pipeline/<id>/share``: ``{"org_id", "role"?, "name"?}``."""
        org = self._org(request)
        record = await self._owned(org, request.path_params["pipeline_id"], "share")
        body = await read_body(request, SharePipeline, self.config.max_body_bytes)
        target = self._target(org, body.user_id, body.org_id)
        await self.store.share_pipeline(
            org, record.id, target=target, role=body.role, name=body.name
        )
        return JSONResponse({"status": "success"})

    async def unshare(self, request: Request) -> Response:
        """``POST /pipeline/<id>/unshare``: ``{"org_id"}``; a target without access is a 404."""
        org = self._org(request)
        record = await self._owned(org, request.path_params["pipeline_id"], "unshare")
        body = await read_body(request, UnsharePipeline, self.config.max_body_bytes)
        if body.user_id is not None:
            raise Refusal(422, f"field 'user_id': {_NO_USERS}")
        assert body.org_id is not None
        if not await self.store.unshare_pipeline(org, record.id, target=body.org_id):
            raise Refusal(
                404,
                f"pipeline {record.id!r} is not shared with organisation "
                f"{body.org_id[:MAX_ID_LENGTH]!r}",
            )
        return JSONResponse({"status": "success"})

    async def publish(self, request: Request) -> Response:
        """``POST /marketplace/publish``: refused (422) once the key and body are checked."""
        self._org(request)
        await read_body(request, PublishPipeline, self.config.max_body_bytes)
        raise Refusal(422, NO_MARKETPLACE)

    async def unpublish(self, request: Request) -> Response:
        """``DELETE /marketplace/<id>``: refused (422) once the key is checked."""
        self._org(request)
        raise Refusal(422, NO_MARKETPLACE)
