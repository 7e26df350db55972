"""The hardened YAML loader of suites: safe, line-tracking, bounded in size, depth and aliases.

``read_yaml`` reads one file: at most ``MAX_FILE_BYTES``, UTF-8, no tags beyond plain
data, no duplicate keys, nesting at most ``MAX_DEPTH`` deep, aliases adding at most
``MAX_ALIAS_NODES`` nodes; mappings and sequences remember their lines (``LineDict``,
``LineList``) so the schema's messages can say ``path:line``. Every refusal is a
``SuiteError`` naming ``path:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import FileRefused, SuiteError
from ..core.gc_pause import cyclic_gc_paused
from ..core.safety import MAX_FILE_BYTES, read_regular_file

MAX_DEPTH = 100
"""Deeper nesting is refused: libyaml's composer recurses in C and would crash the process."""
MAX_ALIAS_NODES = 1_000_000
"""Nodes aliases may add beyond 10 per written node; stops "billion laughs" documents."""


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A YAML sequence that remembers the line of itself and of each item."""

    line: int
    item_lines: list[int]


def _loader_base() -> type[yaml.SafeLoader]:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_loader_base()):  # type: ignore[misc]
    """Safe loader: line numbers on collections, no duplicate keys, no tags beyond plain data."""


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    written = {id(key) for key, _ in node.value if key.tag != _MERGE_TAG}
    loader.flatten_mapping(node)  # merged (<<) pairs come first; written keys override them
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    from_merge: set[Any] = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if isinstance(key, list | dict):
            raise SuiteError(f"line {line}: a mapping key must be a plain value, not a collection")
        if key in mapping and key not in from_merge and id(key_node) in written:
            raise SuiteError(f"line {line}: duplicate key {key!r}")
        from_merge.discard(key)
        if id(key_node) not in written:
            from_merge.add(key)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = line
    return mapping


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
    items = LineList(loader.construct_object(child, deep=True) for child in node.value)
    items.line = node.start_mark.line + 1
    items.item_lines = [child.start_mark.line + 1 for child in node.value]
    return items


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    """Dates stay text (``expected: 2024-01-01`` compares with an answer's text, and hashes)."""
    return str(loader.construct_scalar(node))


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    raise SuiteError(
        f"line {node.start_mark.line + 1}: invalid YAML: tag {tag!r} is not allowed: "
        "suites are plain data, read with YAML's safe loader"
    )


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor(None, _refuse_tag)


class _CoreLoader(_Loader):
    """YAML 1.2's booleans (js-yaml's, promptfoo's): ``yes``, ``no``, ``on``, ``off`` stay text."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_CoreLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_CoreLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _check_structure(text: str) -> None:
    """Refuse too-deep nesting, recursive aliases and alias bombs, from libyaml's event stream.

    The stream is flat, so this cannot overflow; the composer that runs next recurses.
    """
    open_: list[list[Any]] = []  # [anchor, nodes so far] of each open collection
    sizes: dict[str, int] = {}  # anchor -> nodes it expands to
    written = added = 0
    events: Iterator[Any] = yaml.parse(text, Loader=_Loader)
    for event in events:
        kind = type(event)
        if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if len(open_) >= MAX_DEPTH:
                raise _at(event, f"invalid YAML: nested deeper than {MAX_DEPTH} levels")
            written += 1
            open_.append([event.anchor, 1])
            continue
        if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            anchor, nodes = open_.pop()
        elif kind is yaml.ScalarEvent:
            anchor, nodes = event.anchor, 1
            written += 1
        elif kind is yaml.AliasEvent:
            if any(frame[0] == event.anchor for frame in open_):
                raise _at(event, f"invalid YAML: recursive alias *{event.anchor}")
            anchor, nodes = None, sizes.get(event.anchor, 1)
            added += nodes
            if added > MAX_ALIAS_NODES + 10 * written:
                raise _at(event, _BOMB)
        else:
            continue
        if anchor is not None:
            sizes[anchor] = nodes
        if open_:
            open_[-1][1] += nodes


_BOMB = (
    f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes "
    "(a 'billion laughs' document?); write the data out or use fewer aliases"
)


def _at(event: Any, problem: str) -> SuiteError:
    return SuiteError(f"line {event.start_mark.line + 1}: {problem}")


def read_yaml(path: Path, shown: str, what: str = "suite", *, yaml12: bool = False) -> Any:
    """The file's YAML document, read safely; SuiteError naming ``path:line`` otherwise.

    ``what`` the file is, in messages: a suite, a labels file. ``yaml12``: booleans as
    YAML 1.2 reads them (another tool's file, written for js-yaml)."""
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
    except FileRefused as exc:
        hint = " (split it into several suites)" if "MB" in str(exc) and what == "suite" else ""
        raise SuiteError(f"{shown}: the {what} {exc}{hint}") from None
    except OSError as exc:
        raise SuiteError(f"{shown}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SuiteError(
            f"{shown}:{line}: cannot read {what}: not UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    return load_text(text, shown, yaml12=yaml12)


def load_text(text: str, shown: str, *, yaml12: bool = False) -> Any:
    """YAML text (read from ``shown``) loaded as ``read_yaml`` loads a file's."""
    try:
        _check_structure(text)
        with cyclic_gc_paused():  # a large suite: hundreds of thousands of nodes, no cycles
            return yaml.load(text, Loader=_CoreLoader if yaml12 else _Loader)  # SafeLoaders
    except SuiteError as exc:
        raise SuiteError(f"{shown}:{str(exc).removeprefix('line ')}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError):  # a character YAML refuses, by position
            at = f":{text.count(chr(10), 0, exc.position) + 1}"
            problem = f"character U+{ord(text[exc.position]):04X} is not allowed ({exc.reason})"
        if "cannot start any token" in problem and _char_at(text, mark) == "\t":
            problem += " (a tab: indent YAML with spaces)"
        if "maximum nesting depth" in problem:  # libyaml >= 0.2.6 stops at 1,000 by itself
            problem = f"nested deeper than {MAX_DEPTH} levels"
        raise SuiteError(f"{shown}{at}: invalid YAML: {problem}") from None


def _char_at(text: str, mark: Any) -> str:
    """The character a YAML error mark points at ('' when there is none)."""
    if mark is None:
        return ""
    lines = text.splitlines()
    row = lines[mark.line] if mark.line < len(lines) else ""
    return row[mark.column] if mark.column < len(row) else ""
