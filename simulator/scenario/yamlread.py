"""Strict YAML reading for scenario and sweep files (and ``--set`` values).

:func:`load_yaml` is ``yaml.safe_load`` that also refuses, each with one message:

* a key given twice in one mapping (YAML lets the last win silently): the key and both
  lines are named; merge keys (``<<: *base``) may still be overridden;
* nesting deeper than :data:`MAX_DEPTH` levels (PyYAML would die of a RecursionError),
  also when reached through aliases;
* numbers such as ``1e-7`` are floats (YAML 1.2), not the strings PyYAML makes of them;
* a document whose aliases (``&a`` / ``*a``) expand to more than :data:`MAX_NODES`
  values (an "alias bomb": a few lines that would take gigabytes once expanded), or that
  refers to itself.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MAX_DEPTH", "MAX_NODES", "YamlRefused", "load_yaml"]

MAX_DEPTH = 64
MAX_NODES = 1_000_000
_MERGE = "tag:yaml.org,2002:merge"


class YamlRefused(yaml.YAMLError):
    """Well-formed YAML that clearsim refuses (duplicate key, too deep, alias bomb)."""


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH and not self.check_event(  # levels are collections
                    yaml.ScalarEvent, yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep at line "
                                  f"{mark.line + 1}; flatten the document")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if first is not None:
                raise YamlRefused(f"duplicate key {key!r} at line {_line(key_node)} (first "
                                  f"at line {first}); give each key once")
            seen[key] = _line(key_node)
        return super().construct_mapping(node, deep)


# YAML 1.1 (PyYAML) reads ``1e-7`` and ``5e7`` (no dot) as strings; read them as floats,
# as YAML 1.2 and every user does.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _measure(root: Node) -> None:
    """Refuse a node graph that expands to too many values, too deep, or in a cycle.

    Iterative (no recursion) and memoised per node, so it is linear in the document.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in kids)
            depth[key] = (0 if isinstance(node, ScalarNode) else 1) + max(  # collections
                (depth[id(c)] for c in kids), default=0)
            open_nodes.discard(key)
            if size[key] > MAX_NODES:
                raise YamlRefused(f"aliases (&/*) expand the document to more than "
                                  f"{MAX_NODES:,} values (at line {_line(node)}); write the "
                                  "values out or use fewer aliases")
            if depth[key] > MAX_DEPTH:
                raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep through aliases "
                                  f"(at line {_line(node)}); flatten the document")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise YamlRefused(f"an alias at line {_line(node)} refers to itself; YAML "
                              "values here must be finite trees")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def load_yaml(text: str) -> Any:
    """Parse one YAML document like ``yaml.safe_load``, with the refusals above.

    Raises:
        YamlRefused: a duplicate key, too deep, an alias bomb or a self-reference.
        yaml.YAMLError: not valid YAML.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
