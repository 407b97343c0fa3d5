"""The nodes of a pipeline by name, by id and counted by type, so adding a node is O(1).

A pipeline's ``_nodes`` list stays the truth: it may be replaced (a revert, a node removed)
and a node may be renamed after it was added. The index notices both: it is rebuilt when the
list is another list or has another length, and a hit is checked against the node it names.
A node renamed to a name already taken is still caught, by ``validate()`` before any save.
"""

from __future__ import annotations

from collections import Counter

from vectorshift.pipeline._node import Node

__all__ = ["NodeIndex"]


class NodeIndex:
    """Names, ids and counts of types of one list of nodes, kept in step with it."""

    def __init__(self) -> None:
        self._of: list[Node] | None = None
        self._length = -1
        self.names: dict[str, Node] = {}
        self.ids: dict[str, Node] = {}
        self.types: Counter[str] = Counter()

    def of(self, nodes: list[Node]) -> NodeIndex:
        """The index of ``nodes``, rebuilt in one pass if it was built for another state."""
        if self._of is not nodes or self._length != len(nodes):
            self._rebuild(nodes)
        return self

    def _rebuild(self, nodes: list[Node]) -> None:
        self._of, self._length = nodes, len(nodes)
        self.names, self.ids, self.types = {}, {}, Counter()
        for node in nodes:
            self.names.setdefault(node.name, node)
            self.ids.setdefault(node.id, node)
            self.types[node.type] += 1

    def clash(self, nodes: list[Node], node: Node) -> tuple[str, Node] | None:
        """``("name" | "id", the node there)`` when ``node``'s name or id is taken, else None."""
        for _ in range(2):
            index = self.of(nodes)
            by_name, by_id = index.names.get(node.name), index.ids.get(node.id)
            fresh = (by_name is None or by_name.name == node.name) and (
                by_id is None or by_id.id == node.id
            )
            if fresh:
                break
            self._of = None  # a node was renamed since: rebuild once and look again
        if by_name is not None and by_name.name == node.name:
            return "name", by_name
        if by_id is not None and by_id.id == node.id:
            return "id", by_id
        return None

    def added(self, nodes: list[Node], node: Node) -> None:
        """Record ``node``, just appended to ``nodes``."""
        if self._of is nodes and self._length == len(nodes) - 1:
            self._length += 1
            self.names.setdefault(node.name, node)
            self.ids.setdefault(node.id, node)
            self.types[node.type] += 1
        else:
            self._rebuild(nodes)

    def named(self, nodes: list[Node], name: str, *, scan: bool = False) -> Node | None:
        """The first node named ``name``, or None.

        A node renamed after it was added is found under its new name only with ``scan``
        (a pass over the list when the index has no such name).
        """
        found = self.of(nodes).names.get(name)
        if found is not None and found.name == name:
            return found
        if found is None and not scan:
            return None
        return next((node for node in nodes if node.name == name), None)
