"""The package version (kept in one place, read without importlib.metadata)."""

__version__ = "0.2.0.dev0"
