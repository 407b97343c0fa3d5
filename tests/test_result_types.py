"""The result types: frozen dataclasses that read like the platform's dicts and work in pydantic.

They were pydantic models until building them made ``import vectorshift`` twice as slow; these
tests pin what users could do with them then and can still do: dict access, ``repr``,
equality, immutability, pickling, ``model_dump``/``model_dump_json``, and use as fields of
their own pydantic models (FastAPI response models among them).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import subprocess
import sys

import pydantic
import pytest

from vectorshift import RunResult, RunStatus, StreamChunk

BODY = {"task_id": "t-1", "status": "completed", "result": {"answer": "naïve"}, "extra": 1}


def status() -> RunStatus:
    return RunStatus.from_wire(dict(BODY), pipeline_id="p-1", task_id="t-1")


def chunk() -> StreamChunk:
    return StreamChunk.from_frame(
        {"type": "result", "status": "success", "outputs": {"answer": "x"}, "run_id": "r-1"},
        "7",
    )


def test_repr_shows_the_fields_that_are_set_and_not_the_raw_body() -> None:
    assert repr(status()) == (
        "RunStatus(pipeline_id='p-1', task_id='t-1', status='succeeded', "
        "raw_status='completed', result={'answer': 'naïve'})"
    )
    assert str(status()) == repr(status())
    assert repr(RunResult(task_id="r", status="failed", error="boom")) == (
        "RunResult(task_id='r', status='failed', error='boom')"
    )
    assert repr(chunk()) == (
        "StreamChunk(type='result', run_id='r-1', status='succeeded', raw_status='success', "
        "outputs={'answer': 'x'}, id='7')"
    )


def test_equal_by_class_and_fields_frozen_and_unhashable_like_their_dicts() -> None:
    assert status() == status()
    assert status() != RunResult(**vars(status()))  # same fields, another class
    with pytest.raises(AttributeError, match="status"):
        status().status = "failed"  # type: ignore[misc]
    with pytest.raises(TypeError, match="unhashable"):
        hash(status())


def test_results_read_from_the_wire_equal_the_same_built_by_hand() -> None:
    for read in (status(), chunk(), RunResult.from_wire(BODY, pipeline_id=None, task_id="t")):
        assert list(vars(read)) == list(type(read).__dataclass_fields__)
        assert type(read)(**vars(read)) == read


@pytest.mark.parametrize("make", [status, chunk, lambda: RunResult(task_id="r", status="running")])
def test_pickle_and_copy_round_trip(make: object) -> None:
    value = make()  # type: ignore[operator]
    for clone in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert clone == value and type(clone) is type(value)


def test_dict_access_keys_and_iteration() -> None:
    result = RunResult(**vars(status()))
    assert result["run_id"] == "t-1" == result.run_id
    assert result["outputs"] == {"answer": "naïve"} == result.get("result")
    assert list(result) == result.keys()
    assert result.keys()[:2] == ["outputs", "run_id"] and result.keys()[-1] == "raw"
    assert "missing" not in result and result.get("missing", 3) == 3
    with pytest.raises(KeyError, match="missing"):
        result["missing"]
    assert chunk()["outputs"] == {"answer": "x"} and chunk()["output_value"] is None


def test_model_dump_copies_containers_and_excludes() -> None:
    value = status()
    dumped = value.model_dump()
    assert dumped["status"] == "succeeded" and dumped["raw"] == BODY
    assert list(dumped) == [f.name for f in dataclasses.fields(RunStatus)]
    dumped["result"]["answer"] = "changed"
    assert value.result == {"answer": "naïve"}
    assert "raw" not in value.model_dump(exclude={"raw"})


def test_model_dump_takes_pydantics_common_arguments() -> None:
    value = chunk()
    assert value.model_dump(include={"type", "id"}) == {"type": "result", "id": "7"}
    assert "output_name" not in value.model_dump(exclude_none=True)
    odd = StreamChunk(type="stream", output_value=(1, 2), raw={"n": (1, 2)})
    assert odd.model_dump(mode="json")["output_value"] == [1, 2]
    assert odd.model_dump()["output_value"] == (1, 2)
    with pytest.raises(ValueError, match="mode must be 'python' or 'json'"):
        value.model_dump(mode="yaml")  # type: ignore[arg-type]


def test_model_dump_json_is_compact_utf8_or_indented() -> None:
    text = status().model_dump_json(exclude={"raw"})
    assert '"answer":"naïve"' in text and ", " not in text
    assert json.loads(text) == status().model_dump(exclude={"raw"})
    assert "\n  " in chunk().model_dump_json(indent=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_id": "t", "status": "done"}, r"RunStatus\.status must be 'running', 'succeeded'"),
        ({"task_id": 7, "status": "running"}, r"RunStatus\.task_id must be a string, not 7"),
        ({"task_id": "t", "status": "running", "result": []}, r"RunStatus\.result must be a dict"),
        ({"task_id": "t", "status": "running", "error": 3}, r"RunStatus\.error must be a string"),
        ({"task_id": "t", "status": "running", "raw": None}, r"RunStatus\.raw must be a dict"),
    ],
)
def test_building_by_hand_names_a_wrong_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        RunStatus(**kwargs)  # type: ignore[arg-type]


def test_stream_chunk_by_hand_checks_its_fields() -> None:
    with pytest.raises(TypeError, match=r"StreamChunk\.status must be None or 'running'"):
        StreamChunk(type="result", status="success")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"StreamChunk\.outputs must be a dict or None"):
        StreamChunk(type="result", outputs="x")  # type: ignore[arg-type]
    assert StreamChunk(type="stream", output_value=[1]).output_value == [1]


class Report(pydantic.BaseModel):
    status: RunStatus
    last_chunk: StreamChunk | None = None


def test_results_are_fields_of_a_users_pydantic_model() -> None:
    report = Report(status=status(), last_chunk=chunk())
    again = Report.model_validate_json(report.model_dump_json())
    assert again == report and isinstance(again.status, RunStatus)
    assert again.status.outputs == {"answer": "naïve"}
    schema = Report.model_json_schema()
    state = schema["$defs"]["RunStatus"]["properties"]["status"]
    assert state["enum"] == ["running", "succeeded", "failed", "cancelled"]


def test_type_adapter_validates_and_names_the_bad_field() -> None:
    adapter = pydantic.TypeAdapter(RunResult)
    result = adapter.validate_python({"task_id": "r", "status": "succeeded", "result": {"a": 1}})
    assert result.run_id == "r" and adapter.dump_python(result)["result"] == {"a": 1}
    with pytest.raises(pydantic.ValidationError, match="status"):
        adapter.validate_python({"task_id": "r", "status": "done"})


def test_first_use_imports_neither_pydantic_nor_httpx() -> None:
    code = (
        "import sys\n"
        "from vectorshift import Pipeline, RunHandler, Client, RunStatus, StreamChunk\n"
        "RunStatus(task_id='t', status='running')\n"
        "print(sorted(m for m in ('pydantic', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_fastapi_route_returns_a_run_status() -> None:
    import anyio
    import httpx
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/status", response_model=RunStatus)
    def read() -> RunStatus:
        return status()

    async def fetch() -> tuple[dict[str, object], dict[str, object]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            body = (await client.get("/status")).json()
            return body, (await client.get("/openapi.json")).json()["components"]["schemas"]

    body, schemas = anyio.run(fetch)
    assert body["status"] == "succeeded" and body["result"] == {"answer": "naïve"}
    assert "RunStatus" in schemas
