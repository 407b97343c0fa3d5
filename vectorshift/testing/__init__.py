"""``vectorshift.testing``: test code built on VectorShift against a real local platform.

Installed with the ``testing`` extra (the SDK from its source: ``pip install '<clone>[testing]'``),
the pytest plugin
(:mod:`vectorshift.testing.plugin`) gives every test the fixtures ``vectorshift_local`` (a fresh
platform) and ``vectorshift_local_shared`` (an organisation of its own on a platform shared by
the session). Without pytest, :func:`local_platform` and :func:`shared_platform` do the same.
Importing this package is cheap: the server loads when a platform starts.

Example:
    >>> def test_summary(vectorshift_local):
    ...     vectorshift_local.script.add(node="summariser", answer="Short.")
    ...     assert summarise("a long text") == "Short."
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vectorshift._lazy import lazy_names

if TYPE_CHECKING:
    from vectorshift.local.recording import LLMCall, RecordedRequest, RecordedRun
    from vectorshift.local.scripts import ScriptRule
    from vectorshift.testing._platform import LocalPlatform, local_platform, shared_platform

__all__ = [
    "LLMCall",
    "LocalPlatform",
    "RecordedRequest",
    "RecordedRun",
    "ScriptRule",
    "local_platform",
    "shared_platform",
]

_EXPORTS = {
    "LLMCall": "vectorshift.local.recording",
    "LocalPlatform": "vectorshift.testing._platform",
    "RecordedRequest": "vectorshift.local.recording",
    "RecordedRun": "vectorshift.local.recording",
    "ScriptRule": "vectorshift.local.scripts",
    "local_platform": "vectorshift.testing._platform",
    "shared_platform": "vectorshift.testing._platform",
}


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals())
