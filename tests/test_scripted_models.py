"""Scripted models: tests decide what LLM nodes answer, through the plugin's own fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from support import unique

from vectorshift import Pipeline, PipelineRunFailedError
from vectorshift.local.scripts import Script, ScriptRule, parse_script, read_script
from vectorshift.testing import LocalPlatform


def two_llms(*, stream: bool = False, save: bool = True) -> Pipeline:
    """query -> classifier (openai gpt-4o-mini) and writer (anthropic claude) -> two outputs.

    Saved through the default client unless ``save`` is false (async tests save it themselves).
    """
    pipeline = Pipeline(unique("scripted"))
    query = pipeline.add(name="query").input()
    label = pipeline.add(name="classifier").llm(model="gpt-4o-mini", prompt=query.text)
    writer = pipeline.add(name="writer").llm(
        provider="anthropic",
        model="claude",
        prompt=query.text,
        stream=stream,
        token_delay_ms=0,
    )
    pipeline.add(name="label").output(label.response)
    answer = pipeline.add(name="answer").output(writer.response)
    if stream:
        answer.inputs["output_type"] = "stream<string>"
    if save:
        pipeline.save()
    return pipeline


def outputs(pipeline: Pipeline, query: str) -> dict[str, object]:
    return dict(pipeline.run({"query": query})["outputs"])


def test_an_exact_prompt_is_answered_by_its_rule(vectorshift_local_shared: LocalPlatform) -> None:
    vectorshift_local_shared.script.add(prompt="2+2?", answer="4")
    pipeline = two_llms()
    assert outputs(pipeline, "2+2?") == {"label": "4", "answer": "4"}
    assert outputs(pipeline, "2+2? ") == {"label": "2+2? ", "answer": "2+2? "}


def test_unscripted_prompts_get_the_simulated_model(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="classifier", answer="spam")
    result = two_llms().run({"query": "hello there"})
    assert result["outputs"] == {"label": "spam", "answer": "hello there"}
    assert result.raw["simulated_providers"] == ["anthropic", "openai"]


def test_rules_by_regex_node_and_model(vectorshift_local_shared: LocalPlatform) -> None:
    script = vectorshift_local_shared.script
    script.add(regex=r"(?i)^refund", node="classifier", answer="billing")
    script.add(model="claude", answer="Dear customer,")
    pipeline = two_llms()
    assert outputs(pipeline, "Refund please") == {"label": "billing", "answer": "Dear customer,"}
    assert outputs(pipeline, "hi") == {"label": "hi", "answer": "Dear customer,"}


def test_a_function_of_the_prompt_answers_or_passes(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    def shout(prompt: str) -> str | None:
        return prompt.upper() if prompt.startswith("say") else None

    vectorshift_local_shared.script.add(node="writer", answer=shout)
    vectorshift_local_shared.script.add(node="writer", answer="fallback")
    pipeline = two_llms()
    assert outputs(pipeline, "say hi")["answer"] == "SAY HI"
    assert outputs(pipeline, "other")["answer"] == "fallback"


def test_a_queue_answers_once_each_then_leaves_the_simulated_model(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    rule = vectorshift_local_shared.script.add(node="classifier", answers=["spam", "ham"])
    pipeline = two_llms()
    labels = [outputs(pipeline, "x")["label"] for _ in range(3)]
    assert labels == ["spam", "ham", "x"]
    assert rule.used == 2


def test_count_bounds_a_rule(vectorshift_local_shared: LocalPlatform) -> None:
    vectorshift_local_shared.script.add(node="classifier", answer="once", count=1)
    pipeline = two_llms()
    assert [outputs(pipeline, "q")["label"] for _ in range(2)] == ["once", "q"]


def test_a_json_answer_reaches_a_json_response_node_parsed(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="extract", answer={"intent": "refund", "score": 1})
    pipeline = Pipeline.new(name=unique("json"))
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="extract").llm(prompt=query.text, json_response=True)
    pipeline.add(name="answer").output(llm.response)
    pipeline.save()
    assert pipeline.run({"query": "x"})["outputs"]["answer"] == {"intent": "refund", "score": 1}


def test_an_error_rule_fails_the_node_with_its_message(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="writer", error="provider overloaded")
    with pytest.raises(PipelineRunFailedError) as caught:
        two_llms().run({"query": "x"})
    assert "node 'writer'" in str(caught.value) and "provider overloaded" in str(caught.value)
    (run,) = vectorshift_local_shared.runs()
    assert run.status == "failed" and "provider overloaded" in (run.error or "")
    assert [c.error for c in run.llm_calls if c.node_name == "writer"] == ["provider overloaded"]


@pytest.mark.anyio
async def test_scripted_tokens_stream_at_their_pace(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(
        node="writer", tokens=["Once", " upon", " a", " time"], token_delay_ms=[150, 40]
    )
    pipeline = two_llms(stream=True, save=False)
    await pipeline.asave()
    arrivals: list[float] = []
    deltas: list[str] = []
    opened = anyio.current_time()
    async with pipeline.astream({"query": "story"}) as chunks:
        async for chunk in chunks:
            if chunk.type == "stream" and chunk.output_name == "answer":
                arrivals.append(anyio.current_time())
                deltas.append(chunk.output_value)
    assert deltas == ["Once", " upon", " a", " time"]
    # A token cannot arrive before it is made: 150 ms for the first, then 40 ms each.
    assert arrivals[0] - opened >= 0.15
    assert arrivals[-1] - opened >= 0.15 + 3 * 0.04
    assert arrivals == sorted(arrivals)


@pytest.mark.anyio
async def test_tokens_then_an_error_cut_a_stream_midway(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="writer", answer="partial answer", error="cut off")
    pipeline = two_llms(stream=True, save=False)
    await pipeline.asave()
    deltas: list[str] = []
    with pytest.raises(PipelineRunFailedError, match=r"node 'writer'.*cut off"):
        async with pipeline.astream({"query": "x"}) as chunks:
            async for chunk in chunks:
                if chunk.type == "stream" and chunk.output_name == "answer":
                    deltas.append(chunk.output_value)
    assert deltas == ["partial", " answer"]


def test_rules_set_while_serving_apply_to_the_next_call(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    pipeline = two_llms()
    assert outputs(pipeline, "a")["label"] == "a"
    rule = vectorshift_local_shared.script.add(node="classifier", answer="now scripted")
    assert outputs(pipeline, "a")["label"] == "now scripted"
    vectorshift_local_shared.script.remove(rule)
    assert outputs(pipeline, "a")["label"] == "a"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"prompt": "x"}, "give answer, answers, tokens or error"),
        ({"answer": "a", "answers": ["b"]}, "give one of answer, answers, tokens"),
        ({"regex": "(", "answer": "a"}, "invalid regex"),
        ({"answer": "a", "token_delay_ms": -1}, "token_delay_ms"),
        ({"answer": 3}, "answer must be a string or a JSON object or list"),
        ({"answer": "a", "nope": 1}, "unknown key(s) ['nope']"),
        ({"answer": "a", "count": -1}, "count must be >= 0"),
    ],
)
def test_invalid_rules_are_refused_naming_the_problem(
    rule: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match="script rule") as caught:
        ScriptRule.from_dict(rule)
    assert message in str(caught.value)


def test_the_json_forms_of_a_script() -> None:
    one = parse_script('{"node": "a", "answer": "x"}')
    listed = parse_script('[{"node": "a", "answer": "x"}, {"error": "e"}]')
    wrapped = parse_script('{"rules": [{"node": "a", "answer": "x"}]}')
    assert [len(one), len(listed), len(wrapped)] == [1, 2, 1]
    with pytest.raises(ValueError, match="must be JSON"):
        parse_script("{nope")
    with pytest.raises(ValueError, match="list of rule objects"):
        parse_script("[1]")
    script = Script()
    script.load([{"prompt": "p", "answer": "a"}])
    answer = script.answer(prompt="p")
    assert answer is not None and answer.text == "a" and answer.delays == (0.0,)


def test_the_command_line_serves_a_script_file(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"node": "classifier", "answer": "from the file"}]))
    assert read_script(script) == [{"node": "classifier", "answer": "from the file"}]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
    env["VECTORSHIFT_LOCAL_API_KEY"] = "vs-local-dev"
    server = subprocess.Popen(
        [sys.executable, "-m", "vectorshift.local", "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().rsplit(" ", 1)[-1].strip()
        import vectorshift

        client = vectorshift.Client(api_key="vs-local-dev", base_url=url)
        pipeline = Pipeline.new(name="cli", client=client)
        query = pipeline.add(name="query").input()
        label = pipeline.add(name="classifier").llm(prompt=query.text)
        pipeline.add(name="label").output(label.response)
        pipeline.save()
        assert pipeline.run({"query": "x"})["outputs"] == {"label": "from the file"}
    finally:
        server.terminate()
        server.wait(10)


def test_the_command_line_refuses_an_invalid_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.json"
    script.write_text('[{"node": "a"}]')
    result = subprocess.run(
        [sys.executable, "-m", "vectorshift.local", "--port", "0", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--script: script rule: give answer, answers, tokens or error" in result.stderr
