"""The typed builder as users write it; ``mypy --strict`` must accept this file as is.

tests/test_typing.py runs mypy on it, and checks that a misspelt output is rejected.
"""

from __future__ import annotations

from typing_extensions import assert_type

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
    NodeOutput,
    Operator,
    OutputNode,
    Pipeline,
    PipelineNode,
    SplitTextNode,
    TextFormatterNode,
    TextNode,
)


def build(sub: Pipeline) -> Pipeline:
    p = Pipeline("typed")
    query = p.add(name="query").input()
    count = p.add(name="count").input("int32", default_value=3)
    assert_type(query, InputNode)
    assert_type(query.text, NodeOutput)

    router = p.add(name="router").condition(
        [
            ConditionGroup([Clause(query.text, Operator.TEXT_CONTAINS, "code")]),
            Clause(count.value, Operator.GREATER_THAN, 2) | Clause(query.text, Operator.IS_EMPTY),
            ConditionGroup(
                [
                    Clause(query.text, Operator.TEXT_STARTS_WITH, "a"),
                    Clause(count.value, Operator.IS_NOT_EMPTY),
                ],
                LogicalOp.AND,
            ),
        ]
    )
    assert_type(router, ConditionNode)
    assert_type(router.path_0, NodeOutput)
    assert_type(router.path_2, NodeOutput)
    assert_type(Clause(count.value, Operator.TEXT_BEGINS_WITH, "1"), Clause)
    assert_type(count.value, NodeOutput)
    assert_type(router.path(2), NodeOutput)

    code = p.add(name="code").llm(
        model="gpt-4o-mini", prompt=query.text, stream=True, dependencies=[router.path_0]
    )
    assert_type(code, LlmNode)
    assert_type(code.response, NodeOutput)
    assert_type(code.tokens_used, NodeOutput)
    plain = p.add(name="plain").text(f"Plain: {query.text}", dependencies=[router.path_else])
    assert_type(plain, TextNode)

    merged = p.add(name="merge").merge([code.response, plain.text], "first")
    assert_type(merged, MergeNode)
    both = p.add(name="both").combine_text([code.response, "\n", plain.text])
    assert_type(both, CombineTextNode)
    upper = p.add(name="upper").text_formatter(both.processed_text, "To Uppercase")
    assert_type(upper, TextFormatterNode)
    short = p.add(name="short").text_formatter(upper.output, "Truncate", max_num_token=5)
    words = p.add(name="words").split_text(short.output, "space")
    assert_type(words, SplitTextNode)

    post = p.add(name="post").pipeline(sub, text=merged.output)
    assert_type(post, PipelineNode)
    kb = p.add(name="kb").node("knowledge_base", output_fields=["results"], query=query.text)
    assert_type(kb, Node)

    tokens = p.add(name="tokens").output(code.response, "stream<string>")
    assert_type(tokens, OutputNode)
    p.add(name="answer").output(post.ref("clean_text"))
    p.add(name="parts").output(words.processed_text, "json")
    p.add(name="docs").output(kb.ref("results"), "json")

    direct = LlmNode(name="direct", prompt=query.text, model="gpt-4o", json_response=True)
    p.add_node(direct)
    p.add_node(OutputNode(name="direct_out", value=direct.response, output_type="json"))
    return p
