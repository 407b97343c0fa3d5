"""The inputs of a run, checked against the pipeline's input nodes and their declared types.

The local server checks every run's inputs here before anything is stored: names it knows,
required ones given, file inputs sent as files, and each value of the type its input declares
(:data:`vectorshift._schema.io_types.RUN_VALUES`, the table the SDK checks with too). A refusal
is a 422 naming the field: ``inputs.n: expected int32, got 'abc'``, or for a bulk run
``runs[2].inputs.n: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from vectorshift._schema.io_types import INPUT_TYPES, value_problem
from vectorshift.local.nodes import UploadedFile
from vectorshift.local.records import PipelineRecord
from vectorshift.local.validation import Refusal

__all__ = ["NOT_RUN_INPUT_TYPES", "RUN_INPUT_TYPES", "file_inputs", "run_inputs"]

NOT_RUN_INPUT_TYPES: Final = ("vec<file>", "image", "audio")
"""Platform input types the local server stores but does not run (it has no media parsing)."""
RUN_INPUT_TYPES: Final = tuple(t for t in INPUT_TYPES if t not in NOT_RUN_INPUT_TYPES)


def _uses_default(nodes: dict[str, Any], input_name: str) -> bool:
    for node in nodes.values():
        if node.get("type") == "input" and node.get("name") == input_name:
            return bool((node.get("inputs") or {}).get("use_default_value"))
    return False


def _io_type(spec: Any) -> Any:
    return spec.get("io_type") if isinstance(spec, dict) else None


def _shown(name: str) -> str:
    return name if len(name) <= 100 else name[:100] + "..."


def file_inputs(pipeline: PipelineRecord) -> list[str]:
    """The names of the pipeline's inputs of type ``file``."""
    return sorted(name for name, spec in pipeline.inputs.items() if _io_type(spec) == "file")


def run_inputs(
    pipeline: PipelineRecord,
    given: dict[str, Any],
    where: str,
    files: Mapping[str, UploadedFile] | None = None,
) -> dict[str, Any]:
    """The inputs of one run, checked against the pipeline and completed with defaults (422).

    File inputs come as ``files`` (multipart parts) and are recorded by their metadata (name,
    media type, size and digest); a file input given as a plain value is refused. A pipeline
    with an input of a type in :data:`NOT_RUN_INPUT_TYPES` is refused by name. Every other
    value must be of its input's type (``None`` is no value of any type but ``json``).

    Args:
        pipeline: The stored pipeline.
        given: The run's inputs by name, as sent.
        where: The prefix naming the run in messages (``""``, or ``"runs[2]."`` in a bulk run).
        files: The run's file parts by input name.

    Raises:
        Refusal: 422 naming the input.
    """
    declared = pipeline.inputs
    for name, spec in declared.items():
        if _io_type(spec) in NOT_RUN_INPUT_TYPES:
            raise Refusal(
                422,
                f"{where}input {name!r} is of type {_io_type(spec)!r}, which vectorshift.local "
                f"does not run (it runs {', '.join(RUN_INPUT_TYPES)})",
            )
    accepts_files = file_inputs(pipeline)
    for name, value in given.items():
        if name not in declared:
            known = ", ".join(repr(n) for n in sorted(declared)) or "none"
            message = f"{where}inputs: unknown input {_shown(name)!r} (pipeline inputs: {known})"
            raise Refusal(422, message)
        if name in accepts_files:
            raise Refusal(
                422,
                f"{where}inputs: input {name!r} is a file input: send it as a multipart file "
                "part named after it, not as a value",
            )
        problem = value_problem(f"{where}inputs.{_shown(name)}", _io_type(declared[name]), value)
        if problem is not None:
            raise Refusal(422, problem)
    for name in files or {}:
        if name not in accepts_files:
            known = ", ".join(repr(n) for n in accepts_files) or "none"
            raise Refusal(
                422,
                f"file part {_shown(name)!r} is not a file input of the pipeline "
                f"(file inputs: {known})",
            )
    inputs = dict(given)
    inputs.update({name: upload.metadata() for name, upload in (files or {}).items()})
    for name, spec in declared.items():
        if name in inputs:
            continue
        if not _uses_default(pipeline.nodes, name):
            raise Refusal(
                422, f"{where}inputs: missing required input {name!r} (it has no default value)"
            )
        inputs[name] = (spec or {}).get("default_value")
    return inputs
