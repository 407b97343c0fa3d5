"""The engine of ``tools/gen_sync.py``: mirror async classes as generated sync mixins.

``source`` reads a module with :mod:`ast`, ``twins`` decides which methods get a sync twin and
what it returns, ``render`` writes the generated module (ruff formats it), and ``files`` puts
each beside its source and checks or rewrites it. ``tools/gen_sync.py`` holds the project's
configuration and the command line.
"""
