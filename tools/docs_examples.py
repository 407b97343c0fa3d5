"""Write docs/examples.md: the diagram of each example pipeline, as ``pipeline.diagram()`` draws it.

Run ``python tools/docs_examples.py`` after changing an example's graph (``--check`` compares
instead of writing; tests/test_docs.py runs it). The pipelines are built on a local platform.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "examples.md"

EXAMPLES = [
    (
        "streaming.py",
        "story_pipeline",
        "Token streaming: an llm node streams into a `stream<string>` output.",
    ),
    (
        "intermediate_results.py",
        "build",
        "Intermediate results: text nodes and an llm, "
        "every node's output visible through `pipeline.stream()`.",
    ),
    ("terminate_run.py", "long_pipeline", "A long run, to terminate."),
    (
        "content_workflow.py",
        None,
        "The content workflow: a polishing pipeline, used as a node by a branching workflow.",
    ),
]


def render() -> str:
    sys.path.insert(0, str(ROOT / "examples"))
    import importlib

    from vectorshift.local import serve

    parts = [
        "# Example pipelines\n",
        "The graphs of the scripts in `examples/`: each is `pipeline.diagram()`'s Mermaid "
        "flowchart, drawn when the site is built as `pipeline.to_svg()` draws it "
        "(`tools/docs_examples.py` writes this page; a test checks it is current). "
        "Dashed arrows are a condition's paths.\n",
    ]
    with serve() as client:
        for filename, builder, text in EXAMPLES:
            module = importlib.import_module(filename.removesuffix(".py"))
            if builder is None:
                polish = module.polish_pipeline(client)
                pipelines = [polish, module.workflow_pipeline(client, True, polish)]
            else:
                pipelines = [getattr(module, builder)(client, True)]
            parts.append(f"## `examples/{filename}`\n\n{text}\n")
            for pipeline in pipelines:
                parts.append(f"**{pipeline.name}**\n\n```mermaid\n{pipeline.diagram()}```\n")
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if PAGE.read_text() != text:
            print("docs/examples.md is stale: run python tools/docs_examples.py")
            return 1
        return 0
    PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
