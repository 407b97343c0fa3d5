"""A mkdocs hook: the docs' ```` ```mermaid ```` fences become inline SVG when the site is built.

The pages keep their diagrams as Mermaid flowcharts, so GitHub and editors still draw the
Markdown files, and ``docs/examples.md`` stays what ``pipeline.diagram()`` writes. The built
site draws them with the SDK's own renderer (:func:`vectorshift.pipeline._svg.draw`, as
``Pipeline.to_svg()`` and the local dashboard do): the pages load no script from a CDN, and
read the same with no network.

Only the subset of Mermaid these docs write is read, and anything else is an error (so a
diagram the reader cannot draw fails the build and ``tests/test_docs_diagrams.py``, not the
reader's browser):

* a first line ``flowchart LR`` (or ``graph``; ``RL``, ``TD``, ``TB``, ``BT``);
* nodes ``id[Name]``, ``id["Name"]``, ``id(["Name"])`` (rounded), ``id{"Name"}`` (a
  hexagon); a label ``Name<br/><small>kind</small>`` has a smaller second line, and
  ``#quot;``, ``#lt;``, ``#gt;``, ``#35;`` and ``#amp;`` are Mermaid's escapes;
* arrows ``a --> b``, ``a -- "label" --> b``, ``a -->|label| b``, dashed ``a -.-> b`` and
  ``a -. "label" .-> b``, chained (``a --> b --> c``), with nodes declared inline
  (``V --> C["ConfigurationError"]``); ``%%`` comments.

mkdocs.yml lists this file under ``hooks:``; :func:`on_config` registers the fence with
``pymdownx.superfences``.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from vectorshift.pipeline._svg import DiagramEdge, DiagramNode, draw

log = logging.getLogger("mkdocs.hooks.diagrams")

_HEADER = re.compile(r"(?:flowchart|graph)\s+(LR|RL|TD|TB|BT)\s*;?")
_ID = re.compile(r"[A-Za-z0-9_]+")
_SHAPES = (
    ("([", "])", "round"),
    ("{{", "}}", "hexagon"),
    ("[", "]", "box"),
    ("{", "}", "hexagon"),
    ("(", ")", "round"),
)
_LINK = re.compile(
    r"\s*(?:"
    r"(?P<plain>-->|-\.->)"
    r'|--\s*(?P<solid>"[^"]*"|[^"\s>.-][^-]*?)\s*-->'
    r'|-\.\s*(?P<dotted>"[^"]*"|[^"\s>.-][^.]*?)\s*\.->'
    r")(?:\|(?P<piped>[^|]*)\|)?\s*"
)
_LABEL = re.compile(
    r"(?P<title>.*?)(?:<br\s*/?>(?:<small>(?P<kind>.*?)</small>|(?P<line>.*)))?", re.S
)
_ENTITY = re.compile(r"#(quot|lt|gt|amp|\d+);")
_WIDTH = re.compile(r'<svg [^>]*?width="([0-9.]+)"')
_ENTITIES = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}


class DiagramSyntaxError(ValueError):
    """A fence's line this reader does not understand."""


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return chr(int(name)) if name.isdigit() else _ENTITIES[name]

    return _ENTITY.sub(one, text)


def _label(raw: str, where: str) -> tuple[str, str]:
    """A node's title and kind from its label text (quotes already removed)."""
    match = _LABEL.fullmatch(raw.strip())
    assert match is not None  # the pattern matches any text
    title, kind = match.group("title"), match.group("kind") or match.group("line") or ""
    for text in (title, kind):
        if "<" in text or ">" in text:
            raise DiagramSyntaxError(
                f"{where}: only <br/><small>...</small> markup is read, got {raw!r}"
            )
    return _unescape(title.strip()), _unescape(kind.strip())


class _Reader:
    """Reads one flowchart into nodes and edges, in the order they first appear."""

    def __init__(self) -> None:
        self.nodes: dict[str, DiagramNode] = {}
        self.declared: set[str] = set()
        self.edges: list[DiagramEdge] = []

    def node(self, line: str, at: int, where: str) -> tuple[str, int]:
        """The node (id, with an optional inline declaration) at ``at``, and where it ends."""
        match = _ID.match(line, at)
        if match is None:
            raise DiagramSyntaxError(f"{where}: expected a node id at {line[at:]!r}")
        node_id, at = match.group(), match.end()
        for opening, closing, shape in _SHAPES:
            if not line.startswith(opening, at):
                continue
            body_start = at + len(opening)
            if line.startswith('"', body_start):
                end_quote = line.find('"', body_start + 1)
                if end_quote < 0 or not line.startswith(closing, end_quote + 1):
                    raise DiagramSyntaxError(f"{where}: unclosed label in {line!r}")
                raw, at = line[body_start + 1 : end_quote], end_quote + 1 + len(closing)
            else:
                end = line.find(closing, body_start)
                if end < 0:
                    raise DiagramSyntaxError(f"{where}: unclosed label in {line!r}")
                raw, at = line[body_start:end], end + len(closing)
            title, kind = _label(raw, where)
            declared = DiagramNode(node_id, title, kind, shape)
            if node_id in self.declared and self.nodes[node_id] != declared:
                raise DiagramSyntaxError(f"{where}: node {node_id!r} declared twice, differently")
            self.nodes[node_id] = declared
            self.declared.add(node_id)
            return node_id, at
        self.nodes.setdefault(node_id, DiagramNode(node_id, node_id))
        return node_id, at

    def statement(self, line: str, where: str) -> None:
        source, at = self.node(line, 0, where)
        while at < len(line):
            link = _LINK.match(line, at)
            if link is None:
                raise DiagramSyntaxError(f"{where}: expected an arrow at {line[at:]!r}")
            label = link.group("solid") or link.group("dotted") or link.group("piped") or ""
            dashed = link.group("dotted") is not None or link.group("plain") == "-.->"
            target, at = self.node(line, link.end(), where)
            self.edges.append(
                DiagramEdge(source, target, _unescape(label.strip().strip('"')), dashed)
            )
            source = target
            while at < len(line) and line[at] in " ;":
                at += 1


def read(source: str, name: str = "diagram") -> tuple[list[DiagramNode], list[DiagramEdge], str]:
    """The nodes, edges and direction of a Mermaid flowchart in the subset above.

    Raises:
        DiagramSyntaxError: a line outside the subset, naming it (``name:line``).
    """
    lines = [(number, text.strip()) for number, text in enumerate(source.splitlines(), 1)]
    lines = [(n, t) for n, t in lines if t and not t.startswith("%%")]
    if not lines or not (header := _HEADER.fullmatch(lines[0][1])):
        raise DiagramSyntaxError(
            f"{name}: the first line must be 'flowchart LR' (or RL, TD, "
            f"TB, BT), got {lines[0][1] if lines else 'nothing'!r}"
        )
    reader = _Reader()
    for number, text in lines[1:]:
        reader.statement(text.rstrip(";"), f"{name}:{number}")
    return list(reader.nodes.values()), reader.edges, header.group(1)


def to_svg(source: str, name: str = "diagram") -> str:
    """The fence's diagram as an inline ``<svg>``.

    Raises:
        DiagramSyntaxError: see :func:`read`.
    """
    nodes, edges, direction = read(source, name)
    return draw(nodes, edges, direction, label="Diagram")


def fence(
    source: str, language: str, class_name: str, options: dict[str, Any], md: Any, **kwargs: Any
) -> str:
    """pymdownx.superfences' format function: the SVG in a ``<div class="vsd-figure">``,
    which says in ``--vsd-min-width`` how far the page's CSS may shrink it.

    A fence it cannot read is logged as a warning (``mkdocs build --strict`` fails on it) and
    shown as code.
    """
    try:
        picture = to_svg(source, "a mermaid fence")
    except DiagramSyntaxError as error:
        log.warning("%s", error)
        return f'<pre class="{class_name}"><code>{html.escape(source)}</code></pre>'
    width = float(_WIDTH.search(picture).group(1))  # type: ignore[union-attr]
    # Shrunk to fit the page down to 70% of its size, then scrolled sideways.
    return (
        f'<div class="{class_name}" style="--vsd-min-width:{round(width * 0.7)}px">{picture}</div>'
    )


def on_config(config: Any) -> Any:
    """Draw ```` ```mermaid ```` fences with :func:`fence` (replacing any other format)."""
    superfences = config.mdx_configs.setdefault("pymdownx.superfences", {})
    fences = [f for f in superfences.get("custom_fences", []) if f.get("name") != "mermaid"]
    fences.append({"name": "mermaid", "class": "vsd-figure", "format": fence})
    superfences["custom_fences"] = fences
    return config
