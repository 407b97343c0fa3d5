"""Record the official client's pipeline graphs as fixtures (tests/fixtures/official/).

Run it with the python of a scratch venv that has the official client, never with this
project's venv (both packages are named ``vectorshift``)::

    python -m venv /some/scratch && /some/scratch/bin/pip install vectorshift==0.1.15
    /some/scratch/bin/python tools/record_official.py

Each pipeline below is built with the official client's fluent builder and serialised with its
own ``Pipeline._prepare_pipeline_data()``, the graph it sends on create; the file is that dict,
pretty printed, keys in the order the client produced them. The script re-runs itself under
``PYTHONHASHSEED=0`` so that the lists the client builds from sets (node ``outputs``, canvas
``edges``) come out in the same order each time it is recorded.

The builders are shared with ``tools/compat_official.py``, which runs the same pipelines through
the official client against ``vectorshift.local``. ``tests/test_official_fixtures.py`` builds each
of them again with this project's builder and compares.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from vectorshift.pipeline.nodes._condition import Clause, ConditionGroup, LogicalOp, Operator

    from vectorshift.pipeline import BumpLevel, Pipeline
except ImportError:
    sys.exit("this needs the official client: run it with the python of a venv that has it")

del BumpLevel  # imported only to tell the official package from this project's

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "official"
RECORDED_VERSION = "0.1.15"


def typed_inputs() -> Any:
    """Scalar typed inputs, their ``value`` outputs, a default value, json/stream inputs."""
    p = Pipeline(name="typed_inputs")
    title = p.add(name="title", id="input_0").input(
        input_type="string",
        description="A title",
        use_default_value=True,
        default_value="Untitled",
    )
    count = p.add(name="count", id="input_1").input(input_type="int32")
    ratio = p.add(name="ratio", id="input_2").input(input_type="float")
    flag = p.add(name="flag", id="input_3").input(input_type="bool")
    tags = p.add(name="tags", id="input_4").input(input_type="vec<string>")
    when = p.add(name="when", id="input_5").input(input_type="timestamp")
    p.add(name="payload", id="input_6").input(input_type="json")
    p.add(name="feed", id="input_7").input(input_type="stream<string>")
    summary = p.add(name="summary", id="text_0").text(
        text=f"{title.text}|{count.value}|{ratio.value}|{flag.value}|{tags.value}|{when.value}"
    )
    p.add(name="summary_out", id="output_0").output(output_type="string", value=summary.text)
    p.add(name="count_out", id="output_1").output(output_type="int32", value=count.value)
    p.add(name="ratio_out", id="output_2").output(output_type="float", value=ratio.value)
    p.add(name="flag_out", id="output_3").output(output_type="bool", value=flag.value)
    return p


def file_inputs() -> Any:
    """File, vec<file>, image and audio inputs; the file outputs read into one text."""
    p = Pipeline(name="file_inputs")
    doc = p.add(name="doc", id="input_0").input(input_type="file")
    docs = p.add(name="docs", id="input_1").input(input_type="vec<file>")
    p.add(name="photo", id="input_2").input(input_type="image")
    p.add(name="voice", id="input_3").input(input_type="audio")
    about = p.add(name="about", id="text_0").text(
        text=f"{doc.file_name}: {doc.processed_text} / {docs.file_names}: {docs.processed_texts}"
    )
    p.add(name="about_out", id="output_0").output(output_type="string", value=about.text)
    return p


def typed_outputs() -> Any:
    """Output nodes of the types the official client offers beyond string and json."""
    p = Pipeline(name="typed_outputs")
    doc = p.add(name="doc", id="input_0").input(input_type="file")
    docs = p.add(name="docs", id="input_1").input(input_type="vec<file>")
    photo = p.add(name="photo", id="input_2").input(input_type="image")
    voice = p.add(name="voice", id="input_3").input(input_type="audio")
    when = p.add(name="when", id="input_4").input(input_type="timestamp")
    p.add(name="doc_out", id="output_0").output(output_type="file", value=doc.file)
    p.add(name="docs_out", id="output_1").output(output_type="vec<file>", value=docs.files)
    p.add(name="photo_out", id="output_2").output(output_type="image", value=photo.image)
    p.add(name="voice_out", id="output_3").output(output_type="audio", value=voice.audio)
    p.add(name="when_out", id="output_4").output(output_type="timestamp", value=when.value)
    return p


def _routed(p: Any, router: Any, source: Any, labels: list[str]) -> None:
    """One text node per path of ``router`` (``labels`` end with the else path's), merged."""
    paths = [f"path_{index}" for index in range(len(labels) - 1)] + ["path_else"]
    branches = [
        p.add(name=f"say_{label}", id=f"text_{index}").text(
            text=f"{label}: {source}", dependencies=[getattr(router, path)]
        )
        for index, (label, path) in enumerate(zip(labels, paths, strict=True))
    ]
    merged = p.add(name="merge", id="merge_0").merge(
        fields=[branch.text for branch in branches], function="first"
    )
    p.add(name="verdict", id="output_0").output(output_type="string", value=merged.output)


def number_operators() -> Any:
    """Equal..LessThanEqual over int32/float inputs; three groups, AND and OR; a merge."""
    p = Pipeline(name="number_operators")
    score = p.add(name="score", id="input_0").input(input_type="int32")
    ratio = p.add(name="ratio", id="input_1").input(input_type="float")
    router = p.add(name="grade", id="condition_0").condition(
        conditions=[
            ConditionGroup(
                [
                    Clause(Operator.GREATER_THAN_EQUAL, score.value, 90),
                    Clause(Operator.LESS_THAN_EQUAL, ratio.value, 0.5),
                ],
                [LogicalOp.AND],
            ),
            ConditionGroup(
                [
                    Clause(Operator.GREATER_THAN, score.value, 50),
                    Clause(Operator.EQUAL, score.value, 42),
                ],
                [LogicalOp.OR],
            ),
            ConditionGroup(
                [
                    Clause(Operator.LESS_THAN, score.value, 0),
                    Clause(Operator.NOT_EQUAL, ratio.value, 1),
                ],
                [LogicalOp.OR],
            ),
        ]
    )
    _routed(p, router, score.value, ["top", "pass", "odd", "other"])
    return p


def text_operators() -> Any:
    """The eight text operators in three groups mixing AND and OR within a group."""
    p = Pipeline(name="text_operators")
    message = p.add(name="message", id="input_0").input(input_type="string")
    text = message.text
    router = p.add(name="kind", id="condition_0").condition(
        conditions=[
            ConditionGroup(
                [
                    Clause(Operator.TEXT_STARTS_WITH, text, "hello"),
                    Clause(Operator.TEXT_DOES_NOT_END_WITH, text, "!"),
                    Clause(Operator.TEXT_DOES_NOT_CONTAIN, text, "bye"),
                ],
                [LogicalOp.AND, LogicalOp.AND],
            ),
            ConditionGroup(
                [
                    Clause(Operator.TEXT_ENDS_WITH, text, "?"),
                    Clause(Operator.TEXT_CONTAINS, text, "please"),
                ],
                [LogicalOp.OR],
            ),
            ConditionGroup(
                [
                    Clause(Operator.TEXT_DOES_NOT_START_WITH, text, "#"),
                    Clause(Operator.TEXT_GREATER_THAN_N_CHARS, text, 20),
                    Clause(Operator.TEXT_LESS_THAN_N_CHARS, text, 40),
                ],
                [LogicalOp.AND, LogicalOp.AND],
            ),
        ]
    )
    _routed(p, router, text, ["greeting", "question", "medium", "other"])
    return p


def unary_and_collections() -> Any:
    """IsTrue/IsFalse/IsEmpty/IsNotEmpty, VecContainsItem/VecDoesNotContainsItem, MapContainsKey.

    The map is the ``response`` of an llm asked for JSON; the group of the last path mixes OR
    before AND (``a OR b AND c``).
    """
    p = Pipeline(name="unary_and_collections")
    flag = p.add(name="flag", id="input_0").input(input_type="bool")
    tags = p.add(name="tags", id="input_1").input(input_type="vec<string>")
    note = p.add(name="note", id="input_2").input(input_type="string")
    meta = p.add(name="meta", id="llm_0").llm(
        provider="local", model="echo", prompt=note.text, json_response=True
    )
    router = p.add(name="triage", id="condition_0").condition(
        conditions=[
            ConditionGroup(
                [
                    Clause(Operator.IS_TRUE, flag.value),
                    Clause(Operator.VEC_CONTAINS, tags.value, "urgent"),
                ],
                [LogicalOp.AND],
            ),
            ConditionGroup(
                [
                    Clause(Operator.IS_FALSE, flag.value),
                    Clause(Operator.VEC_DOES_NOT_CONTAIN, tags.value, "spam"),
                    Clause(Operator.MAP_CONTAINS_KEY, meta.response, "response"),
                ],
                [LogicalOp.AND, LogicalOp.AND],
            ),
            ConditionGroup(
                [
                    Clause(Operator.IS_EMPTY, note.text),
                    Clause(Operator.IS_NOT_EMPTY, note.text),
                    Clause(Operator.IS_TRUE, flag.value),
                ],
                [LogicalOp.OR, LogicalOp.AND],
            ),
        ]
    )
    _routed(p, router, note.text, ["urgent", "calm", "noted", "other"])
    return p


def expression_operator() -> Any:
    """The ``Expression`` operator (unary: its operand is the expression) beside one clause."""
    p = Pipeline(name="expression_operator")
    amount = p.add(name="amount", id="input_0").input(input_type="int32")
    router = p.add(name="check", id="condition_0").condition(
        conditions=[
            ConditionGroup([Clause(Operator.EXPRESSION, f"{amount.value} > 10")]),
        ]
    )
    _routed(p, router, amount.value, ["big", "small"])
    return p


def text_processing_stream() -> Any:
    """Formatters, combine, split, a streaming llm with stream<string> and string outputs.

    Layout: ``shout`` (created first) waits for the ``topic`` input, the second source, while
    ``trimmed`` (created second) waits for the first source ``style``: the official layout puts
    ``trimmed`` above ``shout`` in their level, against creation order.
    """
    p = Pipeline(name="text_processing_stream")
    style = p.add(name="style", id="input_0").input(input_type="string")
    topic = p.add(name="topic", id="input_1").input(input_type="string")
    shout = p.add(name="shout", id="text_formatter_0").text_formatter(
        text=topic.text, formatter="To Uppercase"
    )
    trimmed = p.add(name="trimmed", id="text_formatter_1").text_formatter(
        text=style.text, formatter="Truncate", max_num_token=3
    )
    joined = p.add(name="joined", id="combine_text_0").combine_text(
        text=[shout.output, trimmed.output]
    )
    words = p.add(name="words", id="split_text_0").split_text(
        text=joined.processed_text, delimiter="space"
    )
    parts = p.add(name="parts", id="split_text_1").split_text(
        text=style.text, delimiter="character(s)", character=","
    )
    writer = p.add(name="writer", id="llm_0").llm(
        provider="local",
        model="echo",
        prompt=f"Write on {joined.processed_text}",
        system="Be brief.",
        stream=True,
    )
    p.add(name="story", id="output_0").output(output_type="stream<string>", value=writer.response)
    p.add(name="story_text", id="output_1").output(output_type="string", value=writer.response)
    p.add(name="word_list", id="output_2").output(output_type="json", value=words.processed_text)
    p.add(name="part_list", id="output_3").output(output_type="json", value=parts.processed_text)
    return p


def layout_order() -> Any:
    """Nodes whose level order differs from their creation order (three sources, two levels).

    ``late`` is created before ``early`` but its last predecessor (the third source) is
    scanned after ``early``'s (the first); ``both`` waits for nodes of two levels.
    """
    p = Pipeline(name="layout_order")
    a = p.add(name="a", id="input_0").input(input_type="string")
    b = p.add(name="b", id="input_1").input(input_type="string")
    c = p.add(name="c", id="input_2").input(input_type="string")
    late = p.add(name="late", id="text_0").text(text=f"{c.text}{b.text}")
    early = p.add(name="early", id="text_1").text(text=a.text)
    both = p.add(name="both", id="text_2").text(text=f"{late.text}+{early.text}+{a.text}")
    middle = p.add(name="middle", id="text_3").text(text=b.text)
    p.add(name="out_both", id="output_0").output(output_type="string", value=both.text)
    p.add(name="out_middle", id="output_1").output(output_type="string", value=middle.text)
    return p


PIPELINES: dict[str, Callable[[], Any]] = {
    "typed_inputs": typed_inputs,
    "file_inputs": file_inputs,
    "typed_outputs": typed_outputs,
    "number_operators": number_operators,
    "text_operators": text_operators,
    "unary_and_collections": unary_and_collections,
    "expression_operator": expression_operator,
    "text_processing_stream": text_processing_stream,
    "layout_order": layout_order,
}


def main() -> int:
    """Write every pipeline's graph; re-run under a fixed hash seed first."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        return subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env).returncode
    import importlib.metadata

    version = importlib.metadata.version("vectorshift")
    if version != RECORDED_VERSION:
        print(
            f"record_official: recording with vectorshift {version}, "
            f"the README says {RECORDED_VERSION}",
            file=sys.stderr,
        )
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in PIPELINES.items():
        graph = build()._prepare_pipeline_data()
        (OUT / f"{name}.json").write_text(json.dumps(graph, indent=1) + "\n")
        print(f"wrote {name}.json ({len(graph['nodes'])} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
