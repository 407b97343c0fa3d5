"""A 404 that is not the platform's (an empty body, a proxy's HTML page, a JSON object without
a message) is not NotFoundError: it says the answer did not come from the platform, names the
base URL, and the fetch-or-create idiom does not go on to create."""

from __future__ import annotations

import pytest

from tests.raw_servers import RawRequest, http_response, raw_server
from vectorshift import ApiResponseError, Client, NotFoundError, Pipeline, RetryPolicy
from vectorshift.local import LocalServer

QUICK = RetryPolicy(max_retries=0)

BARE = {
    "empty": lambda: http_response(404, b"", content_type=None),
    "html": lambda: http_response(
        404, "<html><h1>404 Not Found</h1></html>", content_type="text/html"
    ),
    "json without a message": lambda: http_response(404, '{"code": 404}'),
    "text": lambda: http_response(404, "Not Found", content_type="text/plain"),
}


@pytest.mark.parametrize("kind", sorted(BARE))
def test_a_bare_404_is_not_the_platforms_and_names_the_base_url(kind: str) -> None:
    with (
        raw_server(lambda request: BARE[kind]()) as server,
        pytest.raises(ApiResponseError) as caught,
    ):
        Pipeline.fetch(name="Summariser", client=server.client(QUICK))
    error = caught.value
    assert not isinstance(error, NotFoundError)
    assert error.status_code == 404
    assert "did not come from the VectorShift API" in str(error)
    assert server.base_url in str(error)


def test_the_fetch_or_create_idiom_creates_nothing_behind_a_bare_404() -> None:
    def answer(request: RawRequest) -> bytes:
        return http_response(404, "<html>gateway</html>", content_type="text/html")

    with raw_server(answer) as server:
        client = server.client(QUICK)
        with pytest.raises(ApiResponseError):
            try:
                pipeline = Pipeline.fetch(name="Summariser", client=client)
            except NotFoundError:
                pipeline = Pipeline.new(name="Summariser", client=client)
            del pipeline
        assert [request.method for request in server.requests] == ["GET"]


@pytest.mark.anyio
async def test_a_bare_404_is_the_same_error_on_the_async_surface() -> None:
    with (
        raw_server(lambda request: BARE["empty"]()) as server,
        pytest.raises(ApiResponseError) as caught,
    ):
        await Pipeline.afetch(id="0" * 24, client=server.client(QUICK))
    assert not isinstance(caught.value, NotFoundError)


def test_the_platforms_own_404_is_still_not_found(server: LocalServer, client: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        Pipeline.fetch(name="no pipeline has this name", client=client)
    assert "no pipeline named" in str(caught.value)


def test_a_404_with_a_detail_message_is_not_found() -> None:
    # The platform's error bodies may say `message` or `detail` instead of `error`.
    detail = http_response(404, '{"detail": "Pipeline not found"}')
    with (
        raw_server(lambda request: detail) as raw,
        pytest.raises(NotFoundError, match="Pipeline not found"),
    ):
        Pipeline.fetch(name="x", client=raw.client(QUICK))
