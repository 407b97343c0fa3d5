"""Request bodies are declared once (``vectorshift._schema.requests``), and the SDK sends them so.

The server's side, a 400 naming the field for each bad body, is tests/local/test_server_bodies.py.
"""

from __future__ import annotations

import json
import re

import pytest
from pydantic import BaseModel
from support import unique

from vectorshift import Pipeline
from vectorshift._schema.requests import (
    BulkRun,
    CreatePipeline,
    RunPipeline,
    Terminate,
    UpdatePipeline,
)
from vectorshift.testing import LocalPlatform

BODIES: list[tuple[str, type[BaseModel]]] = [
    (r"/v1/pipeline$", CreatePipeline),
    (r"/v1/update/pipeline/[^/]+$", UpdatePipeline),
    (r"/run$", RunPipeline),
    (r"/terminate$", Terminate),
    (r"/bulk[-_]run$", BulkRun),
]


def model_of(path: str) -> type[BaseModel]:
    for pattern, model in BODIES:
        if re.search(pattern, path):
            return model
    raise AssertionError(f"no request model for POST {path}")


def test_every_body_the_sdk_sends_validates_with_its_model(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    pipeline = Pipeline(unique("bodies"))
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="writer").llm(prompt=f"Write about {query.text}", token_delay_ms=0)
    pipeline.add(name="answer").output(llm.response)
    pipeline.save()
    pipeline.save(bump="minor", description="saved again")
    pipeline.run({"query": "a"}, session_id="s-1", trace_id="t-1", node_input_overrides={})
    pipeline.run({"query": "b"}, timeout=30)
    assert list(pipeline.stream({"query": "c"}))
    assert list(pipeline.run({"query": "d"}, stream=True))
    pipeline.start({"query": "e"}, idempotency_key="bodies-e").terminate()
    pipeline.bulk_run([{"query": "f"}, {"query": "g"}])
    assert len(list(pipeline.map([{"query": "h"}, {"query": "i"}]))) == 2

    posts = vectorshift_local_shared.requests("POST")
    validated: set[type[BaseModel]] = set()
    for request in posts:
        model = model_of(request.path)
        model.model_validate_json(request.body)
        validated.add(model)
        assert request.status == 200, (request.path, request.body[:300])
    assert validated == {model for _, model in BODIES}
    runs = [RunPipeline.model_validate_json(r.body) for r in posts if r.path.endswith("/run")]
    assert {(r.background, r.stream) for r in runs} >= {(None, None), (True, None), (None, True)}


def test_the_models_refuse_what_the_server_refuses() -> None:
    """The same declarations, used directly, fail on the same bodies (no server needed)."""
    with pytest.raises(ValueError, match="background"):
        RunPipeline.model_validate({"background": True, "stream": True})
    assert RunPipeline.model_validate_json(json.dumps({"version": 3})).version == 3
    assert Terminate.model_validate({"run_id": "r", "extra": 1}).model_extra == {"extra": 1}
