"""The docs' diagrams: every ```` ```mermaid ```` fence is one the build's reader draws, drawn
as the SDK draws the pipeline, and the built pages load no Mermaid.

tools/mkdocs_diagrams.py turns the fences into inline SVG when the site is built; a fence it
cannot read fails here, by page and line, rather than in a reader's browser.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from tests.test_render import router
from vectorshift.pipeline._render import parts
from vectorshift.pipeline._svg import draw

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^```mermaid\n(.*?)^```", re.M | re.S)


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mkdocs_diagrams", ROOT / "tools" / "mkdocs_diagrams.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = load_hook()
FENCES = [
    (path, text.count("\n", 0, match.start()) + 2, match.group(1))
    for path in sorted(DOCS.rglob("*.md"))
    for text in [path.read_text(encoding="utf-8")]
    for match in _FENCE.finditer(text)
]


def test_the_docs_have_their_diagrams() -> None:
    pages = sorted({path.relative_to(DOCS).as_posix() for path, _, _ in FENCES})
    assert pages == ["errors.md", "examples.md", "getting-started.md", "index.md"]
    assert len(FENCES) >= 8


@pytest.mark.parametrize(
    ("path", "line", "source"),
    FENCES,
    ids=[f"{p.relative_to(DOCS).as_posix()}:{n}" for p, n, _ in FENCES],
)
def test_every_fence_is_read_and_drawn(path: Path, line: int, source: str) -> None:
    nodes, _, _ = HOOK.read(source, f"{path.name}:{line}")
    assert nodes
    svg = HOOK.fence(source, "mermaid", "vsd-figure", {}, None)
    assert svg.startswith('<div class="vsd-figure" style="--vsd-min-width:')
    root = ET.fromstring(svg)
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert all(node.title in titles for node in nodes)


def test_the_exception_tree_is_the_package_s() -> None:
    import vectorshift.errors as errors

    path = DOCS / "errors.md"
    source = next(s for p, _, s in FENCES if p == path)
    nodes, edges, direction = HOOK.read(source)
    names = {node.id: node.title for node in nodes}
    assert direction == "LR"
    for edge in edges:
        child = getattr(errors, names[edge.target])
        assert issubclass(child, getattr(errors, names[edge.source])), names[edge.target]


def test_a_pipeline_s_diagram_reads_back_to_the_same_picture() -> None:
    pipeline = router()
    nodes, edges, _ = HOOK.read(pipeline.diagram())
    assert (nodes, edges) == parts(pipeline.nodes)
    assert HOOK.to_svg(pipeline.diagram("TD")) == draw(
        *parts(pipeline.nodes), "TD", label="Diagram"
    )


@pytest.mark.parametrize(
    "source",
    [
        "graph XY\n    a --> b\n",
        "flowchart LR\n    a ==> b\n",
        "flowchart LR\n    a[<b>bold</b>]\n",
        'flowchart LR\n    a["unclosed\n',
        "flowchart LR\n    a[x]\n    a[y]\n",
        "sequenceDiagram\n    A->>B: hi\n",
    ],
)
def test_what_the_reader_does_not_know_is_an_error_naming_the_line(source: str) -> None:
    with pytest.raises(HOOK.DiagramSyntaxError, match=r"page\.md(:\d+)?: "):
        HOOK.read(source, "page.md")


def test_an_unreadable_fence_is_a_warning_so_a_strict_build_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shown = HOOK.fence("flowchart LR\n    a ==> b <script>\n", "mermaid", "vsd-figure", {}, None)
    assert shown.startswith('<pre class="vsd-figure"><code>') and "&lt;script&gt;" in shown
    assert "expected an arrow" in caplog.text


def test_the_built_site_draws_svg_and_loads_no_mermaid(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for page in ("index.html", "errors/index.html", "getting-started/index.html"):
        html = (site / page).read_text(encoding="utf-8")
        article = html[html.index("<article") :]
        assert article.index('<svg xmlns="http://www.w3.org/2000/svg" class="vsd"') < (
            article.index("<img") if "<img" in article else len(article)
        ), page
    assert (site / "examples/index.html").read_text(encoding="utf-8").count('class="vsd"') == 5
    for html_file in site.rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        assert not re.search(r'class="[^"]*\bmermaid\b|<script[^>]*mermaid', html), html_file
        assert "```mermaid" not in html, html_file
