"""Scripted models: tests decide what the LLM nodes of the local platform answer.

A :class:`Script` is an ordered list of :class:`ScriptRule`. Every LLM call of the engine asks
the script first (:meth:`Script.answer`); the first rule that matches the call *and* has an
answer left decides it, and a call no rule decides goes on as without a script (the simulated
model, or the real provider when the server is configured so). Rules are plain data, so the
same format comes from Python at run time (``server.script.add(...)``, no restart) and from the
command line (``--script file.json``).

What a rule matches (every criterion given must hold):

- ``prompt``: the user prompt, exactly; ``regex``: a regular expression searched in it;
- ``node``: the node's name or id; ``model``, ``provider``: the node's model and provider;
- ``org``: the organisation whose run makes the call (the testing kit scopes each test's rules
  to its own organisation, so a run left over by another test never takes them).

What it answers (one of):

- ``answer``: a string, or a JSON object or list (sent as its JSON text, for nodes with
  ``json_response``); from Python also a function of the prompt returning the answer, or
  ``None`` to leave the call to the next rules;
- ``answers``: a queue, one answer per call; once empty the rule matches no more;
- ``tokens``: the answer as an explicit list of tokens (what a stream receives, delta by delta);
- ``error``: the node fails with this message (after streaming ``answer``'s tokens, if given).

``token_delay_ms`` paces the tokens: a number for every token, or a list (one value per token,
the last repeating); scripted answers are immediate by default. ``count`` bounds how many calls
the rule answers.

Example:
    >>> script = Script()
    >>> rule = script.add(node="classifier", answers=["spam", "ham"])
    >>> script.add(regex=r"(?i)summari[sz]e", answer="A short summary.").regex
    '(?i)summari[sz]e'
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeAlias

__all__ = [
    "OrgScript",
    "Script",
    "ScriptRule",
    "ScriptedAnswer",
    "parse_script",
    "read_script",
]

Answer: TypeAlias = "str | dict[str, Any] | list[Any] | Callable[[str], str | None]"
"""A rule's answer: text, a JSON value (sent as JSON text), or a function of the prompt."""


def _answer_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    raise ValueError(f"script rule: {where} must be a string or a JSON object or list")


@dataclass(frozen=True)
class ScriptedAnswer:
    """What a rule decided for one call: the tokens to send, their delays, and any error."""

    tokens: tuple[str, ...]
    delays: tuple[float, ...]
    error: str | None
    rule: ScriptRule

    @property
    def text(self) -> str:
        """The whole answer: its tokens joined."""
        return "".join(self.tokens)


@dataclass
class ScriptRule:
    """One scripted behaviour: which LLM calls it matches and what they answer.

    Attributes:
        prompt: Match calls whose user prompt is exactly this.
        regex: Match calls whose user prompt this regular expression is found in.
        node: Match calls of the node with this name or id.
        model: Match calls for this model.
        provider: Match calls for this provider (``openai``, ``anthropic``, ``local``...).
        org: Match calls of runs of this organisation only.
        answer: The answer: text, a JSON object or list, or (from Python) a function called
            with the prompt that returns the text, or ``None`` to pass the call on.
        answers: A queue of answers (each as ``answer``, functions excepted), one per call.
        tokens: The answer as explicit tokens.
        error: Fail the node with this message (after ``answer``'s tokens, when given).
        token_delay_ms: Milliseconds before each token: a number, or one per token with the
            last repeating (``[500, 10]``: the first after half a second, then fast).
        count: Answer the first ``count`` matching calls only (``None``: no limit).
        name: A label for tests.
        used: Calls answered so far.
    """

    prompt: str | None = None
    regex: str | None = None
    node: str | None = None
    model: str | None = None
    provider: str | None = None
    org: str | None = None
    answer: Answer | None = None
    answers: list[Any] | None = None
    tokens: list[str] | None = None
    error: str | None = None
    token_delay_ms: float | list[float] = 0.0
    count: int | None = None
    name: str | None = None
    used: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        for attribute in ("prompt", "regex", "node", "model", "provider", "org", "error", "name"):
            value = getattr(self, attribute)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"script rule: {attribute} must be a string")
        given = [n for n in ("answer", "answers", "tokens") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"script rule: give one of answer, answers, tokens (got {given})")
        if not given and self.error is None:
            raise ValueError("script rule: give answer, answers, tokens or error")
        if self.answer is not None and not callable(self.answer):
            _answer_text(self.answer, "answer")
        if self.answers is not None:
            if not isinstance(self.answers, list):
                raise ValueError("script rule: answers must be a list")
            self.answers = list(self.answers)
            for index, item in enumerate(self.answers):
                _answer_text(item, f"answers[{index}]")
        if self.tokens is not None and not (
            isinstance(self.tokens, list) and all(isinstance(t, str) for t in self.tokens)
        ):
            raise ValueError("script rule: tokens must be a list of strings")
        delays = self.token_delay_ms
        values = delays if isinstance(delays, list) else [delays]
        if not values or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf")
            for v in values
        ):
            raise ValueError(
                "script rule: token_delay_ms must be a finite number >= 0 or a non-empty list "
                "of them"
            )
        if self.count is not None and (isinstance(self.count, bool) or self.count < 0):
            raise ValueError(f"script rule: count must be >= 0, got {self.count}")
        try:
            self._pattern = re.compile(self.regex) if self.regex is not None else None
        except re.error as exc:
            raise ValueError(f"script rule: invalid regex {self.regex!r}: {exc}") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScriptRule:
        """Build a rule from its JSON form, rejecting unknown keys.

        Example:
            >>> ScriptRule.from_dict({"prompt": "2+2?", "answer": "4"}).answer
            '4'
        """
        known = {f.name for f in fields(cls)} - {"used"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"script rule: unknown key(s) {unknown}; known: {sorted(known)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"script rule: {exc}") from None

    def matches(
        self,
        *,
        prompt: str,
        node_name: str,
        node_id: str,
        model: str,
        provider: str,
        org: str | None = None,
    ) -> bool:
        """Whether every criterion the rule gives holds for this call (answers aside)."""
        return (
            (self.org is None or self.org == org)
            and (self.prompt is None or self.prompt == prompt)
            and (self._pattern is None or self._pattern.search(prompt) is not None)
            and (self.node is None or self.node in (node_name, node_id))
            and (self.model is None or self.model == model)
            and (self.provider is None or self.provider.lower() == provider.lower())
        )

    def _delays(self, count: int) -> tuple[float, ...]:
        delays = self.token_delay_ms
        values = [float(v) for v in (delays if isinstance(delays, list) else [delays])]
        values += [values[-1]] * max(0, count - len(values))
        return tuple(v / 1000.0 for v in values[:count])


def _split(text: str) -> tuple[str, ...]:
    from vectorshift.local.providers import split_tokens

    return tuple(split_tokens(text))


class Script:
    """The rules in force, in order; thread-safe (tests change it while the server runs).

    Args:
        rules: Initial rules, as :class:`ScriptRule` objects or their JSON form.
    """

    def __init__(self, rules: Iterable[ScriptRule | dict[str, Any]] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: list[ScriptRule] = []
        for rule in rules:
            self.add(rule)

    def add(self, rule: ScriptRule | dict[str, Any] | None = None, **fields: Any) -> ScriptRule:
        """Install a rule (after the existing ones) and return it.

        Example:
            >>> Script().add(prompt="Capital of France?", answer="Paris").answer
            'Paris'
        """
        if rule is None:
            rule = ScriptRule.from_dict(fields)
        elif isinstance(rule, dict):
            rule = ScriptRule.from_dict({**rule, **fields})
        with self._lock:
            self._rules.append(rule)
        return rule

    def load(self, source: str | Path | Sequence[dict[str, Any]] | dict[str, Any]) -> None:
        """Install the rules of a script file (a path) or of its parsed JSON form.

        Raises:
            ValueError: An invalid script; no rule of it is installed then.
            OSError: The file cannot be read.
        """
        if isinstance(source, (str, Path)):
            rules = parse_script(Path(source).read_text(encoding="utf-8"))
        else:
            rules = _rules_of(source)
        for rule in rules:
            self.add(rule)

    def remove(self, rule: ScriptRule) -> None:
        """Uninstall a rule."""
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self) -> None:
        """Uninstall every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[ScriptRule]:
        """The installed rules, in matching order."""
        with self._lock:
            return list(self._rules)

    def answer(
        self,
        *,
        prompt: str,
        node_name: str = "",
        node_id: str = "",
        model: str = "",
        provider: str = "",
        org: str | None = None,
    ) -> ScriptedAnswer | None:
        """What the script answers this call, or ``None`` to leave it unscripted.

        A function answer is called without the lock held (it may change the script).
        """
        for rule in self.rules:
            if not rule.matches(
                prompt=prompt,
                node_name=node_name,
                node_id=node_id,
                model=model,
                provider=provider,
                org=org,
            ):
                continue
            text: str | None = None
            if callable(rule.answer):
                produced = rule.answer(prompt)
                if produced is None:
                    continue
                text = _answer_text(produced, "the answer function's result")
            with self._lock:
                if rule.count is not None and rule.used >= rule.count:
                    continue
                if rule.answers is not None:
                    if not rule.answers:
                        continue
                    text = _answer_text(rule.answers.pop(0), "answers")
                rule.used += 1
            if rule.tokens is not None:
                tokens = tuple(rule.tokens)
            elif text is not None:
                tokens = _split(text)
            elif rule.answer is not None:
                tokens = _split(_answer_text(rule.answer, "answer"))
            else:
                tokens = ()
            return ScriptedAnswer(tokens, rule._delays(len(tokens)), rule.error, rule)
        return None


class OrgScript(Script):
    """One organisation's part of a server's :class:`Script`: what a test's ``script`` is.

    Rules added through it match only calls of that organisation's runs, so a run another
    test left running on a shared server never consumes them; ``rules``, ``remove`` and
    ``clear`` see only them (and the server's rules of no organisation). The rules live in
    the server's script, which the engine asks.

    Args:
        script: The server's script.
        org: The organisation.
    """

    def __init__(self, script: Script, org: str) -> None:
        super().__init__()
        self.script = script
        self.org = org

    def add(self, rule: ScriptRule | dict[str, Any] | None = None, **fields: Any) -> ScriptRule:
        """Install a rule for this organisation's runs (see :meth:`Script.add`)."""
        if rule is None:
            rule = ScriptRule.from_dict({"org": self.org, **fields})
        elif isinstance(rule, dict):
            rule = ScriptRule.from_dict({"org": self.org, **rule, **fields})
        elif rule.org is None:
            rule.org = self.org
        return self.script.add(rule)

    def remove(self, rule: ScriptRule) -> None:
        """Uninstall a rule."""
        self.script.remove(rule)

    def clear(self) -> None:
        """Uninstall every rule of this organisation."""
        for rule in self.rules:
            self.script.remove(rule)

    @property
    def rules(self) -> list[ScriptRule]:
        """The rules that may answer this organisation's runs, in matching order: its own, and
        the server's rules of no organisation (a server's ``script=`` setting)."""
        return [rule for rule in self.script.rules if rule.org in (None, self.org)]

    def answer(
        self,
        *,
        prompt: str,
        node_name: str = "",
        node_id: str = "",
        model: str = "",
        provider: str = "",
        org: str | None = None,
    ) -> ScriptedAnswer | None:
        """What the server's script answers a call of this organisation's runs."""
        return self.script.answer(
            prompt=prompt,
            node_name=node_name,
            node_id=node_id,
            model=model,
            provider=provider,
            org=self.org,
        )

    def unused(self) -> list[ScriptRule]:
        """The :attr:`rules` that no call has used."""
        return [rule for rule in self.rules if rule.used == 0]


def _items(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = data.get("rules") if set(data) == {"rules"} else [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError(
            'a script must be a JSON object (one rule, or {"rules": [...]}) or a list of '
            "rule objects"
        )
    return data


def _rules_of(data: Any) -> list[ScriptRule]:
    return [ScriptRule.from_dict(item) for item in _items(data)]


def read_script(path: str | Path) -> list[dict[str, Any]]:
    """The rules of a script file in their JSON form, checked (what ``--script`` reads).

    Raises:
        ValueError: Invalid JSON or an invalid rule.
        OSError: The file cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    parse_script(text)
    return _items(json.loads(text))


def parse_script(text: str) -> list[ScriptRule]:
    """Parse a script from JSON: one rule object, a list of them, or ``{"rules": [...]}``.

    Example:
        >>> [rule.node for rule in parse_script('[{"node": "writer", "answer": "Hi"}]')]
        ['writer']

    Raises:
        ValueError: Invalid JSON or an invalid rule.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"a script must be JSON: {exc}") from None
    return _rules_of(data)
