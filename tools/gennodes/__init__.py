"""What tools/gen_nodes.py writes: the builder module and the docs tables."""
