"""examples/batch_workers under faults: a real redis-server, the platform in its own process
injecting 429s, 5xx and dropped connections, several worker processes, one SIGKILLed mid-batch,
and the producer run twice. Every input must run exactly once on the platform (counted in the
server's own database) and have its output stored once.

CI installs redis-server (.ci/run), so there a missing one fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "batch_workers"

pytestmark = pytest.mark.timeout(240)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: .ci/run installs it, so CI must have it")
    pytest.skip(reason, allow_module_level=True)


if shutil.which("redis-server") is None:
    _unavailable("redis-server is not installed (apt-get install redis-server)")
try:
    import redis
except ImportError:
    _unavailable("the redis package is not installed (pip install -e '.[test]')")

# Faults of the platform: the first starts all refused (so some starts run out of the SDK's
# retries and the example backs off), then random refusals, lost answers to starts that did
# start a run, and failing or dropped status checks.
FAULTS = [
    {"method": "POST", "path": r"/run$", "status": 429, "retry_after": 0.2, "count": 40},
    {"method": "POST", "path": r"/run$", "status": 429, "retry_after": 0.1, "probability": 0.1},
    {"method": "POST", "path": r"/run$", "drop": True, "when": "after", "probability": 0.1},
    {"method": "POST", "path": r"/run$", "status": 503, "when": "after", "probability": 0.05},
    {
        "method": "GET",
        "path": r"/run/status/",
        "status": 503,
        "retry_after": 0.1,
        "probability": 0.1,
    },
    {"method": "GET", "path": r"/run/status/", "drop": True, "probability": 0.05},
]


@dataclass
class Stack:
    """Redis and the platform, each in its own process, and the environment to reach them."""

    directory: Path
    db_path: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.env["REDIS_URL"], decode_responses=True)

    def script(self, name: str, *args: str, log: str) -> subprocess.Popen[bytes]:
        """Start an example script with its log in ``<directory>/<log>.log``."""
        env = {**self.env, "BATCH_LOG_FILE": str(self.directory / f"{log}.log")}
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLE / name), *args],
            env=env,
            cwd=self.directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def finish(self, name: str, *args: str, log: str) -> str:
        """Run an example script to its end; its output."""
        process = self.script(name, *args, log=log)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out.decode()[-3000:]
        return out.decode()

    def runs(self, pipeline_name: str) -> list[tuple[str, str, str]]:
        """``(task_id, status, inputs)`` of every run of a pipeline, from the server's database."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as db:
            return db.execute(
                "SELECT runs.task_id, runs.status, runs.inputs FROM runs "
                "JOIN pipelines ON pipelines.id = runs.pipeline_id WHERE pipelines.name = ?",
                (pipeline_name,),
            ).fetchall()


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check()`` holds; fails naming ``what`` after ``timeout``."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - began


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("batch")
    socket = directory / "redis.sock"
    redis_server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db_path = directory / "platform.db"
    platform = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vectorshift.local",
            "--port",
            "0",
            "--db",
            str(db_path),
            "--max-active-runs",
            "6",
            "--log-level",
            "warning",
            "--faults",
            json.dumps(FAULTS),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "VECTORSHIFT_LOCAL_API_KEY": "vs-local-dev"},  # as the README does
    )
    stack = Stack(directory, db_path, {})
    try:
        assert platform.stdout is not None
        first = platform.stdout.readline()
        assert first.startswith("vectorshift.local serving at "), first
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")},
            "REDIS_URL": f"unix://{socket}",
            "VECTORSHIFT_BASE_URL": first.split()[-1],
            # A dead worker is noticed within seconds, and its slots come free as fast.
            "BATCH_HEARTBEAT_MS": "3000",
            "BATCH_LEASE_MS": "2000",
            "BATCH_MAINTENANCE_CHANCE": "200000",
        }
        stack.env = env
        _wait_for("redis-server", lambda: socket.exists() and _pings(stack), 20)
        yield stack
    finally:
        for process in stack.processes:
            _stop(process)
        _stop(platform)
        _stop(redis_server)


def _pings(stack: Stack) -> bool:
    try:
        return bool(stack.redis().ping())
    except redis.ConnectionError:
        return False


def _broker_id(stack: Stack, log: str) -> str:
    text = (stack.directory / f"{log}.log").read_text(encoding="utf-8")
    found = re.search(r"broker id (\S+) ", text)
    assert found, text[-2000:]
    return found.group(1)


def _unacked(store: redis.Redis) -> int:
    return sum(store.scard(key) for key in store.scan_iter("dramatiq:__acks__.*"))


def _log_lines(directory: Path, prefix: str) -> list[str]:
    lines: list[str] = []
    for path in sorted(directory.glob(f"{prefix}*.log")):
        lines += path.read_text(encoding="utf-8").splitlines()
    return lines


RECORD = re.compile(r"^(producer|worker|reporter) \d{4}-\d\d-\d\d ")
"""The first line of a record (the others continue a message or a traceback)."""
FIELDS = re.compile(r" input=(\S+) task=(\S+) trace=(\S+)$")


def _assert_one_grep_follows_each_input(stack: Stack, batch: str) -> None:
    """Every record names input, task and trace; an input's trace id leads from the producer
    to the worker that stored its output, whose record names the run."""
    every = _log_lines(stack.directory, "producer-") + _log_lines(stack.directory, "worker-")
    lines = [line for line in every if RECORD.match(line)]
    assert lines and all(FIELDS.search(line) for line in lines), [
        line for line in lines if not FIELDS.search(line)
    ][:5]
    failures = [line for line in lines if "Failed to process message" in line]
    assert all(" input=doc-" in line for line in failures), failures
    for input_id, stored in stack.redis().hgetall(f"batch:{batch}:handles").items():
        ids = json.loads(stored)
        following = [line for line in lines if f"trace={ids['trace_id']}" in line]
        assert any(line.startswith("producer") for line in following), input_id
        stored_lines = [line for line in following if "output stored" in line]
        assert stored_lines and all(
            f"input={input_id} task={ids['task_id']} " in line for line in stored_lines
        ), following


def test_every_input_runs_once_through_a_killed_worker_and_a_second_producer(
    stack: Stack,
) -> None:
    batch, count = "faults", 60
    store, keys = stack.redis(), f"batch:{batch}"
    stack.finish(
        "producer.py", "--batch", batch, "--count", str(count), "--limit", "6", log="producer-1"
    )
    workers = [stack.script("worker.py", "--threads", "4", log=f"worker-{n}") for n in range(3)]
    _wait_for("a quarter of the outputs", lambda: store.hlen(f"{keys}:outputs") >= count // 4, 60)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    # The messages the killed worker had taken and not acknowledged: they must be given again.
    held = store.scard(f"dramatiq:__acks__.{_broker_id(stack, 'worker-0')}.batch")
    stack.finish(
        "producer.py", "--batch", batch, "--count", str(count), "--limit", "6", log="producer-2"
    )
    took = _wait_for(
        "every output, an empty queue and no message left unacknowledged",
        lambda: (
            store.hlen(f"{keys}:outputs") == count
            and store.llen("dramatiq:batch") == 0
            and _unacked(store) == 0
        ),
        90,
    )
    for worker in workers[1:]:
        _stop(worker)

    runs = stack.runs("batch-workers-example")
    per_input = Counter(json.loads(inputs)["document"] for _, _, inputs in runs)
    outputs = store.hgetall(f"{keys}:outputs")
    counters = store.hgetall(f"{keys}:counters")
    worker_lines = _log_lines(stack.directory, "worker-")
    backoffs = sum("rate limited" in line for line in worker_lines)
    skipped = sum("output already stored" in line for line in worker_lines)
    print(
        f"\nbatch of {count}, {held} messages held by the killed worker: "
        f"{len(runs)} runs on the platform, {len(outputs)} outputs, "
        f"writes={counters.get('writes')} second writes refused="
        f"{counters.get('duplicates', 0)}, deliveries skipped as done={skipped}, "
        f"rate-limit back-offs={backoffs}, all done {took:.1f}s after the second producer"
    )
    assert len(runs) == count and set(per_input.values()) == {1}, per_input
    assert {status for _, status, _ in runs} == {"completed"}
    assert counters["writes"] == str(count)
    assert sorted(outputs.values()) == sorted(per_input)  # the model echoes each document
    assert backoffs > 0
    assert held > 0
    assert store.hlen(f"{keys}:handles") == count
    _assert_one_grep_follows_each_input(stack, batch)


def test_the_reporter_terminates_the_batch_from_its_own_process(stack: Stack) -> None:
    batch, store = "stopped", stack.redis()
    stack.finish(
        "producer.py",
        "--batch",
        batch,
        "--count",
        "10",
        "--limit",
        "4",
        "--token-delay-ms",
        "3000",
        log="producer-stop",
    )
    worker = stack.script("worker.py", "--threads", "6", log="worker-stop")
    _wait_for(
        "four runs in progress",
        lambda: list(store.hvals(f"batch:{batch}:state")).count("started") == 4,
        60,
    )
    out = stack.finish("reporter.py", "--batch", batch, "--terminate", log="reporter")
    assert "terminated 4 runs" in out, out
    _wait_for(
        "every input at an end",
        lambda: list(store.hvals(f"batch:{batch}:state")).count("cancelled") == 10,
        60,
    )
    _stop(worker)
    runs = stack.runs("batch-workers-example-3000ms")
    assert len(runs) == 4 and {status for _, status, _ in runs} == {"cancelled"}, runs
    assert "10 cancelled, 0 running" in stack.finish(
        "reporter.py", "--batch", batch, log="reporter"
    )
