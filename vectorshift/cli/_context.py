"""What every command gets: its arguments, its output, a client, and how to name a pipeline."""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vectorshift.cli._messages import no_key_message
from vectorshift.cli._output import Output

if TYPE_CHECKING:
    from vectorshift import Client, Pipeline

__all__ = ["Context"]

_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
"""A platform object id (24 hex digits): a pipeline reference shaped so is taken as an id."""
_PAGE = 100
_NAME_SCAN_PAGES = 10


@dataclass
class Context:
    """One command's arguments, output and client.

    Attributes:
        args: The parsed command line.
        out: Where the command prints.
        resume: The command line that picks the work up again, once a run is known; printed
            when the command is interrupted.
    """

    args: argparse.Namespace
    out: Output
    resume: str | None = None
    _client: Client | None = field(default=None, repr=False)

    @property
    def client(self) -> Client:
        """The client of ``--api-key``/``--base-url``, else of the SDK's usual configuration."""
        if self._client is None:
            from vectorshift import Client, ConfigurationError

            client = Client(api_key=self.args.api_key or None, base_url=self.args.base_url or None)
            client._api_key_label = "--api-key"
            if not client._resolve_api_key():
                raise ConfigurationError(no_key_message(self.out.program))
            self._client = client
        return self._client

    def command(self, *words: str) -> str:
        """A command line of this program (with ``--base-url`` when one was given), quoted."""
        line = list(words)
        if self.args.base_url:
            line += ["--base-url", self.args.base_url]
        return " ".join([self.out.program, *(shlex.quote(word) for word in line)])

    async def pipeline(self, ref: str) -> Pipeline:
        """The saved pipeline ``ref`` names: an id (24 hex digits) or else a name.

        Raises:
            NotFoundError: there is no such pipeline.
        """
        from vectorshift import NotFoundError, Pipeline

        if _OBJECT_ID.fullmatch(ref):
            try:
                return await Pipeline.afetch(id=ref, client=self.client)
            except NotFoundError:
                pass
        found = await Pipeline.afetch(name=ref, client=self.client)
        shared = await self._named(ref)
        if shared > 1:
            self.out.note(
                f"{shared} pipelines are named {ref!r}; using {found.id}, the most recently "
                "modified (name it by id to choose another)"
            )
        return found

    async def _named(self, name: str) -> int:
        """How many of the organisation's pipelines are named ``name`` (0 past 1,000 listed).

        The platform has no request that counts names, so this reads the list a page at a
        time; an organisation with more pipelines than that gets no note.
        """
        from vectorshift import Pipeline

        count = 0
        for page in range(_NAME_SCAN_PAGES):
            listed = await Pipeline.alist(offset=page * _PAGE, limit=_PAGE, client=self.client)
            count += sum(pipeline.name == name for pipeline in listed)
            if len(listed) < _PAGE:
                return count
        return 0

    async def pipeline_id(self, ref: str) -> str:
        """The id of pipeline ``ref``: itself when shaped as an id (no request), else fetched."""
        if _OBJECT_ID.fullmatch(ref):
            return ref
        found = await self.pipeline(ref)
        assert found.id is not None
        return found.id
