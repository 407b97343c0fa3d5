"""The one declaration of every shape the SDK and the local platform exchange, in pydantic v2.

Private. Each module declares one family of shapes: ``requests`` the request bodies,
``answers`` and ``frames`` what a server sends, ``nodes`` and ``nodes_types`` the node types,
``io_types`` the values a run input of each type accepts. The SDK validates answers with these
models straight from the response bytes, ``vectorshift.local`` validates requests and graphs
with the same models, and the docs' tables and JSON Schemas are generated from them
(``tools/gen_schema.py``, ``tools/gen_nodes.py``).

Importing a module of this package imports pydantic. Nothing that ``import vectorshift`` or
``from vectorshift import Pipeline, RunHandler, Client`` loads may import one: code that needs
them imports them inside the functions that read the first answer or run the first check
(docs/guides/performance.md#what-the-first-use-costs).
"""
