"""The pipeline diagram of the dashboard: a standalone ``<svg>`` drawn in Python, offline.

The seam is :func:`pipeline_svg`, one function of a stored pipeline. It draws a box per node at
the position the builder wrote in ``canvas_metadata`` (:mod:`vectorshift.pipeline._graph`:
``x = 1200 * level``, ``y = 600 * index in the level``) and a line per edge of
``canvas_metadata.edges``; a node without a stored position goes in a last column. Every label
is escaped (node names and types come from whoever saved the pipeline). Colours are CSS classes
(``dg-node``, ``dg-edge``...), styled by the dashboard's stylesheet, so the drawing follows the
light or dark scheme and needs no inline style (the dashboard's CSP allows none).

The package's shared renderer of a pipeline graph is meant to replace the body of this function
when it lands; the dashboard only ever calls :func:`pipeline_svg`.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["pipeline_svg"]

_COLUMN, _ROW = 1200.0, 600.0
"""The builder's spacing of levels and rows (``vectorshift.pipeline._graph``)."""

_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _PAD = 180, 48, 60, 24, 12
_LABEL_CHARS = 22


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "\u2026"


def _grid(canvas_nodes: dict[str, Any], node_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Each node's (column, row), from its stored position scaled by the builder's spacing."""
    places: dict[str, tuple[int, int]] = {}
    unplaced: list[str] = []
    for node_id in node_ids:
        layout = canvas_nodes.get(node_id)
        position = layout.get("position") if isinstance(layout, dict) else None
        try:
            x, y = float(position["x"]), float(position["y"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            unplaced.append(node_id)
            continue
        places[node_id] = (max(0, round(x / _COLUMN)), max(0, round(y / _ROW)))
    last = 1 + max((col for col, _ in places.values()), default=-1)
    for row, node_id in enumerate(unplaced):
        places[node_id] = (last, row)
    taken: set[tuple[int, int]] = set()
    for node_id in node_ids:  # two nodes on one cell: the later one moves down
        col, row = places[node_id]
        while (col, row) in taken:
            row += 1
        taken.add((col, row))
        places[node_id] = (col, row)
    return places


def pipeline_svg(pipeline: Any) -> str:
    """A standalone ``<svg>`` of a stored pipeline's graph (``nodes`` and ``canvas_metadata``).

    Args:
        pipeline: A :class:`~vectorshift.local.records.PipelineRecord` (or any object with
            ``nodes`` and ``canvas_metadata`` of the platform's graph format).

    Returns:
        The SVG markup, every label escaped; an empty pipeline gives a small empty drawing.
    """
    nodes: dict[str, Any] = dict(getattr(pipeline, "nodes", None) or {})
    canvas = getattr(pipeline, "canvas_metadata", None) or {}
    found = canvas.get("nodes")
    canvas_nodes: dict[str, Any] = found if isinstance(found, dict) else {}
    places = _grid(canvas_nodes, list(nodes))

    def corner(node_id: str) -> tuple[int, int]:
        col, row = places[node_id]
        return _PAD + col * (_BOX_W + _GAP_X), _PAD + row * (_BOX_H + _GAP_Y)

    cols = 1 + max((c for c, _ in places.values()), default=0)
    rows = 1 + max((r for _, r in places.values()), default=0)
    width = 2 * _PAD + cols * _BOX_W + (cols - 1) * _GAP_X
    height = 2 * _PAD + rows * _BOX_H + (rows - 1) * _GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        "<title>pipeline diagram</title>",
        '<defs><marker id="dg-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
        'markerHeight="8" orient="auto"><path class="dg-arrowhead" d="M0,0 L8,4 L0,8 z"/>'
        "</marker></defs>",
    ]
    for edge in canvas.get("edges") or []:
        source, target = edge.get("source"), edge.get("target")
        if source not in places or target not in places:
            continue
        (sx, sy), (tx, ty) = corner(source), corner(target)
        parts.append(
            f'<line class="dg-edge" x1="{sx + _BOX_W}" y1="{sy + _BOX_H // 2}" '
            f'x2="{tx}" y2="{ty + _BOX_H // 2}" marker-end="url(#dg-arrow)"/>'
        )
    for node_id, node in nodes.items():
        x, y = corner(node_id)
        name = str(node.get("name") or node_id) if isinstance(node, dict) else node_id
        kind = str(node.get("type") or "") if isinstance(node, dict) else ""
        parts.append(
            f'<g class="dg-node dg-{escape(kind, quote=True)}">'
            f"<title>{escape(name)} ({escape(node_id)})</title>"
            f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="6"/>'
            f'<text class="dg-name" x="{x + 10}" y="{y + 20}">{escape(_short(name))}</text>'
            f'<text class="dg-type" x="{x + 10}" y="{y + 38}">{escape(_short(kind))}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)
