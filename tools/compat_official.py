"""The official client drives ``vectorshift.local``: the check behind ``nox -s compat``.

Run it with the python of a venv that has the official client (``vectorshift==0.1.15``), never
this project's, against a running local server::

    python -m vectorshift.local --port 0        # in this project's venv; prints the two values
    VECTORSHIFT_BASE_URL=... VECTORSHIFT_API_KEY=... <official venv>/bin/python \\
        tools/compat_official.py

The official client reads ``VECTORSHIFT_BASE_URL`` and ``VECTORSHIFT_API_KEY`` when it is
imported, so both must be set before. The script first walks the client's whole surface on one
streaming pipeline (new, save, fetch by name, run, start, run_status, result, run with
``stream=True`` as raw frames, stream() as typed chunks, terminate), then versions, duplicate
and remove_node (save with bumps, fetch/start/stream a version, revert), then creates and runs every
pipeline of ``tools/record_official.py`` with inputs whose outputs it knows (the branch each
condition takes, the text each node makes), then batch nodes (node classes with
``execution_mode="batch"`` in ``Pipeline.new(nodes=[...])``, ``add_batch``, a refused batch text
node), ``run(stream_all_outputs=True, send_intermediate_results=False)``, versions, copies and
removed nodes, then folders, shares, bulk-runs and publishes (the publish must be refused,
naming the marketplace). Sharing needs a second organisation: start the server with a second
``--api-key KEY=ORG`` and set ``COMPAT_OTHER_API_KEY`` and ``COMPAT_OTHER_ORG`` to it
(``nox -s compat`` does); without them those checks are skipped. It prints one line per check
and exits 1 naming every check that did not hold.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import record_official as recorded  # the pipelines; it imports the official client

import vectorshift
from vectorshift.pipeline import Pipeline, SamplingConfig

FAILURES: list[str] = []
SUFFIX = uuid.uuid4().hex[:8]


def check(what: str, got: Any, want: Any) -> None:
    """Record whether ``got == want``; print one line either way."""
    if got == want:
        print(f"ok    {what}")
    else:
        FAILURES.append(f"{what}: got {got!r}, expected {want!r}")
        print(f"FAIL  {what}: got {got!r}, expected {want!r}")


def attempt(what: str, call: Callable[[], Any]) -> Any:
    """``call()``, or ``None`` with the failure recorded when it raises."""
    try:
        return call()
    except Exception as exc:  # the official client raises bare Exceptions for HTTP errors
        FAILURES.append(f"{what}: raised {type(exc).__name__}: {exc}")
        print(f"FAIL  {what}: raised {type(exc).__name__}: {exc}")
        return None


def create(build: Callable[[], Pipeline]) -> Pipeline:
    """``Pipeline.new`` for a recorded pipeline, under a name unique to this run."""
    built = build()
    return Pipeline.new(name=f"{built.name}-{SUFFIX}", nodes=built.nodes)


def outputs_of(what: str, pipeline: Pipeline, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """A blocking run's outputs; ``None`` (and a recorded failure) when it did not succeed."""
    answer = attempt(what, lambda: pipeline.run(inputs))
    if answer is None:
        return None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        FAILURES.append(f"{what}: run answered {answer!r}")
        print(f"FAIL  {what}: run answered {answer!r}")
        return None
    return dict(answer.get("outputs") or {})


# -- the client's surface, on the streaming pipeline -----------------------------------------

STREAM_INPUTS = {"style": "calm, slow, warm air", "topic": "rain and"}
STORY = "Write on RAIN ANDcalm, slow, warm"
STREAM_OUTPUTS = {
    "story": STORY,
    "story_text": STORY,
    "word_list": ["RAIN", "ANDcalm,", "slow,", "warm"],
    "part_list": ["calm", " slow", " warm air"],
}


def frames(lines: Iterable[bytes | str]) -> list[dict[str, Any]]:
    """The JSON ``data:`` payloads of raw SSE lines (what ``run(stream=True)`` yields)."""
    found = []
    for raw in lines:
        line = raw.decode() if isinstance(raw, bytes) else raw
        if line.startswith("data:"):
            found.append(json.loads(line[len("data:") :].strip()))
    return found


def surface() -> None:
    """new, save, fetch, run, start/status/result, raw and typed streams, terminate."""
    pipeline = create(recorded.text_processing_stream)
    check(
        "new: the pipeline has an id and a branch", bool(pipeline.id and pipeline.branch_id), True
    )
    saved = attempt("save", lambda: pipeline.save(description="saved by the official client"))
    check("save answers success", (saved or {}).get("status"), "success")
    fetched = attempt(
        "fetch by name", lambda: Pipeline.fetch(name=f"text_processing_stream-{SUFFIX}")
    )
    if fetched is not None:
        check("fetch by name finds the pipeline", fetched.id, pipeline.id)
        check(
            "fetch gives back every node",
            sorted(n.id for n in fetched.nodes),
            sorted(n.id for n in pipeline.nodes),
        )

    got = outputs_of("run", pipeline, STREAM_INPUTS)
    if got is not None:
        check("run outputs", got, STREAM_OUTPUTS)

    handler = attempt("start", lambda: pipeline.start(STREAM_INPUTS))
    if handler is not None:
        status = attempt("run_status", handler.run_status)
        check("run_status names the task", (status or {}).get("task_id"), handler.task_id)
        check(
            "run_status is a known state",
            (status or {}).get("status") in ("in_progress", "completed"),
            True,
        )
        check(
            "pipeline.run_status agrees",
            (
                attempt("pipeline.run_status", lambda: pipeline.run_status(handler.task_id)) or {}
            ).get("task_id"),
            handler.task_id,
        )
        final = attempt("result", lambda: handler.result(poll_interval=0.2, timeout=60))
        check("result status", (final or {}).get("status"), "completed")
        check("result outputs", (final or {}).get("result"), STREAM_OUTPUTS)

    raw = attempt("run(stream=True)", lambda: frames(pipeline.run(STREAM_INPUTS, stream=True)))
    if raw is not None:
        deltas = [
            f["output_value"]
            for f in raw
            if f.get("type") == "stream" and f.get("output_name") == "story"
        ]
        check("raw frames: story deltas add up to the story", "".join(deltas), STORY)
        check("raw frames: more than one story delta", len(deltas) > 1, True)
        check(
            "raw frames: the last is the result",
            (raw[-1].get("type"), raw[-1].get("status")),
            ("result", "success"),
        )
        check("raw frames: result outputs", raw[-1].get("outputs"), STREAM_OUTPUTS)

    chunks = attempt("stream()", lambda: list(pipeline.stream(STREAM_INPUTS)))
    if chunks is not None:
        deltas = [c.output_value for c in chunks if c.type == "stream" and c.output_name == "story"]
        check("stream(): story chunks add up to the story", "".join(deltas), STORY)
        check(
            "stream(): the last chunk is the result",
            (chunks[-1].type, chunks[-1].status),
            ("result", "success"),
        )
        check("stream(): chunks carry the run id", bool(chunks[-1].run_id), True)

    slow = Pipeline.new(name=f"slow-{SUFFIX}", nodes=_slow_nodes())
    handler = attempt("start a long run", lambda: slow.start({"q": "go"}))
    if handler is not None:
        time.sleep(0.3)
        answer = attempt("terminate", handler.terminate)
        check("terminate answers success", (answer or {}).get("status"), "success")
        state = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = (attempt("run_status after terminate", handler.run_status) or {}).get("status")
            if state != "in_progress":
                break
            time.sleep(0.1)
        check("a terminated run reads cancelled", state, "cancelled")


def _slow_nodes() -> list[Any]:
    """An input feeding a simulated model that takes a minute to answer."""
    p = Pipeline(name="slow")
    q = p.add(name="q", id="input_0").input(input_type="string")
    llm = p.add(name="llm", id="llm_0").llm(
        provider="local", model="lorem", prompt=q.text, sampling=SamplingConfig(max_tokens=3000)
    )
    p.add(name="out", id="output_0").output(output_type="string", value=llm.response)
    return list(p.nodes)


# -- versions, duplicate, remove_node ---------------------------------------------------------


def _echo_llm(word: str) -> Any:
    """An llm node ``llm_0`` echoing ``"<word> <query>"`` (the query is ``input_0``)."""
    p = Pipeline(name="words")
    q = p.add(name="query", id="input_0").input(input_type="string")
    return p.add(name="llm", id="llm_0").llm(
        provider="local", model="echo", prompt=f"{word} {q.text}"
    )


def _answer(what: str, call: Callable[[], Any]) -> Any:
    got = attempt(what, call)
    return (got or {}).get("result", {}).get("answer") if hasattr(got, "get") else None


def versions() -> None:
    """save with bumps, fetch(version=), start/stream(version=), revert, duplicate, remove_node."""
    p = Pipeline(name="versions")
    q = p.add(name="query", id="input_0").input(input_type="string")
    llm = p.add(name="llm", id="llm_0").llm(provider="local", model="echo", prompt=q.text)
    p.add(name="answer", id="output_0").output(output_type="string", value=llm.response)
    name = f"versions-{SUFFIX}"
    pipeline = attempt("versions: new", lambda: Pipeline.new(name=name, nodes=p.nodes))
    if pipeline is None:
        return
    check("save(deploy=True)", (attempt("save", pipeline.save) or {}).get("status"), "success")
    for word in ("one", "two"):
        pipeline.add_node(_echo_llm(word))
        saved = attempt(
            f"save(bump=minor) {word}",
            lambda word=word: pipeline.save(bump="minor", description=word),
        )
        check(f"save(bump='minor') {word}", (saved or {}).get("status"), "success")
    old = attempt("fetch(version='0.1.0')", lambda: Pipeline.fetch(id=pipeline.id, version="0.1.0"))
    check("fetch(version=) finds the pipeline", getattr(old, "id", None), pipeline.id)
    missing = attempt_error(lambda: Pipeline.fetch(id=pipeline.id, version="9.9.9"))
    check("fetch(version='9.9.9') is refused naming it", "9.9.9" in missing, True)
    handler = attempt(
        "start(version='0.1.0')", lambda: pipeline.start({"query": "q"}, version="0.1.0")
    )
    if handler is not None:
        check(
            "start(version=) runs that version",
            _answer("result", lambda: handler.result(poll_interval=0.2, timeout=60)),
            "one q",
        )
    chunks = attempt(
        "stream(version='latest')", lambda: list(pipeline.stream({"query": "q"}, version="latest"))
    )
    if chunks:
        check(
            "stream(version='latest') runs 0.2.0", (chunks[-1].outputs or {}).get("answer"), "two q"
        )
    reverted = attempt("revert('0.1.0')", lambda: pipeline.revert("0.1.0"))
    check("revert answers success", (reverted or {}).get("status"), "success")
    check(
        "after revert, run uses 0.1.0",
        (outputs_of("run after revert", pipeline, {"query": "q"}) or {}).get("answer"),
        "one q",
    )
    copy = attempt("duplicate()", pipeline.duplicate)
    if copy is not None:
        check("duplicate() makes a new pipeline", bool(copy.id) and copy.id != pipeline.id, True)
        check("duplicate() names the copy", copy.name, f"{name} (copy)")
        check(
            "the copy runs the current graph",
            (outputs_of("run the copy", copy, {"query": "q"}) or {}).get("answer"),
            "one q",
        )
    named = attempt(
        "duplicate(name=, description=)",
        lambda: pipeline.duplicate(name=f"{name}-2", description="copied"),
    )
    check("duplicate(name=) names the copy", getattr(named, "name", None), f"{name}-2")
    if copy is not None:
        refused = attempt_error(lambda: copy.remove_node(node_name="llm"))
        check(
            "remove_node refuses a referenced node, naming who uses it", "'answer'" in refused, True
        )
        removed = attempt("remove_node(node_id=)", lambda: copy.remove_node(node_id="output_0"))
        check("remove_node(node_id=) answers the id", (removed or {}).get("node_id"), "output_0")
        removed = attempt("remove_node(node_name=)", lambda: copy.remove_node(node_name="llm"))
        check("remove_node(node_name=) resolves the id", (removed or {}).get("node_id"), "llm_0")
        left = attempt("fetch the copy", lambda: Pipeline.fetch(id=copy.id))
        check(
            "the stored copy lost both nodes",
            sorted(n.id for n in getattr(left, "nodes", [])),
            ["input_0"],
        )


def attempt_error(call: Callable[[], Any]) -> str:
    """The message of what ``call()`` raised; a failure is recorded when it raises nothing."""
    try:
        call()
    except Exception as exc:  # the official client raises its own errors for HTTP errors
        return str(exc)
    FAILURES.append("expected an error, none was raised")
    print("FAIL  expected an error, none was raised")
    return ""


# -- every recorded pipeline, run ------------------------------------------------------------


def run_cases(name: str, cases: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Create ``name`` once, run it on each case's inputs, compare the outputs named there."""
    pipeline = attempt(f"{name}: new", lambda: create(recorded.PIPELINES[name]))
    if pipeline is None:
        return
    for inputs, want in cases:
        got = outputs_of(f"{name}: run {inputs}", pipeline, inputs)
        if got is not None:
            check(f"{name}: {inputs}", {key: got.get(key) for key in want}, want)


def pipelines(workdir: Path) -> None:
    when = "2024-05-01T12:00:00Z"
    run_cases(
        "typed_inputs",
        [
            (
                {
                    "title": "Report",
                    "count": 7,
                    "ratio": 0.25,
                    "flag": True,
                    "tags": ["a", "b"],
                    "when": when,
                    "payload": {"k": 1},
                    "feed": "x",
                },
                {
                    "summary_out": f"Report|7|0.25|true|a\nb|{when}",
                    "count_out": 7,
                    "ratio_out": 0.25,
                    "flag_out": True,
                },
            )
        ],
    )

    notes = workdir / "notes.txt"
    notes.write_text("hello file")
    media = {"doc": notes, "docs": ["a.txt", "b.txt"], "photo": "photo.png", "voice": "voice.mp3"}
    for name, inputs in (("file_inputs", media), ("typed_outputs", {**media, "when": when})):
        pipeline = attempt(f"{name}: new", lambda name=name: create(recorded.PIPELINES[name]))
        if pipeline is not None:
            got = run_or_refused(name, pipeline, inputs, LOCAL_REFUSES)
            if got is not None:
                about = str(got.get("about_out", "")).split(" / ")[0]
                doc = (got.get("doc_out") or {}).get("name")
                check(
                    f"{name}: the file's name",
                    about if name == "file_inputs" else doc,
                    "notes.txt: hello file" if name == "file_inputs" else "notes.txt",
                )
    file_upload(notes)

    run_cases(
        "number_operators",
        [
            ({"score": 95, "ratio": 0.2}, {"verdict": "top: 95"}),
            ({"score": 90, "ratio": 0.5}, {"verdict": "top: 90"}),
            ({"score": 60, "ratio": 0.9}, {"verdict": "pass: 60"}),
            ({"score": 42, "ratio": 1.0}, {"verdict": "pass: 42"}),
            ({"score": -5, "ratio": 1.0}, {"verdict": "odd: -5"}),
            ({"score": 10, "ratio": 0.7}, {"verdict": "odd: 10"}),
            ({"score": 10, "ratio": 1.0}, {"verdict": "other: 10"}),
        ],
    )
    run_cases(
        "text_operators",
        [
            ({"message": text}, {"verdict": f"{label}: {text}"})
            for text, label in [
                ("hello there", "greeting"),
                ("hello there!", "other"),
                ("hello, bye?", "question"),
                ("could you please help", "question"),
                ("this sentence is medium sized", "medium"),
                ("# this sentence is medium sized", "other"),
                ("short", "other"),
            ]
        ],
    )
    run_cases(
        "unary_and_collections",
        [
            ({"flag": True, "tags": ["urgent", "x"], "note": "n"}, {"verdict": "urgent: n"}),
            ({"flag": False, "tags": ["a"], "note": "n"}, {"verdict": "calm: n"}),
            # a OR b AND c is a OR (b AND c): true here, where (a OR b) AND c would be false
            ({"flag": False, "tags": ["spam"], "note": ""}, {"verdict": "noted: "}),
            ({"flag": True, "tags": ["b"], "note": "hi"}, {"verdict": "noted: hi"}),
            ({"flag": False, "tags": ["spam"], "note": "hi"}, {"verdict": "other: hi"}),
        ],
    )
    expression()
    run_cases("text_processing_stream", [(STREAM_INPUTS, STREAM_OUTPUTS)])
    run_cases(
        "layout_order",
        [
            ({"a": "x", "b": "y", "c": "z"}, {"out_both": "zy+x+x", "out_middle": "y"}),
        ],
    )


def expression() -> None:
    """``Expression`` takes the right path, or is refused by name (issue 9 allows that locally)."""
    pipeline = attempt("expression_operator: new", lambda: create(recorded.expression_operator))
    if pipeline is None:
        return
    for amount, want in ((50, "big: 50"), (3, "small: 3")):
        got = run_or_refused("expression_operator", pipeline, {"amount": amount}, ("Expression",))
        if got is not None:
            check(f"expression_operator: amount {amount}", got.get("verdict"), want)


LOCAL_REFUSES = ("vec<file>", "image", "audio")
"""Input types vectorshift.local may refuse by name: it cannot run them."""


def run_or_refused(
    name: str, pipeline: Pipeline, inputs: dict[str, Any], refusable: tuple[str, ...]
) -> dict[str, Any] | None:
    """A run's outputs, or ``None`` when the server refused it naming one of ``refusable``.

    Any other failure is recorded; so is a refusal that does not name what it refuses.
    """
    try:
        answer = pipeline.run(inputs)
    except Exception as exc:  # the official client raises on a 422
        answer = {"status": "failed", "error": str(exc)}
    if answer.get("status") == "success":
        return dict(answer.get("outputs") or {})
    error = str(answer.get("error"))
    named = [word for word in refusable if f"'{word}'" in error]
    check(f"{name}: refused by name ({', '.join(named) or 'nothing named'})", bool(named), True)
    return None


def file_upload(notes: Path) -> None:
    """A file input sent as multipart by the official client: its name and text come back."""
    p = Pipeline(name="upload")
    doc = p.add(name="doc", id="input_0").input(input_type="file")
    about = p.add(name="about", id="text_0").text(text=f"{doc.file_name}: {doc.processed_text}")
    p.add(name="about_out", id="output_0").output(output_type="string", value=about.text)
    p.add(name="doc_out", id="output_1").output(output_type="file", value=doc.file)
    pipeline = attempt("upload: new", lambda: Pipeline.new(name=f"upload-{SUFFIX}", nodes=p.nodes))
    if pipeline is None:
        return
    got = outputs_of("upload: run", pipeline, {"doc": notes})
    if got is not None:
        check("upload: the file's name and text", got.get("about_out"), "notes.txt: hello file")
        check(
            "upload: the file output names the file",
            (got.get("doc_out") or {}).get("name"),
            "notes.txt",
        )


def batch_and_node_classes() -> None:
    """Node classes in ``Pipeline.new(nodes=[...])``, batch nodes, and the run options."""
    from vectorshift.pipeline.nodes import InputNode, OutputNode, TextFormatterNode

    items = InputNode(node_name="items", input_type="vec<string>")
    upper = TextFormatterNode(text=items.value, formatter="To Uppercase", execution_mode="batch")
    out = OutputNode(node_name="upper_list", value=upper.output, output_type="vec<string>")
    classes = attempt(
        "new(nodes=[node classes]) with a batch node",
        lambda: Pipeline.new(name=f"batch_classes-{SUFFIX}", nodes=[items, upper, out]),
    )
    if classes is not None:
        check(
            "node classes: batch text_formatter runs per element",
            outputs_of("batch classes run", classes, {"items": ["x", "y"]}),
            {"upper_list": ["X", "Y"]},
        )
        answer = attempt(
            "run(stream_all_outputs=True, send_intermediate_results=False)",
            lambda: classes.run(
                {"items": ["a"]}, stream_all_outputs=True, send_intermediate_results=False
            ),
        )
        check("run with the official options", (answer or {}).get("outputs"), {"upper_list": ["A"]})
        lines = attempt(
            "run(stream=True, stream_all_outputs=True, send_intermediate_results=False)",
            lambda: list(
                classes.run(
                    {"items": ["b"]},
                    stream=True,
                    stream_all_outputs=True,
                    send_intermediate_results=False,
                )
            ),
        )
        names = {frame.get("output_name") for frame in frames(lines or [])}
        check(
            "streamed run sends the output, no intermediate results",
            "upper_list" in names and not any("." in str(n) for n in names if n),
            True,
        )
    built = attempt("new() for add_batch", lambda: Pipeline.new(name=f"add_batch-{SUFFIX}"))
    if built is None:
        return
    lists = built.add_batch(name="lists").llm(
        provider="local", model="echo", prompt=["a", "b"], system="shared"
    )
    built.add(name="answers").output(value=lists.response, output_type="vec<string>")
    if attempt("save() with an add_batch llm", built.save) is not None:
        check(
            "add_batch llm over a literal list",
            outputs_of("add_batch run", built, {}),
            {"answers": ["a", "b"]},
        )
    refused = attempt(
        "new() for batch on a text node", lambda: Pipeline.new(name=f"batch_refused-{SUFFIX}")
    )
    if refused is not None:
        refused.add_batch(name="note").text(text="x")
        try:
            refused.save()
            check("batch on a text node is refused", "saved", "refused")
        except Exception as exc:  # the official client's API errors
            check(
                "batch on a text node is refused, naming it",
                "note" in str(exc) and "execution_mode" in str(exc),
                True,
            )


# -- folders, sharing, bulk runs, the marketplace (issue 23) ---------------------------------


def raises(what: str, call: Callable[[], Any], words: str) -> None:
    """Check that ``call()`` raises an error whose message holds ``words``."""
    try:
        call()
    except Exception as exc:  # the official client's errors, and its ValueError
        check(what, words in str(exc), True)
    else:
        check(what, "no error", f"an error naming {words!r}")


def as_org(key: str | None, call: Callable[[], Any]) -> Any:
    """``call()`` with the official client acting for the organisation of ``key``."""
    saved = vectorshift.api_key
    vectorshift.api_key = key
    try:
        return call()
    finally:
        vectorshift.api_key = saved


def folders_and_sharing() -> None:
    """move_to_folder, list(folder_id=), share/unshare with list(include_shared=True)."""
    pipeline = attempt("folders: new", lambda: create(recorded.text_processing_stream))
    if pipeline is None:
        return
    folder = f"folder-{SUFFIX}"
    moved = attempt("move_to_folder", lambda: pipeline.move_to_folder(folder))
    check("move_to_folder answers success", (moved or {}).get("status"), "success")
    listed = attempt("list(folder_id=)", lambda: Pipeline.list(folder_id=folder)) or []
    check("list(folder_id=) lists the moved pipeline", [p.id for p in listed], [pipeline.id])
    check(
        "list() names its pipelines", [p.name for p in listed], [f"text_processing_stream-{SUFFIX}"]
    )
    try:
        pipeline.share()
    except ValueError:
        check("share() without an id raises ValueError before any request", True, True)
    else:
        check("share() without an id raises ValueError before any request", False, True)
    key, org = os.environ.get("COMPAT_OTHER_API_KEY"), os.environ.get("COMPAT_OTHER_ORG")
    if not (key and org):
        print("skip  sharing: set COMPAT_OTHER_API_KEY and COMPAT_OTHER_ORG")
        return
    shared = attempt("share(org_id=)", lambda: pipeline.share(org_id=org))
    check("share answers success", (shared or {}).get("status"), "success")
    seen = attempt(
        "fetch a shared pipeline", lambda: as_org(key, lambda: Pipeline.fetch(id=pipeline.id))
    )
    check("the other organisation fetches it", getattr(seen, "id", None), pipeline.id)
    both = (
        attempt(
            "list(include_shared=True)",
            lambda: as_org(key, lambda: Pipeline.list(include_shared=True)),
        )
        or []
    )
    check("list(include_shared=True) has it", pipeline.id in [p.id for p in both], True)
    own = attempt("list()", lambda: as_org(key, Pipeline.list)) or []
    check("list() without include_shared has not", pipeline.id in [p.id for p in own], False)
    if seen is not None:
        raises(
            "a viewer's save is refused naming the role",
            lambda: as_org(key, seen.save),
            "role 'viewer'",
        )
    gone = attempt("unshare(org_id=)", lambda: pipeline.unshare(org_id=org))
    check("unshare answers success", (gone or {}).get("status"), "success")
    raises(
        "after unshare the other organisation cannot fetch it",
        lambda: as_org(key, lambda: Pipeline.fetch(id=pipeline.id)),
        "not found",
    )


def bulk_and_marketplace() -> None:
    """bulk_run answers a list of {run_id, outputs}; publish and unpublish are refused."""
    pipeline = attempt("bulk: new", lambda: create(recorded.text_processing_stream))
    if pipeline is None:
        return
    answer = attempt("bulk_run", lambda: pipeline.bulk_run([STREAM_INPUTS, STREAM_INPUTS]))
    check("bulk_run answers a list", isinstance(answer, list), True)
    if isinstance(answer, list):
        check(
            "bulk_run: each item's outputs",
            [item.get("outputs") for item in answer],
            [STREAM_OUTPUTS] * 2,
        )
        check("bulk_run: each item has a run_id", all(item.get("run_id") for item in answer), True)
    feature = "publishing to the VectorShift marketplace has no meaning on vectorshift.local"
    raises(
        "publish is refused naming the marketplace",
        lambda: pipeline.publish("Title", description="d", tags=["a"], internal=True),
        feature,
    )
    raises(
        "unpublish is refused naming the marketplace", lambda: pipeline.unpublish("m-1"), feature
    )


def main() -> int:
    for variable in ("VECTORSHIFT_BASE_URL", "VECTORSHIFT_API_KEY"):
        if not os.environ.get(variable):
            print(
                f"compat_official: set {variable} (python -m vectorshift.local prints it)",
                file=sys.stderr,
            )
            return 2
    with tempfile.TemporaryDirectory() as workdir:
        surface()
        versions()
        pipelines(Path(workdir))
        batch_and_node_classes()
        folders_and_sharing()
        bulk_and_marketplace()
    if FAILURES:
        print(f"\n{len(FAILURES)} check(s) failed:", file=sys.stderr)
        for failure in FAILURES:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
