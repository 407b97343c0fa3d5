"""``vectorshift-local`` as a user types it: its name, its defaults, --version, --log-level."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from vectorshift import __version__

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "vectorshift-local"
PROVIDERS_LINE = "LLM providers: every one simulated"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VECTORSHIFT_")}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)


def test_the_installed_command_shows_its_own_name_and_defaults() -> None:
    assert SCRIPT.exists(), f"the package's console script is not installed: {SCRIPT}"
    shown = run(str(SCRIPT), "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert text.startswith("usage: vectorshift-local ")
    assert "__main__" not in text
    assert (
        "--max-active-runs N runs an organisation may have in progress at once (default 32)" in text
    )
    for rule_key in (
        "'method'",
        "'path'",
        "'status'",
        "'retry_after'",
        "'delay'",
        "'drop'",
        "'cut_after_frames'",
        "'count'",
        "'probability'",
        "'when'",
    ):
        assert rule_key in text
    assert "--providers SPEC" in text and "(default: every provider simulated)" in text
    assert "--log-level {debug,info,warning,error}" in text and "(default info)" in text


def test_the_module_form_shows_the_module_command() -> None:
    shown = run(sys.executable, "-m", "vectorshift.local", "--help")
    assert shown.stdout.startswith("usage: python -m vectorshift.local ")


def test_version_prints_the_package_version() -> None:
    shown = run(str(SCRIPT), "--version")
    assert (shown.returncode, shown.stdout) == (0, f"vectorshift-local {__version__}\n")


def serve_until_ready(*args: str) -> tuple[str, str]:
    """Start the command, make one request, stop it with SIGTERM; its stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    process = subprocess.Popen(
        [sys.executable, "-m", "vectorshift.local", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        assert httpx.get(f"{base_url}/pipelines").status_code == 401
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return out, err


def test_the_log_says_once_at_start_that_every_provider_is_simulated() -> None:
    _, log = serve_until_ready()
    assert log.count(PROVIDERS_LINE) == 1, log
    assert " INFO vectorshift.local: " in log


def test_log_level_warning_keeps_the_log_to_warnings() -> None:
    _, quiet = serve_until_ready("--log-level", "warning")
    assert PROVIDERS_LINE not in quiet
    _, warned = serve_until_ready("--log-level", "warning", "--providers", "openai=real")
    assert "openai is set to be real but OPENAI_API_KEY is not set" in warned
