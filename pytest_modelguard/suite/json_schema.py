"""JSON Schemas a suite writes (tool parameters, response formats, the json_schema grader).

One policy for every schema: it must be valid against its draft's metaschema, and its
references resolve only inside the schema (``#/...``). Nothing is ever fetched over the
network or read from a file or device, neither when the suite is checked nor when an
answer is validated: the validators built here refuse to retrieve anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
_SHOWN = 80


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def refs(schema: Any) -> list[str]:
    """Every reference string in ``schema`` (walked without recursion: any depth is safe)."""
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            found += [v for k in REF_KEYS if isinstance(v := node.get(k), str)]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def ref_problem(schema: Any) -> str | None:
    """What is wrong with the schema's references, or None when each resolves inside it."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    found = refs(schema)
    if not found:
        return None
    for ref in found:
        if not ref.startswith("#"):
            return (
                f"schema $ref {_cut(ref)!r}: only references within the schema ('#/...') are "
                "resolved; nothing is fetched over the network or read from files or devices"
            )
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    resolver = Registry().with_resource("", resource).resolver()
    for ref in found:
        try:
            resolver.lookup(ref)
        except Exception:  # Unresolvable, or a pointer the library cannot even parse
            return f"schema $ref {_cut(ref)!r} points at nothing in the schema"
    return None


def _validator_class(schema: Any) -> Any:
    from jsonschema import validators

    return validators.validator_for(schema, default=validators.Draft202012Validator)


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a JSON Schema this project accepts, or None."""
    from jsonschema import exceptions

    if not isinstance(schema, Mapping | bool):
        return f"a schema must be a mapping or a boolean, got {type(schema).__name__}"
    if isinstance(schema, Mapping) and not isinstance(schema.get("$schema", ""), str):
        return "$schema must be a string (the draft's URI)"
    problem = ref_problem(schema)
    if problem:
        return problem
    try:
        _validator_class(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        return f"invalid schema at {exc.json_path}: {_cut(exc.message)}"
    except RecursionError:
        return "the schema is nested too deeply"
    return None


def _no_retrieval(uri: str) -> Any:
    raise LookupError(f"{uri!r} is not fetched: schemas resolve only '#...' references")


def offline_validator(schema: Any) -> Any:
    """A validator for a schema ``schema_problem`` accepted; it never retrieves a reference.

    Without a registry of its own, jsonschema would fetch unknown ``$ref`` URIs (``http://``,
    ``file://``) with urllib while validating.
    """
    from referencing import Registry

    registry: Any = Registry(retrieve=_no_retrieval)  # type: ignore[call-arg]  # attrs alias
    return _validator_class(schema)(schema, registry=registry)
