"""Build, run and watch VectorShift pipelines.

Every operation exists twice under one implementation: ``pipeline.start(...)`` for scripts and
notebooks, ``await pipeline.astart(...)`` for asyncio and trio.

Importing this package is cheap on purpose: it reads no environment, opens no connection and
starts no thread. Names below load on first use; configuration is read at the first request.

Example:
    >>> import vectorshift
    >>> vectorshift.api_key = "sk-..."            # or set VECTORSHIFT_API_KEY
    >>> pipeline = vectorshift.Pipeline.fetch(name="Summariser")
    >>> handler = pipeline.start({"query": "hello"})
    >>> handler.result(timeout=600)["result"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vectorshift._public_path import publish as _publish
from vectorshift._version import __version__
from vectorshift.errors import (
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PipelineDefinitionError,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    PollTimeoutError,
    RateLimitError,
    RunError,
    StreamError,
    StreamInterruptedError,
    UnprocessableEntityError,
    VectorshiftApiError,
    VectorshiftError,
)

if TYPE_CHECKING:
    from vectorshift._client import Client
    from vectorshift._files import File
    from vectorshift._retry import RetryPolicy
    from vectorshift._sync._iter import SyncStream
    from vectorshift.pipeline import (
        Clause,
        CombineTextNode,
        ConditionGroup,
        ConditionNode,
        InputNode,
        LlmNode,
        LogicalOp,
        MergeNode,
        Node,
        NodeOutput,
        Operator,
        OutputNode,
        Pipeline,
        PipelineNode,
        RunHandler,
        SplitTextNode,
        TextFormatterNode,
        TextNode,
    )
    from vectorshift.pipeline._stream import AsyncStream
    from vectorshift.types import RunOutcome, RunResult, RunStatus, SSEFrame, StreamChunk

api_key: str | None = None
"""The API key for the default client; ``VECTORSHIFT_API_KEY`` is used when unset."""

base_url: str | None = None
"""The API root for the default client; ``VECTORSHIFT_BASE_URL`` or the platform when unset."""

_LAZY = {
    "Client": "vectorshift._client",
    "File": "vectorshift._files",
    "RetryPolicy": "vectorshift._retry",
    "Node": "vectorshift.pipeline",
    "NodeOutput": "vectorshift.pipeline",
    "Pipeline": "vectorshift.pipeline",
    "RunHandler": "vectorshift.pipeline",
    "Clause": "vectorshift.pipeline",
    "CombineTextNode": "vectorshift.pipeline",
    "ConditionGroup": "vectorshift.pipeline",
    "ConditionNode": "vectorshift.pipeline",
    "InputNode": "vectorshift.pipeline",
    "LlmNode": "vectorshift.pipeline",
    "LogicalOp": "vectorshift.pipeline",
    "MergeNode": "vectorshift.pipeline",
    "Operator": "vectorshift.pipeline",
    "OutputNode": "vectorshift.pipeline",
    "PipelineNode": "vectorshift.pipeline",
    "SplitTextNode": "vectorshift.pipeline",
    "TextFormatterNode": "vectorshift.pipeline",
    "TextNode": "vectorshift.pipeline",
    "RunOutcome": "vectorshift.types",
    "RunResult": "vectorshift.types",
    "RunStatus": "vectorshift.types",
    "SSEFrame": "vectorshift.types",
    "StreamChunk": "vectorshift.types",
    "AsyncStream": "vectorshift.pipeline._stream",
    "SyncStream": "vectorshift._sync._iter",
}

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiStatusError",
    "ApiTimeoutError",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "Clause",
    "Client",
    "CombineTextNode",
    "ConditionGroup",
    "ConditionNode",
    "ConflictError",
    "File",
    "InputNode",
    "InternalServerError",
    "LlmNode",
    "LogicalOp",
    "MergeNode",
    "Node",
    "NodeOutput",
    "NotFoundError",
    "Operator",
    "OutputNode",
    "PermissionDeniedError",
    "Pipeline",
    "PipelineDefinitionError",
    "PipelineNode",
    "PipelineRunCancelledError",
    "PipelineRunFailedError",
    "PollTimeoutError",
    "RateLimitError",
    "RetryPolicy",
    "RunError",
    "RunHandler",
    "RunOutcome",
    "RunResult",
    "RunStatus",
    "SSEFrame",
    "SplitTextNode",
    "StreamChunk",
    "StreamError",
    "StreamInterruptedError",
    "SyncStream",
    "TextFormatterNode",
    "TextNode",
    "UnprocessableEntityError",
    "VectorshiftApiError",
    "VectorshiftError",
    "__version__",
    "api_key",
    "base_url",
]

for _name in __all__:  # the names imported above; lazy ones are published when loaded
    if _name in globals():
        _publish(globals()[_name], __all__)
del _name


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'vectorshift' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    _publish(value, __all__)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
