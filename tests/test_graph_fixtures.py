"""The builder serialises pipelines exactly as the platform's recorded graphs (tests/fixtures).

The official client writes node ``outputs`` and ``edges`` in hash order, so those two lists are
compared as sets; everything else, key for key and value for value.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vectorshift import Clause, ConditionGroup, Operator, Pipeline
from vectorshift.errors import PipelineDefinitionError

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def normalise(graph: dict[str, Any]) -> dict[str, Any]:
    graph = json.loads(json.dumps(graph))
    for node in graph["nodes"].values():
        node["outputs"] = sorted(node["outputs"])
    graph["canvas_metadata"]["edges"].sort(key=lambda edge: edge["id"])
    return graph


def build_save_fixture() -> Pipeline:
    p = Pipeline(
        "Hello pipeline", id="6709e0f530eacae6703df110", branch_id="6709e0f530eacae6703df111"
    )
    query = p.add(name="query", id="input_0").input()
    llm = p.add(name="llm", id="llm_0").llm(model="gpt-4o", prompt=query.text)
    p.add(name="answer", id="output_0").output(llm.response)
    return p


def build_condition_merge() -> Pipeline:
    p = Pipeline("router")
    query = p.add(name="query", id="input_0").input()
    router = p.add(name="router", id="condition_0").condition(
        [ConditionGroup([Clause(query.text, Operator.TEXT_CONTAINS, "code")])]
    )
    code = p.add(name="code_llm", id="llm_0").llm(
        model="gpt-4o-mini", prompt=query.text, dependencies=[router.path_0]
    )
    plain = p.add(name="plain", id="text_0").text(
        f"General: {query.text}", dependencies=[router.path_else]
    )
    merged = p.add(name="merge", id="merge_0").merge([code.response, plain.text])
    p.add(name="answer", id="output_0").output(merged.output)
    return p


def build_split_text() -> Pipeline:
    p = Pipeline("split")
    doc = p.add(name="doc", id="input_0").input()
    splitter = p.add(name="splitter", id="split_text_0").split_text(doc.text, "newline")
    p.add(name="parts", id="output_0").output(splitter.processed_text)
    return p


def build_streaming_llm() -> Pipeline:
    p = Pipeline("stream")
    question = p.add(name="input_0", id="input_0").input()
    llm = p.add(name="llm", id="llm_0").llm(
        model="gpt-4o-mini", prompt=question.text, system="You are terse.", stream=True
    )
    p.add(name="output_0", id="output_0").output(llm.response, "stream<string>")
    p.add(name="output_1", id="output_1").output(llm.response)
    return p


def build_combine_formatter() -> Pipeline:
    p = Pipeline("combine")
    topic = p.add(name="topic", id="input_0").input()
    style = p.add(name="style", id="input_1").input()
    combined = p.add(name="combine", id="combine_text_0").combine_text([topic.text, style.text])
    upper = p.add(name="formatter", id="text_formatter_0").text_formatter(
        combined.processed_text, "To Uppercase"
    )
    prompt = p.add(name="prompt_text", id="text_0").text(
        f"Write about {topic.text} in a {style.text} style."
    )
    p.add(name="output_1", id="output_1").output(upper.output)
    p.add(name="output_2", id="output_2").output(prompt.text)
    return p


GRAPHS = {
    "graph_condition_merge.json": build_condition_merge,
    "graph_split_text.json": build_split_text,
    "graph_streaming_llm.json": build_streaming_llm,
    "graph_text_combine_formatter.json": build_combine_formatter,
}


@pytest.mark.parametrize("fixture", sorted(GRAPHS))
def test_builder_graph_equals_recorded_graph(fixture: str) -> None:
    assert normalise(GRAPHS[fixture]().to_json()) == normalise(load(fixture))


def test_save_body_nodes_and_canvas_equal_recorded_update() -> None:
    recorded = load("03_save_POST_update_pipeline.json")["json"]
    graph = build_save_fixture().to_json()
    body = {
        "nodes": graph["nodes"],
        "canvas_metadata": graph["canvas_metadata"],
        "branch_id": "6709e0f530eacae6703df111",
        "deploy": True,
    }
    assert normalise(body) == normalise(recorded)


def test_empty_pipeline_create_body_equals_recorded_create() -> None:
    recorded = load("01_create_POST_pipeline.json")["json"]
    assert {**Pipeline("Hello pipeline").to_json(), "name": "Hello pipeline"} == recorded


def test_fetched_graph_round_trips_without_loss() -> None:
    recorded = load("graph_condition_merge.json")
    fetched = Pipeline._from_object({"_id": "p", "name": "router", **recorded}, None)
    fetched.node("code_llm").inputs["prompt"] = "Answer as code: {{ input_0.text }}"
    again = fetched.to_json()
    assert again["nodes"]["llm_0"]["inputs"]["prompt"] == "Answer as code: {{ input_0.text }}"
    again["nodes"]["llm_0"]["inputs"]["prompt"] = recorded["nodes"]["llm_0"]["inputs"]["prompt"]
    assert normalise(again) == normalise(recorded)


def test_fetched_unknown_node_type_and_fields_are_kept_verbatim() -> None:
    raw = {
        "id": "kb_0",
        "name": "kb",
        "type": "knowledge_base",
        "inputs": {"query": "x", "top_k": 5},
        "outputs": ["results", "complete"],
        "task_name": "knowledge_base",
        "execution_mode": "batch",
        "future_field": {"a": 1},
    }
    fetched = Pipeline._from_object({"_id": "p", "name": "kb", "nodes": {"kb_0": raw}}, None)
    assert fetched.to_json()["nodes"]["kb_0"] == raw


SCRIPT = """
import json
from tests.test_graph_fixtures import build_combine_formatter
from vectorshift import Clause, ConditionGroup, Operator, Pipeline
p = Pipeline("stable")
q = p.add(name="q").input()
l = p.add(name="l").llm(prompt=q.text)
p.add(name="o").output(l.response)
print(json.dumps([p.to_json(), build_combine_formatter().to_json()]))
"""


def test_serialisation_is_byte_identical_across_hash_seeds() -> None:
    root = Path(__file__).parent.parent
    outputs = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT],
            cwd=root,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1


def test_reference_to_missing_output_names_both_nodes() -> None:
    p = Pipeline("bad")
    q = p.add(name="query", id="input_0").input()
    llm = p.add(name="llm", id="llm_0").llm(prompt=f"{q.text} {{{{ input_0.nope }}}}")
    p.add(name="answer").output(llm.response)
    with pytest.raises(PipelineDefinitionError, match=r"'llm' \(llm_0\).*input_0\.nope"):
        p.to_json()


def test_cycle_is_rejected_naming_its_nodes() -> None:
    p = Pipeline("cycle")
    a = p.add(name="a", id="text_a").text("{{ text_b.text }}")
    p.add(name="b", id="text_b").text(a.text)
    with pytest.raises(PipelineDefinitionError, match="cycle") as info:
        p.validate()
    assert set(info.value.node_ids) == {"text_a", "text_b"}


def test_duplicate_node_name_is_rejected_at_add() -> None:
    p = Pipeline("dup")
    p.add(name="query").input()
    with pytest.raises(PipelineDefinitionError, match=r"already has a node with the name 'query'"):
        p.add(name="query").text("x")


def test_output_wired_to_nothing_is_rejected() -> None:
    p = Pipeline("empty-output")
    p.add(name="answer").output("")
    with pytest.raises(PipelineDefinitionError, match=r"'answer'.*wired to nothing"):
        p.validate()
