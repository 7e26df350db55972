"""Deterministic graders of JSON output: json_valid, json_schema, json_field.

Unless ``strict: true``, an output that is one fenced block (```json ... ``` or
``` ... ```) is unwrapped before parsing. Parsing is strict JSON: NaN and
Infinity are rejected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import FileRefused
from ..core.safety import MAX_FILE_BYTES, read_regular_file
from ..records.grades import Answer
from ..suite.json_schema import offline_validator, schema_problem
from ._options import Built, Kind, Opt, Options, cut, show

_FENCE = re.compile(r"\A\s*```[ \t]*(?:json)?[ \t]*\r?\n(.*?)\r?\n[ \t]*```\s*\Z", re.S | re.I)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_output(output: str, *, strict: bool) -> Any:
    """The output parsed as JSON; ValueError with a short reason when it is not."""
    fenced = None if strict else _FENCE.match(output)
    text = fenced.group(1) if fenced else output
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise ValueError(f"invalid JSON: {exc.msg} at {where} of {show(text, 40)}") from None
    except ValueError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply to parse") from None


def _dump(value: Any) -> str:
    return cut(json.dumps(value, ensure_ascii=False, default=str), 60)


MAX_JSON_STARTS = 1000
"""`anywhere`: the first this many `{` of an output are tried as the start of an object."""


def find_object(output: str) -> Any:
    """The first JSON object written anywhere in ``output``; ValueError when there is none."""
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    start = output.find("{")
    for _ in range(MAX_JSON_STARTS):
        if start < 0:
            break
        try:
            return decoder.raw_decode(output, start)[0]
        except (ValueError, RecursionError):
            start = output.find("{", start + 1)
    raise ValueError(f"no JSON object in {show(output, 40)}")


def build_json_valid(opts: Options) -> Built:
    """The output parses as JSON (`anywhere`: holds a JSON object somewhere)."""
    strict = opts.flag("strict", False)
    anywhere = opts.flag("anywhere", False)

    def check(answer: Answer) -> tuple[float, str]:
        if anywhere:
            try:
                find_object(answer.output)
            except ValueError as exc:
                return 0.0, str(exc)
            return 1.0, "holds a JSON object"
        try:
            load_output(answer.output, strict=strict)
        except ValueError as exc:
            return 0.0, str(exc)
        return 1.0, "valid JSON"

    return Built(check)


def _schema_file(opts: Options, ref: str) -> Path:
    """The file ``$ref`` names: inside the project, never a URL."""
    if "://" in ref:
        raise opts.error(f"$ref: {ref!r} is a URL; schemas are read from files, never fetched")
    path = Path(opts.base_dir, ref)
    root = Path(opts.root_dir).resolve()
    if not path.resolve().is_relative_to(root):
        raise opts.error(f"$ref: {ref!r} is outside the project ({root}); copy the schema in")
    return path


def _read_schema(opts: Options, ref: str) -> Any:
    path = _schema_file(opts, ref)
    try:
        text = read_regular_file(path, MAX_FILE_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise opts.error(f"$ref: schema file {ref!r} not found (looked for {path})") from None
    except FileRefused as exc:
        raise opts.error(f"$ref: {path} {exc}") from None
    except OSError as exc:
        raise opts.error(f"$ref: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise opts.error(f"$ref: {path} is not UTF-8 (byte {exc.start})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as exc:
            raise opts.error(f"$ref: {path} is not valid YAML: {exc}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise opts.error(f"$ref: {path} is not valid JSON: {exc}") from None


def _schema_validator(opts: Options, schema: Any) -> Any:
    """A checked validator for the schema (its `$schema` draft, else 2020-12); never fetches."""
    problem = schema_problem(schema)
    if problem:
        raise opts.error(problem)
    return offline_validator(schema)


def build_json_schema(opts: Options) -> Built:
    """The parsed output validates against a JSON Schema (`$ref` file or inline `schema`)."""
    if opts.has("$ref") == opts.has("schema"):
        raise opts.error("give either `$ref: path/to/schema.json` or `schema: {...}` (inline)")
    ref = opts.text("$ref")
    schema = _read_schema(opts, ref) if ref is not None else opts.get("schema")
    validator = _schema_validator(opts, schema)
    strict = opts.flag("strict", False)
    from jsonschema.exceptions import best_match

    def check(answer: Answer) -> tuple[float, str]:
        try:
            data = load_output(answer.output, strict=strict)
        except ValueError as exc:
            return 0.0, str(exc)
        error = best_match(validator.iter_errors(data))
        if error is None:
            return 1.0, "matches the schema"
        return 0.0, f"{error.json_path}: {cut(error.message, 120)}"

    return Built(check)


_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")


def parse_path(path: str) -> tuple[str | int, ...]:
    """``items[0].total`` → ``('items', 0, 'total')``; ValueError on bad syntax."""
    parts: list[str | int] = []
    position = 0
    while position < len(path):
        found = _PATH_PART.match(path, position)
        misplaced_dot = found is not None and found.group().startswith(".") != (position > 0)
        if found is None or (found[1] is not None and misplaced_dot):
            raise ValueError(f"cannot parse at {path[position:]!r}; write e.g. items[0].total")
        parts.append(found[1] if found[1] is not None else int(found[2]))
        position = found.end()
    if not parts:
        raise ValueError("empty path")
    return tuple(parts)


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    """The value at path; LookupError naming the first step that is missing."""
    seen = "$"
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or not -len(data) <= part < len(data):
                size = f"a list of {len(data)}" if isinstance(data, list) else _json_type(data)
                raise LookupError(f"no [{part}] at {seen}: it is {size}")
            data, seen = data[part], f"{seen}[{part}]"
        else:
            if not isinstance(data, dict) or part not in data:
                what = "has no such key" if isinstance(data, dict) else f"is {_json_type(data)}"
                raise LookupError(f"no {part!r} at {seen}: it {what}")
            data, seen = data[part], f"{seen}.{part}"
    return data


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


def same(expected: Any, actual: Any, tolerance: float, norm: Callable[[str], str]) -> bool:
    """Deep JSON equality: numbers within tolerance, strings after norm, true is not 1."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return abs(expected - actual) <= tolerance
    if isinstance(expected, str) and isinstance(actual, str):
        return norm(expected) == norm(actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same(e, a, tolerance, norm) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(value, actual[key], tolerance, norm) for key, value in expected.items()
        )
    return expected is None and actual is None


def build_json_field(opts: Options) -> Built:
    """The value at `path` in the parsed output equals `expected` (numbers within `tolerance`)."""
    path_text = opts.required_text("path")
    try:
        path = parse_path(path_text)
    except ValueError as exc:
        raise opts.error(f"path {path_text!r}: {exc}") from None
    has_fixed, fixed = opts.has("expected"), opts.get("expected")
    tolerance = opts.number("tolerance", 0.0)
    norm = opts.normalizer()
    strict = opts.flag("strict", False)

    def check(answer: Answer) -> tuple[float, str]:
        if not has_fixed and answer.expected is None:
            raise opts.missing_reference(answer, "give the case or the grader an `expected:`")
        wanted = fixed if has_fixed else answer.expected
        if not has_fixed and isinstance(wanted, dict | list):
            try:  # a structured expected holds the field at the same path
                wanted = _lookup(wanted, path)
            except LookupError as exc:
                raise opts.missing_reference(answer, f"the case's expected has {exc}") from None
        try:
            value = _lookup(load_output(answer.output, strict=strict), path)
        except (ValueError, LookupError) as exc:
            return 0.0, str(exc)
        if same(wanted, value, tolerance, norm):
            return 1.0, f"{path_text} = {_dump(value)}"
        return 0.0, f"{path_text}: expected {_dump(wanted)}, got {_dump(value)}"

    return Built(check)


_FIELD_OPTIONS: Mapping[str, Opt] = {
    "path": "text", "expected": "any", "tolerance": "number",
    "normalize": "normalizers", "strict": "flag",
}  # fmt: skip
JSON_GRADERS: Mapping[str, Kind] = {
    "json_valid": Kind(build_json_valid, {"strict": "flag", "anywhere": "flag"}),
    "json_schema": Kind(
        build_json_schema, {"$ref": "text", "schema": "any", "strict": "flag"}, scalar="$ref"
    ),
    "json_field": Kind(
        build_json_field,
        _FIELD_OPTIONS,
        scalar="path",
    ),
}
