"""Record the official client's pipeline and run requests (tests/fixtures/official/requests/).

Run it with the python of a scratch venv that has the official client, never with this
project's venv (both packages are named ``vectorshift``)::

    python -m venv /some/scratch && /some/scratch/bin/pip install vectorshift==0.1.15
    /some/scratch/bin/python tools/record_official_requests.py

The script starts its own throwaway HTTP recorder on 127.0.0.1 (standard library only), points
the official client at it through ``VECTORSHIFT_BASE_URL``/``VECTORSHIFT_API_KEY`` (read when the
client is imported, so they are set first) and calls each public ``Pipeline``/``RunHandler``
method. Every request the client makes is written to ``requests/<step>.json`` (``<step>_<n>`` when
a step makes several): method, path relative to the base URL, query, the headers that matter
(the key redacted), and the body (JSON, or the multipart fields the client sends with files).

The recorder's answers are *invented*: plausible shapes so that the client's code goes on; the
file keeps the answer given under ``"answer"`` with ``"answer_observed": false``. What the
client's code reads from each answer is written up in ``FACTS.md`` from reading its code.

Each step that has an async twin (``arun``, ``asave``...) is run a second time through the twin;
the script fails unless the twin sends the same requests, and the file says which twin matched.

It also writes ``batch/*.json``: graphs with batch-mode nodes (``add_batch`` and
``execution_mode="batch"`` on node classes) serialised by the client's own
``_prepare_pipeline_data()``, like ``tools/record_official.py`` does for the other graphs, and
checks that ``Pipeline.new(name=..., nodes=[...])`` with ``vectorshift.pipeline.nodes`` classes
sends the graph the fluent builder makes (``text_processing_stream.json``).
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "official"
REQUESTS = OUT / "requests"
# not beside the other graphs: tests/test_official_fixtures.py wants a builder of ours for each
# of those, and this SDK has no batch mode yet
BATCH = OUT / "batch"
RECORDED_VERSION = "0.1.15"
API_KEY = "recorder-key"
PIPELINE_ID = "pipeline_0001"
BRANCH_ID = "branch_0001"
DUPLICATE_ID = "pipeline_0002"
TASK_ID = "task_0001"

# -- the recorder ---------------------------------------------------------------------------

LOG: list[dict[str, Any]] = []
STORE: dict[str, dict[str, Any]] = {}


def _multipart_fields(content_type: str, raw: bytes) -> list[dict[str, Any]]:
    """The parts of a multipart body: name, filename (files), value (fields) or size."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            parts.append({"name": name, "filename": filename, "bytes": len(payload)})
        else:
            parts.append({"name": name, "value": payload.decode()})
    return parts


def _answer(method: str, path: str, query: dict[str, Any], body: Any) -> tuple[Any, str]:
    """An invented answer the client's code can go on with, and its content type."""
    if method == "POST" and path == "/pipeline":
        STORE[PIPELINE_ID] = dict(body)
        return {"id": PIPELINE_ID, "branch_id": PIPELINE_ID}, "json"
    if method == "GET" and path == "/pipeline":
        pid = query.get("id", PIPELINE_ID)
        graph = STORE.get(pid) or STORE.get(PIPELINE_ID) or {"nodes": {}}
        obj = {
            "_id": pid,
            "name": graph.get("name", "facts"),
            "mainBranch": BRANCH_ID,
            "nodes": graph.get("nodes", {}),
            "canvas_metadata": graph.get("canvas_metadata", {}),
            "inputs": graph.get("inputs", {}),
            "outputs": graph.get("outputs", {}),
        }
        return {"object": obj}, "json"
    if method == "GET" and path == "/pipelines":
        return {"objects": [{"_id": PIPELINE_ID, "name": "facts"}]}, "json"
    if path.endswith("/duplicate"):
        STORE[DUPLICATE_ID] = STORE.get(PIPELINE_ID, {})
        return {"status": "success", "id": DUPLICATE_ID}, "json"
    if path.endswith("/bulk-run"):
        runs = body.get("runs", []) if isinstance(body, dict) else []
        return [{"run_id": f"run_{i}", "outputs": {}} for i, _ in enumerate(runs)], "json"
    if path.endswith("/run"):
        if isinstance(body, dict) and (body.get("stream") in (True, "true")):
            return (
                'event: output\ndata: {"output_name": "answer", "output_value": "hi"}\n\n'
                'event: end\ndata: {"run_id": "run_0001", "status": "completed", '
                '"outputs": {"answer": "hi"}}\n\n'
            ), "sse"
        if isinstance(body, dict) and body.get("background") in (True, "true"):
            return {"task_id": TASK_ID, "trace_id": "trace_0001"}, "json"
        return {"run_id": "run_0001", "outputs": {"answer": "hi"}}, "json"
    if "/run/status/" in path:
        return {"task_id": TASK_ID, "status": "completed", "result": {"answer": "hi"}}, "json"
    if path.endswith("/remove-node"):
        return {"status": "success", "node_id": "output_0"}, "json"
    if path == "/marketplace/publish":
        return {"status": "success", "id": "marketplace_0001"}, "json"
    return {"status": "success"}, "json"


class Recorder(BaseHTTPRequestHandler):
    """Logs each request and answers with ``_answer``."""

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.removeprefix("/v1")
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type", "")
        body: Any = None
        form: Any = None
        if content_type.startswith("multipart/form-data"):
            form = _multipart_fields(content_type, raw)
            content_type = "multipart/form-data"
            # what the fields say, as the server would rebuild the body from them
            body = {f["name"]: f["value"] for f in form if "value" in f}
        elif raw:
            body = json.loads(raw)
        auth = self.headers.get("Authorization", "")
        headers = {
            "Authorization": "Bearer <redacted>" if auth.startswith("Bearer ") else auth,
            "Content-Type": content_type or None,
        }
        answer, kind = _answer(self.command, path, query, body)
        entry: dict[str, Any] = {
            "method": self.command,
            "path": path,
            "query": query,
            "headers": headers,
        }
        if form is not None:
            entry["multipart"] = form
        else:
            entry["body"] = body
        entry["answer_observed"] = False
        entry["answer"] = answer
        LOG.append(entry)
        data = (answer if kind == "sse" else json.dumps(answer)).encode()
        self.send_response(200)
        self.send_header(
            "Content-Type", "text/event-stream" if kind == "sse" else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


# -- the steps -------------------------------------------------------------------------------

Step = tuple[str, Callable[[], Any], Callable[[], Awaitable[Any]] | None, str]
RESULTS: dict[str, Any] = {}


def build_steps(vs: Any) -> list[Step]:
    """Each step: name, the sync call, its async twin (or None), what it shows."""
    from vectorshift.pipeline import BumpLevel, Pipeline, RunHandler
    from vectorshift.pipeline.nodes import InputNode, LlmNode, OutputNode

    def nodes() -> list[Any]:
        question = InputNode(node_name="question", input_type="string", id="input_0")
        doc = InputNode(node_name="doc", input_type="file", id="input_1")
        llm = LlmNode(
            node_name="writer",
            id="llm_0",
            provider="openai",
            model="gpt-4o",
            prompt=question.text,
            system="Be brief.",
        )
        out = OutputNode(
            node_name="answer", id="output_0", output_type="string", value=llm.response
        )
        return [question, doc, llm, out]

    state: dict[str, Any] = {}

    def p() -> Any:
        return state["p"]

    def new() -> Any:
        state["p"] = Pipeline.new(name="facts", nodes=nodes())
        return state["p"]

    async def anew() -> Any:
        return await Pipeline.anew(name="facts", nodes=nodes())

    inputs = {"question": "hi", "doc": "plain text, not a file"}
    file_inputs = {"question": "hi", "doc": b"%PDF-1.4 fake"}

    def twin(method: str, /, *args: Any, **kwargs: Any) -> Callable[[], Awaitable[Any]]:
        async def call() -> Any:
            result = getattr(p(), method)(*args, **kwargs)
            if not hasattr(result, "__aiter__"):
                result = await result  # arun(stream=True) answers an async generator
            if hasattr(result, "__aiter__"):
                return [chunk async for chunk in result]
            return result

        return call

    def stream_list(gen: Any) -> list[Any]:
        return list(gen)

    steps: list[Step] = [
        (
            "new",
            new,
            anew,
            "Pipeline.new(name=, nodes=[node classes]): create, then fetch by id for mainBranch",
        ),
        (
            "fetch_by_id",
            lambda: Pipeline.fetch(id=PIPELINE_ID),
            lambda: Pipeline.afetch(id=PIPELINE_ID),
            "Pipeline.fetch(id=)",
        ),
        (
            "fetch_version",
            lambda: Pipeline.fetch(id=PIPELINE_ID, branch_id=BRANCH_ID, version="1.2.0"),
            lambda: Pipeline.afetch(id=PIPELINE_ID, branch_id=BRANCH_ID, version="1.2.0"),
            "Pipeline.fetch(id=, branch_id=, version=)",
        ),
        (
            "fetch_by_name",
            lambda: Pipeline.fetch(
                name="facts",
                username="someone",
                org_name="acme",
                branch_id=BRANCH_ID,
                version="latest",
            ),
            lambda: Pipeline.afetch(
                name="facts",
                username="someone",
                org_name="acme",
                branch_id=BRANCH_ID,
                version="latest",
            ),
            "Pipeline.fetch(name=, username=, org_name=); branch_id/version dropped without id",
        ),
        ("list", lambda: Pipeline.list(), lambda: Pipeline.alist(), "Pipeline.list()"),
        (
            "list_all_params",
            lambda: Pipeline.list(
                folder_id="folder_0001", include_shared=True, verbose=False, offset=10, limit=5
            ),
            lambda: Pipeline.alist(
                folder_id="folder_0001", include_shared=True, verbose=False, offset=10, limit=5
            ),
            "Pipeline.list(folder_id=, include_shared=, verbose=, offset=, limit=)",
        ),
        ("save", lambda: p().save(), twin("asave"), "save(): deploy=True by default"),
        (
            "save_no_deploy",
            lambda: p().save(deploy=False),
            twin("asave", deploy=False),
            "save(deploy=False)",
        ),
        (
            "save_bump",
            lambda: p().save(bump=BumpLevel.MINOR, description="second"),
            twin("asave", bump=BumpLevel.MINOR, description="second"),
            "save(bump=BumpLevel.MINOR, description=)",
        ),
        (
            "save_bump_str",
            lambda: p().save(bump="patch"),
            twin("asave", bump="patch"),
            "save(bump='patch') as a plain string",
        ),
        ("run", lambda: p().run(inputs), twin("arun", inputs), "run(inputs) blocking"),
        (
            "run_all_options",
            lambda: p().run(
                inputs,
                stream_all_outputs=True,
                session_id="session_0001",
                node_input_overrides={"llm_0": {"system": "Be long."}},
                send_intermediate_results=False,
            ),
            twin(
                "arun",
                inputs,
                stream_all_outputs=True,
                session_id="session_0001",
                node_input_overrides={"llm_0": {"system": "Be long."}},
                send_intermediate_results=False,
            ),
            "run(stream_all_outputs=, session_id=, node_input_overrides=, "
            "send_intermediate_results=)",
        ),
        (
            "run_stream",
            lambda: stream_list(p().run(inputs, stream=True)),
            twin("arun", inputs, stream=True),
            "run(stream=True): raw SSE lines",
        ),
        (
            "run_file",
            lambda: p().run(file_inputs),
            twin("arun", file_inputs),
            "run() with bytes for a file input: multipart",
        ),
        ("start", lambda: p().start(inputs), twin("astart", inputs), "start(inputs)"),
        (
            "start_all_options",
            lambda: p().start(
                inputs,
                session_id="session_0001",
                node_input_overrides={},
                send_intermediate_results=True,
                webhook_url="https://hooks.example.invalid/done",
                version="1.2.0",
                trace_id="trace_0001",
            ),
            twin(
                "astart",
                inputs,
                session_id="session_0001",
                node_input_overrides={},
                send_intermediate_results=True,
                webhook_url="https://hooks.example.invalid/done",
                version="1.2.0",
                trace_id="trace_0001",
            ),
            "start(session_id=, node_input_overrides=, send_intermediate_results=, "
            "webhook_url=, version=, trace_id=)",
        ),
        (
            "stream",
            lambda: stream_list(p().stream(inputs)),
            twin("astream", inputs),
            "stream(inputs): StreamChunk objects",
        ),
        (
            "stream_version",
            lambda: stream_list(p().stream(inputs, stream_all_outputs=True, version="latest")),
            twin("astream", inputs, stream_all_outputs=True, version="latest"),
            "stream(stream_all_outputs=, version=)",
        ),
        (
            "run_status",
            lambda: p().run_status(TASK_ID),
            twin("arun_status", TASK_ID),
            "Pipeline.run_status(run_id)",
        ),
        (
            "terminate",
            lambda: p().terminate("run_0001"),
            twin("aterminate", "run_0001"),
            "Pipeline.terminate(run_id)",
        ),
        (
            "run_handler_status",
            lambda: RunHandler(PIPELINE_ID, TASK_ID).run_status(),
            lambda: RunHandler(PIPELINE_ID, TASK_ID).arun_status(),
            "RunHandler(pipeline_id, task_id) positional; run_status()",
        ),
        (
            "run_handler_terminate",
            lambda: RunHandler(PIPELINE_ID, TASK_ID).terminate(),
            lambda: RunHandler(PIPELINE_ID, TASK_ID).aterminate(),
            "RunHandler.terminate()",
        ),
        (
            "run_handler_result",
            lambda: RunHandler(PIPELINE_ID, TASK_ID).result(poll_interval=0.01, timeout=5),
            lambda: RunHandler(PIPELINE_ID, TASK_ID).aresult(poll_interval=0.01, timeout=5),
            "RunHandler.result(poll_interval=, timeout=): polls run/status",
        ),
        (
            "bulk_run",
            lambda: p().bulk_run([inputs, {"question": "yo", "doc": "x"}]),
            twin("abulk_run", [inputs, {"question": "yo", "doc": "x"}]),
            "bulk_run(list)",
        ),
        (
            "duplicate",
            lambda: p().duplicate(),
            twin("aduplicate"),
            "duplicate(): then fetch of the new id",
        ),
        (
            "duplicate_all_params",
            lambda: p().duplicate(name="copy", description="a copy", folder_id="folder_0001"),
            twin("aduplicate", name="copy", description="a copy", folder_id="folder_0001"),
            "duplicate(name=, description=, folder_id=)",
        ),
        ("revert", lambda: p().revert("0.2.0"), twin("arevert", "0.2.0"), "revert(version)"),
        (
            "move_to_folder",
            lambda: p().move_to_folder("folder_0001"),
            twin("amove_to_folder", "folder_0001"),
            "move_to_folder(folder_id)",
        ),
        ("publish", lambda: p().publish("Facts"), twin("apublish", "Facts"), "publish(title)"),
        (
            "publish_all_params",
            lambda: p().publish("Facts", description="d", tags=["a", "b"], internal=True),
            twin("apublish", "Facts", description="d", tags=["a", "b"], internal=True),
            "publish(title, description=, tags=, internal=)",
        ),
        (
            "unpublish",
            lambda: p().unpublish("marketplace_0001"),
            twin("aunpublish", "marketplace_0001"),
            "unpublish(marketplace_id)",
        ),
        (
            "share_user",
            lambda: p().share(user_id="user_0002"),
            twin("ashare", user_id="user_0002"),
            "share(user_id=): role viewer by default",
        ),
        (
            "share_org",
            lambda: p().share(org_id="org_0002", role="editor", name="Acme"),
            twin("ashare", org_id="org_0002", role="editor", name="Acme"),
            "share(org_id=, role='editor', name=)",
        ),
        (
            "unshare",
            lambda: p().unshare(user_id="user_0002", org_id="org_0002"),
            twin("aunshare", user_id="user_0002", org_id="org_0002"),
            "unshare(user_id=, org_id=)",
        ),
        (
            "remove_node_by_name",
            lambda: p().remove_node(node_name="doc"),
            twin("aremove_node", node_name="doc"),
            "remove_node(node_name=)",
        ),
        (
            "remove_node_by_id",
            lambda: p().remove_node(node_id="input_1"),
            twin("aremove_node", node_id="input_1"),
            "remove_node(node_id=)",
        ),
        ("delete", lambda: p().delete(), twin("adelete"), "delete()"),
    ]
    return steps


def comparable(entries: list[dict[str, Any]]) -> list[Any]:
    """What must match between a sync call and its async twin.

    Multipart part order aside, and the file name of an upload without one: requests names it
    after the field, aiohttp ``file``; the input it fills is the part's name either way.
    """
    out = []
    for e in entries:
        parts = [{k: v for k, v in x.items() if k != "filename"} for x in e.get("multipart", [])]
        out.append(
            (
                e["method"],
                e["path"],
                e["query"],
                json.dumps(e.get("body"), sort_keys=True),
                sorted(json.dumps(x, sort_keys=True) for x in parts) if parts else None,
            )
        )
    return out


def record_requests(vs: Any) -> list[str]:
    problems = []
    for old in REQUESTS.glob("*.json"):
        old.unlink()
    REQUESTS.mkdir(parents=True, exist_ok=True)
    for name, call, acall, what in build_steps(vs):
        start = len(LOG)
        RESULTS[name] = call()
        entries = LOG[start:]
        twin_name = None
        if acall is not None:
            start = len(LOG)
            asyncio.run(_run_twin(acall))
            if comparable(LOG[start:]) != comparable(entries):
                problems.append(
                    f"{name}: the async twin sent other requests: "
                    f"{comparable(LOG[start:])} vs {comparable(entries)}"
                )
            twin_name = getattr(acall, "__qualname__", "")
        for index, entry in enumerate(entries):
            fname = name if len(entries) == 1 else f"{name}_{index}"
            data = {
                "step": name,
                "call": what,
                "request": index + 1,
                "of": len(entries),
                "async_twin_sends_the_same": acall is not None,
                **entry,
            }
            (REQUESTS / f"{fname}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(f"{name}: {len(entries)} request(s)" + ("" if twin_name is None else ", twin ok"))
    return problems


async def _run_twin(acall: Callable[[], Awaitable[Any]]) -> None:
    from vectorshift.request import async_request_client

    try:
        await acall()
    finally:
        await async_request_client.close()


# -- batch graphs ----------------------------------------------------------------------------


def record_batch_graphs() -> list[str]:
    from vectorshift.pipeline import Pipeline
    from vectorshift.pipeline.nodes import (
        InputNode,
        LlmNode,
        OutputNode,
        SplitTextNode,
        TextFormatterNode,
        TextNode,
    )

    graphs: dict[str, Any] = {}

    # add_batch on an llm: prompt fed by a vec<string> input, system shared by a text node
    p = Pipeline(name="batch_llm")
    questions = p.add(name="questions", id="input_0").input(input_type="vec<string>")
    system = p.add(name="system_prompt", id="text_0").text(text="Answer in one line.")
    llm = p.add_batch(name="answers", id="llm_0").llm(
        provider="openai", model="gpt-4o", prompt=questions.value, system=system.text
    )
    p.add(name="answer_list", id="output_0").output(output_type="vec<string>", value=llm.response)
    graphs["llm"] = p

    # literal list values vs shared scalars: what batchModeConfig records
    p = Pipeline(name="batch_literals")
    p.add_batch(name="lists", id="llm_0").llm(
        provider="openai", model="gpt-4o", prompt=["a", "b"], system="shared"
    )
    shout = p.add_batch(name="shout", id="text_formatter_0").text_formatter(
        formatter="To Uppercase", text=["x", "y"]
    )
    words = p.add_batch(name="words", id="split_text_0").split_text(
        delimiter="space", text=shout.output
    )
    p.add(name="word_lists", id="output_0").output(output_type="json", value=words.processed_text)
    graphs["literals"] = p

    # execution_mode="batch" given to node classes, passed to Pipeline(nodes=[...])
    items = InputNode(node_name="items", id="input_0", input_type="vec<string>")
    upper = TextFormatterNode(
        node_name="upper",
        id="text_formatter_0",
        formatter="To Uppercase",
        text=items.value,
        execution_mode="batch",
    )
    note = TextNode(node_name="note", id="text_0", text=upper.output)
    out = OutputNode(node_name="upper_list", id="output_0", output_type="json", value=note.text)
    graphs["node_classes"] = Pipeline(name="batch_node_classes", nodes=[items, upper, note, out])
    del SplitTextNode, LlmNode  # imported to show the class names exist

    for name, pipeline in graphs.items():
        graph = pipeline._prepare_pipeline_data()
        BATCH.mkdir(parents=True, exist_ok=True)
        (BATCH / f"{name}.json").write_text(json.dumps(graph, indent=1) + "\n")
        print(f"wrote batch/{name}.json ({len(graph['nodes'])} nodes)")

    # node classes give the fluent builder's graph
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import record_official

    del record_official  # its builder made the recorded fixture compared below
    rebuilt = _text_processing_stream_with_classes()
    recorded = json.loads((OUT / "text_processing_stream.json").read_text())
    if _sets(rebuilt._prepare_pipeline_data()) != _sets(recorded):
        return ["node classes: Pipeline(nodes=[...]) differs from the fluent builder's graph"]
    print("node classes: same graph as the fluent builder (text_processing_stream)")
    return []


def _text_processing_stream_with_classes() -> Any:
    """``record_official.text_processing_stream`` written with node classes, keywords only."""
    from vectorshift.pipeline import Pipeline
    from vectorshift.pipeline.nodes import (
        CombineTextNode,
        InputNode,
        LlmNode,
        OutputNode,
        SplitTextNode,
        TextFormatterNode,
    )

    style = InputNode(node_name="style", id="input_0", input_type="string")
    topic = InputNode(node_name="topic", id="input_1", input_type="string")
    shout = TextFormatterNode(
        node_name="shout", id="text_formatter_0", text=topic.text, formatter="To Uppercase"
    )
    trimmed = TextFormatterNode(
        node_name="trimmed",
        id="text_formatter_1",
        text=style.text,
        formatter="Truncate",
        max_num_token=3,
    )
    joined = CombineTextNode(
        node_name="joined", id="combine_text_0", text=[shout.output, trimmed.output]
    )
    words = SplitTextNode(
        node_name="words", id="split_text_0", text=joined.processed_text, delimiter="space"
    )
    parts = SplitTextNode(
        node_name="parts",
        id="split_text_1",
        text=style.text,
        delimiter="character(s)",
        character=",",
    )
    writer = LlmNode(
        node_name="writer",
        id="llm_0",
        provider="local",
        model="echo",
        prompt=f"Write on {joined.processed_text}",
        system="Be brief.",
        stream=True,
    )
    nodes = [
        style,
        topic,
        shout,
        trimmed,
        joined,
        words,
        parts,
        writer,
        OutputNode(
            node_name="story", id="output_0", output_type="stream<string>", value=writer.response
        ),
        OutputNode(
            node_name="story_text", id="output_1", output_type="string", value=writer.response
        ),
        OutputNode(
            node_name="word_list", id="output_2", output_type="json", value=words.processed_text
        ),
        OutputNode(
            node_name="part_list", id="output_3", output_type="json", value=parts.processed_text
        ),
    ]
    return Pipeline(name="text_processing_stream", nodes=nodes)


def _sets(graph: dict[str, Any]) -> str:
    graph = json.loads(json.dumps(graph))
    for node in graph["nodes"].values():
        node["outputs"] = sorted(set(node["outputs"]))
    graph["canvas_metadata"]["edges"] = sorted(
        {json.dumps(e, sort_keys=True) for e in graph["canvas_metadata"]["edges"]}
    )
    return json.dumps(graph, sort_keys=True)


def main() -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        return subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env).returncode
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["VECTORSHIFT_BASE_URL"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
    os.environ["VECTORSHIFT_API_KEY"] = API_KEY
    try:
        import vectorshift
        from vectorshift.pipeline import BumpLevel  # only the official package has it
    except ImportError:
        sys.exit("this needs the official client: run it with the python of a venv that has it")
    del BumpLevel
    import importlib.metadata

    version = importlib.metadata.version("vectorshift")
    if version != RECORDED_VERSION:
        print(
            f"recording with vectorshift {version}, the README says {RECORDED_VERSION}",
            file=sys.stderr,
        )
    try:
        problems = record_requests(vectorshift) + record_batch_graphs()
    finally:
        server.shutdown()
    for problem in problems:
        print(f"FAIL  {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
