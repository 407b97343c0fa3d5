"""The command speaks as a command: flags and commands in its errors, JSON errors with --json,
and nothing a server sends can drive the terminal. Run as a subprocess against a real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.cli_support import Shell, streaming_pipeline
from tests.support import echo_pipeline, unique
from vectorshift import Client, Pipeline
from vectorshift.local import LocalServer

HOSTILE = "evil\x1b]0;pwned\x07\x9b31m\u202eTXT\x00end"
"""An OSC that retitles the window, a C1 CSI, a bidi override and a NUL."""


@pytest.fixture
def sh(server: LocalServer, tmp_path: Path) -> Shell:
    return Shell(home=tmp_path, base_url=server.base_url, api_key=server.api_key)


def assert_inert(text: str) -> None:
    for char in ("\x1b", "\x9b", "\x07", "\x00", "\u202e"):
        assert char not in text, f"{char!r} reached the terminal: {text!r}"


def test_no_key_names_the_flag_and_the_login_command(server: LocalServer, tmp_path: Path) -> None:
    done = Shell(tmp_path, server.base_url, None)("pipelines", "list")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert "--api-key KEY" in line and "python -m vectorshift login" in line
    assert "Client(" not in line and "vectorshift.api_key" not in line


def test_a_refused_key_given_by_flag_is_named_as_the_flag(sh: Shell) -> None:
    done = sh("pipelines", "list", "--api-key", "sk-wrong-key-1234")
    assert done.returncode == 3
    assert "came from --api-key" in done.stderr and "Client(" not in done.stderr


def test_a_bad_base_url_is_named_as_the_flag(sh: Shell) -> None:
    done = sh("pipelines", "list", "--base-url", "ftp://nowhere")
    assert done.returncode == 2
    assert "--base-url 'ftp://nowhere'" in done.stderr and "base_url" not in done.stderr


def test_a_timed_out_wait_says_the_command_not_the_python_call(sh: Shell, client: Client) -> None:
    slow = streaming_pipeline(client, unique("cli-msg-slow"), tokens=40, delay_ms=100)
    task = sh.json("start", slow.name, "-i", "query=x")["task_id"]
    done = sh("runs", "wait", slow.name, task, "--timeout", "0.3")
    assert done.returncode == 4
    error, resume = done.stderr.splitlines()
    assert "the run did not finish within 0.3s" in error and f"task_id={task}" in error
    assert "RunHandler" not in done.stderr and ".result()" not in done.stderr
    command = f"python -m vectorshift runs wait {slow.id} {task}"
    assert resume == f"the run goes on; resume with: {command}"
    assert sh("runs", "terminate", slow.name, task).returncode == 0


def test_with_json_an_error_is_one_json_object_on_stderr(sh: Shell) -> None:
    done = sh("runs", "status", "0123456789abcdef01234567", "no-such-task", "--json")
    assert done.returncode == 3 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    error = json.loads(line)["error"]
    assert error["type"] == "NotFoundError" and error["status_code"] == 404
    assert error["request_id"].startswith("req_") and error["exit_code"] == 3
    assert "not found" in error["message"]


def test_with_json_a_timeout_carries_the_resume_command(sh: Shell, client: Client) -> None:
    slow = streaming_pipeline(client, unique("cli-msg-json"), tokens=40, delay_ms=100)
    task = sh.json("start", slow.name, "-i", "query=x")["task_id"]
    done = sh("runs", "wait", slow.name, task, "--timeout", "0.3", "--json")
    assert done.returncode == 4
    error = json.loads(done.stderr)["error"]
    assert error["type"] == "PollTimeoutError" and error["task_id"] == task
    assert error["resume"] == f"python -m vectorshift runs wait {slow.id} {task}"
    assert sh("runs", "terminate", slow.name, task).returncode == 0


def test_an_empty_list_says_so_on_stderr(server: LocalServer, tmp_path: Path) -> None:
    key = f"vs-empty-{uuid.uuid4().hex}"
    server.config.api_keys[key] = f"org-empty-{uuid.uuid4().hex}"
    try:
        done = Shell(tmp_path, server.base_url, key)("pipelines", "list")
        assert (done.returncode, done.stdout) == (0, "")
        assert done.stderr == "no pipelines in this organisation\n"
        as_json = Shell(tmp_path, server.base_url, key)("pipelines", "list", "--json")
        assert (as_json.stdout, as_json.stderr) == ("[]\n", "")
    finally:
        server.config.api_keys.pop(key, None)


def test_names_descriptions_and_outputs_never_drive_the_terminal(sh: Shell, client: Client) -> None:
    pipeline = echo_pipeline(unique("cli-msg") + HOSTILE)
    pipeline._client = client
    pipeline.description = "clears the screen\x1b[2J\x9b2J"
    pipeline.save()
    for args in (
        ("pipelines", "list"),
        ("pipelines", "show", str(pipeline.id)),
        ("run", str(pipeline.id), "-i", "query=" + HOSTILE.replace("\x00", "")),
    ):
        done = sh(*args)
        assert done.returncode == 0, done.stderr
        assert_inert(done.stdout + done.stderr)
    shown = sh("pipelines", "show", str(pipeline.id)).stdout
    assert "evil\\x1b]0;pwned\\x07\\x9b31m\\u202eTXT\\x00end" in shown
    assert "clears the screen\\x1b[2J\\x9b2J" in shown
    as_json = sh("pipelines", "show", str(pipeline.id), "--json")
    assert_inert(as_json.stdout)
    assert json.loads(as_json.stdout)["name"] == pipeline.name


def test_a_server_error_message_never_drives_the_terminal(sh: Shell) -> None:
    done = sh("pipelines", "show", "no such \x1b[31mpipeline\x9b")
    assert done.returncode == 3
    assert_inert(done.stderr)
    assert "\\x1b[31m" in done.stderr


def test_a_fetched_pipeline_keeps_its_name(client: Client) -> None:
    # The escaping is the command's, for the terminal: the SDK returns the name as stored.
    pipeline = echo_pipeline(unique("kept") + "\x1b")
    pipeline._client = client
    pipeline.save()
    assert Pipeline.fetch(id=pipeline.id, client=client).name == pipeline.name


def test_a_typed_input_that_is_not_json_is_a_usage_error(sh: Shell, client: Client) -> None:
    pipeline = Pipeline(unique("cli-int"), client=client)
    count = pipeline.add(name="count").input(input_type="int32")
    pipeline.add(name="doubled").output(count.value, output_type="int32")
    pipeline.save()
    done = sh("run", pipeline.name, "-i", "count=abc")
    assert (done.returncode, done.stdout) == (2, "")
    assert "-i count=abc: input 'count' is of type int32, and its value is read as JSON" in (
        done.stderr
    )
    as_json = sh("run", pipeline.name, "-i", "count=abc", "--json")
    assert json.loads(as_json.stderr)["error"]["exit_code"] == 2
    ok = sh("run", pipeline.name, "-i", "count=3")
    assert (ok.returncode, ok.stdout) == (0, "3\n")
