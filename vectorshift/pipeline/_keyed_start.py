"""A streaming start that never runs twice: one ``Idempotency-Key`` for every attempt
(docs/protocol.md#idempotent-starts).

``stream()`` and ``run(stream=True)`` start a run and read its frames on the same response. When
that response is lost after the server acted (a 5xx from a gateway, a connection dropped once
the run was recorded), sending the start again is safe only on a server that, seeing the key
again with the same body, answers with the original run's stream replayed from its first frame
instead of starting another. A server declares that it does so in the ``X-Idempotent-Starts``
response header (a comma-separated list of start kinds, ``stream`` among them); vectorshift.local
sends it on every response. The SDK learns it from the failed answer itself, or else from one
read of the pipeline, and only then resends. Against any other server a start that may have
started a run is not resent, and the error says so and names the trace id to look for.

Failures that prove nothing was started (a 429, a connection never made) are retried whatever
the server declares. Every decision is :class:`~vectorshift.RetryPolicy`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio

from vectorshift import _log
from vectorshift._files import encode_body
from vectorshift.errors import ApiConnectionError, ApiError
from vectorshift.pipeline._stream_bounds import bounded_open

if TYPE_CHECKING:
    from vectorshift._client import Client

__all__ = ["IDEMPOTENT_STARTS_HEADER", "StreamingStart", "declares_stream_replay"]

IDEMPOTENT_STARTS_HEADER = "X-Idempotent-Starts"
"""The response header by which a server lists the starts it replays for a repeated key."""


def declares_stream_replay(headers: Mapping[str, str]) -> bool:
    """Whether response headers declare that keyed streaming starts are replayed."""
    wanted = IDEMPOTENT_STARTS_HEADER.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    return "stream" in {kind.strip().lower() for kind in value.split(",")}


class StreamingStart:
    """Opens ``POST /pipeline/{id}/run`` with ``stream``, sending one key on every attempt.

    Calling the object opens the first connection, retrying as the policy and the server
    allow. :meth:`attempt` sends the start once more, for a stream that broke before any frame
    named its run; it is only worth it when :attr:`replays` is ``True``.

    Attributes:
        key: The ``Idempotency-Key`` of this logical start.
        replays: Whether the server declared that it replays keyed streaming starts
            (``None`` until an answer told).
    """

    def __init__(
        self, client: Client, pipeline_id: str, body: dict[str, Any], *, trace_id: str
    ) -> None:
        self.client = client
        self.pipeline_id = pipeline_id
        self.trace_id = trace_id
        self.key = uuid.uuid4().hex
        self.replays: bool | None = None
        self._body = encode_body(body)

    @property
    def path(self) -> str:
        """The run endpoint of the pipeline (P6)."""
        return f"/pipeline/{self.pipeline_id}/run"

    async def attempt(self, stack: AsyncExitStack) -> AsyncIterator[bytes]:
        """Send the start once; the response's cleanup goes on ``stack``."""
        json_body, data, files = self._body
        response = self.client.http.stream(
            "POST",
            self.path,
            json_body=json_body,
            data=data,
            files=files,
            headers={"Idempotency-Key": self.key},
            retry_mode="unsafe",
            max_retries=0,
        )
        headers, chunks = await bounded_open(self.client, stack, response, "POST", self.path)
        self.replays = declares_stream_replay(headers)
        return chunks

    async def __call__(self, stack: AsyncExitStack) -> AsyncIterator[bytes]:
        policy = self.client.retry
        retries = 0
        while True:
            try:
                return await self.attempt(stack)
            except (ApiError, ApiConnectionError) as exc:
                if retries >= policy.max_retries or not policy.is_retryable(exc):
                    raise
                # A failure that may have started a run is resent only to a server that
                # replays it.
                may_have_started = not policy.is_retryable(exc, repeatable=False)
                if may_have_started and not await self._server_replays(exc):
                    self._explain_not_resent(exc)
                    raise
                delay = policy.delay(exc, retries)
                retries += 1
                _log.retrying(
                    f"streaming start POST {self.path}",
                    exc,
                    retries,
                    delay,
                    budget=policy.max_retries,
                    pipeline_id=self.pipeline_id,
                    trace_id=self.trace_id,
                )
                await anyio.sleep(delay)

    async def _server_replays(self, exc: ApiError | ApiConnectionError) -> bool:
        """Whether the server replays keyed streaming starts: the answer's word, else a read's."""
        if self.replays is None and isinstance(exc, ApiError):
            # A gateway's 502 does not carry the header: only a "yes" is taken from an error.
            self.replays = declares_stream_replay(exc.headers) or None
        if self.replays is None:
            try:
                # One read, not retried: a server that lost the start may be failing reads too,
                # and the caller is waiting.
                answer = await self.client.http.request(
                    "GET", "/pipeline", params={"id": self.pipeline_id}, max_retries=0
                )
                headers = answer.headers
            except ApiError as probe_error:
                headers = probe_error.headers
            except ApiConnectionError:
                headers = {}
            self.replays = declares_stream_replay(headers)
        return self.replays

    def _explain_not_resent(self, exc: ApiError | ApiConnectionError) -> None:
        exc.args = (
            f"{exc}; this streaming start may have started a run, and the server does not "
            f"declare that it replays keyed streaming starts ({IDEMPOTENT_STARTS_HEADER}, "
            "docs/protocol.md#idempotent-starts), so it was not sent again: look for a run "
            f"with trace id {self.trace_id} before starting it again",
        )
