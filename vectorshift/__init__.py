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

from vectorshift import errors as errors  # cheap, and `vectorshift.errors.X` has always worked
from vectorshift._public_path import publish as _publish
from vectorshift._version import __version__ as __version__

# The public surface: each public name once, under the module it is imported from. Everything
# else derives from this table: lazy loading (``__getattr__``), ``__all__`` and ``dir()``. Static
# tools cannot run it, so tools/gen_exports.py writes the ``TYPE_CHECKING`` block below from it;
# tests/test_exports.py fails when that block is stale, and runs mypy on every name. A new public
# name is one entry here, then ``python tools/gen_exports.py``.
_PUBLIC: dict[str, tuple[str, ...]] = {
    "vectorshift._client": ("Client",),
    "vectorshift._files": ("File",),
    "vectorshift._intercept": ("Interceptor", "Operation"),
    "vectorshift._retry": ("RetryPolicy",),
    "vectorshift._sync._iter": ("SyncStream",),
    "vectorshift.errors": (
        "ApiConnectionError",
        "ApiError",
        "ApiResponseError",
        "ApiStatusError",
        "ApiTimeoutError",
        "ArgumentError",
        "ArgumentTypeError",
        "AuthenticationError",
        "BadRequestError",
        "ConfigurationError",
        "ConflictError",
        "InputError",
        "InputTypeError",
        "InternalServerError",
        "NotFoundError",
        "OutputError",
        "PermissionDeniedError",
        "PipelineDefinitionError",
        "PipelineNotSavedError",
        "PipelineRunCancelledError",
        "PipelineRunFailedError",
        "PollTimeoutError",
        "RateLimitError",
        "RunError",
        "StreamError",
        "StreamInterruptedError",
        "UnprocessableEntityError",
        "VectorshiftApiError",
        "VectorshiftError",
    ),
    "vectorshift.pipeline": (
        "Clause",
        "CombineTextNode",
        "ConditionGroup",
        "ConditionNode",
        "InputNode",
        "LlmNode",
        "LogicalOp",
        "MergeNode",
        "Node",
        "NodeOutput",
        "Operator",
        "OutputNode",
        "Pipeline",
        "PipelineNode",
        "RunHandler",
        "SplitTextNode",
        "TextFormatterNode",
        "TextNode",
    ),
    "vectorshift.pipeline._async_stream": ("AsyncStream",),
    "vectorshift.types": ("RunOutcome", "RunResult", "RunStatus", "SSEFrame", "StreamChunk"),
}

if TYPE_CHECKING:
    # <generated: exports>
    # Written by tools/gen_exports.py from _PUBLIC; do not edit. One import per module,
    # each name re-exported explicitly (`X as X`), for static tools.
    # isort: off
    from vectorshift._client import Client as Client
    from vectorshift._files import File as File
    from vectorshift._intercept import (
        Interceptor as Interceptor,
        Operation as Operation,
    )
    from vectorshift._retry import RetryPolicy as RetryPolicy
    from vectorshift._sync._iter import SyncStream as SyncStream
    from vectorshift.errors import (
        ApiConnectionError as ApiConnectionError,
        ApiError as ApiError,
        ApiResponseError as ApiResponseError,
        ApiStatusError as ApiStatusError,
        ApiTimeoutError as ApiTimeoutError,
        ArgumentError as ArgumentError,
        ArgumentTypeError as ArgumentTypeError,
        AuthenticationError as AuthenticationError,
        BadRequestError as BadRequestError,
        ConfigurationError as ConfigurationError,
        ConflictError as ConflictError,
        InputError as InputError,
        InputTypeError as InputTypeError,
        InternalServerError as InternalServerError,
        NotFoundError as NotFoundError,
        OutputError as OutputError,
        PermissionDeniedError as PermissionDeniedError,
        PipelineDefinitionError as PipelineDefinitionError,
        PipelineNotSavedError as PipelineNotSavedError,
        PipelineRunCancelledError as PipelineRunCancelledError,
        PipelineRunFailedError as PipelineRunFailedError,
        PollTimeoutError as PollTimeoutError,
        RateLimitError as RateLimitError,
        RunError as RunError,
        StreamError as StreamError,
        StreamInterruptedError as StreamInterruptedError,
        UnprocessableEntityError as UnprocessableEntityError,
        VectorshiftApiError as VectorshiftApiError,
        VectorshiftError as VectorshiftError,
    )
    from vectorshift.pipeline import (
        Clause as Clause,
        CombineTextNode as CombineTextNode,
        ConditionGroup as ConditionGroup,
        ConditionNode as ConditionNode,
        InputNode as InputNode,
        LlmNode as LlmNode,
        LogicalOp as LogicalOp,
        MergeNode as MergeNode,
        Node as Node,
        NodeOutput as NodeOutput,
        Operator as Operator,
        OutputNode as OutputNode,
        Pipeline as Pipeline,
        PipelineNode as PipelineNode,
        RunHandler as RunHandler,
        SplitTextNode as SplitTextNode,
        TextFormatterNode as TextFormatterNode,
        TextNode as TextNode,
    )
    from vectorshift.pipeline._async_stream import AsyncStream as AsyncStream
    from vectorshift.types import (
        RunOutcome as RunOutcome,
        RunResult as RunResult,
        RunStatus as RunStatus,
        SSEFrame as SSEFrame,
        StreamChunk as StreamChunk,
    )
    # isort: on
    # </generated: exports>

api_key: str | None = None
"""The API key for the default client; ``VECTORSHIFT_API_KEY`` is used when unset."""

base_url: str | None = None
"""The API root for the default client; ``VECTORSHIFT_BASE_URL`` or the platform when unset."""

_MODULE_OF: dict[str, str] = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted(["__version__", "api_key", "base_url", *_MODULE_OF])


def _load(name: str) -> Any:
    """Import the public object ``name`` from its module and keep it in this namespace."""
    import importlib

    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    _publish(value, __all__)
    globals()[name] = value
    return value


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'vectorshift' has no attribute {name!r}")
    return _load(name)


def __dir__() -> list[str]:
    return list(__all__)
