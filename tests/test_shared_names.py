"""Two pipelines with one name: fetching by name gives the most recently modified one, on the
SDK's both surfaces, and the command says which it used."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_support import Shell
from tests.support import echo_pipeline, unique
from vectorshift import Client, Pipeline
from vectorshift.local import LocalServer


def twins(client: Client, name: str) -> tuple[Pipeline, Pipeline]:
    older, newer = echo_pipeline(name), echo_pipeline(name)
    for pipeline in (older, newer):
        pipeline._client = client
        pipeline.save()
    return older, newer


def test_by_name_the_most_recently_modified_is_fetched(client: Client) -> None:
    name = unique("twins")
    older, newer = twins(client, name)
    assert Pipeline.fetch(name=name, client=client).id == newer.id
    older.save()
    assert Pipeline.fetch(name=name, client=client).id == older.id
    newer.save()
    assert Pipeline.fetch(name=name, client=client).id == newer.id


@pytest.mark.anyio
async def test_by_name_the_most_recently_modified_is_fetched_async(client: Client) -> None:
    name = unique("twins-async")
    older, newer = twins(client, name)
    assert (await Pipeline.afetch(name=name, client=client)).id == newer.id
    await older.asave()
    assert (await Pipeline.afetch(name=name, client=client)).id == older.id


def test_the_command_says_when_the_name_it_resolved_is_shared(
    server: LocalServer, client: Client, tmp_path: Path
) -> None:
    sh = Shell(home=tmp_path, base_url=server.base_url, api_key=server.api_key)
    name = unique("cli-twins")
    older, newer = twins(client, name)
    done = sh("run", name, "-i", "query=hi")
    assert done.returncode == 0 and done.stdout == "hi\n"
    assert done.stderr == (
        f"2 pipelines are named {name!r}; using {newer.id}, the most recently modified "
        "(name it by id to choose another)\n"
    )
    by_id = sh("run", str(older.id), "-i", "query=hi")
    assert (by_id.returncode, by_id.stderr) == (0, "")
    alone = echo_pipeline(unique("cli-alone"))
    alone._client = client
    alone.save()
    assert sh("run", alone.name, "-i", "query=hi").stderr == ""
