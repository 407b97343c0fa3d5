"""Tests of the support desk against a real local VectorShift platform (vectorshift[testing]).

No account, no network, no model: ``vectorshift_local_shared`` gives each test its own
organisation on one local platform per session, points the default client at it, and lets the
test script what the LLM nodes answer and inject faults.
"""

from __future__ import annotations

import json

import pytest
from support_desk import draft_reply_stream, triage
from support_desk.service import FALLBACK

from vectorshift.testing import LocalPlatform


def script_happy_path(vs: LocalPlatform, category: str) -> None:
    # Every rule a test adds must answer a call, or the fixture fails the test at its end
    # (a misspelt node name would otherwise pass unnoticed): script only the expected path.
    vs.script.add(node="classifier", answer={"category": category})
    vs.script.add(node="writer", answer="Sorry about that: your refund is on its way.")


def test_a_billing_ticket_gets_its_category_and_reply(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    script_happy_path(vectorshift_local_shared, "billing")
    reply = triage("T-1", "I was charged twice")
    assert reply.category == "billing" and not reply.escalated
    assert reply.text == "Sorry about that: your refund is on its way."
    # What the models were asked:
    (classify,) = vectorshift_local_shared.llm_calls("classifier")
    assert classify.prompt.endswith("Ticket: I was charged twice")
    (write,) = vectorshift_local_shared.llm_calls("writer")
    assert write.system == "You are a kind support agent."


def test_overloaded_platform_answers_are_retried_into_exactly_one_run(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    script_happy_path(vectorshift_local_shared, "billing")
    # The start is received and the run created, but the client sees 503 twice.
    vectorshift_local_shared.faults.add(
        method="POST", path=r"/run$", status=503, retry_after=0, when="after", count=2
    )
    reply = triage("T-2", "Refund please")
    assert reply.category == "billing"
    starts = vectorshift_local_shared.requests("POST", r"/run$")
    assert [r.status for r in starts] == [503, 503, 200]
    assert {r.idempotency_key for r in starts} == {"ticket-T-2"}
    assert len(vectorshift_local_shared.runs()) == 1  # the key kept it to one run


def test_a_failed_run_is_tried_again_with_a_new_key(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="writer", error="model overloaded", count=1)
    script_happy_path(vectorshift_local_shared, "other")
    reply = triage("T-3", "The app crashes")
    assert reply.category == "other" and not reply.escalated
    runs = vectorshift_local_shared.runs()
    assert [run.status for run in runs] == ["failed", "completed"]
    keys = [r.idempotency_key for r in vectorshift_local_shared.requests("POST", r"/run$")]
    assert keys == ["ticket-T-3", "ticket-T-3-retry-1"]


def test_a_ticket_goes_to_a_human_when_every_attempt_fails(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    vectorshift_local_shared.script.add(node="writer", error="model overloaded")
    reply = triage("T-4", "Help", attempts=3)
    assert reply.escalated and reply.text == FALLBACK
    assert len(vectorshift_local_shared.runs()) == 3


def test_unscripted_nodes_fall_back_to_the_simulated_model(
    vectorshift_local: LocalPlatform,
) -> None:
    # Only the classifier is scripted; the writer's simulated model echoes its prompt.
    vectorshift_local.script.add(node="classifier", answer=json.dumps({"category": "bug"}))
    reply = triage("T-5", "Button does nothing")
    assert reply.text == "Draft a reply to this ticket: Button does nothing"


@pytest.mark.anyio
async def test_the_reply_streams_token_by_token(vectorshift_local_shared: LocalPlatform) -> None:
    vectorshift_local_shared.script.add(node="classifier", answer={"category": "other"})
    vectorshift_local_shared.script.add(
        node="writer", tokens=["Hello", " there", "!"], token_delay_ms=20
    )
    triage("T-6", "hi")  # creates the pipeline
    tokens = [token async for token in draft_reply_stream("hi")]
    assert tokens == ["Hello", " there", "!"]
