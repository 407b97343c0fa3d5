"""Terminate a run: through its handler, or through the pipeline with only the task id.

Runs against the VectorShift platform when ``VECTORSHIFT_API_KEY`` is set, and on the embedded
local platform (``vectorshift.local``) otherwise. It says which.

    python examples/terminate_run.py
"""

from __future__ import annotations

from _platform import platform

from vectorshift import Client, NotFoundError, Pipeline, PipelineRunCancelledError

PIPELINE_NAME = "terminate-run-example"


def long_pipeline(client: Client, local: bool) -> Pipeline:
    try:
        return Pipeline.fetch(name=PIPELINE_NAME, client=client)
    except NotFoundError:
        pipeline = Pipeline.new(name=PIPELINE_NAME, client=client)
    topic = pipeline.add(name="topic").input()
    if local:  # about a minute of simulated tokens
        llm = pipeline.add(name="writer").llm(
            provider="local",
            model="lorem",
            prompt=topic.text,
            max_tokens=3000,
            token_delay_ms=20,
        )
    else:
        llm = pipeline.add(name="writer").llm(
            model="gpt-4o-mini", prompt=f"Write a very long essay about {topic.text}."
        )
    pipeline.add(name="essay").output(llm.response)
    pipeline.save()
    return pipeline


def main() -> None:
    with platform() as (client, local):
        pipeline = long_pipeline(client, local)

        # 1. Through the handler that start() returned.
        handler = pipeline.start({"topic": "rivers"})
        print(f"started task_id={handler.task_id} trace_id={handler.trace_id}")
        status = handler.terminate()
        print(f"terminated through the handler: status={status.status}")
        try:
            handler.result(timeout=30)
        except PipelineRunCancelledError as exc:
            print(f"result() raises: {exc}")

        # 2. With only the task id, e.g. read back from a database by another process.
        task_id = pipeline.start({"topic": "mountains"}).task_id
        status = pipeline.terminate(run_id=task_id)
        print(f"terminated by task id {task_id}: status={status.status}")

        # Terminating again, or after the run ended, is harmless and reports the final status.
        print(f"terminated again: status={pipeline.terminate(run_id=task_id).status}")


if __name__ == "__main__":
    main()
