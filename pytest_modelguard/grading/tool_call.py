"""The ``tool_call`` grader: the answer's tool calls against the expected (or baseline's) ones.

Score: the share of calls matched, out of the larger of the two lists. A text answer
where a call was expected scores 0 with a reason; it is never an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..records.grades import Answer
from ..suite.json_schema import offline_validator, schema_problem
from ._options import AGAINST, Built, Kind, Options, cut

Call = Mapping[str, Any]


def _normal(value: Any) -> Any:
    """JSON-normalised data: a JSON string parsed, so '{"a": 1}' and {a: 1} are equal."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def is_subset(expected: Any, actual: Any) -> bool:
    """Every key of ``expected`` is in ``actual`` with a (recursively) matching value."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and is_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(is_subset(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual) and isinstance(expected, bool) == isinstance(actual, bool)


def shown(calls: Sequence[Call]) -> str:
    """``name({...}), name2({...})`` cut short, for reasons."""
    parts = [f"{c.get('name')}({json.dumps(c.get('arguments'), sort_keys=True)})" for c in calls]
    return cut(", ".join(parts), 120) or "no tool call"


def _reference(opts: Options, against: str | None, answer: Answer) -> tuple[str, list[Call]]:
    expected = answer.expected
    if against != "baseline" and isinstance(expected, Mapping) and "tool_calls" in expected:
        calls = expected["tool_calls"]
        if not isinstance(calls, list) or not all(
            isinstance(c, Mapping) and isinstance(c.get("name"), str) for c in calls
        ):
            raise opts.error("expected.tool_calls must be a list of {name, arguments}")
        return "expected", calls
    if against != "expected" and answer.baseline_tool_calls is not None:
        return "baseline", list(answer.baseline_tool_calls)
    fix = {
        "expected": "give the case `expected: {tool_calls: [{name, arguments}]}`",
        "baseline": "record a baseline answer for the case",
        None: "give the case `expected: {tool_calls: [...]}` or a recorded baseline",
    }[against]
    raise opts.missing_reference(answer, fix)


def _valid_calls(opts: Options, answer: Answer) -> tuple[float, str]:
    """`against: tools`: at least one call, each naming an offered tool with valid arguments."""
    actual = list(answer.tool_calls)
    if not actual:
        return 0.0, f"answered with text, no tool call: {cut(repr(answer.output), 60)}"
    invalid = _schema_failures(opts, actual, answer.tools)
    if invalid:
        return 0.0, "; ".join(invalid.values())
    return 1.0, f"{len(actual)} valid call(s): {shown(actual)}"


def build_tool_call(opts: Options) -> Built:
    """Tool calls match by name and (exact | subset | ignore) arguments, in order or not;
    `against: tools` only checks them against the offered tools' schemas."""
    against = opts.choice("against", (*AGAINST, "tools"), None)
    if against == "tools":
        return Built(lambda answer: _valid_calls(opts, answer))
    arguments = opts.choice("arguments", ARGUMENTS, "exact")
    ordered = opts.flag("ordered", True)
    schema = opts.flag("schema", False)

    def matches(want: Call, got: Call) -> bool:
        if want.get("name") != got.get("name"):
            return False
        if arguments == "ignore" or "arguments" not in want:
            return True
        wanted, given = _normal(want.get("arguments")), _normal(got.get("arguments"))
        return is_subset(wanted, given) if arguments == "subset" else wanted == given

    def check(answer: Answer) -> tuple[float, str]:
        label, reference = _reference(opts, against, answer)
        actual = list(answer.tool_calls)
        if not reference and not actual:
            return 1.0, f"no tool call, as {label}"
        if reference and not actual:
            return 0.0, f"answered with text, no tool call: {cut(repr(answer.output), 60)}"
        invalid = _schema_failures(opts, actual, answer.tools) if schema else {}
        usable = [c for i, c in enumerate(actual) if i not in invalid]
        matched = _count_matches(reference, usable, matches, ordered)
        score = matched / max(len(reference), len(actual))
        reason = f"{matched}/{len(reference)} {label} call(s) matched: got {shown(actual)}"
        if score < 1.0:
            reason += f"; {label} {shown(reference)}"
        if invalid:
            reason += "; " + "; ".join(invalid.values())
        return score, reason

    return Built(check)


def _count_matches(
    reference: Sequence[Call], actual: Sequence[Call], matches: Any, ordered: bool
) -> int:
    if ordered:
        return sum(1 for want, got in zip(reference, actual, strict=False) if matches(want, got))
    left = list(actual)
    count = 0
    for want in reference:
        hit = next((i for i, got in enumerate(left) if matches(want, got)), None)
        if hit is not None:
            left.pop(hit)
            count += 1
    return count


def _schema_failures(
    opts: Options, actual: Sequence[Call], tools: Sequence[Mapping[str, Any]]
) -> dict[int, str]:
    """Calls whose arguments break their tool's ``parameters`` schema (or name no tool).

    The schemas are checked as a suite's are (references only inside the schema) and
    validated offline: a ``$ref`` to a URL or a file is an error, never fetched or read.
    """
    from jsonschema import exceptions
    from referencing.exceptions import Unresolvable

    schemas = {
        (t.get("function") or {}).get("name"): (t.get("function") or {}).get("parameters")
        for t in tools
    }
    failures: dict[int, str] = {}
    for index, call in enumerate(actual):
        name = call.get("name")
        if name not in schemas:
            failures[index] = f"{name!r} is not one of the offered tools"
            continue
        schema = schemas[name] or {}
        problem = schema_problem(schema)
        if problem:
            raise opts.error(f"tool {name!r}: parameters: {problem}")
        errors = offline_validator(schema).iter_errors(_normal(call.get("arguments")))
        try:
            error = exceptions.best_match(errors)
        except (Unresolvable, RecursionError) as exc:
            raise opts.error(f"tool {name!r}: parameters cannot be checked: {exc}") from None
        if error is not None:
            failures[index] = f"{name} arguments at {error.json_path}: {cut(error.message, 80)}"
    return failures


ARGUMENTS = ("exact", "subset", "ignore")
KIND = Kind(
    build_tool_call,
    {"against": (*AGAINST, "tools"), "arguments": ARGUMENTS, "ordered": "flag", "schema": "flag"},
    scalar="against",
)
