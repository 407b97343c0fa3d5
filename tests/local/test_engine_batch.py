"""Batch mode on ``vectorshift.local``: one run of the node per element, outputs as lists.

The semantics chosen where the facts say nothing are in :mod:`vectorshift.local.batch`.
"""

from __future__ import annotations

import pytest

from vectorshift import Client, Pipeline, PipelineRunFailedError, UnprocessableEntityError

pytestmark = pytest.mark.anyio


def echo() -> dict[str, object]:
    return {"provider": "local", "model": "echo", "token_delay_ms": 0}


async def saved(pipeline: Pipeline) -> Pipeline:
    return await pipeline.asave()


async def test_a_batch_llm_over_a_list_prompt_answers_a_list_in_order(client: Client) -> None:
    p = Pipeline("batch_llm", client=client)
    questions = p.add(name="questions").input(input_type="vec<string>")
    system = p.add(name="system_prompt").text("Answer in one line.")
    answers = p.add_batch(name="answers").llm(prompt=questions.value, system=system.text, **echo())
    p.add(name="answer_list").output(answers.response, "vec<string>")
    await saved(p)
    result = await p.arun({"questions": ["one", "two", "three"]})
    assert result["outputs"]["answer_list"] == ["one", "two", "three"]


async def test_a_literal_list_prompt_iterates_and_a_scalar_is_shared(client: Client) -> None:
    p = Pipeline("batch_literals", client=client)
    answers = p.add_batch(name="lists").llm(prompt=["a", "b"], system="shared", **echo())
    p.add(name="out").output(answers.response, "json")
    await saved(p)
    assert (await p.arun({}))["outputs"]["out"] == ["a", "b"]


async def test_batch_format_then_split_chains_element_wise(client: Client) -> None:
    p = Pipeline("batch_chain", client=client)
    items = p.add(name="items").input(input_type="vec<string>")
    shout = p.add_batch(name="shout").text_formatter(items.value, "To Uppercase")
    words = p.add_batch(name="words").split_text(shout.output, "space")
    p.add(name="word_lists").output(words.processed_text, "json")
    p.add(name="shouted").output(shout.output, "vec<string>")
    await saved(p)
    outputs = (await p.arun({"items": ["a b", "c"]}))["outputs"]
    assert outputs["shouted"] == ["A B", "C"]
    assert outputs["word_lists"] == [["A", "B"], ["C"]]


async def test_batch_combine_text_takes_one_text_list_per_element(client: Client) -> None:
    p = Pipeline("batch_combine", client=client)
    both = p.add_batch(name="both").combine_text([["a", "b"], ["c", "d"]])
    p.add(name="out").output(both.processed_text, "vec<string>")
    await saved(p)
    assert (await p.arun({}))["outputs"]["out"] == ["ab", "cd"]


async def test_unequal_lengths_fail_the_run_naming_the_node(client: Client) -> None:
    p = Pipeline("batch_unequal", client=client)
    prompts = p.add(name="prompts").input(input_type="vec<string>")
    systems = p.add(name="systems").input(input_type="vec<string>")
    llm = p.add_batch(name="answers").llm(prompt=prompts.value, system=systems.value, **echo())
    p.add(name="out").output(llm.response, "vec<string>")
    await saved(p)
    with pytest.raises(PipelineRunFailedError) as caught:
        await p.arun({"prompts": ["a", "b", "c"], "systems": ["x", "y"]})
    message = str(caught.value)
    assert "'answers'" in message and "different lengths" in message
    assert "'prompt' has 3" in message and "'system' has 2" in message


async def test_a_batch_node_without_a_list_fails_naming_the_node(client: Client) -> None:
    p = Pipeline("batch_scalar", client=client)
    q = p.add(name="q").input()
    shout = p.add_batch(name="shout").text_formatter(q.text)
    p.add(name="out").output(shout.output, "vec<string>")
    await saved(p)
    with pytest.raises(PipelineRunFailedError, match=r"'shout'.*needs a list"):
        await p.arun({"q": "hi"})


async def test_an_empty_list_gives_empty_lists(client: Client) -> None:
    p = Pipeline("batch_empty", client=client)
    items = p.add(name="items").input(input_type="vec<string>")
    shout = p.add_batch(name="shout").text_formatter(items.value)
    p.add(name="out").output(shout.output, "vec<string>")
    await saved(p)
    assert (await p.arun({"items": []}))["outputs"]["out"] == []


async def test_batch_on_a_type_without_it_is_refused_at_create(client: Client) -> None:
    p = Pipeline("batch_refused", client=client)
    q = p.add(name="q").input()
    note = p.add(name="note").text(q.text)
    p.add(name="out").output(note.text)
    note.execution_mode = "batch"  # as the official client writes it: its builder lets it through
    with pytest.raises(UnprocessableEntityError) as caught:
        await p.asave()
    assert "node 'note'" in str(caught.value)
    assert "execution_mode 'batch' is not one of 'normal'" in str(caught.value)
