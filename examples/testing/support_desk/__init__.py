"""A small support-desk service built on VectorShift (the example of ``docs/guides/testing.md``)."""

from support_desk.service import Reply, draft_reply_stream, ensure_pipeline, triage

__all__ = ["Reply", "draft_reply_stream", "ensure_pipeline", "triage"]
