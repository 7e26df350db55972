"""A promptfoo config checked against promptfoo's published JSON schema (kept as data).

``data/promptfoo-config-schema.json`` is a hand-made subset of the schema promptfoo
publishes (its ``$comment`` names the commit): every top-level key, and prompts,
providers, tests, ``defaultTest``, scenarios and assertions as published. promptfoo
itself only warns about a config its schema refuses, and so does the importer: each
problem is listed with its ``file:line`` and the import goes on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ..core.errors import SuiteError
from ..suite.yaml_loader import LineDict, LineList
from .sources import line_of

MAX_PROBLEMS = 20
MAX_REF_DEPTH = 50


@cache
def _validator() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator(_schema())


@cache
def _schema() -> Any:
    text = resources.files(__package__).joinpath("data/promptfoo-config-schema.json").read_text()
    return json.loads(text)


@cache
def assertion_types() -> frozenset[str]:
    """The assertion types promptfoo's schema lists (what a CSV ``__expected`` may name)."""
    alternatives = _schema()["definitions"]["Assertion"]["properties"]["type"]["anyOf"]
    return frozenset(alternatives[0]["enum"])


def _line(data: Any, path: list[Any]) -> int:
    line = getattr(data, "line", 1)
    node = data
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(str(part), line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def problems(data: Any, shown: str) -> list[tuple[str, str]]:
    """``(file:line, problem)`` for each place the config breaks the schema (at most 20)."""
    from jsonschema.exceptions import best_match

    out = []
    for error in _validator().iter_errors(data):
        error = best_match([error])
        path = list(error.absolute_path)
        key = ".".join(str(part) for part in path) or "(top level)"
        message = " ".join(error.message.split())
        if len(message) > 120:
            message = message[:120] + "…"
        out.append((f"{shown}:{_line(data, path)}", f"{key}: {message}"))
        if len(out) >= MAX_PROBLEMS:
            break
    return out


def resolve_refs(node: Any, root: Any, where: str, depth: int = 0) -> Any:
    """``{$ref: '#/a/b'}`` replaced by that node of the config; other references refused."""
    if depth > MAX_REF_DEPTH:
        raise SuiteError(f"{where}: $ref nested more than {MAX_REF_DEPTH} deep (a cycle?)")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            at = line_of(node, "$ref", where)
            if not ref.startswith("#/"):
                raise SuiteError(
                    f"{at}: $ref {ref[:60]!r} is not inside the config (#/...): "
                    "a URL or file reference is refused unread"
                )
            return resolve_refs(_pointer(root, ref, at), root, at, depth + 1)
        for key in list(node):
            node[key] = resolve_refs(node[key], root, where, depth + 1)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            node[index] = resolve_refs(item, root, where, depth + 1)
    return node


def _pointer(root: Any, ref: str, where: str) -> Any:
    node = root
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SuiteError(f"{where}: $ref {ref!r} points at nothing in the config")
    return node
