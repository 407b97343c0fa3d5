"""The ``vectorshift`` command, run as a subprocess against a real local server.

Every exit code the guide documents is produced here by the situation it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import Shell, streaming_pipeline
from tests.support import echo_pipeline, unique
from vectorshift import Client, Pipeline
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector


@pytest.fixture
def sh(server: LocalServer, tmp_path: Path) -> Shell:
    return Shell(home=tmp_path, base_url=server.base_url, api_key=server.api_key)


@pytest.fixture
def echo(client: Client) -> Pipeline:
    pipeline = echo_pipeline(unique("cli-echo"))
    pipeline._client = client
    return pipeline.save()


def test_help_lists_the_commands_and_the_exit_codes(sh: Shell) -> None:
    shown = sh("--help")
    assert shown.returncode == 0
    assert shown.stdout.startswith("usage: python -m vectorshift ")
    for command in ("run", "start", "runs", "pipelines", "local", "login", "logout"):
        assert f"    {command} " in shown.stdout
    assert "130 interrupted" in " ".join(shown.stdout.split())


def test_a_usage_error_exits_2_with_one_line(sh: Shell) -> None:
    wrong = sh("runs", "status", "only-one-argument")
    assert wrong.returncode == 2
    assert "the following arguments are required: TASK" in wrong.stderr


def test_start_status_and_wait_print_json_with_the_ids(sh: Shell, echo: Pipeline) -> None:
    started = sh.json("start", echo.name, "-i", "query=hello")
    assert set(started) == {"pipeline_id", "task_id", "trace_id"}
    assert started["pipeline_id"] == echo.id
    final = sh.json("runs", "wait", echo.name, started["task_id"], "--timeout", "30")
    assert (final["status"], final["outputs"]) == ("succeeded", {"answer": "hello"})
    assert final["task_id"] == started["task_id"]
    status = sh.json("runs", "status", str(echo.id), started["task_id"])
    assert status["status"] == "succeeded"


def test_run_prints_the_output_for_people_and_reads_inputs_from_files(
    sh: Shell, echo: Pipeline, tmp_path: Path
) -> None:
    (tmp_path / "query.txt").write_text("from a file", encoding="utf-8")
    done = sh("run", echo.name, "-i", f"query=@{tmp_path / 'query.txt'}")
    assert (done.returncode, done.stdout, done.stderr) == (0, "from a file\n", "")


def test_a_failed_run_exits_1_with_one_line_and_no_traceback(sh: Shell, client: Client) -> None:
    failing = echo_pipeline(unique("cli-fail"), model="nope")
    failing._client = client
    failing.save()
    done = sh("run", failing.name, "-i", "query=x")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("python -m vectorshift: error: PipelineRunFailedError: ")
    assert f"pipeline_id={failing.id}" in line and "task_id=" in line
    with_debug = sh("run", failing.name, "-i", "query=x", "--debug")
    assert with_debug.returncode == 1 and "Traceback (most recent call last)" in with_debug.stderr


def test_an_unknown_run_exits_3_and_names_the_request(sh: Shell, echo: Pipeline) -> None:
    done = sh("runs", "status", echo.name, "no-such-task")
    assert done.returncode == 3
    assert "NotFoundError" in done.stderr and "request_id=req_" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_refused_key_exits_3_and_is_never_printed(sh: Shell) -> None:
    done = sh("pipelines", "list", "--api-key", "sk-wrong-secret-value")
    assert done.returncode == 3 and "AuthenticationError" in done.stderr
    assert "sk-wrong-secret-value" not in done.stdout + done.stderr


def test_no_key_anywhere_exits_2(server: LocalServer, tmp_path: Path) -> None:
    done = Shell(tmp_path, server.base_url, None)("pipelines", "list")
    assert done.returncode == 2 and "ConfigurationError: no API key" in done.stderr


def test_a_wait_past_its_timeout_exits_4_and_says_how_to_wait_again(
    sh: Shell, client: Client
) -> None:
    slow = streaming_pipeline(client, unique("cli-slow"), tokens=40, delay_ms=100)
    task = sh.json("start", slow.name, "-i", "query=x")["task_id"]
    done = sh("runs", "wait", slow.name, task, "--timeout", "0.5")
    assert done.returncode == 4
    assert "PollTimeoutError" in done.stderr
    assert f"resume with: python -m vectorshift runs wait {slow.id} {task}" in done.stderr
    assert sh("runs", "terminate", slow.name, task).returncode == 0


def test_terminate_stops_the_run_and_its_status_then_exits_1(sh: Shell, client: Client) -> None:
    slow = streaming_pipeline(client, unique("cli-stop"), tokens=200, delay_ms=50)
    task = sh.json("start", slow.name, "-i", "query=x")["task_id"]
    stopped = sh("runs", "terminate", slow.name, task)
    assert (stopped.returncode, stopped.stdout) == (0, "cancelled\n")
    status = sh("runs", "status", slow.name, task)
    assert (status.returncode, status.stdout) == (1, "cancelled\n")
    assert sh("runs", "wait", slow.name, task).returncode == 1


def test_watch_resumes_a_stream_cut_mid_way_and_prints_every_token_once(
    sh: Shell, client: Client, faults: FaultInjector
) -> None:
    streamed = streaming_pipeline(client, unique("cli-watch"), tokens=12, delay_ms=20)
    task = sh.json("start", streamed.name, "-i", "query=x")["task_id"]
    answer = sh.json("runs", "wait", streamed.name, task)["outputs"]["answer"]
    faults.add(path=rf"/pipeline/{streamed.id}/run/events/", cut_after_frames=4, count=1)
    watched = sh("runs", "watch", streamed.name, task)
    assert (watched.returncode, watched.stdout) == (0, answer + "\n")
    faults.add(path=rf"/pipeline/{streamed.id}/run/events/", cut_after_frames=4, count=1)
    lines = [
        json.loads(line)
        for line in sh("runs", "watch", str(streamed.id), task, "--json").stdout.splitlines()
    ]
    ids = [int(line["id"]) for line in lines]
    assert ids == sorted(set(ids)), "every event once, in order, across the cut"
    assert lines[-1]["type"] == "result" and lines[-1]["status"] == "succeeded"
    assert {line["task_id"] for line in lines} == {task}
    tokens = [ln["output_value"] for ln in lines if ln["output_name"] == "answer"]
    assert "".join(tokens) == answer
    assert faults.seen("GET", f"/pipeline/{streamed.id}/run/events/") >= 4


def test_watch_after_the_last_event_of_an_ended_run_prints_its_status(
    sh: Shell, client: Client
) -> None:
    streamed = streaming_pipeline(client, unique("cli-watch-end"), tokens=3, delay_ms=0)
    task = sh.json("start", streamed.name, "-i", "query=x")["task_id"]
    lines = sh("runs", "watch", streamed.name, task, "--json").stdout.splitlines()
    last = json.loads(lines[-1])["id"]
    again = sh("runs", "watch", streamed.name, task, "--after", last)
    answer = json.loads(lines[-1])["outputs"]["answer"]
    assert (again.returncode, again.stdout, again.stderr) == (0, f"succeeded\n{answer}\n", "")
    document = sh.json("runs", "watch", streamed.name, task, "--after", last, "--json")
    assert (document["status"], document["task_id"]) == ("succeeded", task)

    failing = echo_pipeline(unique("cli-watch-failed"), model="nope")
    failing._client = client
    failing.save()
    failed = sh.json("start", failing.name, "-i", "query=x")["task_id"]
    assert sh("runs", "wait", failing.name, failed).returncode == 1
    events = sh("runs", "watch", failing.name, failed, "--json").stdout.splitlines()
    after_end = sh("runs", "watch", failing.name, failed, "--after", json.loads(events[-1])["id"])
    assert after_end.returncode == 1 and after_end.stdout.startswith("failed\nerror: ")


def test_run_stream_prints_tokens_and_json_lines_end_with_the_result(
    sh: Shell, client: Client
) -> None:
    streamed = streaming_pipeline(client, unique("cli-stream"), tokens=8, delay_ms=5)
    text = sh("run", streamed.name, "-i", "query=x", "--stream")
    lines = [
        json.loads(line)
        for line in sh(
            "run", streamed.name, "-i", "query=x", "--stream", "--json"
        ).stdout.splitlines()
    ]
    assert lines[-1]["type"] == "result"
    assert text.returncode == 0 and text.stdout == lines[-1]["outputs"]["answer"] + "\n"


def test_export_then_apply_round_trips_and_dry_run_changes_nothing(
    sh: Shell, echo: Pipeline, tmp_path: Path
) -> None:
    exported = sh("pipelines", "export", echo.name)
    assert exported.returncode == 0
    document = json.loads(exported.stdout)
    assert "id" not in document and document["name"] == echo.name
    same = tmp_path / "same.json"
    same.write_text(exported.stdout, encoding="utf-8")
    assert sh.json("pipelines", "apply", str(same))["action"] == "none"

    copy_name = unique("cli-copy")
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps({**document, "name": copy_name}), encoding="utf-8")
    planned = sh.json("pipelines", "apply", str(copy), "--dry-run")
    assert (planned["action"], planned["dry_run"]) == ("create", True)
    assert sh("pipelines", "show", copy_name).returncode == 3, "a dry run creates nothing"
    created = sh.json("pipelines", "apply", str(copy))
    assert created["action"] == "create" and created["added"] == ["query", "llm", "answer"]
    assert sh.json("pipelines", "show", copy_name)["id"] == created["id"]

    llm_id = next(i for i, node in document["nodes"].items() if node["name"] == "llm")
    prompt = document["nodes"][llm_id]["inputs"]["prompt"]
    document["nodes"][llm_id]["inputs"]["prompt"] = "Echo: " + prompt
    copy.write_text(json.dumps({**document, "name": copy_name}), encoding="utf-8")
    assert sh.json("pipelines", "apply", str(copy), "--dry-run")["changed"] == ["llm"]
    assert sh("run", copy_name, "-i", "query=hi").stdout == "hi\n", "dry run left it alone"
    updated = sh("pipelines", "apply", str(copy))
    assert updated.stdout.splitlines() == [
        f"updated pipeline {copy_name!r} ({created['id']})",
        "  changed: llm",
    ]
    assert sh("run", copy_name, "-i", "query=hi").stdout == "Echo: hi\n"
    deleted = sh("pipelines", "delete", copy_name)
    assert deleted.stdout == f"deleted pipeline {copy_name!r} ({created['id']})\n"
    assert sh("pipelines", "show", copy_name).returncode == 3


def test_pipelines_list_and_show_name_inputs_outputs_and_nodes(sh: Shell, echo: Pipeline) -> None:
    listed = {p["name"]: p for p in sh.json("pipelines", "list", "--limit", "1000")}
    assert listed[echo.name]["inputs"] == {"query": "string"}
    shown = sh("pipelines", "show", echo.name).stdout.splitlines()
    assert shown[0] == f"{echo.name} ({echo.id})"
    assert "  query: string" in shown and f"  llm: llm ({echo.node('llm').id})" in shown
    graph = shown[shown.index("graph:") + 1 :]
    assert graph == ["  " + line for line in echo.describe().splitlines()[1:]]
    assert graph[0] == "  0  query (input)"


def test_local_serve_is_the_local_server_command(sh: Shell) -> None:
    shown = sh("local", "serve", "--help")
    assert shown.returncode == 0
    assert shown.stdout.startswith("usage: python -m vectorshift local serve ")
    assert "--max-active-runs N" in shown.stdout
