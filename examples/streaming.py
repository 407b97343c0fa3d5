"""Token-level streaming: print an LLM's answer as it is written.

``pipeline.run(inputs, stream=True)`` yields the raw Server-Sent-Events frames; tokens arrive in
``stream`` frames of the ``stream<string>`` output, and the last frame is the ``result``.
The output node must be of type ``stream<string>``, fed by an llm node built with
``stream=True``.

    python examples/streaming.py
"""

from __future__ import annotations

from _platform import platform

from vectorshift import Client, NotFoundError, Pipeline

PIPELINE_NAME = "streaming-example"


def story_pipeline(client: Client, local: bool) -> Pipeline:
    try:
        return Pipeline.fetch(name=PIPELINE_NAME, client=client)
    except NotFoundError:
        pipeline = Pipeline.new(name=PIPELINE_NAME, client=client)
    prompt = pipeline.add(name="prompt").input()
    if local:  # the simulated model: 60 tokens, 40 ms apart
        llm = pipeline.add(name="writer").llm(
            provider="local",
            model="lorem",
            prompt=prompt.text,
            max_tokens=60,
            token_delay_ms=40,
            stream=True,
        )
    else:
        llm = pipeline.add(name="writer").llm(model="gpt-4o-mini", prompt=prompt.text, stream=True)
    pipeline.add(name="story").output(llm.response, "stream<string>")
    pipeline.save()
    return pipeline


def main() -> None:
    with platform() as (client, local):
        pipeline = story_pipeline(client, local)
        prompt = "Tell a short story about a lighthouse."
        with pipeline.run({"prompt": prompt}, stream=True) as frames:
            for frame in frames:
                data = frame.json()
                if frame.event == "stream" and data["output_name"] == "story":
                    print(data["output_value"], end="", flush=True)
                elif frame.event == "result":
                    print(f"\n[run {data.get('run_id')}: {data['status']}]")


if __name__ == "__main__":
    main()
