"""The result types: frozen pydantic models that read like the platform's dicts.

They are pydantic's own models again (last round they were dataclasses with a hand-written
``model_dump``): these tests pin what users do with them, dict access, ``repr``, equality,
immutability, pickling, ``model_dump``/``model_dump_json``, ``model_validate``,
``model_json_schema``, and use as fields of their own models and as FastAPI response models,
and that results read from the wire are checked by the same declaration.
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys

import pydantic
import pytest

from vectorshift import RunResult, RunStatus, SSEFrame, StreamChunk
from vectorshift._schema.answers import RUN_STATUS, StatusIds
from vectorshift._schema.frames import chunk_of

BODY = {"task_id": "t-1", "status": "completed", "result": {"answer": "naïve"}, "extra": 1}


def status() -> RunStatus:
    return RUN_STATUS.validate_json(json.dumps(BODY), context=StatusIds("p-1", "t-1", None))


def chunk() -> StreamChunk:
    data = {"type": "result", "status": "success", "outputs": {"answer": "x"}, "run_id": "r-1"}
    return chunk_of(SSEFrame(data=json.dumps(data), id="7"))


def test_they_are_pydantic_models_reporting_the_public_module() -> None:
    for cls in (RunStatus, RunResult, StreamChunk):
        assert issubclass(cls, pydantic.BaseModel) and cls.__module__ == "vectorshift"
        assert cls.model_config["frozen"]
    assert isinstance(status(), pydantic.BaseModel)


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
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        status().status = "failed"  # type: ignore[misc]
    with pytest.raises(TypeError, match="unhashable"):
        hash(status())


def test_results_read_from_the_wire_equal_the_same_built_by_hand() -> None:
    read_result = RUN_STATUS.validate_json(json.dumps(BODY), context=StatusIds(None, "t", None))
    for read in (status(), chunk(), read_result):
        assert list(vars(read)) == list(type(read).model_fields)
        assert type(read)(**vars(read)) == read
        assert type(read).model_validate(read.model_dump()) == read
        assert type(read).model_validate_json(read.model_dump_json()) == read


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
    assert "outputs" in result and "run_id" in result and "outputs" in status()
    assert "run_id" not in status()
    assert "missing" not in result and result.get("missing", 3) == 3
    with pytest.raises(KeyError, match="missing"):
        result["missing"]
    assert chunk()["outputs"] == {"answer": "x"} and chunk()["output_value"] is None


def test_model_dump_copies_containers_and_excludes() -> None:
    value = status()
    dumped = value.model_dump()
    assert dumped["status"] == "succeeded" and dumped["raw"] == BODY
    assert list(dumped) == list(RunStatus.model_fields)
    dumped["result"]["answer"] = "changed"
    assert value.result == {"answer": "naïve"}
    assert "raw" not in value.model_dump(exclude={"raw"})


def test_model_dump_takes_pydantics_arguments() -> None:
    value = chunk()
    assert value.model_dump(include={"type", "id"}) == {"type": "result", "id": "7"}
    assert "output_name" not in value.model_dump(exclude_none=True)
    odd = StreamChunk(type="stream", output_value=(1, 2), raw={"n": (1, 2)})
    assert odd.model_dump(mode="json")["output_value"] == [1, 2]
    assert odd.model_dump()["output_value"] == (1, 2)
    assert value.model_dump(by_alias=True, round_trip=True) == value.model_dump()


def test_model_dump_json_is_compact_utf8_or_indented() -> None:
    text = status().model_dump_json(exclude={"raw"})
    assert '"answer":"naïve"' in text and ", " not in text
    assert json.loads(text) == status().model_dump(exclude={"raw"})
    assert "\n  " in chunk().model_dump_json(indent=2)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"task_id": "t", "status": "done"}, "status"),
        ({"task_id": 7, "status": "running"}, "task_id"),
        ({"task_id": "t", "status": "running", "result": []}, "result"),
        ({"task_id": "t", "status": "running", "error": 3}, "error"),
        ({"task_id": "t", "status": "running", "raw": None}, "raw"),
        ({"task_id": "t", "status": "running", "reslut": {}}, "reslut"),
    ],
)
def test_building_by_hand_names_a_wrong_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        RunStatus(**kwargs)  # type: ignore[arg-type]
    assert info.value.errors()[0]["loc"] == (field,)


def test_by_hand_the_status_is_one_of_the_four_words_not_the_platforms() -> None:
    with pytest.raises(pydantic.ValidationError, match="status"):
        StreamChunk(type="result", status="success")  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError, match="outputs"):
        StreamChunk(type="result", outputs="x")  # type: ignore[arg-type]
    assert StreamChunk(type="stream", output_value=[1]).output_value == [1]
    assert RunStatus.model_validate({"task_id": "t", "status": "cancelled"}).is_terminal


def test_the_json_schema_names_the_status_words() -> None:
    schema = RunStatus.model_json_schema()
    assert schema["title"] == "RunStatus" and schema["required"] == ["task_id", "status"]
    assert schema["properties"]["status"]["enum"] == ["running", "succeeded", "failed", "cancelled"]
    assert "output_value" in StreamChunk.model_json_schema()["properties"]
    assert RunResult.model_json_schema(mode="serialization")["title"] == "RunResult"


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


def test_first_use_imports_neither_pydantic_nor_the_result_types() -> None:
    code = (
        "import sys\n"
        "from vectorshift import Pipeline, RunHandler, Client\n"
        "print(sorted(m for m in ('pydantic', 'vectorshift.types') if m in sys.modules))\n"
        "from vectorshift import RunStatus\n"
        "RunStatus(task_id='t', status='running')\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_a_fastapi_route_returns_a_run_status() -> None:
    import anyio
    import httpx
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/status", response_model=RunStatus)
    def read() -> RunStatus:
        return status()

    @app.get("/chunk", response_model=StreamChunk)
    def last() -> StreamChunk:
        return chunk()

    async def fetch() -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            body = (await client.get("/status")).json()
            sent = (await client.get("/chunk")).json()
            return body, sent, (await client.get("/openapi.json")).json()["components"]["schemas"]

    body, sent, schemas = anyio.run(fetch)
    assert body["status"] == "succeeded" and body["result"] == {"answer": "naïve"}
    assert RunStatus.model_validate(body) == status()
    assert sent["raw_status"] == "success" and StreamChunk.model_validate(sent) == chunk()
    assert "RunStatus" in schemas and "StreamChunk" in schemas
