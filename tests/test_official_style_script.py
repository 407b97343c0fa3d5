"""A script in the official client's documented style runs unchanged against vectorshift.local.

The script (``tests/fixtures/official_style/pipelines_script.py``) is what a user of the
official client writes from its docs: node classes from ``vectorshift.pipeline`` and
``vectorshift.pipeline.nodes`` with ``node_name=``, ``Pipeline.new(name=..., nodes=[...])``,
``run``, ``start``, ``RunHandler(pipeline_id, task_id).result()``, ``run(stream=True,
stream_all_outputs=True, send_intermediate_results=False)``, default node names, batch nodes
(class keyword and ``add_batch``), ``to_dict``, ``from_json`` and ``serialize_inputs``. It runs
in a fresh interpreter with only the environment variables the official client reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from vectorshift.local import LocalServer

SCRIPT = Path(__file__).parent / "fixtures" / "official_style" / "pipelines_script.py"


def test_an_official_style_script_runs_unchanged(server: LocalServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VECTORSHIFT_API_KEY": server.api_key,
        "VECTORSHIFT_BASE_URL": server.base_url,
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["answer"] == "Why is the sky blue?"
    assert seen["final"] == "again"
    assert seen["streamed"] is True
    assert seen["names"] == [
        "items",
        "text_formatter_0",
        "text_0",
        "upper_list",
        "lists",
        "answers",
    ]
    assert seen["batch"] == {"upper_list": ["X", "Y"], "answers": ["a", "b"]}
    assert seen["to_dict"] == "pipeline"
    assert seen["from_json"] is True and seen["serialized"] is True
