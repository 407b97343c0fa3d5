"""``vectorshift login``/``logout`` and the SDK's default client reading the file they write."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import vectorshift
from tests.cli_support import Shell
from vectorshift import Client, ConfigurationError
from vectorshift.local import LocalServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_checks_the_key_stores_it_private_and_logout_removes_it(
    server: LocalServer, tmp_path: Path
) -> None:
    sh = Shell(tmp_path, server.base_url, None)
    config = tmp_path / ".vectorshift" / "config.toml"
    refused = sh("login", stdin="sk-not-this-one\n")
    assert refused.returncode == 3 and not config.exists()
    done = sh("login", stdin=f"{server.api_key}\n")
    assert done.returncode == 0, done.stderr
    assert server.api_key not in done.stdout + done.stderr
    assert (mode(config.parent), mode(config)) == (0o700, 0o600)
    assert config.read_text() == f'[auth]\napi_key = "{server.api_key}"\n'
    assert sh("pipelines", "list").returncode == 0, "the stored key is used"
    assert sh("logout").returncode == 0
    assert sh("pipelines", "list").returncode == 2, "no key any more"


def test_login_keeps_the_rest_of_the_file(server: LocalServer, tmp_path: Path) -> None:
    config = tmp_path / ".vectorshift" / "config.toml"
    config.parent.mkdir()
    config.write_text('[auth]\napi_key = "old"\nuser = "me"\n\n[ui]\ntheme = "dark"\n')
    sh = Shell(tmp_path, server.base_url, None)
    assert sh("login", "--no-verify", stdin="new-key\n").returncode == 0
    assert config.read_text() == (
        '[auth]\nuser = "me"\napi_key = "new-key"\n\n[ui]\ntheme = "dark"\n'
    )
    sh("logout")
    assert config.read_text() == '[auth]\nuser = "me"\n\n[ui]\ntheme = "dark"\n'


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("VECTORSHIFT_API_KEY", raising=False)
    monkeypatch.setattr(vectorshift, "api_key", None)
    (tmp_path / ".vectorshift").mkdir()
    return tmp_path / ".vectorshift" / "config.toml"


def test_the_default_client_reads_the_file_last(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.write_text('[auth]\napi_key = "from-file"\n')
    client = Client()
    assert client._api_key_and_source() == ("from-file", f"the api_key of {home}")
    monkeypatch.setenv("VECTORSHIFT_API_KEY", "from-env")
    assert client._resolve_api_key() == "from-env"
    monkeypatch.setattr(vectorshift, "api_key", "from-module")
    assert client._resolve_api_key() == "from-module"
    assert Client(api_key="explicit")._resolve_api_key() == "explicit"


def test_the_file_is_read_again_when_it_changes(home: Path) -> None:
    client = Client()
    assert client._resolve_api_key() is None
    home.write_text('[auth]\napi_key = "first"\n')
    assert client._resolve_api_key() == "first"
    home.write_text('[auth]\napi_key = "second-key"\n')
    assert client._resolve_api_key() == "second-key"


def test_a_broken_file_is_a_configuration_error_naming_it(home: Path) -> None:
    home.write_text("[auth\napi_key = ")
    with pytest.raises(ConfigurationError, match=r"config\.toml"):
        Client()._resolve_api_key()
    assert "api_key=<unreadable>" in repr(Client())
