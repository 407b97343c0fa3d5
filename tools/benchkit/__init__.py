"""Benchmarks as users run them: the SDK in this process, ``vectorshift.local`` in its own.

Every figure is a ratio against a baseline measured in the same run (raw httpx, the runtime
dependencies, the official client), in interleaved blocks, so the load of a shared machine
weighs on both sides alike. ``tools/bench.py`` is the command; see its docstring.
"""
