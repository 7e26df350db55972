"""The JSON Schema of ``*.modelguard.yaml`` suites, built from the loader's own definitions.

Keys come from ``suite/schema.py``'s tuples (``SUITE_KEYS``, ``CASE_KEYS``...), graders and
their options from the grader registry (each kind's ``Opt`` types), so a key the loader
learns appears here too; a key this module has no shape for is described as anything and
named by ``undescribed()`` (a test lists them). ``LOADER_ONLY`` lists what the loader checks
and a JSON Schema cannot say; it is the schema's description too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import GraderConfigError
from ..records.grades import RESERVED_KEYS, GraderSpec
from ..suite import agent
from ..suite import schema as suite
from ..suite.tools import NAME_RULE
from ..suite.yaml_loader import MAX_DEPTH
from . import build_grader, grader_kinds
from ._options import NORMALIZERS, Kind, Opt

DRAFT = "http://json-schema.org/draft-07/schema#"
"""Draft 7: the draft every editor's YAML and JSON support reads in full."""
END = r"(?![\s\S])"
"""The end of the text in both Python's and ECMAScript's regexes (``$`` differs)."""
NAME = r"^[A-Za-z0-9_-]{1,64}" + END

LOADER_ONLY = (
    "a file a grader's `$ref` names exists, lies in the project and holds a schema",
    "each JSON Schema a suite writes (tool parameters, response_format, json_schema's "
    "schema) is valid against its metaschema, with `$ref` only inside it",
    "regex patterns compile (RE2) and flags are i, m or s",
    "json_field's path parses; equals' and numeric's expected option is text or a number; "
    "a python: grader's function imports",
    "which options a grader needs together (contains: one of any, all, none; length: min or "
    "max, min <= max; json_schema: $ref or schema; llm_judge: rubric or pairwise, and scale "
    "only with a rubric)",
    "case ids are unique in the file, and in the run for one suite name",
    "tool names are unique in a case; tool_choice names an offered tool and comes with tools "
    "once defaults and the case are joined; each tool call of the history is answered by a "
    "tool result right after it",
    "a tool call's arguments written as text are a JSON object",
    "params carry no credential, no key modelguard sets itself, no NaN or infinite number",
    "numbers are finite (NaN), and whole numbers are not written as 1.0",
    f"YAML itself: UTF-8, no tags, no duplicate keys, nesting at most {MAX_DEPTH} deep; "
    "labels in <suite>.labels.yaml beside the suite",
)
"""What the loader refuses that the schema accepts: checked at collection, not while typing."""

_TEXT = {"type": "string", "minLength": 1}
_SCALAR_TEXT = {"anyOf": [_TEXT, {"type": "number"}]}
_FINITE = 1.7976931348623157e308  # the largest float: .inf is above it
_NON_NEGATIVE = {"type": "number", "minimum": 0, "maximum": _FINITE}
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
_STRING_KEYS = {"type": "object", "propertyNames": {"type": "string"}}


def _one_or_list(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "minItems": 1, "items": item}]}


def option_schema(kind: Opt) -> dict[str, Any]:
    """The JSON Schema of one grader option of type ``kind``."""
    if isinstance(kind, tuple):
        return {"enum": list(kind)}
    if isinstance(kind, range):
        return {"type": "integer", "minimum": kind.start, "maximum": kind[-1]}
    shapes: dict[str, dict[str, Any]] = {
        "text": _TEXT,
        "strings": _one_or_list(_SCALAR_TEXT),
        "flag": {"type": "boolean"},
        "number": _NON_NEGATIVE,
        "count": {"type": "integer", "minimum": 0},
        "normalizers": _one_or_list({"enum": list(NORMALIZERS)}),
        "mapping": _STRING_KEYS,
        "any": {},
    }
    return dict(shapes[kind])  # KeyError: a kind declares a type _options.Opt does not know


def _bare_builds(name: str) -> bool:
    """Whether ``- NAME`` alone (no options) is a grader the loader accepts."""
    try:
        build_grader(GraderSpec(name=name))
    except GraderConfigError:
        return False
    return True


def _options_schema(name: str, kind: Kind) -> dict[str, Any]:
    """A mapping of typed options; else null (when the grader needs none) or the bare value
    its ``scalar`` option stands for (``- regex: 'a+'``)."""
    mapping = {
        "type": "object",
        "properties": {key: option_schema(kind.option_type(key)) for key in kind.keys},
        "additionalProperties": False,
    }
    other: list[Any] = [{"type": "null"}] if _bare_builds(name) else []
    if kind.scalar is not None:
        other.append({"not": {"type": "null"}, **option_schema(kind.option_type(kind.scalar))})
    return {"if": {"type": "object"}, "then": mapping, "else": {"anyOf": other or [False]}}


_ENTRY_KEYS: dict[str, dict[str, Any]] = {
    "weight": _NON_NEGATIVE,
    "threshold": {"anyOf": [_FRACTION, {"type": "null"}]},
    "required": {"type": "boolean"},
    "dimension": {"anyOf": [_TEXT, {"type": "null"}]},
}


def _grader_schema() -> dict[str, Any]:
    kinds = grader_kinds()
    return {
        "description": "A grader: its name, or {NAME: options} with weight, threshold, "
        "required, dimension beside it",
        "if": {"type": "string"},
        "then": {"enum": sorted(name for name in kinds if _bare_builds(name))},
        "else": {
            "type": "object",
            "properties": {
                **{name: _options_schema(name, kind) for name, kind in sorted(kinds.items())},
                **{key: _ENTRY_KEYS.get(key, {}) for key in RESERVED_KEYS},
            },
            "additionalProperties": False,
            "oneOf": [{"required": [name]} for name in sorted(kinds)],
        },
    }


_FUNCTION = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": NAME, "description": NAME_RULE},
        "description": {"type": "string"},
        "strict": {"type": "boolean"},
        "parameters": {
            "type": "object",
            "description": "a JSON Schema of type: object (the arguments)",
            "anyOf": [{"maxProperties": 0}, {"required": ["type"]}],
            "properties": {"type": {"const": "object"}},
        },
    },
}
_CALL = {
    "type": "object",
    "required": ["id", "function"],
    "properties": {
        "id": _TEXT,
        "function": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "arguments": {"type": ["object", "string"]}},
        },
    },
}
_REQUEST: dict[str, dict[str, Any]] = {
    "tools": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["type", "function"],
            "properties": {"type": {"const": "function"}, "function": _FUNCTION},
        },
    },
    "tool_choice": {
        "anyOf": [
            {"enum": ["auto", "required", "none"]},
            {
                "type": "object",
                "required": ["function"],
                "properties": {
                    "function": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    }
                },
            },
        ]
    },
    "parallel_tool_calls": {"type": "boolean"},
    "response_format": {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": ["text", "json_object", "json_schema"]}},
        "if": {"properties": {"type": {"const": "json_schema"}}},
        "then": {
            "required": ["json_schema"],
            "properties": {
                "json_schema": {
                    "type": "object",
                    "required": ["schema", "name"],
                    "properties": {
                        "name": {"type": "string", "pattern": NAME},
                        "schema": {"type": "object"},
                        "strict": {"type": "boolean"},
                    },
                }
            },
        },
    },
}
_MESSAGE_KEYS: dict[str, dict[str, Any]] = {
    "role": {"enum": list(suite.ROLES)},
    "content": {"description": "text, or content parts"},
    "name": {},
    "tool_calls": {"anyOf": [{"type": "null"}, {"type": "array", "minItems": 1, "items": _CALL}]},
    "tool_call_id": {},
}
_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {key: _MESSAGE_KEYS.get(key, {}) for key in sorted(suite.MESSAGE_KEYS)},
    "additionalProperties": False,
    "allOf": [
        {
            "anyOf": [
                {"required": ["content"], "properties": {"content": {"not": {"type": "null"}}}},
                {"required": ["tool_calls"], "properties": {"tool_calls": {"type": "array"}}},
            ]
        },
        {
            "if": {"properties": {"role": {"const": "tool"}}},
            "then": {
                "required": ["tool_call_id"],
                "properties": {"tool_call_id": {"type": "string"}},
            },
        },
        {
            "if": {"not": {"properties": {"role": {"const": "assistant"}}}},
            "then": {"properties": {"tool_calls": {"type": "null"}}},
        },
    ],
}
_TOKENS = {"type": "integer", "minimum": 0}
_BASELINE_KEYS: dict[str, dict[str, Any]] = {
    "output": {"type": "string"},
    **dict.fromkeys(suite.BASELINE_KEYS[1:6], _TOKENS),
    "cost_usd": {"anyOf": [_NON_NEGATIVE, {"type": "null"}]},
    "latency_s": {"anyOf": [_NON_NEGATIVE, {"type": "null"}]},
    "model": {},
    "tool_calls": {
        "type": ["array", "null"],
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}},
        },
    },
    "steps": {
        "type": "array",
        "items": {"type": "object"},
        "description": "an agent case's recorded answer of each step (export writes them)",
    },
}
_BASELINE = {
    "description": "the answer production gave (the baseline is then not called)",
    "anyOf": [
        {"type": ["string", "null"]},
        {
            "type": "object",
            "required": ["output"],
            "properties": {key: _BASELINE_KEYS.get(key, {}) for key in suite.BASELINE_KEYS},
            "additionalProperties": False,
        },
    ],
}
_TAGS = {"anyOf": [_TEXT, {"type": "array", "items": _TEXT}]}
_CASE_ID = {
    "anyOf": [
        {"type": "integer"},
        {
            "type": "string",
            "pattern": r"^[^\s\[\]:](?:[^\[\]:\n]*[^\s\[\]:])?" + END,
            "description": "no '[', ']', ':', line breaks or surrounding spaces",
        },
    ]
}
_KEYS: dict[str, dict[str, Any]] = {
    "suite": {**_TEXT, "description": "the suite's name (default: the file's name)"},
    "description": {"description": "free text, not read"},
    "tags": _TAGS,
    "id": _CASE_ID,
    "prompt": {"type": "string"},
    "messages": {"type": "array", "minItems": 1, "items": _MESSAGE},
    "system": {"type": "string"},
    "params": {**_STRING_KEYS, "properties": _REQUEST},
    "expected": {"description": "what a good answer holds; its graders read it"},
    "baseline": _BASELINE,
    "repeat": {"type": "integer", "minimum": 1, "maximum": 1000},
    "labels": {
        "type": "object",
        "propertyNames": {"type": "string", "minLength": 1},
        "additionalProperties": _FRACTION,
    },
    "agent": {
        "description": "run the case as a tool-using agent loop",
        "type": "object",
        "properties": {
            "max_steps": {"type": "integer", "minimum": 1, "maximum": agent.MAX_STEPS},
            "tool_results": {"enum": list(agent.TOOL_RESULTS)},
        },
        "additionalProperties": False,
    },
    "tools_from": {
        **_TEXT,
        "description": "package.module whose public functions are the suite's tools",
    },
    **_REQUEST,
}


_ABOUT = {
    "tags": "tags (select cases with pytest -m); the suite's and defaults' join each case's",
    "defaults": "what every case gets unless it writes its own",
    "cases": "the prompts, each with what a good answer looks like",
    "id": "the case's id, unique in the suite",
    "prompt": "one user message (or write messages:)",
    "messages": "the conversation sent: {role, content}, tool calls and results",
    "system": "a system message put first",
    "params": "sent to every model with the request (temperature, max_tokens...)",
    "expected": "what a good answer holds; graders compare with it",
    "baseline": "production's answer: the baseline model is then not called",
    "graders": "how an answer is scored; a case's list replaces the defaults'",
    "repeat": "answers asked per (case, model), 1 to 1000",
    "labels": "a person's score of each model's answer: {MODEL: 0..1}",
    "tools": "tools offered: {type: function, function: {name, description, parameters}}",
    "tool_choice": "auto, required, none or {type: function, function: {name}}",
    "parallel_tool_calls": "whether the model may call several tools at once",
    "response_format": "structured output: {type: json_schema, json_schema: {name, schema}}",
}


def _described(keys: tuple[str, ...], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Properties for ``keys``: their shapes, anything for a key this module does not know."""
    shapes = {key: dict(extra.get(key) or _KEYS.get(key) or {}) for key in keys}
    for key, shape in shapes.items():
        if key in _ABOUT:
            shape.setdefault("description", _ABOUT[key])
    return shapes


def undescribed() -> list[str]:
    """Loader keys the schema describes as anything because this module has no shape for them,
    and grader options whose kind declares no types."""
    every = {
        "suite": (suite.SUITE_KEYS, {*_KEYS, "defaults", "cases"}),
        "defaults": (suite.DEFAULT_KEYS, {*_KEYS, "graders"}),
        "case": (suite.CASE_KEYS, {*_KEYS, "graders"}),
        "message": (tuple(suite.MESSAGE_KEYS), set(_MESSAGE_KEYS)),
        "baseline": (suite.BASELINE_KEYS, set(_BASELINE_KEYS)),
        "grader": (RESERVED_KEYS, set(_ENTRY_KEYS)),
    }
    return sorted(
        f"{where}.{key}"
        for where, (keys, known) in every.items()
        for key in keys
        if key not in known
    )


def suite_schema() -> dict[str, Any]:
    """The suites' JSON Schema (draft 7)."""
    grader = {"$ref": "#/definitions/grader"}
    defaults = {
        "type": "object",
        "properties": _described(
            suite.DEFAULT_KEYS, {"graders": {"type": "array", "items": grader}}
        ),
        "additionalProperties": False,
    }
    case = {
        "type": "object",
        "required": ["id"],
        "properties": _described(
            suite.CASE_KEYS, {"graders": {"type": "array", "minItems": 1, "items": grader}}
        ),
        "additionalProperties": False,
        "description": "a case needs exactly one of prompt or messages",
        "if": {"required": ["prompt"]},
        "then": {"not": {"required": ["messages"]}},
        "else": {"required": ["messages"]},
    }
    with_graders = {"required": ["graders"], "properties": {"graders": {"minItems": 1}}}
    return {
        "$schema": DRAFT,
        "title": "pytest-modelguard suite (*.modelguard.yaml)",
        "description": "Checked by the loader beyond this schema (at collection): "
        + "; ".join(LOADER_ONLY)
        + ".",
        "type": "object",
        "required": ["cases"],
        "properties": _described(
            suite.SUITE_KEYS,
            {
                "defaults": defaults,
                "cases": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/case"}},
            },
        ),
        "additionalProperties": False,
        "if": {"required": ["defaults"], "properties": {"defaults": with_graders}},
        "else": {"properties": {"cases": {"items": {"required": ["graders"]}}}},
        "definitions": {"case": case, "grader": _grader_schema()},
    }
