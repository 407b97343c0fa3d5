"""``vectorshift runs watch`` in a real terminal (a pty): tokens as produced, Ctrl-C exits 130.

The command runs as a session leader whose controlling terminal is the pty, so the byte
``\\x03`` written to the terminal is the user's Ctrl-C: the terminal sends SIGINT.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.cli_support import Shell, streaming_pipeline
from tests.support import unique
from vectorshift import Client
from vectorshift.local import LocalServer

# Make the pty (already stdin) the controlling terminal of the new session, then become the
# command.
ATTACH = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def read_for(master: int, seconds: float) -> list[tuple[float, bytes]]:
    """What the terminal shows in the next ``seconds``, with the time each piece came."""
    pieces = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([master], [], [], left)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            pieces.append((time.monotonic(), data))
    return pieces


def test_watch_shows_tokens_as_they_come_and_ctrl_c_exits_130_with_the_resume_command(
    server: LocalServer, client: Client, tmp_path: Path
) -> None:
    pipeline = streaming_pipeline(client, unique("cli-tty"), tokens=60, delay_ms=100)
    sh = Shell(tmp_path, server.base_url, server.api_key)
    task = sh.json("start", pipeline.name, "-i", "query=x")["task_id"]
    master, slave = os.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ATTACH,
            "-m",
            "vectorshift",
            "runs",
            "watch",
            str(pipeline.id),
            task,
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=sh.env(),
        start_new_session=True,
    )
    os.close(slave)
    try:
        shown = read_for(master, 2.5)
        text = b"".join(data for _, data in shown).decode()
        assert len(shown) >= 5, f"tokens should come one by one, got {shown!r}"
        assert shown[-1][0] - shown[0][0] > 1.0, "spread over the run, not all at the end"
        os.write(master, b"\x03")
        assert process.wait(timeout=20) == 130
        after = b"".join(data for _, data in read_for(master, 1.0)).decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    resume = re.search(
        r"resume with: python -m vectorshift (runs watch \S+ \S+ --after \d+)", after
    )
    assert resume, after
    assert "Traceback" not in after and "interrupted" in after
    rest = sh(*resume.group(1).split())
    assert rest.returncode == 0
    final = sh.json("runs", "status", pipeline.name, task)
    assert final["status"] == "succeeded", "Ctrl-C left the run going"
    # Tokens printed between the end of the first read and the Ctrl-C come before the note, with
    # the terminal's echo of the Ctrl-C (^C) and the progress line's erasure among them.
    late = after[: after.index("python -m vectorshift: interrupted")]
    late = late.replace("^C", "").replace("\r\x1b[K", "")
    seen = (text + late.rstrip("\r\n")).replace("\r\n", "\n")
    assert (seen + rest.stdout).rstrip("\n") == final["outputs"]["answer"]
