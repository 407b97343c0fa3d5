"""Sample async sources for tests/test_gen_sync.py.

The test copies this folder into a temporary package, runs tools/gen_sync.py on it (which writes
the ``_sync`` mixins the classes here inherit), then imports and type-checks the result. The
package is not importable where it stands, because its ``_sync`` folder is only generated there.
"""
