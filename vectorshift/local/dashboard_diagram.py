"""The pipeline diagram of the dashboard: a standalone ``<svg>`` drawn in Python, offline.

The drawing is the package's own (:func:`vectorshift.pipeline._render.svg_of_stored`), the
same as ``Pipeline.to_svg()`` and the docs site's: laid out from the wiring as the builder lays
out a pipeline, every label escaped (node names and types come from whoever saved it). The
dashboard's Content-Security-Policy refuses inline styles, so the drawing's ``<style>`` element
is removed and its rules are served with the dashboard's stylesheet (:func:`diagram_css`).
"""

from __future__ import annotations

from typing import Any

from vectorshift.pipeline._render import svg_of_stored
from vectorshift.pipeline._svg import stylesheet, without_style

__all__ = ["diagram_css", "pipeline_svg"]


def pipeline_svg(pipeline: Any) -> str:
    """A standalone ``<svg>`` of a stored pipeline's graph, without an inline style.

    Args:
        pipeline: A :class:`~vectorshift.local.records.PipelineRecord` (or any object with
            ``name`` and ``nodes`` of the platform's graph format).

    Returns:
        The SVG markup, every label escaped; an empty pipeline gives a small empty drawing.
    """
    stored = {"name": getattr(pipeline, "name", ""), "nodes": dict(pipeline.nodes or {})}
    return without_style(svg_of_stored(stored))


def diagram_css() -> str:
    """The diagram's CSS rules, appended to the dashboard's stylesheet when it is served."""
    return stylesheet()
