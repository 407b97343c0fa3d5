"""What the dashboard's tests share: a server with the dashboard, and pipelines to show."""

from __future__ import annotations

from tests.support import echo_pipeline, lorem_pipeline, unique
from vectorshift import Client, Pipeline
from vectorshift.local import LocalServer, ServerConfig

KEY = "dash-key"
OTHER_KEY = "dash-other-key"
PREFIX = "/_dashboard"
INJECTED = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'


def dashboard_server() -> LocalServer:
    """A server with the dashboard, two organisations, quick keep-alives."""
    config = ServerConfig(
        api_keys={KEY: "dash", OTHER_KEY: "other"}, dashboard=True, keepalive_interval=1.0
    )
    return LocalServer(config)


def root(server: LocalServer) -> str:
    """``http://127.0.0.1:<port>``: the dashboard's origin."""
    return server.base_url.removesuffix("/v1")


def client_of(server: LocalServer, key: str = KEY) -> Client:
    return Client(api_key=key, base_url=server.base_url)


def saved(pipeline: Pipeline, client: Client) -> Pipeline:
    pipeline._client = client
    pipeline.save()
    return pipeline


def slow_pipeline(client: Client, *, tokens: int = 80, delay_ms: int = 60) -> Pipeline:
    """A pipeline whose streamed answer trickles: ``tokens`` tokens, ``delay_ms`` apart."""
    pipeline = lorem_pipeline(unique("slow"), tokens=tokens, delay_ms=delay_ms, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    return saved(pipeline, client)


def echo(client: Client, name: str | None = None) -> Pipeline:
    """query -> echo llm -> answer: the answer is the query."""
    return saved(echo_pipeline(name or unique("echo")), client)
