"""The catalog's nodes executed by a real local server: saved through the SDK, then run."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support import unique

from vectorshift import (
    Clause,
    Client,
    ConditionGroup,
    LogicalOp,
    NodeOutput,
    Operator,
    Pipeline,
    UnprocessableEntityError,
)
from vectorshift.local.nodes_condition import OPERATORS

pytestmark = pytest.mark.anyio

INPUTS: dict[str, Any] = {
    "text": "Hello world",
    "blank": "",
    "number": 7,
    "items": ["a", "b"],
    "on": True,
    "off": False,
    "doc": '{"key": 1}',
}

# (operator, operand1 source, operand2 when true, operand2 when false)
CASES: list[tuple[Operator, str, Any, Any]] = [
    (Operator.EQUAL, "number", 7, 8),
    (Operator.NOT_EQUAL, "number", 8, 7),
    (Operator.GREATER_THAN, "number", 5, 7),
    (Operator.LESS_THAN, "number", 10, 7),
    (Operator.GREATER_THAN_EQUAL, "number", 7, 8),
    (Operator.LESS_THAN_EQUAL, "number", 7, 6),
    (Operator.TEXT_CONTAINS, "text", "lo w", "xyz"),
    (Operator.TEXT_DOES_NOT_CONTAIN, "text", "xyz", "world"),
    (Operator.TEXT_STARTS_WITH, "text", "Hello", "world"),
    (Operator.TEXT_DOES_NOT_START_WITH, "text", "world", "Hello"),
    (Operator.TEXT_ENDS_WITH, "text", "world", "Hello"),
    (Operator.TEXT_DOES_NOT_END_WITH, "text", "Hello", "world"),
    (Operator.TEXT_GREATER_THAN_N_CHARS, "text", 10, 11),
    (Operator.TEXT_LESS_THAN_N_CHARS, "text", 12, 11),
    (Operator.VEC_CONTAINS, "items", "b", "z"),
    (Operator.VEC_DOES_NOT_CONTAIN, "items", "z", "a"),
    (Operator.MAP_CONTAINS_KEY, "json", "response", "key"),
]
# Operators that ignore operand2: (operator, source when true, source when false)
UNARY: list[tuple[Operator, str, str]] = [
    (Operator.IS_EMPTY, "blank", "text"),
    (Operator.IS_NOT_EMPTY, "text", "blank"),
    (Operator.IS_TRUE, "on", "off"),
    (Operator.IS_FALSE, "off", "on"),
]


def test_cases_cover_every_operator_the_engine_accepts() -> None:
    covered = [op for op, *_ in CASES] + [op for op, *_ in UNARY] + [Operator.EXPRESSION]
    assert sorted(op.value for op in covered) == sorted(op.value for op in Operator)
    assert {op.value for op in Operator} - {"Expression"} == set(OPERATORS)


def operator_pipeline(client: Client) -> tuple[Pipeline, dict[str, bool]]:
    """One condition node per (operator, expected outcome); its path_0 feeds an output."""
    p = Pipeline(unique("operators"), client=client)
    types = {
        "text": "string",
        "blank": "string",
        "number": "int32",
        "items": "vec<string>",
        "on": "bool",
        "off": "bool",
        "doc": "string",
    }
    sources: dict[str, NodeOutput] = {}
    for name, kind in types.items():
        node = p.add(name=name).input(kind)  # type: ignore[arg-type]
        sources[name] = node.text if kind == "string" else node.value
    sources["json"] = (
        p.add(name="parse")
        .llm(
            provider="local",
            model="echo",
            prompt=sources["doc"],
            json_response=True,
            token_delay_ms=0,
        )
        .response
    )  # the simulated model answers {"response": <prompt>}
    clauses: list[tuple[str, Clause | ConditionGroup, bool]] = []
    for op, source, yes, no in CASES:
        clauses.append((f"{op.value}_true", Clause(sources[source], op, yes), True))
        clauses.append((f"{op.value}_false", Clause(sources[source], op, no), False))
    for op, yes_source, no_source in UNARY:
        clauses.append((f"{op.value}_true", Clause(sources[yes_source], op), True))
        clauses.append((f"{op.value}_false", Clause(sources[no_source], op), False))
    empty, full = (
        Clause(sources["blank"], Operator.IS_EMPTY),
        Clause(sources["text"], Operator.IS_EMPTY),
    )
    clauses += [
        ("and_false", empty & full, False),
        ("or_true", full | empty, True),
        ("or_and_true", empty | full & full, True),  # empty OR (full AND full)
        ("nested_false", (empty | full) & full, False),
        ("explicit_group_true", ConditionGroup([full, empty], LogicalOp.OR), True),
    ]
    expected: dict[str, bool] = {}
    for name, clause, outcome in clauses:
        router = p.add(name=f"if_{name}").condition(clause)
        p.add(name=name).output(router.path_0, "bool")
        expected[name] = outcome
    return p, expected


async def test_every_operator_is_true_and_false_on_the_server(client: Client) -> None:
    pipeline, expected = operator_pipeline(client)
    await pipeline.asave()
    outputs = (await pipeline.arun(INPUTS))["outputs"]
    # A path that is not taken is skipped, and so is the output it feeds.
    assert {name: name in outputs for name in expected} == expected
    assert all(outputs[name] is True for name, taken in expected.items() if taken)


def router_pipeline(client: Client, function: str = "first") -> Pipeline:
    p = Pipeline(unique("router"), client=client)
    query = p.add(name="query").input()
    router = p.add(name="router").condition(
        [
            Clause(query.text, Operator.TEXT_CONTAINS, "code"),
            Clause(query.text, Operator.TEXT_ENDS_WITH, "?"),
        ]
    )
    code = p.add(name="code_llm").llm(
        provider="local",
        model="echo",
        prompt=f"CODE {query.text}",
        token_delay_ms=0,
        dependencies=[router.path_0],
    )
    question = p.add(name="question").text(f"Q {query.text}", dependencies=[router.path(1)])
    plain = p.add(name="plain").text(f"PLAIN {query.text}", dependencies=[router.path_else])
    merged = p.add(name="merge").merge([code.response, question.text, plain.text], function)  # type: ignore[arg-type]
    p.add(name="answer").output(merged.output)
    p.add(name="code_only").output(code.response)
    return p


async def test_skipped_branches_and_merge_first(client: Client) -> None:
    pipeline = await router_pipeline(client).asave()
    runs = {
        "write code": {"answer": "CODE write code", "code_only": "CODE write code"},
        "why?": {"answer": "Q why?"},
        "hello": {"answer": "PLAIN hello"},
    }
    for query, outputs in runs.items():
        assert (await pipeline.arun({"query": query}))["outputs"] == outputs


async def test_merge_join_gives_only_the_branches_that_ran(client: Client) -> None:
    pipeline = await router_pipeline(client, "join").asave()
    assert (await pipeline.arun({"query": "hello"}))["outputs"] == {"answer": ["PLAIN hello"]}


async def test_combine_formatters_and_split(client: Client) -> None:
    p = Pipeline(unique("text-nodes"), client=client)
    first, second = p.add(name="first").input(), p.add(name="second").input()
    combined = p.add(name="combined").combine_text([first.text, " and ", second.text])
    p.add(name="combine").output(combined.processed_text)
    formats = {"To Uppercase": 0, "To Lowercase": 0, "To Title Case": 0, "Trim": 0, "Truncate": 2}
    for formatter, tokens in formats.items():
        node = p.add(name=f"fmt {formatter}").text_formatter(
            f"  {combined.processed_text}  ",
            formatter,  # type: ignore[arg-type]
            max_num_token=tokens,
        )
        p.add(name=formatter).output(node.output)
    for delimiter, character in (("space", ""), ("newline", ""), ("character(s)", ",")):
        split = p.add(name=f"split {delimiter}").split_text(
            f"{first.text},x\n{second.text}",
            delimiter,
            character=character,  # type: ignore[arg-type]
        )
        p.add(name=delimiter).output(split.processed_text, "json")
    await p.asave()
    outputs = (await p.arun({"first": "salt PEPPER", "second": "oil"}))["outputs"]
    assert outputs == {
        "combine": "salt PEPPER and oil",
        "To Uppercase": "  SALT PEPPER AND OIL  ",
        "To Lowercase": "  salt pepper and oil  ",
        "To Title Case": "  Salt Pepper And Oil  ",
        "Trim": "salt PEPPER and oil",
        "Truncate": "  salt PEPPER",
        "space": ["salt", "PEPPER,x\noil"],
        "newline": ["salt PEPPER,x", "oil"],
        "character(s)": ["salt PEPPER", "x\noil"],
    }


async def sub_pipeline(client: Client) -> Pipeline:
    sub = Pipeline(unique("shout"), client=client)
    text = sub.add(name="text").input()
    suffix = sub.add(name="suffix").input(default_value="!")
    upper = sub.add(name="upper").text_formatter(text.text, "To Uppercase")
    sub.add(name="shout").output(f"{upper.output}{suffix.text}")
    sub.add(name="length").output(upper.output)
    return await sub.asave()


async def test_sub_pipeline_runs_end_to_end(client: Client) -> None:
    sub = await sub_pipeline(client)
    fetched = await Pipeline.afetch(sub.id, client=client)
    parent = Pipeline(unique("parent"), client=client)
    query = parent.add(name="query").input()
    direct = parent.add(name="direct").pipeline(sub, text=query.text)
    loud = parent.add(name="loud").pipeline(fetched, text=query.text, suffix="?!")
    parent.add(name="first").output(direct.ref("shout"))
    parent.add(name="second").output(f"{loud.ref('shout')} / {loud.ref('length')}")
    await parent.asave()
    outputs = (await parent.arun({"query": "calm down"}))["outputs"]
    assert outputs == {"first": "CALM DOWN!", "second": "CALM DOWN?! / CALM DOWN"}


async def test_server_refuses_what_the_client_cannot_see_naming_the_node(
    client: Client,
) -> None:
    # A generic node is sent as given: the client cannot know a merge needs 'fields'.
    p = Pipeline(unique("broken"), client=client)
    query = p.add(name="query").input()
    merge = p.add(name="picker", id="merge_0").node(
        "merge", output_fields=["output"], function="first"
    )
    p.add(name="answer").output(merge.ref("output"))
    p.add(name="echo").output(query.text)
    p.validate()
    with pytest.raises(UnprocessableEntityError, match=r"'picker' \(merge_0\).*'fields'"):
        await p.asave()
    body = {**p.to_json(), "name": p.name}
    body["nodes"]["merge_0"]["inputs"]["fields"] = ["{{ query.text }}"]  # a name, not an id
    with pytest.raises(UnprocessableEntityError, match=r"'picker' \(merge_0\).*'query'") as info:
        await client.http.request("POST", "/pipeline", json_body=body, retry_mode="unsafe")
    assert info.value.status_code == 422


async def test_typed_inputs_run_through_their_value_outputs(client: Client) -> None:
    p = Pipeline(unique("typed"), client=client)
    count = p.add(name="count").input("int32")
    ratio = p.add(name="ratio").input("float")
    flag = p.add(name="flag").input("bool")
    tags = p.add(name="tags").input("vec<string>")
    when = p.add(name="when").input("timestamp")
    p.add(name="line").input("json")
    router = p.add(name="router").condition(
        [
            Clause(count.value, Operator.GREATER_THAN_EQUAL, 3)
            & Clause(flag.value, Operator.IS_TRUE),
            Clause(tags.value, Operator.VEC_CONTAINS, "b"),
        ]
    )
    p.add(name="big").output(router.path_0, "bool")
    p.add(name="summary").output(f"{count.value}/{ratio.value}/{when.value}")
    await p.asave()
    outputs = (
        await p.arun(
            {
                "count": 3,
                "ratio": 0.5,
                "flag": True,
                "tags": ["a", "b"],
                "when": "2026-12-02T10:00:00Z",
                "line": {"k": 1},
            }
        )
    )["outputs"]
    assert outputs == {"big": True, "summary": "3/0.5/2026-12-02T10:00:00Z"}


@pytest.mark.parametrize("input_type", ["vec<file>", "image", "audio"])
async def test_input_types_the_local_server_cannot_run_are_refused_by_name(
    client: Client, input_type: str
) -> None:
    p = Pipeline(unique("media"), client=client)
    media = p.add(name="media").input(input_type)  # type: ignore[arg-type]
    p.add(name="done").output(media.complete)
    await p.asave()
    with pytest.raises(
        UnprocessableEntityError,
        match=f"input 'media' is of type '{re.escape(input_type)}', which "
        "vectorshift.local does not run",
    ):
        await p.arun({"media": "x"})
