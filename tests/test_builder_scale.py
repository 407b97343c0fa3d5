"""Building a pipeline is linear in its nodes (issue 24, point 11).

``Pipeline(name, nodes=...)`` scanned every node already there for each node added, so 10k
nodes took seconds. The test compares sizes rather than timing one: four times the nodes must
take well under sixteen times as long (what a quadratic build takes); linear is about four.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from vectorshift import Pipeline
from vectorshift.pipeline._graph import deserialize_nodes
from vectorshift.pipeline.nodes import TextNode

SMALL, LARGE = 2_000, 8_000
#: Linear building measures 2.5 to 4 here, quadratic 14 to 22; 10 leaves room for a loaded
#: machine (each size is the best of five tries, with the collector paused while timing).
MAX_RATIO = 10.0


def _best(work: Callable[[], object], tries: int = 5) -> float:
    best = float("inf")
    for _ in range(tries):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best


def _chain(n: int) -> Pipeline:
    pipeline = Pipeline("chain")
    previous = pipeline.add(name="query").input().text
    for i in range(n):
        previous = pipeline.add(name=f"t{i}").text(f"{previous} x").text
    return pipeline


def _ratio(build: Callable[[int], object]) -> float:
    build(SMALL)  # warm up imports and caches
    return _best(lambda: build(LARGE)) / _best(lambda: build(SMALL))


def test_adding_nodes_one_by_one_is_linear() -> None:
    ratio = _ratio(_chain)
    assert ratio < MAX_RATIO, f"{LARGE} nodes took {ratio:.1f}x as long as {SMALL}"


def test_building_from_a_list_of_nodes_is_linear() -> None:
    documents = {n: {"nodes": _chain(n).to_json()["nodes"]} for n in (SMALL, LARGE)}
    ratio = _ratio(lambda n: Pipeline("copy", nodes=deserialize_nodes(documents[n])))
    assert ratio < MAX_RATIO, f"{LARGE} nodes took {ratio:.1f}x as long as {SMALL}"


def test_unnamed_nodes_are_named_in_linear_time() -> None:
    def build(n: int) -> Pipeline:
        return Pipeline("unnamed", nodes=[TextNode(text="x") for _ in range(n)])

    ratio = _ratio(build)
    assert ratio < MAX_RATIO, f"{LARGE} nodes took {ratio:.1f}x as long as {SMALL}"
    names = [node.name for node in build(3).nodes]
    assert names == ["text_0", "text_1", "text_2"]


def test_a_clash_is_still_found_after_a_rename() -> None:
    pipeline = _chain(3)
    pipeline.node("t1").name = "renamed"
    assert pipeline.node("renamed").id == pipeline.nodes[2].id
    pipeline.add(name="t1", id="text_again").text("free again")
    try:
        pipeline.add(name="renamed", id="text_taken").text("taken")
    except ValueError as exc:
        assert "already has a node with the name 'renamed'" in str(exc)
    else:
        raise AssertionError("a duplicate name was accepted")
