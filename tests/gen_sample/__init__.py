"""Sample async sources for tests/test_gen_sync.py.

The test copies this folder into a temporary package, runs tools/gen_sync.py on it (which writes
``_generated_widget.py``, the mixin ``Widget`` inherits, beside ``_widget.py``), then imports and
type-checks the result. The package is not importable where it stands, because its generated
module only exists in the copy.
"""
