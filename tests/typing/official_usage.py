"""Code written for the official client, as users call it; checked by ``mypy --strict``.

Never executed (tests/test_typing.py type-checks every file here).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from vectorshift.pipeline import (
    InputNode,
    LlmNode,
    OutputNode,
    Pipeline,
    RunHandler,
    TextFormatterNode,
)
from vectorshift.pipeline.nodes import SplitTextNode, TextNode


def official_nodes() -> Pipeline:
    question = InputNode(node_name="question", input_type="string")
    llm = LlmNode(
        node_name="llm", provider="openai", model="gpt-4o", prompt=question.text, system="Be brief."
    )
    upper = TextFormatterNode(text=llm.response, execution_mode="batch")
    words = SplitTextNode(node_name="words", text=upper.output, execution_mode="batch")
    note = TextNode(node_name="note", text=words.processed_text)
    answer = OutputNode(node_name="answer", value=note.text)
    return Pipeline.new(name="official", nodes=[question, llm, upper, words, note, answer])


def official_pipeline(pipeline: Pipeline, data: dict[str, Any]) -> None:
    batch = pipeline.add_batch(name="answers", id="llm_0").llm(prompt=["a", "b"])
    assert_type(batch, LlmNode)
    assert_type(pipeline.to_dict(), dict[str, Any])
    assert_type(Pipeline.from_json(data), Pipeline)
    assert_type(Pipeline.serialize_inputs({"p": pipeline}), dict[str, Any])
    pipeline.run({"question": "hi"}, stream_all_outputs=True, send_intermediate_results=False)
    handler = RunHandler(pipeline.id or "", "task")
    handler.result()
    assert_type(RunHandler(pipeline_id="p", task_id="t", trace_id="").task_id, str)
