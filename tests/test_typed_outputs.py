"""``result.output(name, type)``: an output read with the type the caller expects, checked when
read, against a real local platform; ``StreamChunk.type`` is ``"stream"`` or ``"result"``."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from tests.support import unique
from vectorshift import (
    Client,
    OutputError,
    Pipeline,
    RunStatus,
    StreamChunk,
    VectorshiftError,
)


class Doc(BaseModel):
    title: str
    pages: int


@pytest.fixture(scope="module")
def typed(server: object) -> Pipeline:
    from vectorshift.local import LocalServer

    assert isinstance(server, LocalServer)
    client = Client(api_key=server.api_key, base_url=server.base_url)
    pipeline = Pipeline(unique("typed-outputs"), client=client)
    text = pipeline.add(name="text").input()
    count = pipeline.add(name="count").input(input_type="int32")
    ratio = pipeline.add(name="ratio").input(input_type="float")
    tags = pipeline.add(name="tags").input(input_type="vec<string>")
    doc = pipeline.add(name="doc").input(input_type="json")
    pipeline.add(name="text_out").output(text.text)
    pipeline.add(name="count_out").output(count.value, output_type="int32")
    pipeline.add(name="ratio_out").output(ratio.value, output_type="float")
    pipeline.add(name="tags_out").output(tags.value, output_type="json")
    del doc
    pipeline.save()
    return pipeline


def test_outputs_read_with_their_types(typed: Pipeline) -> None:
    result = typed.run({"text": "hi", "count": 3, "ratio": 2, "tags": ["a", "b"], "doc": {}})
    assert result.output("text_out", str) == "hi"
    assert result.output("count_out", int) == 3
    ratio = result.output("ratio_out", float)
    assert ratio == 2.0 and isinstance(ratio, float)
    assert result.output("tags_out", list[str]) == ["a", "b"]
    assert result.output("text_out") == "hi"


def test_an_output_of_another_type_is_an_output_error(typed: Pipeline) -> None:
    result = typed.run({"text": "hi", "count": 3, "ratio": 2, "tags": ["a"], "doc": {}})
    with pytest.raises(OutputError, match=r"output 'text_out' is a str \('hi'\), not a int"):
        result.output("text_out", int)
    with pytest.raises(OutputError, match="output 'tags_out' is not a list"):
        result.output("tags_out", list[int])
    with pytest.raises(OutputError) as caught:
        result.output("count_out", bool)
    assert isinstance(caught.value, VectorshiftError) and isinstance(caught.value, ValueError)
    assert caught.value.output_name == "count_out"


def test_a_misspelt_output_names_the_outputs_there_are(typed: Pipeline) -> None:
    result = typed.run({"text": "hi", "count": 3, "ratio": 2, "tags": [], "doc": {}})
    with pytest.raises(OutputError, match=r"has no output 'txt_out' .*'text_out'"):
        result.output("txt_out", str)


def test_a_json_output_validates_into_a_users_model() -> None:
    doc = {"title": "T", "pages": 2}
    result = RunStatus(task_id="t-1", status="succeeded", result={"doc": doc})
    assert result.output("doc", Doc) == Doc(title="T", pages=2)
    with pytest.raises(OutputError, match="output 'doc' is not a Doc"):
        RunStatus(task_id="t-1", status="succeeded", result={"doc": {"title": "T"}}).output(
            "doc", Doc
        )
    with pytest.raises(OutputError, match="output 'doc' is a dict"):
        result.output("doc", str)


def test_a_stream_chunk_type_is_one_of_two_words(client: Client) -> None:
    pipeline = Pipeline(unique("typed-chunks"), client=client)
    text = pipeline.add(name="text").input()
    pipeline.add(name="out").output(text.text)
    pipeline.save()
    with pipeline.stream({"text": "x"}) as chunks:
        kinds = {chunk.type for chunk in chunks}
    assert kinds == {"stream", "result"}
    with pytest.raises(ValueError):
        StreamChunk(type="error")  # type: ignore[arg-type]
