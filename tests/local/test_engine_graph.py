"""Graph checks of the local engine: validation messages, pipeline_io, template rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vectorshift.local.engine import GraphValidationError, pipeline_io, validate_graph
from vectorshift.local.templates import Reference, find_references, render, to_text

FIXTURES = Path(__file__).parents[1] / "fixtures"
GRAPHS = sorted(path.name for path in FIXTURES.glob("graph_*.json"))


def node(
    node_id: str,
    kind: str,
    name: str | None = None,
    outputs: list[str] | None = None,
    /,
    **inputs: Any,
) -> dict[str, Any]:
    """A node as the platform serialises it."""
    return {
        "id": node_id,
        "name": name or node_id,
        "type": kind,
        "inputs": inputs,
        "outputs": ["complete", *(outputs or [])],
        "task_name": kind,
        "execution_mode": "normal",
    }


def graph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {item["id"]: item for item in nodes}


def rejection(nodes: dict[str, Any]) -> GraphValidationError:
    with pytest.raises(GraphValidationError) as caught:
        validate_graph(nodes)
    return caught.value


@pytest.mark.parametrize("name", GRAPHS)
def test_recorded_graphs_are_valid(name: str) -> None:
    validate_graph(json.loads((FIXTURES / name).read_text())["nodes"])


@pytest.mark.parametrize("name", GRAPHS)
def test_pipeline_io_matches_the_recorded_maps(name: str) -> None:
    recorded = json.loads((FIXTURES / name).read_text())
    assert pipeline_io(recorded["nodes"]) == (recorded["inputs"], recorded["outputs"])


def test_reference_to_a_missing_node_names_node_and_input() -> None:
    error = rejection(
        graph(
            node("input_0", "input", "query", ["text"]),
            node(
                "llm_1",
                "llm",
                "summary",
                ["response"],
                provider="local",
                model="echo",
                prompt="Summarise {{ llm_9.response }}",
            ),
        )
    )
    assert str(error) == "node 'summary' (llm_1) references missing node 'llm_9' in input 'prompt'"
    assert error.node_ids == ("llm_1",)


def test_reference_to_an_undeclared_output_lists_the_declared_ones() -> None:
    error = rejection(
        graph(
            node("input_0", "input", "query", ["text"]),
            node("text_0", "text", "echo", ["text"], text="{{ input_0.response }}"),
        )
    )
    assert str(error) == (
        "node 'echo' (text_0) references output 'response' of node 'query' (input_0) in input "
        "'text', but that node's outputs are complete, text"
    )


def test_duplicate_names_are_rejected_naming_every_node() -> None:
    error = rejection(
        graph(
            node("a_0", "text", "same", ["text"], text="a"),
            node("b_0", "text", "same", ["text"], text="b"),
        )
    )
    assert str(error) == "node name 'same' is used by a_0, b_0"
    assert error.node_ids == ("a_0", "b_0")


def test_cycle_is_reported_with_the_nodes_in_it() -> None:
    error = rejection(
        graph(
            node("text_0", "text", "first", ["text"], text="{{ text_1.text }}"),
            node("text_1", "text", "second", ["text"], text="{{ text_0.text }}"),
            node("text_2", "text", "outside", ["text"], text="{{ text_1.text }}"),
        )
    )
    message = str(error)
    assert message.startswith("the graph has a cycle: ")
    assert "'first' (text_0)" in message and "'second' (text_1)" in message
    assert "outside" not in message
    assert set(error.node_ids) == {"text_0", "text_1"}


def test_node_referencing_itself_is_a_cycle() -> None:
    error = rejection(graph(node("text_0", "text", "loop", ["text"], text="{{ text_0.text }}")))
    assert str(error) == "the graph has a cycle: 'loop' (text_0) -> 'loop' (text_0)"


def test_id_must_match_its_key_and_name_type_inputs_must_exist() -> None:
    error = rejection(
        {
            "text_0": {"id": "text_9", "name": "t", "type": "text", "inputs": {"text": ""}},
            "text_1": {"id": "text_1", "type": "text", "inputs": {}},
            "text_2": {"id": "text_2", "name": "u", "type": "text", "inputs": []},
        }
    )
    message = str(error)
    assert "node 't' (text_0) has id 'text_9' but is stored under key 'text_0'" in message
    assert "node 'text_1' needs a non-empty string 'name'" in message
    assert "node 'u' (text_2) needs an object 'inputs'" in message
    assert error.node_ids == ("text_0", "text_1", "text_2")


def test_known_types_need_their_essential_inputs() -> None:
    error = rejection(
        graph(node("llm_0", "llm", "llm", ["response"], provider="local", model="echo"))
    )
    assert str(error) == "node 'llm' (llm_0) is missing input 'prompt'"


def test_malformed_condition_is_rejected() -> None:
    clause = {"termType": "Clause", "operand1": "x", "operator": "TextContains", "operand2": "y"}
    error = rejection(
        graph(
            node(
                "condition_0",
                "condition",
                "router",
                ["path_0", "path_1", "path_else"],
                conditions=[
                    {"terms": [clause, clause], "operators": []},
                    {"terms": [], "operators": []},
                ],
            )
        )
    )
    message = str(error)
    prefix = "node 'router' (condition_0): "
    assert f"{prefix}condition 0 needs 1 operator(s) between its terms" in message
    assert f"{prefix}condition 1 needs a non-empty 'terms' list" in message


def test_condition_outputs_must_match_its_paths() -> None:
    clause = {"termType": "Clause", "operand1": "x", "operator": "IsEmpty"}
    error = rejection(
        graph(
            node(
                "condition_0",
                "condition",
                "router",
                ["path_0", "path_3", "path_else"],
                conditions=[{"terms": [clause], "operators": []}],
            )
        )
    )
    assert str(error) == (
        "node 'router' (condition_0) declares outputs path_3 but its paths are path_0, path_else"
    )


def test_unknown_node_types_are_accepted_for_storage() -> None:
    validate_graph(
        graph(
            node("foo_0", "foo", "x", ["bar"], anything=[1, 2]),
            node("text_0", "text", "t", ["text"], text="{{ foo_0.bar }}"),
        )
    )


def test_every_problem_is_reported_at_once() -> None:
    error = rejection(
        graph(
            node("text_0", "text", "a", ["text"], text="{{ nope_0.text }}"),
            node("text_1", "text", "b", ["text"], text="{{ nope_1.text }}"),
        )
    )
    assert str(error).count("references missing node") == 2
    assert error.node_ids == ("text_0", "text_1")


def test_input_node_configuration_is_not_a_template() -> None:
    validate_graph(graph(node("input_0", "input", "q", ["text"], default_value="{{ x.y }}")))


def test_find_references_searches_nested_values() -> None:
    refs = list(find_references({"a": ["{{ n_0.text }}", {"b": "x {{n_1.out}} y"}], "c": 3}))
    assert refs == [Reference("n_0", "text"), Reference("n_1", "out")]


def test_lone_reference_keeps_the_value_type() -> None:
    assert render("{{ a.items }}", lambda node_id, field: [1, 2]) == [1, 2]
    assert render("  {{a.items}}", lambda node_id, field: [1, 2]) == "  1\n2"


def test_text_forms_of_values() -> None:
    assert to_text(None) == ""
    assert to_text(True) == "true"
    assert to_text(["a", 2]) == "a\n2"
    assert to_text({"k": [1]}) == '{"k":[1]}'
    assert to_text(1.5) == "1.5"


def test_lists_and_dicts_render_element_wise() -> None:
    values = {"x": "X", "y": "Y"}
    rendered = render(
        {"l": ["{{ n.x }}", "{{ n.y }}!"], "n": 5}, lambda node_id, field: values[field]
    )
    assert rendered == {"l": ["X", "Y!"], "n": 5}


def test_text_that_is_not_a_reference_stays_literal() -> None:
    def fail(node_id: str, field: str) -> Any:
        raise AssertionError(f"looked up {node_id}.{field}")

    text = "{{ not a ref }} {{1+1}} {{ __import__('os') }} {{ a. b }} {a.b}"
    assert render(text, fail) == text


def test_substituted_values_are_never_rendered_again() -> None:
    values = {"text": "{{ secret.value }}"}
    assert render("say {{ n.text }}", lambda node_id, field: values[field]) == (
        "say {{ secret.value }}"
    )
