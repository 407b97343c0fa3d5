"""The typed builder and node catalog: node JSON, typed constructors, conditions, validation."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from vectorshift import (
    Clause,
    CombineTextNode,
    ConditionGroup,
    ConditionNode,
    InputNode,
    LlmNode,
    LogicalOp,
    MergeNode,
    Node,
    Operator,
    OutputNode,
    Pipeline,
    PipelineDefinitionError,
    PipelineNode,
    SplitTextNode,
    TextFormatterNode,
    TextNode,
)
from vectorshift.pipeline._builder import NodeBuilder


def fresh() -> tuple[Pipeline, InputNode]:
    p = Pipeline("unit")
    return p, p.add(name="query", id="input_0").input()


# -- each node type: JSON, and the builder builds exactly the typed constructor's node ----------


def built_and_direct(q: InputNode) -> list[tuple[str, Any, Node]]:
    """(builder method, its arguments, the same node built directly)."""
    return [
        ("input", (("int32",), {"description": "n"}), InputNode("n", "int32", description="n")),
        ("output", ((q.text, "json"), {}), OutputNode(name="n", value=q.text, output_type="json")),
        ("text", ((f"Hi {q.text}",), {}), TextNode(name="n", text=f"Hi {q.text}")),
        (
            "llm",
            ((), {"prompt": q.text, "model": "m", "stream": True}),
            LlmNode(name="n", prompt=q.text, model="m", stream=True),
        ),
        ("combine_text", (([q.text, "!"],), {}), CombineTextNode(name="n", text=[q.text, "!"])),
        (
            "text_formatter",
            ((q.text, "Truncate"), {"max_num_token": 3}),
            TextFormatterNode(name="n", text=q.text, formatter="Truncate", max_num_token=3),
        ),
        (
            "split_text",
            ((q.text, "character(s)"), {"character": ";"}),
            SplitTextNode(name="n", text=q.text, delimiter="character(s)", character=";"),
        ),
        (
            "merge",
            (([q.text, "x"], "join"), {}),
            MergeNode(name="n", fields=[q.text, "x"], function="join"),
        ),
        (
            "condition",
            (([Clause(q.text, Operator.IS_EMPTY)],), {}),
            ConditionNode(name="n", paths=[Clause(q.text, Operator.IS_EMPTY)]),
        ),
    ]


@pytest.mark.parametrize("index", range(9))
def test_builder_method_builds_the_typed_constructors_node(index: int) -> None:
    p, q = fresh()
    method, (args, kwargs), direct = built_and_direct(q)[index]
    built = getattr(p.add(name="n"), method)(*args, **kwargs)
    assert type(built) is type(direct)
    assert built.to_json() == direct.to_json()
    assert p.node("n") is built


def test_builder_methods_show_the_constructor_signature_without_name() -> None:
    builder = Pipeline("sig").add(name="x")
    official = ["node_name", "execution_mode"]  # the classes' official keywords: add() gives them
    for method, cls in [("llm", LlmNode), ("output", OutputNode), ("condition", ConditionNode)]:
        bound = getattr(builder, method)
        expected = [p for p in list(inspect.signature(cls).parameters)[1:] if p not in official]
        assert list(inspect.signature(bound).parameters) == expected
        doc, class_doc = inspect.getdoc(bound) or "", inspect.getdoc(cls) or ""
        head = doc.split("\n\nRaises:")[0].split("\n\nExample:")[0]
        assert bound.__name__ == method and class_doc.startswith(head)  # + official keywords
    assert NodeBuilder.__dict__["condition"] is NodeBuilder.condition  # a descriptor on the class


def test_llm_constructor_fills_platform_defaults_in_platform_order() -> None:
    _, q = fresh()
    llm = LlmNode(name="llm", prompt=f"Q: {q.text}", model="gpt-4o-mini", json_response=True)
    data = llm.to_json()
    assert data["id"].startswith("llm_") and data["type"] == "llm" and data["task_name"] == "llm"
    inputs = data["inputs"]
    assert list(inputs)[:3] == ["model", "prompt", "system"]
    assert inputs["prompt"] == "Q: {{ input_0.text }}"
    assert inputs["json_response"] is True and inputs["max_retries"] == 1
    assert inputs["dependencies"] == [] and "token_delay_ms" not in inputs
    assert data["outputs"] == sorted(
        ["complete", "credits_used", "input_tokens", "output_tokens", "response", "tokens_used"]
    )
    assert llm.response.template == f"{{{{ {llm.id}.response }}}}"


def test_llm_extra_inputs_are_sent_and_unknown_ones_refused() -> None:
    llm = LlmNode("llm", extra_inputs={"reasoning_effort": "high"}, token_delay_ms=5)
    assert llm.inputs["reasoning_effort"] == "high" and llm.inputs["token_delay_ms"] == 5
    with pytest.raises(PipelineDefinitionError, match=r"'llm'.*no input 'promt'"):
        LlmNode("llm", extra_inputs={"promt": "x"})


def test_directly_built_nodes_are_added_and_wired() -> None:
    p, q = fresh()
    llm = p.add_node(LlmNode(name="llm", id="llm_0", prompt=q.text))
    assert isinstance(llm, LlmNode)
    p.add_node(OutputNode(name="answer", value=llm.response))
    graph = p.to_json()
    assert graph["nodes"]["llm_0"]["inputs"]["prompt"] == "{{ input_0.text }}"
    assert graph["outputs"] == {"answer": {"io_type": "string", "description": ""}}


def test_input_types_and_defaults() -> None:
    for input_type in (
        "string",
        "int32",
        "float",
        "bool",
        "vec<string>",
        "timestamp",
        "file",
        "vec<file>",
        "image",
        "audio",
        "json",
        "stream<string>",
    ):
        node = InputNode("x", input_type)  # type: ignore[arg-type]
        assert node.inputs["input_type"] == input_type
        assert node.inputs["use_default_value"] is False
    optional = InputNode("x", "int32", default_value=3)
    assert optional.inputs["use_default_value"] is True and optional.inputs["default_value"] == 3
    with pytest.raises(PipelineDefinitionError, match=r"'x': input_type 'vec<int32>' is not one"):
        InputNode("x", "vec<int32>")  # type: ignore[arg-type]


def test_output_types() -> None:
    for output_type in (
        "string",
        "stream<string>",
        "json",
        "int32",
        "float",
        "bool",
        "timestamp",
        "file",
        "vec<file>",
        "image",
        "audio",
        "dataframe",
        "vec<string>",
    ):  # vec<string>: a batch node's texts (official batch/llm)
        assert OutputNode("o", "v", output_type).inputs["output_type"] == output_type
    with pytest.raises(PipelineDefinitionError, match=r"output_type 'list' is not one of"):
        OutputNode("o", "v", "list")  # type: ignore[arg-type]


def test_formatter_split_merge_and_combine_arguments_are_checked() -> None:
    for formatter in (
        "To Uppercase",
        "To Lowercase",
        "To Title Case",
        "Trim",
        "Trim Spaces",
        "To Propercase",
    ):
        assert TextFormatterNode("f", "x", formatter).inputs["formatter"] == formatter
    with pytest.raises(PipelineDefinitionError, match=r"'f'.*'Truncate' needs max_num_token"):
        TextFormatterNode("f", "x", "Truncate")
    with pytest.raises(PipelineDefinitionError, match=r"formatter 'Shout' is not one of"):
        TextFormatterNode("f", "x", "Shout")  # type: ignore[arg-type]
    assert SplitTextNode("s", "a b", "space").inputs["delimiter"] == "space"
    with pytest.raises(PipelineDefinitionError, match=r"'s'.*needs a non-empty character"):
        SplitTextNode("s", "a;b", "character(s)")
    with pytest.raises(PipelineDefinitionError, match=r"'m'.*non-empty list"):
        MergeNode("m", [])
    with pytest.raises(PipelineDefinitionError, match=r"function 'last' is not one of"):
        MergeNode("m", ["a"], "last")  # type: ignore[arg-type]
    with pytest.raises(PipelineDefinitionError, match=r"'c'.*list of the texts"):
        CombineTextNode("c", "abc")


def test_id_given_to_add_and_to_the_method_must_agree() -> None:
    p = Pipeline("ids")
    assert p.add(name="a", id="text_a").text("x", id="text_a").id == "text_a"
    with pytest.raises(TypeError, match="two ids"):
        p.add(name="b", id="text_b").text("x", id="other")


# -- conditions --------------------------------------------------------------------------------


def test_condition_json_has_groups_paths_and_typed_outputs() -> None:
    p, q = fresh()
    ends = Clause(q.text, "TextEndsWith", "?")  # type: ignore[arg-type]  # canonical string
    router = p.add(name="router", id="condition_0").condition(
        [
            Clause(q.text, Operator.TEXT_CONTAINS, "code"),
            ConditionGroup([Clause(q.text, Operator.IS_EMPTY), ends], LogicalOp.OR),
        ]
    )
    inputs = router.to_json()["inputs"]
    assert inputs["outputs"] == {"path_0": "path", "path_1": "path", "path_else": "path"}
    assert inputs["dependencies"] == []
    assert inputs["conditions"][0] == {
        "terms": [
            {
                "operand1": "{{ input_0.text }}",
                "operator": "TextContains",
                "termType": "Clause",
                "operand2": "code",
            }
        ],
        "operators": [],
    }
    second = inputs["conditions"][1]
    assert second["operators"] == ["OR"]
    assert [term["operator"] for term in second["terms"]] == ["IsEmpty", "TextEndsWith"]
    assert router.outputs == ["complete", "path_0", "path_1", "path_else"]
    assert router.path(1).template == "{{ condition_0.path_1 }}"
    assert router.path_0 == router.path(0)
    assert router.path_else.template == "{{ condition_0.path_else }}"
    with pytest.raises(PipelineDefinitionError, match=r"'router'.*no output 'path_2'"):
        router.path(2)


def test_a_single_clause_is_one_path_and_paths_gate_nodes_with_edges() -> None:
    p, q = fresh()
    router = p.add(name="router", id="condition_0").condition(Clause(q.text, Operator.IS_TRUE))
    assert router.outputs == ["complete", "path_0", "path_else"]
    p.add(name="yes", id="text_0").text("y", dependencies=[router.path_0])
    p.add(name="out", id="output_0").output("{{ text_0.text }}")
    edges = {(e["sourceHandle"], e["target"]) for e in p.to_json()["canvas_metadata"]["edges"]}
    assert ("condition_0-path_0", "text_0") in edges


def test_clauses_combine_with_and_or_keeping_precedence() -> None:
    a, b, c = (Clause(f"{x}", Operator.IS_TRUE) for x in "abc")
    assert (a & b) == ConditionGroup([a, b], LogicalOp.AND)
    assert (a | b & c) == ConditionGroup([a, b, c], [LogicalOp.OR, LogicalOp.AND])
    assert ((a & b) | c) == ConditionGroup([a, b, c], ["AND", "OR"])
    # (a OR b) AND c cannot be flattened: the OR group is nested.
    nested = (a | b) & c
    assert nested == ConditionGroup([ConditionGroup([a, b], "or"), c], "and")
    assert nested.to_json(nested=False)["terms"][0]["termType"] == "ConditionGroup"
    assert (a & b & c).operators == (LogicalOp.AND, LogicalOp.AND)


def test_condition_mistakes_are_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"unknown condition operator 'Contain'"):
        Clause("x", "Contain")  # type: ignore[arg-type]
    with pytest.raises(PipelineDefinitionError, match="at least one term"):
        ConditionGroup([])
    a = Clause("x", Operator.IS_EMPTY)
    with pytest.raises(PipelineDefinitionError, match=r"needs 1 operator\(s\).*got 2"):
        ConditionGroup([a, a], [LogicalOp.AND, LogicalOp.OR])
    with pytest.raises(PipelineDefinitionError, match="AND or OR, not 'XOR'"):
        ConditionGroup([a, a], "XOR")
    with pytest.raises(PipelineDefinitionError, match=r"'router' needs at least one path"):
        ConditionNode("router", [])
    with pytest.raises(PipelineDefinitionError, match="path 1 must be a Clause"):
        ConditionNode("router", [a, "x > 1"])  # type: ignore[list-item]


def test_operator_values_are_canonical_strings() -> None:
    assert Operator("TextContains") is Operator.TEXT_CONTAINS
    assert str(Operator.MAP_CONTAINS_KEY) == "MapContainsKey"
    assert all(op.value[0].isupper() and " " not in op.value for op in Operator)


# -- sub-pipelines ------------------------------------------------------------------------------


def saved_sub() -> Pipeline:
    sub = Pipeline("cleaner", id="sub-id")
    text = sub.add(name="text").input()
    sub.add(name="suffix").input(default_value="!")
    upper = sub.add(name="upper").text_formatter(text.text, "To Uppercase")
    sub.add(name="clean_text").output(upper.output)
    sub.add(name="length").output(upper.output)
    return sub


def test_pipeline_node_wires_inputs_and_exposes_the_sub_pipelines_outputs() -> None:
    p, q = fresh()
    post = p.add(name="post", id="pipeline_0").pipeline(saved_sub(), text=q.text)
    assert isinstance(post, PipelineNode)
    assert post.to_json()["inputs"] == {
        "pipeline_id": "sub-id",
        "text": "{{ input_0.text }}",
        "dependencies": [],
    }
    assert post.outputs == ["clean_text", "complete", "length"]
    p.add(name="answer").output(post.ref("clean_text"))
    p.validate()
    with pytest.raises(PipelineDefinitionError, match=r"'post'.*no output 'cleaned'"):
        post.ref("cleaned")


def test_pipeline_node_checks_its_inputs_against_the_sub_pipeline() -> None:
    _, q = fresh()
    sub = saved_sub()
    with pytest.raises(
        PipelineDefinitionError,
        match=r"'post'.*'cleaner' \(sub-id\) has no input 'txt'.*'suffix', 'text'",
    ):
        PipelineNode("post", sub, txt=q.text)
    with pytest.raises(PipelineDefinitionError, match=r"'post'.*needs input 'text'"):
        PipelineNode("post", sub, suffix="?")
    node = PipelineNode("post", sub, inputs={"text": q.text, "suffix": "?"})
    assert node.inputs["suffix"] == "?"


def test_pipeline_node_needs_a_saved_pipeline_with_nodes() -> None:
    unsaved = saved_sub()
    unsaved.id = None
    with pytest.raises(PipelineDefinitionError, match=r"'post'.*must be saved"):
        PipelineNode("post", unsaved, text="x")
    with pytest.raises(PipelineDefinitionError, match=r"must be saved and have its nodes"):
        PipelineNode("post", Pipeline("empty", id="p1"))


def test_fetched_condition_and_pipeline_nodes_are_typed() -> None:
    p, q = fresh()
    router = p.add(name="router").condition([Clause(q.text, Operator.IS_EMPTY)] * 2)
    post = p.add(name="post").pipeline(saved_sub(), text=q.text)
    fetched = Pipeline._from_object({"_id": "x", "name": "x", **p.to_json()}, None)
    again = fetched.node("router")
    assert isinstance(again, ConditionNode) and again.path(1).field == "path_1"
    assert isinstance(fetched.node("post"), PipelineNode)
    assert fetched.node("post").ref("length").node.id == post.id
    assert fetched.to_json() == p.to_json() and router.id in fetched.to_json()["nodes"]


# -- validation ----------------------------------------------------------------------------------


def streaming(stream: bool = True) -> tuple[Pipeline, LlmNode]:
    p, q = fresh()
    return p, p.add(name="llm", id="llm_0").llm(prompt=q.text, stream=stream)


def test_stream_output_fed_by_a_streaming_llm_is_valid() -> None:
    p, llm = streaming()
    p.add(name="tokens").output(llm.response, "stream<string>")
    p.add(name="upper").text_formatter(llm.response)  # other consumers get the whole text
    p.validate()


def test_stream_output_fed_by_a_non_streaming_llm_is_refused() -> None:
    p, llm = streaming(stream=False)
    p.add(name="tokens", id="output_0").output(llm.response, "stream<string>")
    with pytest.raises(
        PipelineDefinitionError, match=r"'tokens' \(output_0\).*'llm' \(llm_0\) does not stream"
    ) as info:
        p.validate()
    assert info.value.node_ids == ("output_0", "llm_0")


@pytest.mark.parametrize("value", ["text", "fstring", "tokens"])
def test_stream_output_fed_by_anything_else_is_refused(value: str) -> None:
    p, llm = streaming()
    sources = {
        "text": p.add(name="t").text("x").text,
        "fstring": f"Answer: {llm.response}",
        "tokens": llm.tokens_used,
    }
    p.add(name="tokens", id="output_0").output(sources[value], "stream<string>")
    with pytest.raises(
        PipelineDefinitionError, match=r"'tokens' \(output_0\) is of type stream<string>.*directly"
    ):
        p.validate()


def test_only_output_nodes_may_declare_stream() -> None:
    p, llm = streaming()
    p.add(name="merge", id="merge_0").merge([llm.response], type="stream<string>")
    with pytest.raises(
        PipelineDefinitionError, match=r"'merge' \(merge_0\) declares type 'stream<string>'"
    ):
        p.validate()


def test_references_to_missing_nodes_and_fields_name_the_nodes() -> None:
    p, _ = fresh()
    p.add(name="t", id="text_0").text("{{ ghost_0.text }}")
    with pytest.raises(PipelineDefinitionError, match=r"'t' \(text_0\).*'ghost_0'"):
        p.validate()
    p, q = fresh()
    router = ConditionNode("router", Clause(q.text, Operator.IS_EMPTY), id="condition_0")
    p.add(name="gated", id="text_0").text("x", dependencies=["{{ condition_0.path_1 }}"])
    p.add_node(router)
    with pytest.raises(
        PipelineDefinitionError,
        match=r"'gated' \(text_0\) input 'dependencies'.*no output 'path_1'",
    ):
        p.validate()


def test_duplicate_ids_are_refused_by_validate() -> None:
    a, b = TextNode("a", "x", id="same"), TextNode("b", "y", id="same")
    p = Pipeline("dup", nodes=[a])
    p._nodes.append(b)
    with pytest.raises(PipelineDefinitionError, match="two nodes share the id 'same'"):
        p.validate()


def test_the_official_clients_keywords_build_the_same_inputs() -> None:
    from vectorshift.pipeline.nodes import InputNode as OfficialInput
    from vectorshift.pipeline.nodes import LlmNode as OfficialLlm
    from vectorshift.pipeline.nodes import OutputNode as OfficialOutput

    title = OfficialInput(
        node_name="title",
        input_type="string",
        use_default_value=True,
        default_value="Untitled",
        description="A title",
    )
    assert title.inputs["use_default_value"] is True
    assert title.inputs["default_value"] == "Untitled"
    kept = OfficialInput(
        node_name="kept",
        use_default_value=False,
        default_value="x",
        file_parser="llama",
        dataframe_type="table",
    )
    assert kept.inputs["use_default_value"] is False and kept.inputs["file_parser"] == "llama"
    llm = OfficialLlm(
        node_name="llm",
        prompt=title.text,
        use_personal_api_key=True,
        api_key="sk-own",
        show_sources=True,
        reasoning_effort="high",
    )
    assert llm.inputs["use_personal_api_key"] is True and llm.inputs["api_key"] == "sk-own"
    assert llm.inputs["reasoning_effort"] == "high"
    with pytest.raises(PipelineDefinitionError, match="given both as an argument and in extra"):
        OfficialLlm(
            node_name="llm", reasoning_effort="high", extra_inputs={"reasoning_effort": "low"}
        )
    out = OfficialOutput(node_name="answer", value=llm.response, dataframe_type="table")
    assert out.inputs["dataframe_type"] == "table"
