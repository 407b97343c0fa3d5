"""Running graphs with the local engine: recorded graphs, conditions, branches, text nodes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest

from vectorshift.local.engine import EngineOptions, RunFailure, execute
from vectorshift.local.nodes_condition import OPERATORS, ConditionError, first_true_group

from .graphs import declared

FIXTURES = Path(__file__).parents[1] / "fixtures"


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


def text_input(node_id: str, name: str, default: Any = "", kind: str = "string") -> dict[str, Any]:
    return node(
        node_id, "input", name, ["text"], input_type=kind, default_value=default, description=""
    )


def output(node_id: str, name: str, value: Any, kind: str = "string") -> dict[str, Any]:
    return node(node_id, "output", name, [], value=value, output_type=kind, description="")


def clause(operand1: Any, operator: str, operand2: Any = "") -> dict[str, Any]:
    return {"termType": "Clause", "operand1": operand1, "operator": operator, "operand2": operand2}


def condition(node_id: str, *groups: dict[str, Any]) -> dict[str, Any]:
    paths = [f"path_{index}" for index in range(len(groups))] + ["path_else"]
    return node(
        node_id,
        "condition",
        node_id,
        paths,
        conditions=list(groups),
        outputs=dict.fromkeys(paths, "path"),
        dependencies=[],
    )


def group(*terms: dict[str, Any], operators: list[str] | None = None) -> dict[str, Any]:
    return {"terms": list(terms), "operators": operators or []}


def graph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {item["id"]: item for item in nodes}


def load_fixture(name: str) -> dict[str, Any]:
    nodes: dict[str, Any] = json.loads((FIXTURES / name).read_text())["nodes"]
    for item in nodes.values():
        if item["type"] == "llm":
            item["inputs"].update(provider="local", model="echo", token_delay_ms=0)
    return nodes


async def run(
    nodes: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    options: EngineOptions | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    frames: list[dict[str, Any]] = []

    async def emit(frame: dict[str, Any]) -> None:
        frames.append(frame)

    with anyio.fail_after(10):
        outputs = await execute(nodes, inputs or {}, emit, options or EngineOptions())
    return outputs, frames


@pytest.mark.anyio
async def test_condition_merge_fixture_takes_the_code_path() -> None:
    outputs, frames = await run(
        load_fixture("graph_condition_merge.json"), {"query": "review my code"}
    )
    assert outputs == {"answer": "review my code"}
    assert frames == [{"type": "stream", "output_name": "answer", "output_value": "review my code"}]


@pytest.mark.anyio
async def test_condition_merge_fixture_takes_the_else_path() -> None:
    outputs, _ = await run(load_fixture("graph_condition_merge.json"), {"query": "hello"})
    assert outputs == {"answer": "General: hello"}


@pytest.mark.anyio
async def test_split_text_fixture_returns_the_lines() -> None:
    outputs, _ = await run(load_fixture("graph_split_text.json"), {"doc": "one\ntwo\n\nthree"})
    assert outputs == {"parts": ["one", "two", "three"]}


@pytest.mark.anyio
async def test_streaming_llm_fixture_answers_on_both_outputs() -> None:
    outputs, _ = await run(load_fixture("graph_streaming_llm.json"), {"input_0": "Hi there"})
    assert outputs == {"output_0": "Hi there", "output_1": "Hi there"}


@pytest.mark.anyio
async def test_combine_and_formatter_fixture() -> None:
    outputs, _ = await run(
        load_fixture("graph_text_combine_formatter.json"), {"topic": "cats", "style": " noir"}
    )
    assert outputs == {"output_1": "CATS NOIR", "output_2": "Write about cats in a  noir style."}


@pytest.mark.anyio
async def test_intermediate_results_publish_every_node_output() -> None:
    _, frames = await run(
        load_fixture("graph_text_combine_formatter.json"),
        {"topic": "a", "style": "b"},
        EngineOptions(intermediate_results=True),
    )
    published = {frame["output_name"]: frame for frame in frames}
    assert published["combine.processed_text"] == {
        "type": "stream",
        "output_name": "combine.processed_text",
        "output_value": "ab",
        "node_id": "combine_text_0",
    }
    assert published["formatter.output"]["output_value"] == "AB"
    assert published["topic.text"]["output_value"] == "a"
    assert published["output_1"] == {
        "type": "stream",
        "output_name": "output_1",
        "output_value": "AB",
    }


OPERATOR_CASES: list[tuple[str, Any, Any, bool]] = [
    ("Equal", "abc", "abc", True),
    ("Equal", "abc", "abd", False),
    ("Equal", 5, "5", True),
    ("Equal", 5, "5.5", False),
    ("NotEqual", "a", "b", True),
    ("NotEqual", 2.0, "2", False),
    ("GreaterThan", 10, "9", True),
    ("GreaterThan", "9", 10, False),
    ("LessThan", "1.5", 2, True),
    ("LessThan", 3, 3, False),
    ("GreaterThanEqual", 3, 3, True),
    ("GreaterThanEqual", 2, 3, False),
    ("LessThanEqual", 3, "3", True),
    ("LessThanEqual", 4, 3, False),
    ("TextContains", "write code", "code", True),
    ("TextContains", "write Code", "code", False),
    ("TextDoesNotContains", "hello", "code", True),
    ("TextDoesNotContains", "codex", "code", False),
    ("TextStartsWith", "hello world", "hello", True),
    ("TextStartsWith", "oh hello", "he", False),
    ("TextDoesNotStartWith", "oh hi", "hi", True),
    ("TextDoesNotStartWith", "hi oh", "hi", False),
    ("TextEndsWith", "file.py", ".py", True),
    ("TextEndsWith", "file.txt", ".py", False),
    ("TextDoesNotEndWith", "file.txt", ".py", True),
    ("TextDoesNotEndWith", "a.py", ".py", False),
    ("TextGreaterThanNCharacters", "abcd", 3, True),
    ("TextGreaterThanNCharacters", "abc", "3", False),
    ("TextLessThanNCharacters", "ab", 3, True),
    ("TextLessThanNCharacters", "abc", 3, False),
    ("IsEmpty", "", "", True),
    ("IsEmpty", " ", "", False),
    ("IsEmpty", [], None, True),
    ("IsEmpty", None, None, True),
    ("IsNotEmpty", "x", "", True),
    ("IsNotEmpty", {}, "", False),
    ("IsTrue", True, "", True),
    ("IsTrue", "TRUE", "", True),
    ("IsTrue", "yes", "", False),
    ("IsFalse", "false", "", True),
    ("IsFalse", True, "", False),
    ("VecContainsItem", ["a", 2], 2, True),
    ("VecContainsItem", ["a", "b"], "c", False),
    ("VecDoesNotContainsItem", ["a"], "b", True),
    ("VecDoesNotContainsItem", ["a"], "a", False),
    ("MapContainsKey", {"k": 1}, "k", True),
    ("MapContainsKey", {"k": 1}, "v", False),
]


def test_every_platform_operator_has_true_and_false_cases() -> None:
    covered = {(case[0], case[3]) for case in OPERATOR_CASES}
    assert covered == {(name, outcome) for name in OPERATORS for outcome in (True, False)}


@pytest.mark.parametrize(("operator", "left", "right", "expected"), OPERATOR_CASES)
def test_operator(operator: str, left: Any, right: Any, expected: bool) -> None:
    taken = first_true_group([group(clause(left, operator, right))])
    assert (taken == 0) is expected


@pytest.mark.parametrize(
    "spelling",
    [
        "==",
        "Contains",
        "TextBeginsWith",
        "GREATER_THAN_EQUAL",
        "textcontains",
        "ListContains",
    ],
)
def test_only_the_platform_spelling_of_an_operator_runs(spelling: str) -> None:
    with pytest.raises(
        ConditionError, match=f"unknown condition operator '{re.escape(spelling)}'.*TextStartsWith"
    ):
        first_true_group([group(clause("a", spelling, "a"))])


def test_expression_is_refused_by_name() -> None:
    unary = {"termType": "Clause", "operand1": "{{ q.text }} == 'a'", "operator": "Expression"}
    with pytest.raises(ConditionError, match=r"'Expression' .* not evaluated by vectorshift"):
        first_true_group([{"terms": [unary], "operators": []}])


def test_equal_compares_a_boolean_with_its_stored_text() -> None:
    assert first_true_group([group(clause(True, "Equal", "True"))]) == 0
    assert first_true_group([group(clause(False, "Equal", "True"))]) is None


def test_numeric_operator_refuses_text() -> None:
    with pytest.raises(ConditionError, match="'abc' is not a number"):
        first_true_group([group(clause("abc", "GreaterThan", 1))])


def test_and_binds_tighter_than_or() -> None:
    yes, no = clause("a", "Equal", "a"), clause("a", "Equal", "b")
    assert first_true_group([group(yes, no, no, operators=["OR", "AND"])]) == 0
    assert first_true_group([group(no, no, yes, operators=["AND", "OR"])]) == 0
    assert first_true_group([group(yes, no, operators=["AND"])]) is None


def test_nested_groups_and_first_true_group_wins() -> None:
    yes, no = clause(1, "Equal", 1), clause(1, "Equal", 2)
    nested = {"termType": "ConditionGroup", **group(no, yes, operators=["OR"])}
    conditions = [group(no), group(yes, nested, operators=["AND"]), group(yes)]
    assert first_true_group(conditions) == 1


def test_short_circuit_skips_terms_that_would_fail() -> None:
    yes = clause("a", "Equal", "a")
    assert first_true_group([group(yes, clause("x", "GreaterThan", 1), operators=["OR"])]) == 0


def routed_graph(*groups: dict[str, Any]) -> dict[str, Any]:
    paths = [f"path_{index}" for index in range(len(groups))] + ["path_else"]
    texts = [
        node(
            f"text_{index}",
            "text",
            f"on_{path}",
            ["text"],
            text=f"{path}: {{{{ q.text }}}}",
            dependencies=[f"{{{{ condition_0.{path} }}}}"],
        )
        for index, path in enumerate(paths)
    ]
    return graph(
        text_input("q", "query"),
        condition("condition_0", *groups),
        *texts,
        *[
            output(f"output_{index}", f"out_{index}", f"{{{{ text_{index}.text }}}}")
            for index in range(len(paths))
        ],
    )


@pytest.mark.anyio
async def test_only_the_taken_path_runs_and_others_are_omitted() -> None:
    nodes = routed_graph(
        group(clause("{{ q.text }}", "TextContains", "red")),
        group(clause("{{ q.text }}", "TextContains", "blue")),
    )
    assert (await run(nodes, {"query": "blue sky"}))[0] == {"out_1": "path_1: blue sky"}
    assert (await run(nodes, {"query": "red sky"}))[0] == {"out_0": "path_0: red sky"}
    assert (await run(nodes, {"query": "grey"}))[0] == {"out_2": "path_else: grey"}


@pytest.mark.anyio
async def test_skipping_propagates_downstream() -> None:
    nodes = routed_graph(group(clause("{{ q.text }}", "IsEmpty")))
    nodes.update(
        graph(
            node("text_9", "text", "after", ["text"], text="<{{ text_0.text }}>"),
            output("output_9", "after_out", "{{ text_9.text }}"),
        )
    )
    outputs, frames = await run(nodes, {"query": "not empty"})
    assert outputs == {"out_1": "path_else: not empty"}
    assert [frame["output_name"] for frame in frames] == ["out_1"]


@pytest.mark.anyio
async def test_merge_join_collects_the_available_branches() -> None:
    nodes = graph(
        text_input("q", "query"),
        condition("condition_0", group(clause("{{ q.text }}", "IsNotEmpty"))),
        node("text_0", "text", "a", ["text"], text="A", dependencies=["{{ condition_0.path_0 }}"]),
        node(
            "text_1", "text", "b", ["text"], text="B", dependencies=["{{ condition_0.path_else }}"]
        ),
        node("text_2", "text", "c", ["text"], text="C"),
        node(
            "merge_0",
            "merge",
            "merge",
            ["output"],
            function="join",
            type="string",
            fields=["{{ text_0.text }}", "{{ text_1.text }}", "{{ text_2.text }}"],
        ),
        output("output_0", "joined", "{{ merge_0.output }}"),
    )
    assert (await run(nodes, {"query": "x"}))[0] == {"joined": ["A", "C"]}
    assert (await run(nodes, {"query": ""}))[0] == {"joined": ["B", "C"]}


@pytest.mark.anyio
async def test_merge_with_no_available_field_is_skipped() -> None:
    nodes = graph(
        text_input("q", "query"),
        condition("condition_0", group(clause("{{ q.text }}", "IsEmpty"))),
        node("text_0", "text", "a", ["text"], text="A", dependencies=["{{ condition_0.path_0 }}"]),
        node(
            "merge_0", "merge", "merge", ["output"], function="first", fields=["{{ text_0.text }}"]
        ),
        output("output_0", "merged", "{{ merge_0.output }}"),
        output("output_1", "always", "{{ q.text }}"),
    )
    assert (await run(nodes, {"query": "x"}))[0] == {"always": "x"}


@pytest.mark.anyio
async def test_typed_input_and_numeric_condition() -> None:
    nodes = graph(
        node("score", "input", "score", ["value"], input_type="int32", default_value=0),
        condition(
            "grade",
            group(clause("{{ score.value }}", "GreaterThanEqual", 90)),
            group(clause("{{ score.value }}", "GreaterThanEqual", 50)),
        ),
        node("top", "text", "top", ["text"], text="A", dependencies=["{{ grade.path_0 }}"]),
        node("mid", "text", "mid", ["text"], text="B", dependencies=["{{ grade.path_1 }}"]),
        node("low", "text", "low", ["text"], text="F", dependencies=["{{ grade.path_else }}"]),
        node(
            "merge_0",
            "merge",
            "merge",
            ["output"],
            function="first",
            fields=["{{ top.text }}", "{{ mid.text }}", "{{ low.text }}"],
        ),
        output("out", "letter", "{{ merge_0.output }}"),
        output("raw", "raw", "{{ score.value }}"),
    )
    assert (await run(nodes, {"score": 95}))[0] == {"letter": "A", "raw": 95}
    assert (await run(nodes, {"score": 60}))[0] == {"letter": "B", "raw": 60}
    assert (await run(nodes))[0] == {"letter": "F", "raw": 0}


@pytest.mark.anyio
async def test_unknown_operator_fails_naming_node_and_operator() -> None:
    nodes = routed_graph(group(clause("{{ q.text }}", "TextSoundsLike", "x")))
    with pytest.raises(RunFailure) as caught:
        await run(nodes, {"query": "x"})
    assert str(caught.value).startswith(
        "node 'condition_0' (condition_0): unknown condition operator 'TextSoundsLike'; "
        "the platform's operators are Equal, NotEqual,"
    )
    assert caught.value.node_id == "condition_0"


@pytest.mark.anyio
async def test_expression_operator_fails_the_run_naming_the_node() -> None:
    expression = {"termType": "Clause", "operand1": "{{ q.text }} == 'x'", "operator": "Expression"}
    nodes = routed_graph({"terms": [expression], "operators": []})
    with pytest.raises(
        RunFailure,
        match=r"^node 'condition_0' \(condition_0\): operator "
        r"'Expression' \(a custom expression\) is not evaluated",
    ):
        await run(nodes, {"query": "x"})


def formatter_graph(formatter: str, max_num_token: int = 0) -> dict[str, Any]:
    return graph(
        text_input("q", "text"),
        node(
            "fmt",
            "text_formatter",
            "fmt",
            ["output"],
            text="{{ q.text }}",
            formatter=formatter,
            max_num_token=max_num_token,
        ),
        output("out", "out", "{{ fmt.output }}"),
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("formatter", "limit", "expected"),
    [
        ("To Uppercase", 0, "  HELLO WIDE  WORLD "),
        ("To Lowercase", 0, "  hello wide  world "),
        ("To Propercase", 0, "  Hello Wide  World "),
        ("To Title Case", 0, "  Hello Wide  World "),
        ("Trim Spaces", 0, "hello WIDE  world"),
        ("Trim", 0, "hello WIDE  world"),
        ("Truncate", 2, "  hello WIDE"),
        ("Truncate", 5, "  hello WIDE  world "),
    ],
)
async def test_text_formatter(formatter: str, limit: int, expected: str) -> None:
    outputs, _ = await run(formatter_graph(formatter, limit), {"text": "  hello WIDE  world "})
    assert outputs == {"out": expected}


@pytest.mark.anyio
async def test_truncate_needs_a_positive_limit() -> None:
    with pytest.raises(RunFailure, match=r"^node 'fmt' \(fmt\): formatter 'Truncate' needs"):
        await run(formatter_graph("Truncate", 0), {"text": "a b"})


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("delimiter", "character", "expected"),
    [
        ("space", "", ["a,b", "c", "d\n\ne"]),
        ("newline", "", ["a,b  c d", "e"]),
        ("character(s)", ",", ["a", "b  c d\n\ne"]),
    ],
)
async def test_split_text(delimiter: str, character: str, expected: list[str]) -> None:
    nodes = graph(
        text_input("q", "text"),
        node(
            "split",
            "split_text",
            "split",
            ["processed_text"],
            text="{{ q.text }}",
            delimiter=delimiter,
            character=character,
        ),
        output("out", "out", "{{ split.processed_text }}"),
    )
    assert (await run(nodes, {"text": "a,b  c d\n\ne"}))[0] == {"out": expected}


@pytest.mark.anyio
async def test_combine_text_concatenates_and_lists_interpolate_as_lines() -> None:
    nodes = graph(
        text_input("q", "text"),
        node(
            "split",
            "split_text",
            "split",
            ["processed_text"],
            text="{{ q.text }}",
            delimiter="space",
        ),
        node(
            "combine",
            "combine_text",
            "combine",
            ["processed_text"],
            text=["[", "{{ q.text }}", "]", 7],
        ),
        node("lines", "text", "lines", ["text"], text="Lines:\n{{ split.processed_text }}"),
        output("o1", "combined", "{{ combine.processed_text }}"),
        output("o2", "listed", "{{ lines.text }}"),
    )
    outputs, _ = await run(nodes, {"text": "x y"})
    assert outputs == {"combined": "[x y]7", "listed": "Lines:\nx\ny"}


@pytest.mark.anyio
async def test_template_injection_stays_literal() -> None:
    nodes = graph(
        text_input("q", "query"),
        text_input("s", "secret"),
        node("t", "text", "t", ["text"], text="You said: {{ q.text }} {{ not a ref }}"),
        output("out", "out", "{{ t.text }}"),
    )
    outputs, _ = await run(
        nodes, {"query": "{{ s.text }} {{ __import__('os') }}", "secret": "hunter2"}
    )
    assert outputs == {"out": "You said: {{ s.text }} {{ __import__('os') }} {{ not a ref }}"}


@pytest.mark.anyio
async def test_unsupported_node_type_fails_before_anything_runs() -> None:
    nodes = graph(
        text_input("q", "query"),
        node("foo_0", "foo", "x", ["bar"], value="{{ q.text }}"),
        output("out", "out", "{{ foo_0.bar }}"),
    )
    with pytest.raises(RunFailure) as caught:
        await run(nodes, {"query": "x"})
    assert str(caught.value) == (
        "node 'x' (foo_0): node type 'foo' is not supported by vectorshift.local"
    )
    assert caught.value.node_id == "foo_0"


@pytest.mark.anyio
async def test_invalid_graph_fails_the_run() -> None:
    with pytest.raises(RunFailure, match="references missing node 'gone'"):
        await run(graph(output("out", "out", "{{ gone.text }}")))


def sub_pipeline() -> dict[str, Any]:
    return graph(
        text_input("input_0", "topic", default="nothing"),
        text_input("input_1", "tone", default="calm"),
        node("text_0", "text", "joiner", ["text"], text="{{ input_1.text }} {{ input_0.text }}"),
        output("output_0", "line", "{{ text_0.text }}"),
        output("output_1", "tone_used", "{{ input_1.text }}"),
    )


def parent_pipeline(pipeline_id: str) -> dict[str, Any]:
    return graph(
        text_input("q", "query"),
        node(
            "pipeline_0",
            "pipeline",
            "sub",
            ["line", "tone_used"],
            pipeline_id=pipeline_id,
            topic="{{ q.text }}",
            dependencies=[],
        ),
        output("out", "answer", "Sub said: {{ pipeline_0.line }}"),
        output("out2", "tone", "{{ pipeline_0.tone_used }}"),
    )


@pytest.mark.anyio
async def test_sub_pipeline_runs_with_forwarded_inputs_and_defaults() -> None:
    requested: list[str] = []

    async def load(pipeline_id: str) -> dict[str, Any]:
        requested.append(pipeline_id)
        if pipeline_id != "sub-1":
            raise KeyError(pipeline_id)
        return sub_pipeline()

    outputs, frames = await run(
        parent_pipeline("sub-1"),
        {"query": "tea"},
        EngineOptions(load_pipeline=load, intermediate_results=True),
    )
    assert outputs == {"answer": "Sub said: calm tea", "tone": "calm"}
    assert requested == ["sub-1"]
    assert {
        "type": "stream",
        "output_name": "sub.line",
        "output_value": "calm tea",
        "node_id": "pipeline_0",
    } in frames
    assert not any(frame["output_name"] in ("line", "tone_used") for frame in frames)


@pytest.mark.anyio
async def test_sub_pipeline_errors_name_the_node() -> None:
    async def load(pipeline_id: str) -> dict[str, Any]:
        if pipeline_id == "loop":
            return parent_pipeline("loop")
        raise KeyError(pipeline_id)

    with pytest.raises(RunFailure) as missing:
        await run(parent_pipeline("nope"), {"query": "x"}, EngineOptions(load_pipeline=load))
    assert str(missing.value) == "node 'sub' (pipeline_0): pipeline 'nope' does not exist"
    with pytest.raises(RunFailure, match="include themselves: loop -> loop"):
        await run(parent_pipeline("loop"), {"query": "x"}, EngineOptions(load_pipeline=load))
    with pytest.raises(RunFailure, match="need a pipeline loader"):
        await run(parent_pipeline("sub-1"), {"query": "x"})


@pytest.fixture
def reverse_node() -> Any:
    """A transform node type added the way a new one is: a declaration and an executor."""
    from vectorshift.local.nodes import NodeContext, executor

    with declared("reverse_text", ("reversed",)):

        @executor("reverse_text")
        async def reverse(inputs: dict[str, Any], _ctx: NodeContext) -> dict[str, Any]:
            return {"reversed": str(inputs["text"])[::-1]}

        yield reverse


@pytest.mark.anyio
async def test_a_registered_node_type_is_validated_and_runs(reverse_node: Any) -> None:
    from vectorshift.local.engine import GraphValidationError, validate_graph

    def nodes(**inputs: Any) -> dict[str, Any]:
        return {
            "input_0": {
                "id": "input_0",
                "name": "query",
                "type": "input",
                "inputs": {"input_type": "string"},
                "outputs": ["text"],
            },
            "rev_0": {"id": "rev_0", "name": "rev", "type": "reverse_text", "inputs": inputs},
            "output_0": {
                "id": "output_0",
                "name": "answer",
                "type": "output",
                "inputs": {"value": "{{ rev_0.reversed }}"},
            },
        }

    with pytest.raises(GraphValidationError, match=r"'rev' \(rev_0\) is missing input 'text'"):
        validate_graph(nodes())
    outputs = await execute(
        nodes(text="{{ input_0.text }}"), {"query": "abc"}, _ignore, EngineOptions()
    )
    assert outputs == {"answer": "cba"}


async def _ignore(_frame: dict[str, Any]) -> None:
    """An emit callback that drops every frame."""
