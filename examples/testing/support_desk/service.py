"""Triage a support ticket and draft a reply with one VectorShift pipeline.

The pipeline: ``ticket`` (input) -> ``classifier`` (an LLM answering a JSON label) and
``writer`` (an LLM drafting the reply, told the label) -> outputs ``category`` and ``reply``.

The service's own rules, which its tests check:

- one run per ticket: a start carries ``Idempotency-Key: ticket-<id>``, so a retried request
  (the SDK retries 429 and 5xx) never starts a second run;
- a run that fails (the model provider had a bad moment) is tried again, up to
  ``attempts`` times, with a new key per attempt; after that the ticket goes to a human.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from vectorshift import Client, NotFoundError, Pipeline, PipelineRunFailedError

PIPELINE_NAME = "support-desk"

FALLBACK = "Thanks for your message: a member of our team will get back to you."


@dataclass(frozen=True)
class Reply:
    """What the service answers for a ticket."""

    category: str
    text: str
    escalated: bool = False


def _graph(client: Client | None) -> Pipeline:
    pipeline = Pipeline(PIPELINE_NAME, client=client)
    ticket = pipeline.add(name="ticket").input()
    classifier = pipeline.add(name="classifier").llm(
        model="gpt-4o-mini",
        json_response=True,
        prompt="Classify this support ticket as billing, bug or other; answer JSON with one "
        f"key, category. Ticket: {ticket.text}",
    )
    writer = pipeline.add(name="writer").llm(
        model="gpt-4o",
        stream=True,
        system="You are a kind support agent.",
        prompt=f"Draft a reply to this ticket: {ticket.text}",
    )
    pipeline.add(name="category").output(classifier.response)
    reply = pipeline.add(name="reply").output(writer.response)
    reply.inputs["output_type"] = "stream<string>"
    return pipeline


def ensure_pipeline(client: Client | None = None) -> Pipeline:
    """The service's pipeline: fetched by name, or created the first time."""
    try:
        return Pipeline.fetch(name=PIPELINE_NAME, client=client)
    except NotFoundError:
        pass
    pipeline = _graph(client)
    pipeline.save()
    return pipeline


def triage(ticket_id: str, text: str, *, attempts: int = 2, client: Client | None = None) -> Reply:
    """Classify a ticket and draft its reply; escalate to a human when every attempt fails."""
    pipeline = ensure_pipeline(client)
    for attempt in range(attempts):
        key = f"ticket-{ticket_id}" if attempt == 0 else f"ticket-{ticket_id}-retry-{attempt}"
        handler = pipeline.start({"ticket": text}, idempotency_key=key)
        try:
            result = handler.result(timeout=60)
        except PipelineRunFailedError:
            continue
        outputs = result["outputs"]
        return Reply(category=outputs["category"]["category"], text=outputs["reply"])
    return Reply(category="other", text=FALLBACK, escalated=True)


async def draft_reply_stream(text: str, *, client: Client | None = None) -> AsyncIterator[str]:
    """The reply to a ticket, token by token as the model writes it (for a live UI)."""
    pipeline = await Pipeline.afetch(name=PIPELINE_NAME, client=client)
    async with pipeline.astream({"ticket": text}) as chunks:
        async for chunk in chunks:
            if chunk.type == "stream" and chunk.output_name == "reply":
                yield str(chunk.output_value)
