"""Where the examples run: the VectorShift platform, or the embedded local one.

With ``VECTORSHIFT_API_KEY`` set, the examples talk to the platform (``VECTORSHIFT_BASE_URL``
or its default) and use its LLMs; without it they start ``vectorshift.local`` on a loopback
port and use its offline simulated model. ``VECTORSHIFT_EXAMPLE_LLM=local`` or ``openai``
overrides the model choice, e.g. for a ``python -m vectorshift.local`` server started by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from vectorshift import Client


@contextmanager
def platform() -> Iterator[tuple[Client, bool]]:
    """Yield a client and whether to use the local simulated model; say which platform."""
    embedded = not os.environ.get("VECTORSHIFT_API_KEY")
    local_llm = os.environ.get("VECTORSHIFT_EXAMPLE_LLM", "local" if embedded else "openai")
    if not embedded:
        client = Client()
        print(f"Using the VectorShift platform at {client.base_url}")
        yield client, local_llm == "local"
        return
    from vectorshift.local import serve

    with serve() as client:
        print(
            f"VECTORSHIFT_API_KEY is not set: using the embedded local platform at "
            f"{client.base_url}"
        )
        yield client, local_llm == "local"
