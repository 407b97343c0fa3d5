"""Folders, sharing and the marketplace on both SDK surfaces, against a real vectorshift.local
with two organisations (two API keys), on asyncio and trio."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from support import echo_pipeline, unique

from vectorshift import (
    ArgumentError,
    Client,
    NotFoundError,
    PermissionDeniedError,
    Pipeline,
    RetryPolicy,
    UnprocessableEntityError,
)
from vectorshift.local import LocalServer

pytestmark = pytest.mark.anyio


def org_client(server: LocalServer, org: str) -> Client:
    key = f"key-{org}"
    server.config.api_keys[key] = org
    return Client(api_key=key, base_url=server.base_url, retry=RetryPolicy(max_retries=0))


@pytest.fixture
def orgs(server: LocalServer) -> Iterator[tuple[str, Client, str, Client]]:
    """Two fresh organisations of the session server, each with its client."""
    a, b = (f"org-{name}-{uuid.uuid4().hex[:8]}" for name in ("owner", "other"))
    yield a, org_client(server, a), b, org_client(server, b)
    for org in (a, b):
        server.config.api_keys.pop(f"key-{org}", None)


async def owned(client: Client, name: str) -> Pipeline:
    pipeline = echo_pipeline(unique(name))
    pipeline._client = client
    await pipeline.asave()
    return pipeline


async def test_move_to_folder_and_list_by_folder(
    orgs: tuple[str, Client, str, Client],
) -> None:
    _, owner, _, _ = orgs
    filed, loose = await owned(owner, "filed"), await owned(owner, "loose")
    await filed.amove_to_folder("folder-reports")
    listed = await Pipeline.alist(folder_id="folder-reports", client=owner)
    assert [p.id for p in listed] == [filed.id]
    assert loose.id in [p.id for p in await Pipeline.alist(client=owner)]
    fetched = await Pipeline.afetch(id=filed.id, client=owner)
    assert [n.name for n in fetched.nodes] == ["query", "llm", "answer"]  # graph kept
    await filed.amove_to_folder("folder-archive")
    assert await Pipeline.alist(folder_id="folder-reports", client=owner) == []


async def test_a_viewer_fetches_lists_and_runs_but_may_not_save_or_delete(
    orgs: tuple[str, Client, str, Client],
) -> None:
    owner_org, owner, other_org, other = orgs
    pipeline = await owned(owner, "shared-viewer")
    with pytest.raises(NotFoundError):
        await Pipeline.afetch(id=pipeline.id, client=other)
    await pipeline.ashare(org_id=other_org)  # viewer by default
    seen = await Pipeline.afetch(id=pipeline.id, client=other)
    assert seen.name == pipeline.name
    assert pipeline.id not in [p.id for p in await Pipeline.alist(client=other)]
    shared = await Pipeline.alist(include_shared=True, client=other)
    assert [p.id for p in shared] == [pipeline.id]
    assert (await seen.arun({"query": "hi"}))["outputs"]["answer"] == "hi"
    with pytest.raises(PermissionDeniedError, match=r"role 'viewer'.*may not save"):
        await seen.asave()
    with pytest.raises(PermissionDeniedError, match="may not delete"):
        await seen.adelete()
    with pytest.raises(PermissionDeniedError, match="may not share"):
        await seen.ashare(org_id=owner_org)
    await pipeline.aunshare(org_id=other_org)
    with pytest.raises(NotFoundError):
        await Pipeline.afetch(id=pipeline.id, client=other)
    assert await Pipeline.alist(include_shared=True, client=other) == []


async def test_an_editor_saves_and_the_owner_sees_it(
    orgs: tuple[str, Client, str, Client],
) -> None:
    _, owner, other_org, other = orgs
    pipeline = await owned(owner, "shared-editor")
    await pipeline.ashare(None, other_org, "editor", "Other team")
    seen = await Pipeline.afetch(id=pipeline.id, client=other)
    seen.node("llm").inputs["prompt"] = "Say: {{ " + seen.node("query").id + ".text }}"
    await seen.asave()
    again = await Pipeline.afetch(id=pipeline.id, client=owner)
    assert again.node("llm").inputs["prompt"].startswith("Say: ")
    with pytest.raises(PermissionDeniedError, match="may not move"):
        await seen.amove_to_folder("theirs")


async def test_share_refusals(orgs: tuple[str, Client, str, Client]) -> None:
    _, owner, other_org, _ = orgs
    pipeline = await owned(owner, "share-refusals")
    with pytest.raises(ArgumentError, match="user_id= or org_id="):
        await pipeline.ashare()
    with pytest.raises(ValueError):
        await pipeline.aunshare()
    with pytest.raises(UnprocessableEntityError, match="organisations, not users"):
        await pipeline.ashare(user_id="user-1")
    with pytest.raises(NotFoundError, match="no organisation 'nobody'"):
        await pipeline.ashare(org_id="nobody")
    with pytest.raises(NotFoundError, match="not shared with"):
        await pipeline.aunshare(org_id=other_org)


async def test_publish_and_unpublish_are_refused_naming_the_marketplace(
    orgs: tuple[str, Client, str, Client],
) -> None:
    _, owner, _, _ = orgs
    pipeline = await owned(owner, "publish")
    message = "publishing to the VectorShift marketplace has no meaning on vectorshift.local"
    with pytest.raises(UnprocessableEntityError, match=message):
        await pipeline.apublish("Title", "d", ["a"], True)
    with pytest.raises(UnprocessableEntityError, match=message):
        await pipeline.aunpublish("listing-1")


def test_the_sync_twins(orgs: tuple[str, Client, str, Client]) -> None:
    _, owner, other_org, other = orgs
    pipeline = echo_pipeline(unique("sync-sharing"))
    pipeline._client = owner
    pipeline.save()
    pipeline.move_to_folder("sync-folder")
    assert [p.id for p in Pipeline.list(folder_id="sync-folder", client=owner)] == [pipeline.id]
    pipeline.share(org_id=other_org, role="viewer")
    assert [p.id for p in Pipeline.list(include_shared=True, client=other)] == [pipeline.id]
    pipeline.unshare(org_id=other_org)
    assert Pipeline.list(include_shared=True, client=other) == []
    with pytest.raises(UnprocessableEntityError, match="marketplace"):
        pipeline.publish("Title")
    with pytest.raises(UnprocessableEntityError, match="marketplace"):
        pipeline.unpublish("listing-1")
