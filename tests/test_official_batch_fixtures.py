"""Batch nodes: our builder writes the graphs the official client writes (fixtures/official/batch).

The fixtures were recorded from the official client (``tools/record_official_requests.py``); see
``tests/fixtures/official/FACTS.md`` §4. Compared as ``tests/test_official_fixtures.py`` compares
graphs: outputs and edges as sets, everything else (``execution_mode``, ``batchModeConfig``,
positions) value for value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.test_official_fixtures import as_sets
from vectorshift import Pipeline, PipelineDefinitionError
from vectorshift.pipeline import (
    ConditionNode,
    InputNode,
    LlmNode,
    OutputNode,
    TextFormatterNode,
    TextNode,
)

BATCH = Path(__file__).parent / "fixtures" / "official" / "batch"


def llm() -> Pipeline:
    p = Pipeline("llm")
    questions = p.add(name="questions", id="input_0").input(input_type="vec<string>")
    system = p.add(name="system_prompt", id="text_0").text("Answer in one line.")
    answers = p.add_batch(name="answers", id="llm_0").llm(
        prompt=questions.value, system=system.text
    )
    p.add(name="answer_list", id="output_0").output(answers.response, "vec<string>")
    return p


def literals() -> Pipeline:
    p = Pipeline("literals")
    p.add_batch(name="lists", id="llm_0").llm(prompt=["a", "b"], system="shared")
    shout = p.add_batch(name="shout", id="text_formatter_0").text_formatter(["x", "y"])
    words = p.add_batch(name="words", id="split_text_0").split_text(shout.output, "space")
    p.add(name="word_lists", id="output_0").output(words.processed_text, "json")
    return p


def node_classes() -> Pipeline:
    items = InputNode(node_name="items", id="input_0", input_type="vec<string>")
    upper = TextFormatterNode(
        node_name="upper",
        id="text_formatter_0",
        text=items.value,
        formatter="To Uppercase",
        execution_mode="batch",
    )
    note = TextNode(node_name="note", id="text_0", text=upper.output)
    out = OutputNode(node_name="upper_list", id="output_0", value=note.text, output_type="json")
    return Pipeline("node_classes", nodes=[items, upper, note, out])


BUILDERS: dict[str, Callable[[], Pipeline]] = {
    build.__name__: build for build in (llm, literals, node_classes)
}


def recorded(name: str) -> dict[str, Any]:
    return json.loads((BATCH / f"{name}.json").read_text())


def test_every_recorded_batch_graph_has_a_builder_here() -> None:
    assert {path.stem for path in BATCH.glob("*.json")} == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_batch_graph_equals_official_client_graph(name: str) -> None:
    assert as_sets(BUILDERS[name]().to_json()) == as_sets(recorded(name))


def test_batch_mode_config_marks_literal_lists_only() -> None:
    canvas = literals().to_json()["canvas_metadata"]["nodes"]
    assert canvas["llm_0"]["batchModeConfig"] == {"prompt": True, "system": False}
    assert canvas["split_text_0"]["batchModeConfig"] == {"text": False, "delimiter": False}


def test_a_list_input_is_deeper_only_as_a_list_of_lists() -> None:
    p = Pipeline("combine")
    flat = p.add_batch(name="flat").combine_text(["a", "b"])
    deep = p.add_batch(name="deep").combine_text([["a", "b"], ["c", "d"]])
    canvas = p.to_json()["canvas_metadata"]["nodes"]
    assert canvas[flat.id]["batchModeConfig"] == {"text": False}
    assert canvas[deep.id]["batchModeConfig"] == {"text": True}


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.add_batch(name="q").input(),
        lambda p: p.add_batch(name="t").text("x"),
        lambda p: p.add_batch(name="m").merge(["a"]),
        lambda p: p.add_batch(name="c").condition([]),
    ],
)
def test_batch_mode_is_refused_where_the_type_has_none(make: Callable[[Pipeline], Any]) -> None:
    with pytest.raises(PipelineDefinitionError, match="execution_mode 'batch' is not one of"):
        make(Pipeline("refused"))


def test_node_classes_without_a_name_get_the_official_default_names() -> None:
    q = InputNode(input_type="string")
    first = LlmNode(prompt=q.text, provider="local", model="echo")
    second = LlmNode(prompt=first.response, provider="local", model="echo")
    p = Pipeline("named", nodes=[q, first, second, OutputNode(value=second.response)])
    assert [node.name for node in p.nodes] == ["input_0", "llm_0", "llm_1", "output_0"]
    assert p.to_json()["inputs"] == {
        "input_0": {"io_type": "string", "description": "", "default_value": ""}
    }


def test_node_name_and_name_are_one_argument() -> None:
    assert TextNode(node_name="t", text="x").name == "t"
    assert TextNode("t", "x").name == "t"
    with pytest.raises(PipelineDefinitionError, match="two names"):
        TextNode("t", "x", node_name="u")
    with pytest.raises(PipelineDefinitionError, match="needs text"):
        TextNode(node_name="t")
    assert ConditionNode  # condition nodes take no execution_mode (official too)
