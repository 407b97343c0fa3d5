"""Running the real ``vectorshift`` command against the session's local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectorshift import Client, Pipeline

COMMAND = [sys.executable, "-m", "vectorshift"]


@dataclass
class Shell:
    """A user's shell: a home of its own and the server's URL and key in the environment."""

    home: Path
    base_url: str
    api_key: str | None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
        env.update(HOME=str(self.home), VECTORSHIFT_BASE_URL=self.base_url, **extra)
        if self.api_key:
            env["VECTORSHIFT_API_KEY"] = self.api_key
        return env

    def __call__(
        self, *args: str, stdin: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args],
            capture_output=True,
            text=True,
            env=self.env(),
            input=stdin,
            timeout=timeout,
        )

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def streaming_pipeline(client: Client, name: str, *, tokens: int, delay_ms: int) -> Pipeline:
    """query -> lorem llm streaming ``tokens`` tokens ``delay_ms`` apart -> answer (streamed)."""
    pipeline = Pipeline(name, client=client)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(
        provider="local",
        model="lorem",
        prompt=query.text,
        max_tokens=tokens,
        token_delay_ms=delay_ms,
        stream=True,
    )
    pipeline.add(name="answer").output(llm.response, "stream<string>")
    return pipeline.save()
