"""A content workflow: route a request, write it in one of two stages, then polish it.

1. A saved sub-pipeline, ``polish``, trims a draft and signs it.
2. The workflow's condition node routes each request: asks for code go to the code writer,
   everything else to the prose writer. The other stage is skipped.
3. A merge node picks the draft of the stage that ran, and the ``polish`` sub-pipeline (used as
   a node) post-processes it.
4. The workflow runs, then runs again with ``stream()`` to debug it: every node's output is
   printed as it completes, which shows which branch was taken.

Runs against the VectorShift platform (OpenAI models) when ``VECTORSHIFT_API_KEY`` is set, and on
the embedded local platform (``vectorshift.local``, an offline simulated model that echoes its
prompt) otherwise. It says which.

    python examples/content_workflow.py
"""

from __future__ import annotations

from _platform import platform

from vectorshift import Clause, Client, NodeOutput, NotFoundError, Operator, Pipeline

WORKFLOW_NAME = "content-workflow-example"
POLISH_NAME = "content-workflow-polish"
SIGNATURE = "\n-- the content team"


def polish_pipeline(client: Client) -> Pipeline:
    """draft -> trimmed and signed -> final. Saved, so other pipelines can use it as a node."""
    try:
        return Pipeline.fetch(name=POLISH_NAME, client=client)
    except NotFoundError:
        polish = Pipeline.new(name=POLISH_NAME, client=client)
    draft = polish.add(name="draft").input(description="The text to polish")
    trimmed = polish.add(name="trim").text_formatter(draft.text, "Trim")
    signed = polish.add(name="sign").combine_text([trimmed.output, SIGNATURE])
    polish.add(name="final").output(signed.processed_text)
    polish.save()
    return polish


def writer(pipeline: Pipeline, name: str, prompt: str, local: bool, gate: NodeOutput) -> NodeOutput:
    """One LLM stage, run only when ``gate`` (a condition path) is taken.

    Offline it is the local 'echo' model, which answers with its prompt; on the platform,
    gpt-4o-mini.
    """
    if local:
        llm = pipeline.add(name=name).llm(
            provider="local", model="echo", prompt=prompt, token_delay_ms=5, dependencies=[gate]
        )
    else:
        llm = pipeline.add(name=name).llm(model="gpt-4o-mini", prompt=prompt, dependencies=[gate])
    return llm.response


def workflow_pipeline(client: Client, local: bool, polish: Pipeline) -> Pipeline:
    """request -> router -> (code writer | prose writer) -> merge -> polish -> final."""
    try:
        return Pipeline.fetch(name=WORKFLOW_NAME, client=client)
    except NotFoundError:
        workflow = Pipeline.new(name=WORKFLOW_NAME, client=client)
    request = workflow.add(name="request").input(description="What to write")
    router = workflow.add(name="router").condition(
        [
            Clause(request.text, Operator.TEXT_CONTAINS, "code")
            | Clause(request.text, Operator.TEXT_STARTS_WITH, "Implement"),
        ]
    )
    code = writer(
        workflow,
        "code_writer",
        f"Answer with a short Python snippet: {request.text}",
        local,
        router.path_0,
    )
    prose = writer(
        workflow,
        "prose_writer",
        f"Write one friendly paragraph: {request.text}",
        local,
        router.path_else,
    )
    draft = workflow.add(name="draft").merge([code, prose], "first")
    polished = workflow.add(name="polish").pipeline(polish, draft=draft.output)
    workflow.add(name="final").output(polished.ref("final"))
    workflow.save()
    return workflow


def main() -> None:
    with platform() as (client, local):
        polish = polish_pipeline(client)
        workflow = workflow_pipeline(client, local, polish)
        print(f"Saved {polish.name!r} ({polish.id}) and {workflow.name!r} ({workflow.id})")

        for request in ("Write code that reverses a list", "Describe a rainy afternoon"):
            result = workflow.run({"request": request})
            print(f"\n{request!r} ->\n{result['outputs']['final']}")

        print("\nDebugging with stream(): each node's output as it completes")
        with workflow.stream({"request": "Implement a stack"}) as chunks:
            for chunk in chunks:
                if chunk.type == "stream":
                    print(f"  {chunk.output_name}: {chunk.output_value!r}")
                else:
                    print(f"  result ({chunk.status}): {chunk.outputs}")


if __name__ == "__main__":
    main()
