"""The package version: its one home (hatchling reads it at build time, see pyproject.toml)."""

__version__ = "0.2.0.dev0"
