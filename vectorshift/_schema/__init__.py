"""The one declaration of every shape the SDK and the local platform exchange, in pydantic v2.

The wire (request bodies, answers, stream frames), the node types and their inputs are
declared here once; the SDK validates answers with these models straight from the response
bytes, ``vectorshift.local`` validates requests with the same models, and the docs'
tables and JSON Schemas are generated from them (``tools/gen_schema.py``).

Importing this package imports pydantic. Nothing that ``import vectorshift`` or
``from vectorshift import Pipeline, RunHandler, Client`` loads may import it: the SDK reaches
it from inside the functions that read the first answer
(docs/guides/performance.md#what-the-first-use-costs).
"""
