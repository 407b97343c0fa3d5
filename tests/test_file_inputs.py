"""File inputs end to end: the SDK's multipart run requests against a real vectorshift.local."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from support import echo_pipeline, unique

from vectorshift import (
    Client,
    File,
    InputNode,
    Pipeline,
    PipelineDefinitionError,
    UnprocessableEntityError,
)
from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.faults import FaultInjector

NOTES = b"line one\nline two \xe2\x9c\x93"
NOTES_TEXT = NOTES.decode("utf-8")


def summary_pipeline(name: str) -> Pipeline:
    """doc (file input) -> text node summarising it -> summary."""
    pipeline = Pipeline(name)
    doc = pipeline.add(name="doc").input(input_type="file")
    text = pipeline.add(name="summariser").text(
        text=f"Summary of {doc.file_name}: {doc.processed_text}"
    )
    pipeline.add(name="summary").output(text.text)
    return pipeline


async def saved(pipeline: Pipeline, client: Client) -> Pipeline:
    pipeline._client = client
    await pipeline.asave()
    return pipeline


# -- building ------------------------------------------------------------------------------------


def test_file_input_nodes_have_file_outputs_and_string_inputs_keep_text() -> None:
    doc = InputNode("doc", "file")
    query = InputNode("query")
    assert doc.outputs == ["complete", "file", "file_name", "processed_text"]
    assert query.outputs == ["complete", "text"]
    assert doc.processed_text.template == f"{{{{ {doc.id}.processed_text }}}}"
    assert summary_pipeline("built").to_json()["inputs"]["doc"]["io_type"] == "file"


def test_an_output_the_input_type_does_not_have_is_refused_at_once() -> None:
    doc = Pipeline("file-text").add(name="doc").input(input_type="file")
    with pytest.raises(PipelineDefinitionError, match=r"'doc'.* type 'file' has no output 'text'"):
        _ = doc.text
    query = Pipeline("string-processed").add(name="query").input()
    with pytest.raises(PipelineDefinitionError, match=r"'query'.*no output 'processed_text'"):
        _ = query.processed_text


def test_validation_rejects_a_template_naming_an_output_the_input_does_not_have() -> None:
    wrong_text = Pipeline("file-text")
    doc = wrong_text.add(name="doc").input(input_type="file")
    wrong_text.add(name="out").output(f"{{{{ {doc.id}.text }}}}")
    with pytest.raises(PipelineDefinitionError, match=r"'doc'.*text"):
        wrong_text.validate()


def test_file_from_path_guesses_the_content_type(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(NOTES)
    file = File.from_path(path)
    assert (file.name, file.content, file.content_type) == ("notes.txt", NOTES, "text/plain")
    assert File("blob", b"\x00").content_type == "application/octet-stream"


# -- running (async, on asyncio and trio) --------------------------------------------------------


@pytest.mark.anyio
async def test_blocking_runs_with_a_file_a_path_and_a_file_object(
    client: Client, tmp_path: Path
) -> None:
    pipeline = await saved(summary_pipeline(unique("files")), client)
    expected = f"Summary of notes.txt: {NOTES_TEXT}"
    result = await pipeline.arun({"doc": File("notes.txt", NOTES, "text/plain")})
    assert result["outputs"]["summary"] == expected
    path = tmp_path / "notes.txt"
    path.write_bytes(NOTES)
    assert (await pipeline.arun({"doc": path}))["outputs"]["summary"] == expected
    with path.open("rb") as handle:
        assert (await pipeline.arun({"doc": handle}))["outputs"]["summary"] == expected


@pytest.mark.anyio
async def test_binary_content_gives_replacement_characters(client: Client) -> None:
    pipeline = await saved(summary_pipeline(unique("binary")), client)
    result = await pipeline.arun({"doc": File("scan.bin", b"ok \xff\xfe")})
    assert result["outputs"]["summary"] == "Summary of scan.bin: ok \ufffd\ufffd"


@pytest.mark.anyio
async def test_background_start_records_file_metadata_not_bytes(
    client: Client, server: LocalServer
) -> None:
    pipeline = await saved(summary_pipeline(unique("start")), client)
    handler = await pipeline.astart({"doc": File("a.txt", b"alpha", "text/plain")})
    status = await handler.aresult(poll_interval=0.05, timeout=30)
    assert status["result"] == {"summary": "Summary of a.txt: alpha"}
    record = server.store.get_run("local", handler.task_id)
    assert record is not None
    assert record.inputs == {
        "doc": {
            "name": "a.txt",
            "content_type": "text/plain",
            "size": 5,
            "sha256": hashlib.sha256(b"alpha").hexdigest(),
        }
    }


@pytest.mark.anyio
async def test_stream_chunks_carry_the_file_outputs(client: Client) -> None:
    pipeline = await saved(summary_pipeline(unique("stream")), client)
    seen: dict[str, object] = {}
    async with pipeline.astream({"doc": File("s.txt", NOTES, "text/plain")}) as chunks:
        async for chunk in chunks:
            if chunk.output_name is not None:
                seen[chunk.output_name] = chunk.output_value
    assert seen["doc.processed_text"] == NOTES_TEXT
    assert seen["doc.file"] == {"name": "s.txt", "content_type": "text/plain", "size": len(NOTES)}
    assert seen["summary"] == f"Summary of s.txt: {NOTES_TEXT}"


@pytest.mark.anyio
async def test_idempotent_starts_compare_the_files(client: Client) -> None:
    pipeline = await saved(summary_pipeline(unique("keyed")), client)
    key = unique("file-key")
    first = await pipeline.astart({"doc": File("k.txt", b"same")}, idempotency_key=key)
    again = await pipeline.astart({"doc": File("k.txt", b"same")}, idempotency_key=key)
    assert again.task_id == first.task_id
    with pytest.raises(UnprocessableEntityError, match="Idempotency-Key"):
        await pipeline.astart({"doc": File("k.txt", b"other")}, idempotency_key=key)


@pytest.mark.anyio
async def test_a_lost_start_answer_resends_the_same_file_and_starts_one_run(
    client: Client, faults: FaultInjector, server: LocalServer
) -> None:
    pipeline = await saved(summary_pipeline(unique("resent")), client)
    run_path = f"/pipeline/{pipeline.id}/run"
    faults.add(method="POST", path=run_path, status=502, when="after", count=1)
    handler = await pipeline.astart({"doc": File("r.txt", b"resent")})
    assert faults.seen("POST", run_path) == 2
    status = await handler.aresult(poll_interval=0.05, timeout=30)
    assert status["result"] == {"summary": "Summary of r.txt: resent"}
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute("SELECT task_id FROM runs WHERE pipeline_id = ?", (pipeline.id,))
        assert [task_id for (task_id,) in rows] == [handler.task_id]


@pytest.mark.anyio
async def test_wrong_values_are_refused_before_any_request(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await saved(summary_pipeline(unique("refused")), client)
    sent_before = faults.seen("POST", f"/pipeline/{pipeline.id}/")
    with pytest.raises(ValueError, match=r"'doc'.*file"):
        await pipeline.arun({"doc": "just a string"})
    with pytest.raises(TypeError, match=r"bulk_run.*'doc'"):
        await pipeline.abulk_run([{"doc": File("b.txt", b"bulk")}])
    strings = await saved(echo_pipeline(unique("string-input")), client)
    with pytest.raises(ValueError, match="'query'"):
        await strings.arun({"query": File("q.txt", b"not a string")})
    assert faults.seen("POST", f"/pipeline/{pipeline.id}/") == sent_before


@pytest.mark.anyio
async def test_a_pipeline_known_by_id_only_gets_the_server_check(client: Client) -> None:
    pipeline = await saved(summary_pipeline(unique("by-id")), client)
    bare = Pipeline("bare", id=pipeline.id, client=client)
    with pytest.raises(UnprocessableEntityError, match=r"'doc'.*file input"):
        await bare.arun({"doc": "a string"})
    with pytest.raises(UnprocessableEntityError, match="'doc'"):
        await bare.arun({})
    result = await bare.arun({"doc": File("x.txt", b"works")})
    assert result["outputs"]["summary"] == "Summary of x.txt: works"


# -- running (sync) ------------------------------------------------------------------------------


def test_sync_run_start_and_stream_with_a_file(client: Client, tmp_path: Path) -> None:
    pipeline = summary_pipeline(unique("sync-files"))
    pipeline._client = client
    pipeline.save()
    path = tmp_path / "report.md"
    path.write_bytes(b"# Report")
    assert pipeline.run({"doc": path})["outputs"]["summary"] == "Summary of report.md: # Report"
    handler = pipeline.start({"doc": File("b.txt", b"beta")})
    assert handler.result(poll_interval=0.05, timeout=30)["result"] == {
        "summary": "Summary of b.txt: beta"
    }
    with pipeline.stream({"doc": File("c.txt", b"gamma")}) as chunks:
        values = [chunk.output_value for chunk in chunks]
    assert "Summary of c.txt: gamma" in values


# -- the server, over raw HTTP -------------------------------------------------------------------


@pytest.fixture
def saved_id(client: Client) -> str:
    pipeline = summary_pipeline(unique("raw"))
    pipeline._client = client
    pipeline.save()
    assert pipeline.id is not None
    return pipeline.id


def post_run(server: LocalServer, pipeline_id: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    url = f"{server.base_url}/pipeline/{pipeline_id}/run"
    return httpx.post(url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_raw_multipart_run_succeeds(server: LocalServer, saved_id: str) -> None:
    response = post_run(
        server, saved_id, data={"inputs": "{}"}, files={"doc": ("r.txt", b"raw", "text/plain")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == {"summary": "Summary of r.txt: raw"}


def test_raw_multipart_errors(server: LocalServer, saved_id: str) -> None:
    unknown = post_run(
        server,
        saved_id,
        data={"inputs": "{}"},
        files={
            "doc": ("r.txt", b"raw"),
            "other": ("o.txt", b"x"),
        },
    )
    assert unknown.status_code == 422
    assert "'other'" in unknown.json()["error"]
    not_json = post_run(server, saved_id, data={"inputs": "{nope"}, files={"doc": ("r", b"x")})
    assert not_json.status_code == 400
    assert "'inputs'" in not_json.json()["error"]
    as_field = post_run(
        server,
        saved_id,
        data={"inputs": "{}", "doc": "text"},
        files={
            "unused": ("u", b""),
        },
    )
    assert as_field.status_code == 422
    assert "'doc'" in as_field.json()["error"]
    missing = post_run(server, saved_id, files={"inputs": (None, json.dumps({}))})
    assert missing.status_code == 422
    assert "'doc'" in missing.json()["error"]
    bad_flag = post_run(
        server, saved_id, data={"inputs": "{}", "background": "yes"}, files={"doc": ("r", b"x")}
    )
    assert bad_flag.status_code == 400
    assert "'background'" in bad_flag.json()["error"]


def test_other_endpoints_still_refuse_multipart(server: LocalServer, saved_id: str) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    response = httpx.post(
        f"{server.base_url}/pipeline/{saved_id}/bulk-run",
        headers=headers,
        files={"doc": ("r.txt", b"raw")},
        timeout=30,
    )
    assert response.status_code == 415
    assert "run endpoint" in response.json()["error"]


def test_oversized_multipart_is_refused_with_413() -> None:
    with LocalServer(ServerConfig(max_body_bytes=8192)) as small:
        client = Client(api_key=small.api_key, base_url=small.base_url)
        pipeline = summary_pipeline("small")
        pipeline._client = client
        pipeline.save()
        assert pipeline.id is not None
        response = post_run(
            small, pipeline.id, data={"inputs": "{}"}, files={"doc": ("big", b"x" * 20000)}
        )
        assert response.status_code == 413
        client.close()
