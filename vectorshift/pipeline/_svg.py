"""Diagrams as self-contained SVG: boxes in layers and arrows between them, drawn in Python.

:func:`draw` lays a directed graph out in the layers the builder writes to the canvas
(:func:`~vectorshift.pipeline._graph.layers`: a breadth-first topological walk, a column per
layer, rows in readiness order) and returns one ``<svg>`` element as text. It has no script,
no external font or image and no ``id`` attribute (several diagrams can share a page), and
the same graph gives the same bytes.

An arrow that skips layers passes through each layer it crosses in a slot of its own, so it
never runs over a box; its label sits on the straight end of the arrow, just before the box it
points at, where arrows into one box are spaced apart.

Colours: text and lines are ``currentColor``; the ``<svg>`` takes its colour from the CSS
custom property ``--vsd-color`` when the page sets one (the docs set it to the theme's text
colour), else dark text, or light text when the reader prefers a dark scheme. Input and output
boxes are blue, conditions and their dashed paths amber (``--vsd-io``, ``--vsd-path``).

Nothing here is imported by ``import vectorshift``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from vectorshift.errors import ArgumentError
from vectorshift.pipeline._graph import layers

__all__ = ["SHAPES", "DiagramEdge", "DiagramNode", "draw", "stylesheet", "without_style"]

SHAPES = ("box", "round", "hexagon")
"""A node's outline: a box, a rounded pill (inputs, outputs) or a hexagon (conditions)."""

_DIRECTIONS = ("LR", "RL", "TD", "TB", "BT")
_FONT = (
    "system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, &quot;Helvetica Neue&quot;, "
    "Arial, &quot;Noto Sans&quot;, &quot;Liberation Sans&quot;, sans-serif"
)
_STYLE = (
    ".vsd{color:var(--vsd-color,#1f2328);max-width:100%;height:auto}"
    "@media (prefers-color-scheme:dark){.vsd{color:var(--vsd-color,#e6edf3)}}"
    ".vsd text{fill:currentColor}"
    ".vsd .vsd-kind{fill-opacity:.72}"
    ".vsd .vsd-label{fill-opacity:.85}"
    ".vsd .vsd-edge{fill:none;stroke:currentColor;stroke-opacity:.5;stroke-width:1.4}"
    ".vsd .vsd-head{fill:currentColor;fill-opacity:.65}"
    ".vsd .vsd-dashed{stroke:var(--vsd-path,#c98512);stroke-opacity:.95;"
    "stroke-dasharray:6 4}"
    ".vsd .vsd-dashed-head{fill:var(--vsd-path,#c98512)}"
    ".vsd .vsd-shape{fill:currentColor;fill-opacity:.05;stroke:currentColor;"
    "stroke-opacity:.55;stroke-width:1.3}"
    ".vsd .vsd-round .vsd-shape{fill:var(--vsd-io,#3b74db);fill-opacity:.13;"
    "stroke:var(--vsd-io,#3b74db);stroke-opacity:1}"
    ".vsd .vsd-hexagon .vsd-shape{fill:var(--vsd-path,#c98512);fill-opacity:.13;"
    "stroke:var(--vsd-path,#c98512);stroke-opacity:1}"
)

_MARGIN = 12.0
_PAD = 16.0  # between a box's text and its outline
_BEVEL = 14.0  # how far a hexagon's points stick out
_TITLE, _KIND, _LABEL = 14.0, 12.0, 11.5  # font sizes
_MAX_TEXT = 44  # characters of a title or kind shown; a box's tooltip has them all
_MAX_LABEL = 36
_CURVE = 44.0  # room for the curved part of an arrow between two layers
_SLOT = 14.0  # the slot an arrow takes in a layer it passes through
_STACK_GAP = 22.0  # between boxes of one layer
_ARROW = 8.0


@dataclass(frozen=True)
class DiagramNode:
    """A box of a diagram.

    Attributes:
        id: Unique in the diagram; arrows name their ends by it. Never shown.
        title: The first line (a node's name).
        kind: The smaller second line (a node's type), or ``""`` for none.
        shape: One of :data:`SHAPES`.
    """

    id: str
    title: str
    kind: str = ""
    shape: str = "box"


@dataclass(frozen=True)
class DiagramEdge:
    """An arrow from ``source`` to ``target`` (node ids), with an optional label.

    Attributes:
        source: The id of the node the arrow leaves.
        target: The id of the node it points at.
        label: Text on the arrow (the outputs it carries), or ``""``.
        dashed: Drawn dashed (a condition's path).
    """

    source: str
    target: str
    label: str = ""
    dashed: bool = False


def _escape(text: str) -> str:
    """Text for XML: markup characters escaped, characters XML cannot hold replaced."""
    out = []
    for char in text:
        code = ord(char)
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char == '"':
            out.append("&quot;")
        elif (
            (code < 0x20 and char not in "\t\n\r")
            or 0xD800 <= code <= 0xDFFF
            or code in (0xFFFE, 0xFFFF)
        ):
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _width(text: str, size: float, bold: bool = False) -> float:
    """An estimate of the text's width in a sans-serif font, erring wide."""
    units = 0.0
    for char in text:
        if char in "ijl.,:;'|!`":
            units += 0.3
        elif char in 'frtI()[]{}-" /\\':
            units += 0.38
        elif char in "mwMW@%":
            units += 0.9
        elif ord(char) >= 0x1100:
            units += 1.0
        elif char.isupper() or char.isdigit() or char in "#&?_":
            units += 0.68
        else:
            units += 0.57
    return units * size * (1.12 if bold else 1.04)


def _n(value: float) -> str:
    """A coordinate, to one decimal place, without trailing zeros."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@dataclass
class _Wire:
    index: int
    edge: DiagramEdge
    label: str
    label_width: float
    forward: bool
    slots: list[float]  # the cross position of each layer the wire passes through


class _Layout:
    """Where everything goes, in abstract coordinates: ``m`` along the layers (the main
    axis), ``c`` across them. :meth:`point` turns them into the SVG's x and y."""

    def __init__(
        self, nodes: Sequence[DiagramNode], edges: Sequence[DiagramEdge], direction: str
    ) -> None:
        self.flat = direction in ("LR", "RL")  # layers are columns
        self.mirror = direction in ("RL", "BT")
        self.nodes = {node.id: node for node in nodes}
        ids = list(self.nodes)
        upstream: dict[str, list[str]] = {i: [] for i in ids}
        kept = [
            e
            for e in edges
            if e.source in self.nodes and e.target in self.nodes and e.source != e.target
        ]
        for edge in kept:
            if edge.source not in upstream[edge.target]:
                upstream[edge.target].append(edge.source)
        self.layers = layers(ids, upstream)
        placed = {i for layer in self.layers for i in layer}
        if len(placed) < len(ids):  # on a cycle: one more layer, in node order
            self.layers.append([i for i in ids if i not in placed])
        self.layer_of = {i: k for k, layer in enumerate(self.layers) for i in layer}
        self.wires: list[_Wire] = []
        for index, edge in enumerate(kept):
            label = _short(edge.label, _MAX_LABEL)
            forward = self.layer_of[edge.target] > self.layer_of[edge.source]
            self.wires.append(_Wire(index, edge, label, _width(label, _LABEL), forward, []))
        self.into: dict[str, list[_Wire]] = {i: [] for i in ids}
        self.out: dict[str, list[_Wire]] = {i: [] for i in ids}
        for wire in self.wires:
            if wire.forward:
                self.into[wire.edge.target].append(wire)
                self.out[wire.edge.source].append(wire)
        self._size_boxes()
        self._place_layers()
        self._stack()

    def _port_step(self, wire: _Wire) -> float:
        """The room an arrow's end takes along the side of the box it points at."""
        if self.flat:
            return 20.0 if wire.label else 10.0
        return (wire.label_width + 12.0) if wire.label else 14.0

    def _size_boxes(self) -> None:
        self.extent: dict[str, tuple[float, float]] = {}  # (along m, along c)
        for node_id, node in self.nodes.items():
            text = max(
                _width(_short(node.title, _MAX_TEXT), _TITLE, bold=True),
                _width(_short(node.kind, _MAX_TEXT), _KIND),
            )
            height = 46.0 if node.kind else 32.0
            ends = {"hexagon": 2 * _BEVEL, "round": height / 2}.get(node.shape, 0.0)
            width = max(text + 2 * _PAD + ends, 88.0)
            ports = sum(self._port_step(w) for w in self.into[node_id]) + 8.0
            if self.flat:
                self.extent[node_id] = (width, max(height, ports))
            else:
                self.extent[node_id] = (height, max(width, ports))

    def _place_layers(self) -> None:
        """The start and size of each layer along the main axis, and the label zones."""
        self.zone: list[float] = []
        self.start: list[float] = []
        self.size: list[float] = []
        position = _MARGIN
        for k, layer in enumerate(self.layers):
            labels = [
                w.label_width
                for w in self.wires
                if w.forward and w.label and self.layer_of[w.edge.target] == k
            ]
            tallest = (max(labels) + 16.0 if self.flat else 22.0) if labels else 8.0
            self.zone.append(tallest)
            if k:
                position += tallest + _CURVE
            self.start.append(position)
            self.size.append(max(self.extent[i][0] for i in layer))
            position += self.size[-1]
        self.length = position + _MARGIN

    def _stack(self) -> None:
        """Cross positions, layer by layer: the boxes in the builder's row order and a slot
        for each arrow passing the layer, among the boxes by where it comes from; each as
        near as the order allows to the mean of where its arrows come from."""
        self.center: dict[str, float] = {}
        placed: list[tuple[float, float]] = []  # (centre, extent) of everything
        for k, layer in enumerate(self.layers):
            boxes: list[tuple[float | None, float, str | _Wire]] = []
            for node_id in layer:
                come = [
                    w.slots[-1] if w.slots else self.center[w.edge.source]
                    for w in self.into[node_id]
                ]
                boxes.append(
                    (sum(come) / len(come) if come else None, self.extent[node_id][1], node_id)
                )
            ways = sorted(
                (
                    (w.slots[-1] if w.slots else self.center[w.edge.source], _SLOT, w)
                    for w in self.wires
                    if w.forward and self.layer_of[w.edge.source] < k < self.layer_of[w.edge.target]
                ),
                key=lambda way: (way[0], way[2].index),
            )
            items: list[tuple[float | None, float, str | _Wire]] = []
            for box in boxes:
                while ways and box[0] is not None and ways[0][0] < box[0]:
                    items.append(ways.pop(0))
                items.append(box)
            items += ways
            centers = _pack(
                [(wanted, extent) for wanted, extent, _ in items],
                [
                    _STACK_GAP if isinstance(a[2], str) and isinstance(b[2], str) else 8.0
                    for a, b in pairwise(items)
                ],
            )
            for center, (_, extent, owner) in zip(centers, items, strict=True):
                placed.append((center, extent))
                if isinstance(owner, _Wire):
                    owner.slots.append(center)
                else:
                    self.center[owner] = center
        top = min((center - extent / 2 for center, extent in placed), default=0.0)
        shift = _MARGIN - top
        for node_id in self.center:
            self.center[node_id] += shift
        for wire in self.wires:
            wire.slots = [slot + shift for slot in wire.slots]
        bottom = max((center + extent / 2 for center, extent in placed), default=0.0)
        self.breadth = bottom + shift + _MARGIN

    def point(self, m: float, c: float) -> tuple[float, float]:
        if self.mirror:
            m = self.length - m
        return (m, c) if self.flat else (c, m)

    def box(self, node_id: str) -> tuple[float, float, float, float]:
        """The box's main-axis start and end, and its cross-axis centre and extent."""
        k = self.layer_of[node_id]
        along, across = self.extent[node_id]
        start = self.start[k] + (self.size[k] - along) / 2
        return start, start + along, self.center[node_id], across


def _pack(items: list[tuple[float | None, float]], gaps: list[float]) -> list[float]:
    """Centres for items in a row, in order and apart by their extents and ``gaps``, as near
    as can be to where each is wanted (least squares: pool adjacent violators). An item
    wanted nowhere (``None``) is wanted right after the one before it."""
    offsets = [0.0]
    for ((_, a), (_, b)), gap in zip(pairwise(items), gaps, strict=True):
        offsets.append(offsets[-1] + (a + b) / 2 + gap)
    wanted: list[float] = []
    for (want, _), offset in zip(items, offsets, strict=True):
        previous = wanted[-1] - offsets[len(wanted) - 1] if wanted else 0.0
        wanted.append(want if want is not None else previous + offset)
    blocks: list[list[float]] = []  # [total, count] of each block of items moved together
    for want, offset in zip(wanted, offsets, strict=True):
        blocks.append([want - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    shifts = [total / count for total, count in blocks for _ in range(int(count))]
    return [offset + shift for offset, shift in zip(offsets, shifts, strict=True)]


def _ports(
    layout: _Layout, wires: list[_Wire], center: float, across: float, into: bool
) -> dict[int, float]:
    """The cross position where each wire meets a box: spread, in the order of their other
    ends, so that they do not cross at the box."""

    def other_end(wire: _Wire) -> float:
        if wire.slots:
            return wire.slots[-1] if into else wire.slots[0]
        return layout.center[wire.edge.source if into else wire.edge.target]

    ordered = sorted(wires, key=lambda w: (other_end(w), w.index))
    room = (across - 8.0) / max(len(ordered), 1)  # arrows leaving share the box's side
    steps = [layout._port_step(w) if into else min(10.0, room) for w in ordered]
    position = center - sum(steps) / 2
    found: dict[int, float] = {}
    for wire, step in zip(ordered, steps, strict=True):
        offset = 6.0 if into and not layout.flat and wire.label else step / 2
        found[wire.index] = position + offset
        position += step
    return found


def _path(layout: _Layout, points: list[tuple[float, float]]) -> str:
    """An SVG path through abstract points: straight where the cross position holds, an S
    curve where it changes."""
    x, y = layout.point(*points[0])
    parts = [f"M{_n(x)} {_n(y)}"]
    for (m1, c1), (m2, c2) in pairwise(points):
        end = layout.point(m2, c2)
        if abs(c1 - c2) < 0.05 or abs(m1 - m2) < 0.05:
            parts.append(f"L{_n(end[0])} {_n(end[1])}")
            continue
        middle = (m1 + m2) / 2
        a, b = layout.point(middle, c1), layout.point(middle, c2)
        parts.append(f"C{_n(a[0])} {_n(a[1])} {_n(b[0])} {_n(b[1])} {_n(end[0])} {_n(end[1])}")
    return "".join(parts)


def _head(layout: _Layout, m: float, c: float) -> str:
    corners = [
        layout.point(m, c),
        layout.point(m - _ARROW, c - 4.5),
        layout.point(m - _ARROW, c + 4.5),
    ]
    return "M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in corners) + "Z"


def _shape(node: DiagramNode, x: float, y: float, w: float, h: float) -> str:
    if node.shape == "hexagon":
        bevel = min(_BEVEL, h / 2)
        points = [
            (x, y + h / 2),
            (x + bevel, y),
            (x + w - bevel, y),
            (x + w, y + h / 2),
            (x + w - bevel, y + h),
            (x + bevel, y + h),
        ]
        spec = " ".join(f"{_n(px)},{_n(py)}" for px, py in points)
        return f'<polygon class="vsd-shape" points="{spec}"/>'
    radius = h / 2 if node.shape == "round" else 5.0
    return (
        f'<rect class="vsd-shape" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" '
        f'height="{_n(h)}" rx="{_n(radius)}"/>'
    )


def _draw_node(layout: _Layout, node: DiagramNode) -> str:
    start, end, center, across = layout.box(node.id)
    x1, y1 = layout.point(start, center - across / 2)
    x2, y2 = layout.point(end, center + across / 2)
    x, y, w, h = min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1)
    cx, cy = x + w / 2, y + h / 2
    tip = node.title + (f" ({node.kind})" if node.kind else "")
    parts = [
        f'<g class="vsd-node vsd-{node.shape}"><title>{_escape(tip)}</title>',
        _shape(node, x, y, w, h),
    ]
    title_y = cy - 4 if node.kind else cy + 5
    parts.append(
        f'<text x="{_n(cx)}" y="{_n(title_y)}" font-size="{_n(_TITLE)}" '
        f'font-weight="600">{_escape(_short(node.title, _MAX_TEXT))}</text>'
    )
    if node.kind:
        parts.append(
            f'<text class="vsd-kind" x="{_n(cx)}" y="{_n(cy + 13)}" '
            f'font-size="{_n(_KIND)}">{_escape(_short(node.kind, _MAX_TEXT))}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _draw_wire(layout: _Layout, wire: _Wire, out_port: float, in_port: float) -> tuple[str, str]:
    """The arrow (line and head) and its label, as SVG elements."""
    source, target = wire.edge.source, wire.edge.target
    _, source_end, _, _ = layout.box(source)
    target_start, _, _, _ = layout.box(target)
    dashed = " vsd-dashed" if wire.edge.dashed else ""
    if not wire.forward:  # on a cycle, or back to an earlier layer: one loose curve
        m1, c1, m2, c2 = source_end, out_port, target_start, in_port
        a, b = layout.point(m1 + 60, c1), layout.point(m2 - 60 - _ARROW, c2)
        s, e = layout.point(m1, c1), layout.point(m2 - _ARROW + 1, c2)
        line = (
            f"M{_n(s[0])} {_n(s[1])}C{_n(a[0])} {_n(a[1])} {_n(b[0])} {_n(b[1])} "
            f"{_n(e[0])} {_n(e[1])}"
        )
        label_at = layout.point((m1 + m2) / 2, (c1 + c2) / 2 - 5)
        anchor = "middle"
    else:
        k = layout.layer_of[target]
        zone_start = layout.start[k] - layout.zone[k]
        points = [(source_end, out_port)]
        for slot, passed in zip(wire.slots, range(layout.layer_of[source] + 1, k), strict=True):
            points += [
                (layout.start[passed], slot),
                (layout.start[passed] + layout.size[passed], slot),
            ]
        points += [(zone_start, in_port), (target_start - _ARROW + 1, in_port)]
        line = _path(layout, points)
        if layout.flat:
            label_at = layout.point(zone_start + layout.zone[k] / 2, in_port - 5)
            anchor = "middle"
        else:
            x, y = layout.point(zone_start + layout.zone[k] / 2, in_port + 5)
            label_at = (x, y + 4)  # the baseline below the zone's middle, either way up
            anchor = "start"
    head_class = "vsd-head vsd-dashed-head" if wire.edge.dashed else "vsd-head"
    arrow = (
        f'<path class="vsd-edge{dashed}" d="{line}"/>'
        f'<path class="{head_class}" d="{_head(layout, target_start, in_port)}"/>'
    )
    label = ""
    if wire.label:
        label = (
            f'<text class="vsd-label" x="{_n(label_at[0])}" y="{_n(label_at[1])}" '
            f'text-anchor="{anchor}">{_escape(wire.label)}</text>'
        )
    return arrow, label


def draw(
    nodes: Sequence[DiagramNode],
    edges: Sequence[DiagramEdge],
    direction: str = "LR",
    *,
    label: str = "",
) -> str:
    """A diagram of a directed graph as one standalone ``<svg>`` element.

    Args:
        nodes: The boxes, in creation order (the order within a layer follows it).
        edges: The arrows; one whose end is not in ``nodes``, or that points at its own
            source, is left out.
        direction: ``LR`` (layers left to right, the default), ``RL``, ``TD``/``TB`` (top
            down) or ``BT``.
        label: What a screen reader says the picture is (``aria-label``).

    Returns:
        The SVG's text: no script, no external resource, no ``id``; every text escaped.

    Raises:
        ArgumentError: an unknown direction or shape, or two nodes with one id.

    Example:
        >>> from vectorshift.pipeline._svg import DiagramEdge, DiagramNode, draw
        >>> svg = draw([DiagramNode("a", "query", "input", "round"), DiagramNode("b", "llm")],
        ...            [DiagramEdge("a", "b", "text")])
        >>> svg.startswith("<svg")
        True
    """
    if direction not in _DIRECTIONS:
        raise ArgumentError(
            f"direction must be one of {', '.join(_DIRECTIONS)}, got {direction!r}",
            argument="direction",
        )
    seen: set[str] = set()
    for node in nodes:
        if node.shape not in SHAPES:
            raise ArgumentError(
                f"node {node.id!r} has shape {node.shape!r}; shapes are {', '.join(SHAPES)}",
                argument="nodes",
            )
        if node.id in seen:
            raise ArgumentError(f"two nodes have the id {node.id!r}", argument="nodes")
        seen.add(node.id)
    layout = _Layout(nodes, edges, direction)
    width, height = (
        (layout.length, layout.breadth) if layout.flat else (layout.breadth, layout.length)
    )
    ins: dict[int, float] = {}
    outs: dict[int, float] = {}
    for node_id in layout.nodes:
        center, across = layout.center[node_id], layout.extent[node_id][1]
        ins.update(_ports(layout, layout.into[node_id], center, across, into=True))
        outs.update(_ports(layout, layout.out[node_id], center, across, into=False))
    arrows, labels = [], []
    for wire in layout.wires:
        arrow, text = _draw_wire(
            layout,
            wire,
            outs.get(wire.index, layout.center[wire.edge.source]),
            ins.get(wire.index, layout.center[wire.edge.target]),
        )
        arrows.append(arrow)
        labels.append(text)
    boxes = [_draw_node(layout, node) for node in layout.nodes.values()]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="vsd" width="{_n(width)}" '
        f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" role="img" '
        f'aria-label="{_escape(label)}" font-family="{_FONT}" text-anchor="middle">'
        f"<style>{_STYLE}</style>"
        f'<g class="vsd-edges">{"".join(arrows)}</g>'
        f'<g class="vsd-labels" font-size="{_n(_LABEL)}">{"".join(labels)}</g>'
        f'<g class="vsd-nodes">{"".join(boxes)}</g></svg>'
    )


def stylesheet() -> str:
    """The CSS every drawing carries in its ``<style>`` element, for a page that serves it itself.

    A page whose Content-Security-Policy refuses inline styles (the local platform's dashboard)
    removes the element (:func:`without_style`) and serves these rules with its stylesheet.
    """
    return _STYLE


def without_style(drawing: str) -> str:
    """``drawing`` (of :func:`draw`) without its ``<style>`` element; see :func:`stylesheet`."""
    return drawing.replace(f"<style>{_STYLE}</style>", "", 1)
