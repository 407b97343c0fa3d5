"""tools/gen_schema.py: the protocol's shape tables and JSON Schemas come from the models."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "gen_schema.py"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schema", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_schema"] = module
    spec.loader.exec_module(module)
    return module


gen = load_tool()


def test_the_generated_docs_are_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, str(TOOL), "--check"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"stale shape docs:\n{proc.stdout}{proc.stderr}"


def test_every_shape_has_a_table_and_a_schema_that_is_its_models() -> None:
    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    found = list(gen.shapes())
    assert {shape.group for shape in found} == {title for title, _, _, _ in gen.GROUPS}
    for shape in found:
        assert f"### {shape.name}\n" in text
        written = json.loads((REPO / "docs" / "schemas" / f"{shape.name}.json").read_text())
        assert written == gen.schema_of(shape.model)


def test_no_model_of_the_wire_modules_is_left_out() -> None:
    import importlib
    import inspect

    from pydantic import BaseModel

    for _, module_name, names, _ in gen.GROUPS:
        module = importlib.import_module(module_name)
        models = {
            name
            for name in module.__all__
            if inspect.isclass(getattr(module, name))
            and issubclass(getattr(module, name), BaseModel)
        }
        assert models == set(names), f"{module_name}: documented {names}, declared {models}"


def test_a_changed_model_makes_the_check_fail_and_the_tool_mends_it(tmp_path: Path) -> None:
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    first = next(iter(gen.shapes()))
    (tmp_path / "docs" / "schemas" / f"{first.name}.json").write_text("{}\n")
    (tmp_path / "docs" / "schemas" / "Gone.json").write_text("{}\n")
    assert set(gen.stale(tmp_path)) == {f"docs/schemas/{first.name}.json", "docs/schemas/Gone.json"}
    gen.write(tmp_path)
    assert gen.stale(tmp_path) == []
    assert not (tmp_path / "docs" / "schemas" / "Gone.json").exists()
