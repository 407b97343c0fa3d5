"""Every node's output as it completes with ``stream()``, compared with ``run()``.

The pipeline has the shape of the platform's combine -> formatter graph plus a streaming LLM:
two inputs are combined and upper-cased into a heading, and a text node builds the LLM's
prompt. ``run()`` returns only the final outputs; ``stream()`` also yields each intermediate
node output (``"<node>.<field>"``) and the LLM's tokens, which is what you want when a
pipeline misbehaves and you need to see where.

    python examples/intermediate_results.py
"""

from __future__ import annotations

from _platform import platform

from vectorshift import Client, NotFoundError, Pipeline

PIPELINE_NAME = "intermediate-results-example"


def build(client: Client, local: bool) -> Pipeline:
    try:
        return Pipeline.fetch(name=PIPELINE_NAME, client=client)
    except NotFoundError:
        pipeline = Pipeline.new(name=PIPELINE_NAME, client=client)
    topic = pipeline.add(name="topic").input()
    style = pipeline.add(name="style").input()
    combined = pipeline.add(name="combine").combine_text([topic.text, " / ", style.text])
    heading = pipeline.add(name="formatter").text_formatter(combined.processed_text)
    prompt = pipeline.add(name="prompt_text").text(
        f"Write about {topic.text} in a {style.text} style."
    )
    if local:
        llm = pipeline.add(name="writer").llm(
            provider="local",
            model="lorem",
            prompt=prompt.text,
            max_tokens=12,
            token_delay_ms=30,
            stream=True,
        )
    else:
        llm = pipeline.add(name="writer").llm(model="gpt-4o-mini", prompt=prompt.text, stream=True)
    pipeline.add(name="heading").output(heading.output)
    pipeline.add(name="story").output(llm.response, "stream<string>")
    pipeline.save()
    return pipeline


def main() -> None:
    inputs = {"topic": "tides", "style": "haiku"}
    with platform() as (client, local):
        pipeline = build(client, local)

        result = pipeline.run(inputs)
        print("run() gives the final outputs only:")
        for name, value in result.outputs.items():
            print(f"  {name}: {value!r}")

        print("stream() gives every node output as it completes, and the tokens:")
        with pipeline.stream(inputs) as chunks:
            for chunk in chunks:
                if chunk.type == "result":
                    print(f"  result ({chunk.status}): {chunk.outputs}")
                elif chunk.output_name == "story":
                    print(f"  token: {chunk.output_value!r}")
                else:
                    print(f"  {chunk.output_name}: {chunk.output_value!r}")


if __name__ == "__main__":
    main()
