"""Pictures of a pipeline: the Mermaid diagram, the text listing, and what Jupyter shows.

Exact output on a small router graph (a condition, two gated branches, a merge), so a change
to either rendering is a change a reviewer sees here.
"""

from __future__ import annotations

import subprocess
import sys

from vectorshift import Clause, ConditionGroup, Operator, Pipeline


def router() -> Pipeline:
    pipeline = Pipeline("Router")
    query = pipeline.add(name="query").input()
    route = pipeline.add(name="router").condition(
        [ConditionGroup([Clause(query.text, Operator.TEXT_CONTAINS, "code")])]
    )
    coder = pipeline.add(name="coder").llm(prompt=query.text, dependencies=[route.path_0])
    writer = pipeline.add(name='"writer"').llm(
        prompt=f"Write: {query.text}", system=f"{query.text}", dependencies=[route.path_else]
    )
    merged = pipeline.add(name="merge").merge([coder.response, writer.response])
    pipeline.add(name="answer").output(merged.output)
    return pipeline


def test_diagram_is_a_mermaid_flowchart_with_names_types_wiring_and_paths() -> None:
    assert router().diagram() == (
        "flowchart LR\n"
        '    n0(["query<br/><small>input</small>"])\n'
        '    n1{"router<br/><small>condition</small>"}\n'
        '    n2["coder<br/><small>llm</small>"]\n'
        '    n3["#quot;writer#quot;<br/><small>llm</small>"]\n'
        '    n4["merge<br/><small>merge</small>"]\n'
        '    n5(["answer<br/><small>output</small>"])\n'
        '    n0 -- "text" --> n1\n'
        '    n0 -- "text" --> n2\n'
        '    n1 -. "path_0" .-> n2\n'
        '    n0 -- "text" --> n3\n'
        '    n1 -. "path_else" .-> n3\n'
        '    n2 -- "response" --> n4\n'
        '    n3 -- "response" --> n4\n'
        '    n4 -- "output" --> n5\n'
    )
    assert router().diagram("TD").startswith("flowchart TD\n")


def test_describe_lists_nodes_by_level_with_their_wired_inputs() -> None:
    assert router().describe() == (
        "Router: 6 nodes, 5 levels\n"
        "0  query (input)\n"
        "1  router (condition)  conditions=query.text\n"
        "2  coder (llm)  prompt=query.text, when router.path_0\n"
        '   "writer" (llm)  prompt=query.text, system=query.text, when router.path_else\n'
        '3  merge (merge)  fields=[coder.response, "writer".response]\n'
        "4  answer (output)  value=merge.output\n"
    )


def test_an_empty_pipeline_renders_too() -> None:
    assert Pipeline("empty").describe() == "empty: 0 nodes, 0 levels\n"
    assert Pipeline("empty").diagram() == "flowchart LR\n"


def test_jupyter_shows_the_diagram_in_a_mermaid_fence() -> None:
    shown = router()._repr_markdown_()
    assert shown == f"**Router**\n\n```mermaid\n{router().diagram()}```\n"


def test_the_renderer_is_not_imported_with_vectorshift() -> None:
    code = "import sys, vectorshift; print('vectorshift.pipeline._render' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "False\n", done.stderr
