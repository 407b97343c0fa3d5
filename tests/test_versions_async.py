"""Versions, duplicate and remove_node through the SDK against a real vectorshift.local server.

Async tests run on asyncio and trio; the sync twins are checked at the end.
"""

from __future__ import annotations

import httpx
import pytest
from support import echo_pipeline, unique

from vectorshift import (
    ArgumentError,
    Client,
    NotFoundError,
    Pipeline,
    UnprocessableEntityError,
)
from vectorshift.local import LocalServer

pytestmark = pytest.mark.anyio


def echo_saying(name: str, word: str) -> Pipeline:
    """query -> llm echoing ``"<word> <query>"`` -> answer (node ids derive from the names)."""
    pipeline = Pipeline(name)
    query = pipeline.add(name="query").input()
    prompt = f"{word} {query.text}"
    llm = pipeline.add(name="llm").llm(provider="local", model="echo", prompt=prompt)
    pipeline.add(name="answer").output(llm.response)
    return pipeline


async def versioned(client: Client) -> Pipeline:
    """The docs' sequence: create (0.0.0), save (deploy: 0.0.1), two minor bumps (0.1.0, 0.2.0).

    Each version's answer differs: the llm's prompt is prefixed with the version's word.
    """
    pipeline = echo_pipeline(unique("versions"))
    pipeline._client = client
    await pipeline.asave()  # creates: 0.0.0
    await pipeline.asave()  # deploy=True: 0.0.1
    for word in ("one", "two"):
        pipeline._nodes = echo_saying(pipeline.name, word)._nodes
        await pipeline.asave(bump="minor", description=f"says {word}")
    return pipeline


def wire(server: LocalServer, pipeline_id: str, **params: str) -> dict:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {server.api_key}"}
    answer = httpx.get(
        f"{server.base_url}/pipeline", params={"id": pipeline_id, **params}, headers=headers
    )
    return answer.json()  # type: ignore[no-any-return]


async def test_saves_keep_versions_numbered_from_0_0_0(client: Client, server: LocalServer) -> None:
    pipeline = await versioned(client)
    obj = wire(server, pipeline.id or "")["object"]
    assert obj["version"] == "0.2.0"
    assert [v["version"] for v in obj["versions"]] == ["0.0.0", "0.0.1", "0.1.0", "0.2.0"]
    assert [v["description"] for v in obj["versions"]][2:] == ["says one", "says two"]
    one = await Pipeline.afetch(id=pipeline.id, version="0.1.0", client=client)
    assert "one {{" in one.node("llm").to_json()["inputs"]["prompt"]
    latest = await Pipeline.afetch(id=pipeline.id, version="latest", client=client)
    assert "two {{" in latest.node("llm").to_json()["inputs"]["prompt"]
    first = wire(server, pipeline.id or "", version="0.0.0")["object"]
    assert first["version"] == "0.0.0"
    assert "{{" in first["nodes"][pipeline.node("llm").id]["inputs"]["prompt"]
    assert "one" not in first["nodes"][pipeline.node("llm").id]["inputs"]["prompt"]


async def test_save_without_deploy_makes_no_version(client: Client, server: LocalServer) -> None:
    pipeline = echo_pipeline(unique("draft"))
    pipeline._client = client
    await pipeline.asave()
    await pipeline.asave(deploy=False)
    obj = wire(server, pipeline.id or "")["object"]
    assert (obj["version"], len(obj["versions"])) == ("0.0.0", 1)
    await pipeline.asave(bump="major")
    assert wire(server, pipeline.id or "")["object"]["version"] == "1.0.0"


async def test_unknown_version_is_a_404_naming_it(client: Client) -> None:
    pipeline = await versioned(client)
    with pytest.raises(NotFoundError, match=r"version '9\.9\.9' of pipeline .* 0\.2\.0"):
        await Pipeline.afetch(id=pipeline.id, version="9.9.9", client=client)
    with pytest.raises(NotFoundError, match=r"9\.9\.9"):
        await pipeline.arevert("9.9.9")
    with pytest.raises(NotFoundError, match=r"9\.9\.9"):
        await pipeline.arun({"query": "q"}, version="9.9.9")


async def test_runs_use_the_version_asked_for(client: Client) -> None:
    pipeline = await versioned(client)
    assert (await pipeline.arun({"query": "q"}))["outputs"]["answer"] == "two q"
    result = await pipeline.arun({"query": "q"}, version="0.1.0")
    assert result["outputs"]["answer"] == "one q"
    handler = await pipeline.astart({"query": "q"}, version="0.1.0")
    assert (await handler.aresult()).result == {"answer": "one q"}
    chunks = [c async for c in pipeline.astream({"query": "q"}, version="0.1.0")]
    assert any(c.output_value == "one q" for c in chunks if c.type == "output") or (
        chunks[-1].outputs == {"answer": "one q"}
    )


async def test_revert_moves_back_and_keeps_later_versions(
    client: Client, server: LocalServer
) -> None:
    pipeline = await versioned(client)
    await pipeline.arevert("0.1.0")
    assert "one {{" in pipeline.node("llm").to_json()["inputs"]["prompt"]
    assert not pipeline.has_unsaved_changes
    assert (await pipeline.arun({"query": "q"}))["outputs"]["answer"] == "one q"
    obj = wire(server, pipeline.id or "")["object"]
    assert obj["version"] == "0.1.0"
    assert [v["version"] for v in obj["versions"]][-1] == "0.2.0"
    # Numbers are never given twice: the next bump goes on from the highest.
    await pipeline.asave(bump="minor")
    assert wire(server, pipeline.id or "")["object"]["version"] == "0.3.0"
    await pipeline.arevert("latest")
    assert wire(server, pipeline.id or "")["object"]["version"] == "0.3.0"


async def test_duplicate_names_the_copy_and_copies_the_graph(client: Client) -> None:
    pipeline = echo_pipeline(unique("original"))
    pipeline._client = client
    pipeline.description = "the original"
    await pipeline.asave()
    copy = await pipeline.aduplicate()
    assert copy.id != pipeline.id
    assert (copy.name, copy.description) == (f"{pipeline.name} (copy)", "the original")
    assert [n.name for n in copy.nodes] == ["query", "llm", "answer"]
    assert (await copy.arun({"query": "q"}))["outputs"]["answer"] == "q"
    named = await pipeline.aduplicate("renamed", "described")
    assert (named.name, named.description) == ("renamed", "described")


async def test_remove_node_by_id_and_by_name(client: Client) -> None:
    pipeline = echo_pipeline(unique("remove"))
    pipeline._client = client
    await pipeline.asave()
    answer_id = pipeline.node("answer").id
    assert await pipeline.aremove_node(node_id=answer_id) == answer_id
    assert [n.name for n in pipeline.nodes] == ["query", "llm"]
    assert not pipeline.has_unsaved_changes
    llm_id = pipeline.node("llm").id
    assert await pipeline.aremove_node(node_name="llm") == llm_id
    fetched = await Pipeline.afetch(id=pipeline.id, client=client)
    assert [n.name for n in fetched.nodes] == ["query"]


async def test_remove_node_refuses_a_referenced_node(client: Client) -> None:
    pipeline = echo_pipeline(unique("refuse"))
    pipeline._client = client
    await pipeline.asave()
    with pytest.raises(UnprocessableEntityError, match=r"referenced by 'answer'"):
        await pipeline.aremove_node(node_name="llm")
    with pytest.raises(NotFoundError, match="'ghost'"):
        await pipeline.aremove_node(node_name="ghost")
    with pytest.raises(NotFoundError, match="'ghost_0'"):
        await pipeline.aremove_node(node_id="ghost_0")
    with pytest.raises(ArgumentError):
        await pipeline.aremove_node()
    assert [n.name for n in pipeline.nodes] == ["query", "llm", "answer"]


def test_the_sync_twins(client: Client) -> None:
    pipeline = echo_saying(unique("sync"), "zero")
    pipeline._client = client
    pipeline.save()
    pipeline._nodes = echo_saying(pipeline.name, "one")._nodes
    pipeline.save(bump="minor")
    copy = pipeline.duplicate(name="sync copy")
    assert copy.name == "sync copy"
    pipeline.revert("0.0.0")
    assert pipeline.run({"query": "q"})["outputs"]["answer"] == "zero q"
    assert pipeline.run({"query": "q"}, version="0.1.0")["outputs"]["answer"] == "one q"
    assert Pipeline.fetch(id=pipeline.id, version="0.1.0", client=client).node("answer")
    answer_id = copy.node("answer").id
    assert copy.remove_node(node_name="answer") == answer_id
