"""The SVG diagrams: well-formed, self-contained, escaped, deterministic, and laid out as the
builder lays out the canvas, on small graphs and on a 200-node one."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from tests.test_render import router
from vectorshift import ArgumentError, Pipeline
from vectorshift.pipeline._graph import levels
from vectorshift.pipeline._render import svg_of_stored
from vectorshift.pipeline._svg import DiagramEdge, DiagramNode, draw

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def texts(root: ET.Element, css: str | None = None) -> list[str]:
    return [
        t.text or ""
        for t in root.iter(f"{NS}text")
        if css is None or css in (t.get("class") or "").split()
    ]


def node_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{NS}g") if "vsd-node" in (g.get("class") or "").split()]


def box_of(group: ET.Element) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of a node's outline."""
    rect = group.find(f"{NS}rect")
    if rect is not None:
        x, y = float(rect.get("x", "0")), float(rect.get("y", "0"))
        return x, y, x + float(rect.get("width", "0")), y + float(rect.get("height", "0"))
    polygon = group.find(f"{NS}polygon")
    assert polygon is not None
    points = [tuple(map(float, p.split(","))) for p in (polygon.get("points") or "").split()]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def test_a_pipeline_draws_every_node_with_its_name_type_and_shape() -> None:
    root = parse(router().to_svg())
    groups = node_groups(root)
    names = [texts(g)[0] for g in groups]
    assert names == ["query", "router", "coder", '"writer"', "merge", "answer"]
    assert [texts(g, "vsd-kind") for g in groups] == [
        ["input"],
        ["condition"],
        ["llm"],
        ["llm"],
        ["merge"],
        ["output"],
    ]
    shapes = [(g.get("class") or "").split()[1] for g in groups]
    assert shapes == ["vsd-round", "vsd-hexagon", "vsd-box", "vsd-box", "vsd-box", "vsd-round"]
    round_rect = groups[0].find(f"{NS}rect")
    assert round_rect is not None
    assert float(round_rect.get("rx", "0")) == float(round_rect.get("height", "0")) / 2
    assert groups[1].find(f"{NS}polygon") is not None
    assert root.get("aria-label") == "Diagram of the pipeline Router"


def test_arrows_carry_their_labels_and_condition_paths_are_dashed() -> None:
    root = parse(router().to_svg())
    assert sorted(texts(root, "vsd-label")) == sorted(
        ["text", "text", "path_0", "text", "path_else", "response", "response", "output"]
    )
    edges = [p for p in root.iter(f"{NS}path") if "vsd-edge" in (p.get("class") or "")]
    dashed = [p for p in edges if "vsd-dashed" in (p.get("class") or "")]
    assert (len(edges), len(dashed)) == (8, 2)
    assert ".vsd-dashed{" in svg_style(root) and "stroke-dasharray" in svg_style(root)


def svg_style(root: ET.Element) -> str:
    style = root.find(f"{NS}style")
    assert style is not None and style.text
    return style.text


def test_columns_are_the_builders_levels() -> None:
    pipeline = router()
    root = parse(pipeline.to_svg())
    lefts = {texts(g)[0]: box_of(g)[0] for g in node_groups(root)}
    rights = {texts(g)[0]: box_of(g)[2] for g in node_groups(root)}
    by_id = {node.id: node.name for node in pipeline.nodes}
    columns = [[by_id[i] for i in level] for level in levels(pipeline.nodes)]
    assert columns == [["query"], ["router"], ["coder", '"writer"'], ["merge"], ["answer"]]
    for before, after in pairwise(columns):
        assert max(rights[n] for n in before) < min(lefts[n] for n in after)
    top = parse(pipeline.to_svg("TD"))
    tops = {texts(g)[0]: box_of(g)[1] for g in node_groups(top)}
    assert tops["query"] < tops["router"] < tops["coder"] == tops['"writer"'] < tops["answer"]
    bottom_up = parse(pipeline.to_svg("BT"))
    tops = {texts(g)[0]: box_of(g)[1] for g in node_groups(bottom_up)}
    assert tops["query"] > tops["router"] > tops["answer"]


def test_the_same_graph_gives_the_same_bytes_in_any_process() -> None:
    code = "from tests.test_render import router; print(router().to_svg())"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {router().to_svg() + "\n"}


def test_every_text_is_escaped_and_nothing_is_external() -> None:
    nasty = '<script>alert("x")</script> & </svg>'
    nodes = [DiagramNode("a", nasty, "<b>kind</b>", "round"), DiagramNode("b", "b\x00\x1b")]
    svg = draw(nodes, [DiagramEdge("a", "b", "<img src=x onerror=alert(1)>")], label='"><x')
    root = parse(svg)
    groups = node_groups(root)
    assert texts(groups[0]) == [nasty, "<b>kind</b>"]
    assert texts(root, "vsd-label") == ["<img src=x onerror=alert(1)>"]
    assert texts(groups[1]) == ["b\ufffd\ufffd"]
    assert root.get("aria-label") == '"><x'
    assert "<script" not in svg and "<img" not in svg
    for element in root.iter():
        assert element.tag.removeprefix(NS) in (
            "svg",
            "style",
            "g",
            "path",
            "text",
            "title",
            "rect",
            "polygon",
        ), element.tag
        assert "id" not in element.attrib and not any(k.startswith("on") for k in element.attrib)
    assert "url(" not in svg and "@import" not in svg and "href" not in svg
    assert svg.count("http") == 1  # the namespace


def test_a_long_name_is_shortened_in_the_box_and_whole_in_its_tooltip() -> None:
    name = "n" * 80
    root = parse(draw([DiagramNode("a", name, "llm")], []))
    assert texts(root)[0] == "n" * 43 + "\u2026"
    title = next(root.iter(f"{NS}title"))
    assert title.text == f"{name} (llm)"


def test_an_arrow_skipping_layers_goes_round_the_boxes_between() -> None:
    root = parse(router().to_svg())
    router_box = next(box_of(g) for g in node_groups(root) if texts(g)[0] == "router")
    query_to_coder = [p for p in root.iter(f"{NS}path") if "vsd-edge" in (p.get("class") or "")]
    # In the router's column, every arrow from query to coder or writer is above or below it.
    for path in query_to_coder:
        d = path.get("d") or ""
        straight = [seg for seg in d.split("L")[1:] if "C" not in seg]
        for segment in straight:
            x, y = map(float, segment.split()[:2])
            if router_box[0] <= x <= router_box[2]:
                assert not router_box[1] <= y <= router_box[3]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ArgumentError, match="direction"):
        draw([], [], "sideways")
    with pytest.raises(ArgumentError, match="shape"):
        draw([DiagramNode("a", "a", shape="star")], [])
    with pytest.raises(ArgumentError, match="two nodes"):
        draw([DiagramNode("a", "a"), DiagramNode("a", "b")], [])
    with pytest.raises(ArgumentError, match="direction"):
        router().to_svg("up")


def test_empty_graphs_cycles_and_stray_arrows_still_draw() -> None:
    assert parse(Pipeline("empty").to_svg()).get("width") == "24"
    cycle = [DiagramNode("a", "a"), DiagramNode("b", "b"), DiagramNode("c", "c")]
    arrows = [
        DiagramEdge("a", "b", "x"),
        DiagramEdge("b", "c"),
        DiagramEdge("c", "b", "back"),
        DiagramEdge("a", "a"),
        DiagramEdge("a", "nowhere"),
    ]
    root = parse(draw(cycle, arrows))
    assert [texts(g)[0] for g in node_groups(root)] == ["a", "b", "c"]
    assert sorted(texts(root, "vsd-label")) == ["back", "x"]


def test_a_stored_pipeline_object_draws_as_the_pipeline_does() -> None:
    pipeline = router()
    stored = {"name": pipeline.name, **pipeline.to_json()}
    assert svg_of_stored(stored) == pipeline.to_svg()
    assert svg_of_stored(stored, "TD") == pipeline.to_svg("TD")
    stored["nodes"]["mystery_0"] = {
        "id": "mystery_0",
        "type": "from_the_future",
        "inputs": {"x": f"{{{{ {pipeline.node('merge').id}.output }}}}"},
    }
    root = parse(svg_of_stored(stored))
    assert texts(node_groups(root)[-1]) == ["mystery_0", "from_the_future"]
    assert parse(svg_of_stored({"name": "nothing"})).get("aria-label") == (
        "Diagram of the pipeline nothing"
    )


def wide_graph(count: int) -> tuple[list[DiagramNode], list[DiagramEdge]]:
    """``count`` nodes in layers of up to 8, each fed by two nodes of earlier layers (one of
    them several layers back), so that arrows skip layers."""
    nodes = [
        DiagramNode(
            f"n{i}", f"node number {i}", "llm" if i % 3 else "", ("box", "round", "hexagon")[i % 3]
        )
        for i in range(count)
    ]
    edges = []
    for i in range(8, count):
        edges.append(DiagramEdge(f"n{i - 8 - i % 5}", f"n{i}", f"out{i % 4}"))
        edges.append(DiagramEdge(f"n{(i * 7) % max(i - 8, 1)}", f"n{i}", dashed=i % 2 == 0))
    return nodes, edges


def test_a_200_node_graph_is_quick_small_and_its_boxes_do_not_overlap() -> None:
    nodes, edges = wide_graph(200)
    started = time.perf_counter()
    svg = draw(nodes, edges)
    took = time.perf_counter() - started
    assert took < 2.0 and len(svg) < 600_000, (took, len(svg))
    boxes = sorted(box_of(g) for g in node_groups(parse(svg)))
    assert len(boxes) == 200
    for index, a in enumerate(boxes):
        for b in boxes[index + 1 :]:
            if b[0] >= a[2]:
                break
            assert a[3] <= b[1] or b[3] <= a[1], (a, b)
    assert draw(nodes, edges) == svg


def test_the_drawing_is_not_imported_with_vectorshift() -> None:
    code = (
        "import sys, vectorshift, vectorshift.pipeline; "
        "print('vectorshift.pipeline._svg' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "False\n", done.stderr
