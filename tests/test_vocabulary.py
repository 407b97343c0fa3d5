"""The builder writes the platform's words: operators, typed input outputs, paths, layout.

The facts come from the official client's graphs (tests/fixtures/official); these tests pin
each rule on its own, so a failure names the rule rather than a whole graph.
"""

from __future__ import annotations

from typing import get_args

import pytest

from vectorshift import Clause, ConditionGroup, InputNode, Operator, Pipeline
from vectorshift._schema.io_types import INPUT_OUTPUTS, OUTPUT_TYPES
from vectorshift._schema.nodes_types import OPERATORS, SPLIT_DELIMITERS, UNARY_OPERATORS
from vectorshift.errors import PipelineDefinitionError
from vectorshift.pipeline._generated_nodes import Delimiter, InputType, OutputType


def test_operator_values_are_the_platform_strings() -> None:
    assert sorted(op.value for op in Operator) == sorted(OPERATORS)
    assert len(Operator) == len(OPERATORS) == 22


@pytest.mark.parametrize(
    ("official", "readable"),
    [
        ("GREATER_THAN_EQUAL", "GREATER_THAN_OR_EQUAL"),
        ("LESS_THAN_EQUAL", "LESS_THAN_OR_EQUAL"),
        ("TEXT_STARTS_WITH", "TEXT_BEGINS_WITH"),
        ("TEXT_DOES_NOT_START_WITH", "TEXT_DOES_NOT_BEGIN_WITH"),
        ("TEXT_GREATER_THAN_N_CHARS", "TEXT_LENGTH_GREATER_THAN"),
        ("TEXT_LESS_THAN_N_CHARS", "TEXT_LENGTH_LESS_THAN"),
        ("VEC_CONTAINS", "LIST_CONTAINS"),
        ("VEC_DOES_NOT_CONTAIN", "LIST_DOES_NOT_CONTAIN"),
    ],
)
def test_official_member_names_and_readable_aliases_are_the_same_member(
    official: str, readable: str
) -> None:
    assert Operator[official] is Operator[readable]


def test_platform_strings_are_accepted_as_operators() -> None:
    clause = Clause("x", "TextDoesNotContains", "y")  # type: ignore[arg-type]
    assert clause.operator is Operator.TEXT_DOES_NOT_CONTAIN


def test_an_old_or_invented_spelling_is_refused_with_the_platform_names() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"'TextBeginsWith'.*TextStartsWith"):
        Clause("x", "TextBeginsWith", "y")  # type: ignore[arg-type]


@pytest.mark.parametrize("operator", [Operator(value) for value in UNARY_OPERATORS])
def test_unary_operators_store_no_operand2(operator: Operator) -> None:
    data = Clause("{{ q.text }}", operator).to_json()
    assert data == {"operand1": "{{ q.text }}", "operator": operator.value, "termType": "Clause"}


def test_a_unary_operator_given_an_operand2_is_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"IS_EMPTY .* takes no operand2"):
        Clause("x", Operator.IS_EMPTY, "y")


def test_binary_operators_store_operand2_as_text() -> None:
    assert Clause("x", Operator.GREATER_THAN, 10).to_json()["operand2"] == "10"
    assert Clause("x", Operator.EQUAL, 2.5).to_json()["operand2"] == "2.5"
    assert Clause("x", Operator.EQUAL, True).to_json()["operand2"] == "True"
    p = Pipeline("p")
    other = p.add(name="other").input()
    assert Clause("x", Operator.EQUAL, other.text).to_json()["operand2"] == (
        f"{{{{ {other.id}.text }}}}"
    )


def test_a_binary_operator_without_operand2_is_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"TEXT_CONTAINS .* give operand2"):
        Clause("x", Operator.TEXT_CONTAINS)


def test_a_list_operand2_is_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match="stored as text"):
        Clause("x", Operator.VEC_CONTAINS, ["a"])


def test_type_literals_list_the_platform_words() -> None:
    assert get_args(InputType) == tuple(INPUT_OUTPUTS)
    assert get_args(OutputType) == OUTPUT_TYPES
    assert get_args(Delimiter) == SPLIT_DELIMITERS


@pytest.mark.parametrize(("input_type", "fields"), sorted(INPUT_OUTPUTS.items()))
def test_each_input_type_has_the_platforms_outputs(
    input_type: str, fields: tuple[str, ...]
) -> None:
    node = InputNode("x", input_type)  # type: ignore[arg-type]
    assert node.outputs == sorted({"complete", *fields})
    for field in fields:
        assert getattr(node, field).template == f"{{{{ {node.id}.{field} }}}}"


@pytest.mark.parametrize("input_type", ["int32", "float", "bool", "vec<string>", "timestamp"])
def test_typed_inputs_refuse_text_and_name_value(input_type: str) -> None:
    node = InputNode("count", input_type)  # type: ignore[arg-type]
    with pytest.raises(PipelineDefinitionError, match=r"no output 'text'.*complete, value"):
        _ = node.text
    assert not hasattr(node, "text")
    assert node.value.field == "value"


def test_a_string_input_has_no_value() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"of type 'string' has no output 'value'"):
        _ = InputNode("q").value


def test_condition_paths_are_attributes_for_every_path() -> None:
    p = Pipeline("p")
    q = p.add(name="q").input()
    router = p.add(name="router").condition(
        [
            Clause(q.text, Operator.TEXT_CONTAINS, "a"),
            Clause(q.text, Operator.TEXT_CONTAINS, "b"),
            ConditionGroup(
                [Clause(q.text, Operator.IS_EMPTY), Clause(q.text, Operator.IS_TRUE)], "OR"
            ),
        ]
    )
    assert [router.path_0.field, router.path_1.field, router.path_2.field] == [
        "path_0",
        "path_1",
        "path_2",
    ]
    assert router.path_2 == router.path(2)
    with pytest.raises(
        AttributeError,
        match="has no attribute 'path_3'; its paths are path_0, path_1, path_2, path_else",
    ):
        _ = router.path_3
    assert not hasattr(router, "path_3")
    assert not hasattr(router, "pathological")


def test_layout_orders_a_level_by_readiness_not_creation() -> None:
    # both is created before only_a, but becomes ready after it: scanning level 0 in order,
    # a completes only_a, and b completes both.
    p = Pipeline("layout")
    a = p.add(name="a", id="a").input()
    b = p.add(name="b", id="b").input()
    both = p.add(name="both", id="both").text(f"{a.text} {b.text}")
    only_a = p.add(name="only_a", id="only_a").text(f"{a.text}")
    p.add(name="out", id="out").output(both.text)
    p.add(name="out_a", id="out_a").output(only_a.text)
    canvas = p.to_json()["canvas_metadata"]["nodes"]
    placed = {
        node_id: (meta["position"]["x"], meta["position"]["y"], meta["zIndex"])
        for node_id, meta in canvas.items()
    }
    assert placed == {
        "a": (0, 0, 0),
        "b": (0, 600, 1),
        "only_a": (1200, 0, 2),
        "both": (1200, 600, 3),
        "out_a": (2400, 0, 4),
        "out": (2400, 600, 5),
    }
