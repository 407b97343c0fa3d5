"""LLM providers used by the ``llm`` node of the local engine.

The local platform is an emulator: by default the **simulated** model answers the LLM nodes of
*every* provider (``openai``, ``anthropic``...), so a pipeline built for the platform runs here
unchanged, offline and deterministically. A provider is called for real only when the server is
asked to (:func:`parse_providers`: ``real`` for all, ``openai=real`` for one); asked for one it
has no client for, the run fails with a message naming it. Standing in for a provider, the
simulated model answers as model ``echo`` does (with the prompt, up to ``max_tokens`` tokens),
and the run records the provider (see :class:`LLMResult`).

Two providers are implemented:

- ``local``: an offline **simulated** model, for tests, demos and development without a key.
  It is not a language model and understands nothing. Model ``echo`` answers with the prompt
  text; model ``lorem`` answers deterministic pseudo-Latin words derived from a hash of the
  prompt, exactly ``max_tokens`` of them. Each token takes ``token_delay_ms`` milliseconds, so
  streaming, concurrency and cancellation behave as with a real model. A token is a word with
  its leading whitespace: the tokens concatenated are exactly the response.
  With ``json_response`` the simulated answer is the JSON object ``{"response": <text>}``.
- ``openai``: any OpenAI-compatible chat-completions endpoint, called with ``"stream": true``
  through httpx. Messages are the system prompt (when not empty) and the user prompt;
  ``temperature`` and ``max_tokens`` are passed through.

A **script** (:mod:`vectorshift.local.scripts`), when the server has one, is asked first for
every provider: the answer of a rule that matches replaces the provider's (it stands in for the
provider as the simulated model does), and a call no rule decides goes on as above. With a
recorder on (:mod:`vectorshift.local.recording`), every call is recorded with its prompts and
answer.

Providers know nothing about nodes (the request names its node only for scripts and records):
they raise :class:`ProviderError` with a message that the engine prefixes with the node's name
and id. Cancellation is never caught here: a cancelled
run stops between two simulated tokens, or closes the HTTP stream at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import httpx

if TYPE_CHECKING:
    from vectorshift.local.recording import Recorder
    from vectorshift.local.scripts import Script, ScriptedAnswer

__all__ = [
    "LLMRequest",
    "LLMResult",
    "OnToken",
    "ProviderConfig",
    "ProviderError",
    "complete",
    "describe_providers",
    "parse_providers",
    "split_tokens",
]

OnToken = Callable[[str], Awaitable[None]]

_TOKEN = re.compile(r"\s*\S+")
_SYLLABLES = (
    "lo",
    "rem",
    "ip",
    "sum",
    "do",
    "lor",
    "sit",
    "am",
    "et",
    "con",
    "sec",
    "tur",
    "ad",
    "pi",
    "sci",
    "el",
    "it",
    "sed",
    "ei",
    "us",
    "mod",
    "tem",
    "por",
    "in",
    "ci",
    "di",
    "unt",
    "ut",
    "la",
    "bo",
    "re",
    "ma",
    "gna",
    "ali",
    "qua",
    "ve",
    "ni",
    "no",
    "str",
    "ex",
    "er",
    "ta",
)
_OPENAI_TIMEOUT = httpx.Timeout(120.0, connect=10.0)

MODES = ("simulated", "real")
"""How the server answers a provider's LLM nodes."""

ALL = "*"
"""The key of a provider-mode mapping that stands for every provider not named."""

REAL_CLIENTS = ("openai",)
"""Providers the server can call for real."""


class ProviderError(Exception):
    """A provider could not answer; the message says why, without naming the node."""


@dataclass(frozen=True)
class LLMRequest:
    """What an ``llm`` node asks of a provider."""

    provider: str
    model: str
    prompt: str
    system: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    json_response: bool = False
    token_delay_ms: float = 20.0
    node_name: str = ""
    node_id: str = ""


@dataclass(frozen=True)
class LLMResult:
    """A provider's complete answer and its token counts.

    ``simulated`` is true when the simulated model stood in for the provider asked for (never
    for ``local``, which is the simulated model by name).
    """

    text: str
    input_tokens: int
    output_tokens: int
    simulated: bool = False


@dataclass(frozen=True)
class ProviderConfig:
    """Server-side provider settings (never taken from the graph).

    Attributes:
        modes: ``simulated`` or ``real`` by provider name, :data:`ALL` for the others (as
            :func:`parse_providers` returns); a provider in neither is simulated.
        openai_api_key: Key of the ``openai`` provider when it is real.
        openai_base_url: Base URL of the OpenAI-compatible API.
        script: The scripted answers asked before any provider (``None``: none).
        recorder: Where LLM calls are recorded (``None``: nowhere).
        org: The organisation whose run makes the calls, for script rules scoped to one.

    Example:
        >>> config = ProviderConfig(modes={"openai": "real"})
        >>> config.is_real("openai"), config.is_real("anthropic")
        (True, False)
    """

    modes: Mapping[str, str] = field(default_factory=dict)
    openai_api_key: str | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    script: Script | None = None
    recorder: Recorder | None = None
    org: str | None = None

    def is_real(self, provider: str) -> bool:
        """Whether ``provider``'s LLM nodes call the provider (not the simulated model)."""
        return self.modes.get(provider, self.modes.get(ALL, "simulated")) == "real"


def parse_providers(spec: str | Mapping[str, str]) -> dict[str, str]:
    """Provider modes from ``--providers`` text or a mapping, checked and normalised.

    Text is a comma-separated list of ``MODE`` (every provider) and ``NAME=MODE`` items, a
    mode being ``simulated`` or ``real``; later items win. An empty spec simulates every
    provider.

    Example:
        >>> parse_providers("real,anthropic=simulated")
        {'*': 'real', 'anthropic': 'simulated'}
        >>> parse_providers({"OpenAI": "real"})
        {'openai': 'real'}

    Raises:
        ValueError: An item that is not ``MODE`` or ``NAME=MODE``, or an unknown mode.
    """
    items = spec.items() if isinstance(spec, Mapping) else _provider_items(spec)
    modes: dict[str, str] = {}
    for name, mode in items:
        key = name.strip().lower() or ALL
        if mode not in MODES:
            subject = "" if key == ALL else f" for provider {key!r}"
            raise ValueError(
                f"unknown provider mode {mode!r}{subject} (use 'simulated' or 'real', "
                "e.g. --providers openai=real)"
            )
        modes[key] = mode
    return modes


def _provider_items(text: str) -> Iterator[tuple[str, str]]:
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, mode = item.rpartition("=")
        if equals and not name.strip():
            raise ValueError(f"no provider name before '=' in {item!r}")
        yield (name if equals else ALL), mode.strip().lower()


def describe_providers(config: ProviderConfig) -> str:
    """One line saying which providers are simulated and which are real, for the server log.

    Example:
        >>> describe_providers(ProviderConfig(modes={"openai": "real"}))
        'LLM providers: openai real; every other one simulated'
    """
    named = sorted((name, mode) for name, mode in config.modes.items() if name != ALL)
    if not config.is_real(ALL) and not any(mode == "real" for _, mode in named):
        return (
            "LLM providers: every one simulated (offline, deterministic answers); "
            "--providers real, or e.g. --providers openai=real, calls them"
        )
    parts = [f"{name} {mode}" for name, mode in named]
    rest = "real" if config.is_real(ALL) else "simulated"
    parts.append(f"every {'other ' if parts else ''}one {rest}")
    return "LLM providers: " + "; ".join(parts)


def split_tokens(text: str) -> list[str]:
    """Split text into simulated tokens: words with their leading whitespace.

    Trailing whitespace stays on the last token, so ``"".join(split_tokens(t)) == t``.

    Example:
        >>> split_tokens("Hello  big world\\n")
        ['Hello', '  big', ' world\\n']
    """
    tokens = _TOKEN.findall(text)
    rest = text[sum(len(token) for token in tokens) :]
    if rest:
        if tokens:
            tokens[-1] += rest
        else:
            tokens.append(rest)
    return tokens


async def complete(request: LLMRequest, config: ProviderConfig, on_token: OnToken) -> LLMResult:
    """Run one completion, awaiting ``on_token`` with every text delta as it arrives.

    Raises:
        ProviderError: unknown provider or model, missing key, or an error from the endpoint.

    Example:
        >>> async def show(delta: str) -> None:
        ...     print(repr(delta))
        >>> request = LLMRequest("local", "echo", "hi there", token_delay_ms=0)
        >>> anyio.run(complete, request, ProviderConfig(), show)
        'hi'
        ' there'
        LLMResult(text='hi there', input_tokens=2, output_tokens=2)
    """
    scripted = None
    if config.script is not None:
        scripted = config.script.answer(
            prompt=request.prompt,
            node_name=request.node_name,
            node_id=request.node_id,
            model=request.model,
            provider=request.provider,
            org=config.org,
        )
    if config.recorder is None or not config.recorder.records_calls:
        return await _answer(request, config, on_token, scripted)
    from vectorshift.local.recording import CURRENT_RUN, LLMCall

    call = LLMCall(
        run_id=CURRENT_RUN.get(),
        node_id=request.node_id,
        node_name=request.node_name,
        provider=request.provider,
        model=request.model,
        prompt=request.prompt,
        system=request.system,
        scripted=scripted is not None,
        rule=None if scripted is None else scripted.rule.name,
    )
    config.recorder.llm_call(call)

    async def recorded(delta: str) -> None:
        call.answer += delta
        await on_token(delta)

    try:
        result = await _answer(request, config, recorded, scripted)
    except ProviderError as exc:
        call.error = str(exc)
        raise
    call.answer = result.text
    return result


async def _answer(
    request: LLMRequest,
    config: ProviderConfig,
    on_token: OnToken,
    scripted: ScriptedAnswer | None,
) -> LLMResult:
    if scripted is not None:
        return await _scripted(request, scripted, on_token)
    if request.provider == "local":
        return await _local(request, on_token)
    if not config.is_real(request.provider):
        result = await _local(dataclasses.replace(request, model="echo"), on_token)
        return dataclasses.replace(result, simulated=True)
    if request.provider == "openai":
        return await _openai(request, config, on_token)
    raise ProviderError(
        f"the LLM provider '{request.provider}' is set to be real, but vectorshift.local has "
        f"no client for it (it calls {', '.join(REAL_CLIENTS)}); leave it simulated, e.g. "
        f"--providers {request.provider}=simulated"
    )


async def _scripted(request: LLMRequest, answer: ScriptedAnswer, on_token: OnToken) -> LLMResult:
    """Send a script's tokens at its pace, then fail with its error if it has one."""
    for token, delay in zip(answer.tokens, answer.delays, strict=True):
        await anyio.sleep(delay)
        await on_token(token)
    if answer.error is not None:
        raise ProviderError(answer.error)
    input_tokens = len(_TOKEN.findall(request.system)) + len(_TOKEN.findall(request.prompt))
    return LLMResult(
        text=answer.text,
        input_tokens=input_tokens,
        output_tokens=len(answer.tokens),
        simulated=request.provider != "local",
    )


def _lorem_tokens(prompt: str, count: int) -> Iterator[str]:
    """Pseudo-Latin words seeded by the prompt's hash, made one at a time as they are sent."""
    seed = int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "big")
    rng = random.Random(seed)
    sentence_left = 0
    for index in range(count):
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))
        if sentence_left == 0:
            word = word.capitalize()
            sentence_left = rng.randint(6, 14)
        sentence_left -= 1
        if sentence_left == 0:
            word += "."
        yield word if index == 0 else " " + word


async def _local(request: LLMRequest, on_token: OnToken) -> LLMResult:
    limit = request.max_tokens if request.max_tokens and request.max_tokens > 0 else None
    tokens: Iterable[str]
    if request.model == "echo":
        tokens = split_tokens(request.prompt)[:limit]
    elif request.model == "lorem":
        if limit is None:
            raise ProviderError("the local model 'lorem' needs max_tokens of at least 1")
        tokens = _lorem_tokens(request.prompt, limit)
    else:
        raise ProviderError(
            f"unknown model '{request.model}' for the local provider "
            "(it simulates 'echo' and 'lorem')"
        )
    if request.json_response:
        tokens = split_tokens(json.dumps({"response": "".join(tokens)}, ensure_ascii=False))
    delay = max(request.token_delay_ms, 0.0) / 1000.0
    sent: list[str] = []
    for token in tokens:
        await anyio.sleep(delay)
        sent.append(token)
        await on_token(token)
    input_tokens = len(_TOKEN.findall(request.system)) + len(_TOKEN.findall(request.prompt))
    return LLMResult(text="".join(sent), input_tokens=input_tokens, output_tokens=len(sent))


def _openai_body(request: LLMRequest) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": request.prompt})
    body: dict[str, Any] = {"model": request.model, "messages": messages, "stream": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.json_response:
        body["response_format"] = {"type": "json_object"}
    return body


def _error_detail(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return json.dumps(payload)[:300]


class _StreamState:
    """Accumulates the chat-completion chunks of one streamed answer."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.usage: dict[str, Any] = {}
        self.done = False

    async def feed(self, data: str, on_token: OnToken) -> None:
        if data == "[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise ProviderError(
                f"the openai provider sent a chunk that is not JSON: {data[:200]}"
            ) from exc
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise ProviderError(f"the openai provider failed mid-stream: {message}")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.parts.append(content)
                await on_token(content)


async def _openai(request: LLMRequest, config: ProviderConfig, on_token: OnToken) -> LLMResult:
    if not config.openai_api_key:
        raise ProviderError(
            "the openai provider is set to be real but the server has no OPENAI_API_KEY "
            "(set it where the server starts, or leave openai simulated)"
        )
    url = config.openai_base_url.rstrip("/") + "/chat/completions"
    headers = {
        "Authorization": f"Bearer {config.openai_api_key}",
        "Accept": "text/event-stream",
    }
    state = _StreamState()
    try:
        async with (
            httpx.AsyncClient(timeout=_OPENAI_TIMEOUT) as client,
            client.stream("POST", url, json=_openai_body(request), headers=headers) as response,
        ):
            if response.status_code >= 400:
                await response.aread()
                raise ProviderError(
                    f"the openai provider answered HTTP {response.status_code}: "
                    f"{_error_detail(response)}"
                )
            # Server-sent events (HTML standard, 9.2.6): "data:" lines accumulate and a blank
            # line dispatches the event; other fields and ":" comments carry nothing for us.
            data_lines: list[str] = []
            async for line in response.aiter_lines():
                if line == "":
                    if data_lines:
                        await state.feed("\n".join(data_lines), on_token)
                        data_lines = []
                elif line.startswith("data:"):
                    value = line[5:]
                    data_lines.append(value[1:] if value.startswith(" ") else value)
                if state.done:
                    break
            if data_lines and not state.done:
                await state.feed("\n".join(data_lines), on_token)
    except httpx.HTTPError as exc:
        raise ProviderError(f"the openai provider could not be reached at {url}: {exc!r}") from exc
    text = "".join(state.parts)
    input_tokens = state.usage.get("prompt_tokens")
    output_tokens = state.usage.get("completion_tokens")
    return LLMResult(
        text=text,
        input_tokens=int(input_tokens)
        if isinstance(input_tokens, int)
        else len(_TOKEN.findall(request.system)) + len(_TOKEN.findall(request.prompt)),
        output_tokens=int(output_tokens) if isinstance(output_tokens, int) else len(state.parts),
    )
