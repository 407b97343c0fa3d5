"""Configuration mistakes fail fast, once, and say what to do (issue 11, point 4).

Each test makes the mistake as a user makes it, against a real ``vectorshift.local`` server,
and reads the message the user reads.
"""

from __future__ import annotations

import logging

import pytest
from support import echo_pipeline, unique

import vectorshift
from vectorshift import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    Client,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    Pipeline,
    RetryPolicy,
)
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio

QUICK = RetryPolicy(max_retries=2, backoff_base=0.01, max_backoff=0.02)


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No key or base URL from the environment or the module: only what the test gives."""
    for name in ("VECTORSHIFT_API_KEY", "VECTORSHIFT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(vectorshift, "api_key", None)
    monkeypatch.setattr(vectorshift, "base_url", None)
    return monkeypatch


def test_a_base_url_without_a_scheme_is_a_value_error_at_client(server: LocalServer) -> None:
    host_and_path = server.base_url.split("://", 1)[1]  # "127.0.0.1:<port>/v1"
    with pytest.raises(ValueError, match="no http:// or https:// scheme") as info:
        Client(api_key=server.api_key, base_url=host_and_path)
    assert isinstance(info.value, ConfigurationError)
    assert f"'http://{host_and_path}'" in str(info.value)


async def test_a_base_url_without_a_scheme_from_the_environment_fails_before_any_request(
    server: LocalServer,
    faults: FaultInjector,
    no_settings: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="vectorshift")
    no_settings.setenv("VECTORSHIFT_BASE_URL", server.base_url.split("://", 1)[1])
    client = Client(api_key=server.api_key, retry=QUICK)  # the environment is read lazily
    before = faults.seen()
    with pytest.raises(ConfigurationError, match="no http:// or https:// scheme"):
        await Pipeline.alist(client=client)
    assert faults.seen() == before
    assert not [r for r in caplog.records if "retry" in r.getMessage()]


async def test_a_base_url_missing_v1_gets_a_hint_about_the_path(server: LocalServer) -> None:
    root = server.base_url.removesuffix("/v1")
    client = Client(api_key=server.api_key, base_url=root)
    with pytest.raises(NotFoundError) as info:
        await Pipeline.alist(client=client)
    assert f"does not end in /v1, where the API lives: did you mean '{root}/v1'" in str(info.value)


async def test_a_404_under_v1_carries_no_path_hint(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        await Pipeline.afetch(id="0" * 24, client=client)
    assert "/v1" not in info.value.error_message


async def test_no_api_key_anywhere_fails_before_any_request(
    server: LocalServer, faults: FaultInjector, no_settings: pytest.MonkeyPatch
) -> None:
    client = Client(base_url=server.base_url)
    before = faults.seen()
    with pytest.raises(ConfigurationError) as info:
        await Pipeline.afetch(id="0" * 24, client=client)
    assert faults.seen() == before
    assert not isinstance(info.value, ApiError)  # not "401 ... on GET" for an unsent request
    assert "VECTORSHIFT_API_KEY" in str(info.value)
    assert "401" not in str(info.value)


async def test_a_wrong_key_from_the_environment_is_named_with_where_to_find_the_right_one(
    server: LocalServer, no_settings: pytest.MonkeyPatch
) -> None:
    no_settings.setenv("VECTORSHIFT_API_KEY", "vs-a-stale-key")
    client = Client(base_url=server.base_url)
    with pytest.raises(AuthenticationError) as info:
        await Pipeline.alist(client=client)
    message = str(info.value)
    assert "the key sent came from the VECTORSHIFT_API_KEY environment variable" in message
    assert "vectorshift.local server prints the key it accepts" in message
    assert "vs-a-stale-key" not in message


async def test_a_wrong_key_given_to_the_client_is_named_as_such(server: LocalServer) -> None:
    client = Client(api_key="vs-a-typo", base_url=server.base_url)
    with pytest.raises(AuthenticationError, match=r"came from Client\(api_key=\.\.\.\)"):
        await Pipeline.alist(client=client)


async def test_a_connection_error_after_retries_says_how_many_attempts() -> None:
    client = Client(api_key="vs-key", base_url="http://127.0.0.1:9/v1", retry=QUICK)
    with pytest.raises(ApiConnectionError) as info:
        await Pipeline.alist(client=client)
    assert info.value.attempts == 3
    assert str(info.value).endswith("(after 3 attempts)")


async def test_a_status_error_after_retries_says_how_many_attempts(
    server: LocalServer, faults: FaultInjector
) -> None:
    client = Client(api_key=server.api_key, base_url=server.base_url, retry=QUICK)
    faults.add(method="GET", path="/pipelines", status=503, count=5)
    with pytest.raises(InternalServerError) as info:
        await Pipeline.alist(client=client)
    assert info.value.attempts == 3
    assert "(after 3 attempts)" in str(info.value)


async def test_an_error_that_was_not_retried_does_not_count_attempts(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        await Pipeline.afetch(id="0" * 24, client=client)
    assert info.value.attempts == 1
    assert "attempts" not in str(info.value)


async def test_credentials_in_the_base_url_never_show_and_are_not_sent(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx's own records too
    with_credentials = server.base_url.replace("http://", "http://alice:pa55word@")
    client = Client(api_key=server.api_key, base_url=with_credentials, retry=QUICK)
    pipeline = echo_pipeline(unique("userinfo"))
    pipeline._client = client
    await pipeline.asave()  # the bearer key went through: the credentials did not replace it
    assert (await Pipeline.afetch(id=pipeline.id, client=client)).name == pipeline.name
    with pytest.raises(NotFoundError) as not_found:
        await Pipeline.afetch(id="0" * 24, client=client)
    unreachable = Client(api_key="vs-key", base_url="http://bob:s3cret@127.0.0.1:9/v1", retry=QUICK)
    with pytest.raises(ApiConnectionError) as refused:
        await Pipeline.alist(client=unreachable)
    shown = [
        repr(client),
        repr(unreachable),
        str(not_found.value),
        not_found.value.url,
        str(refused.value),
        refused.value.url,
        repr(refused.value.__cause__),
        *(record.getMessage() for record in caplog.records),
    ]
    for text in shown:
        assert "pa55word" not in text and "alice" not in text
        assert "s3cret" not in text and "bob" not in text
