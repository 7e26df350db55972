"""One promptfoo ``assert`` → one of our graders, a budget, or the reason it cannot map.

Each mapping keeps promptfoo's pass/fail meaning (read from its assertion handlers):
``equals`` is exact; ``contains`` and ``contains-any`` are case-sensitive, the ``i``
forms are not; ``starts-with`` and ``not-equals`` become RE2 patterns of the escaped
text; ``is-json`` parses the whole output (``strict``); ``llm-rubric`` is a pass/fail
``llm_judge`` (``scale: 2``; with a ``threshold``, a 1–10 score held to it). Where ours
differs it says so in a note: ``contains-all`` gives partial credit (the fraction found)
where promptfoo gives 0 or 1; ``latency`` becomes the run's p95 budget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from ..suite.json_schema import schema_problem
from .nunjucks import Unsupported, render, text_of

COMMON_KEYS = frozenset(("type", "value", "weight", "metric", "threshold"))
SchemaReader = Callable[[str], Any]
"""Reads a ``file://`` JSON Schema named by an is-json value (relative to the config)."""


@dataclass(frozen=True, slots=True)
class Mapped:
    """What an assert became: a grader entry, a budget, or nothing with the reason."""

    grader: dict[str, Any] | None = None
    budget: tuple[str, float] | None = None
    unmapped: str | None = None
    notes: tuple[str, ...] = field(default=())


def _terms(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list) or not value:
        return None
    terms = [text_of(item) for item in value if not isinstance(item, Mapping | list)]
    return terms if len(terms) == len(value) and all(terms) else None


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    return text_of(value) or None


def _contains(kind: str, value: Any, inverse: bool) -> Mapped:
    many = kind.endswith(("-any", "-all"))
    terms = _terms(value) if many else ([_scalar(value)] if _scalar(value) else None)
    if terms is None:
        return Mapped(unmapped=f"{kind} without a text value")
    part = "any"
    notes: tuple[str, ...] = ()
    if kind.endswith("-all"):
        if inverse:
            return Mapped(unmapped=f"not-{kind} (no grader passes when some term is missing)")
        part = "all"
        notes = ("contains-all scores the fraction of terms found (promptfoo: 0 or 1)",)
    elif inverse:
        part = "none"
    options: dict[str, Any] = {part: terms}
    if not kind.startswith("i"):
        options["case_sensitive"] = True
    return Mapped(grader={"contains": options}, notes=notes)


def _regex(kind: str, value: Any, inverse: bool) -> Mapped:
    text = _scalar(value)
    if text is None:
        return Mapped(unmapped=f"{kind} without a text value")
    if kind == "equals":
        options: dict[str, Any] = {"pattern": re.escape(text), "match": "full"}
    elif kind == "starts-with":
        options = {"pattern": "^" + re.escape(text)}
    else:
        options = {"pattern": text}
        if not _re2_compiles(text):
            return Mapped(unmapped="regex RE2 cannot run (lookarounds, backreferences)")
    if inverse:
        options["negate"] = True
    return Mapped(grader={"regex": options})


def _re2_compiles(pattern: str) -> bool:
    import re2  # type: ignore[import-untyped,unused-ignore]

    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(pattern, options)
    except re2.error:
        return False
    return True


def _equals(value: Any, inverse: bool) -> Mapped:
    if inverse:
        return _regex("equals", value, inverse)
    text = _scalar(value)
    if text is None:
        return Mapped(unmapped="equals with an object value (deep JSON equality)")
    return Mapped(grader={"equals": {"expected": text}})


def _json(kind: str, value: Any, inverse: bool, schema_of: SchemaReader) -> Mapped:
    if inverse:
        return Mapped(unmapped=f"not-{kind} (no grader passes on invalid JSON)")
    if value in (None, ""):
        if kind == "is-json":
            return Mapped(grader={"json_valid": {"strict": True}})
        return Mapped(grader={"json_valid": {"anywhere": True}})
    if kind == "contains-json":
        return Mapped(unmapped="contains-json with a schema")
    schema = value
    if isinstance(value, str):
        schema = schema_of(value)
    if not isinstance(schema, Mapping | bool):
        return Mapped(unmapped="is-json with a schema that is not an object")
    problem = schema_problem(schema)
    if problem:
        return Mapped(unmapped=f"is-json with a schema we cannot check ({problem[:80]})")
    return Mapped(grader={"json_schema": {"schema": schema, "strict": True}})


def _rubric(assertion: Mapping[str, Any], value: Any, model: str | None) -> Mapped:
    text = _scalar(value)
    if text is None:
        return Mapped(unmapped="llm-rubric without a text rubric")
    options: dict[str, Any] = {"rubric": text, "scale": 2}
    if assertion.get("threshold") is not None:
        options["scale"] = 10
    if model:
        options["model"] = model
    return Mapped(grader={"llm_judge": options})


def _budget(kind: str, assertion: Mapping[str, Any], inverse: bool) -> Mapped:
    threshold = assertion.get("threshold")
    if inverse or not _number(threshold):
        return Mapped(unmapped=f"{'not-' if inverse else ''}{kind} without a number threshold")
    limit = float(threshold)
    if kind == "cost":
        return Mapped(budget=("max_cost_per_case_usd", limit))
    return Mapped(
        budget=("max_latency_p95_s", limit / 1000),
        notes=("latency: a budget on the run's p95 latency, not on each call",),
    )


def _number(value: Any) -> TypeGuard[float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def map_assert(
    assertion: Mapping[str, Any],
    values: Mapping[str, Any],
    schema_of: SchemaReader,
    judge_of: Callable[[Any], str | None],
) -> Mapped:
    """The grader (or budget) for one assert, its value rendered with the test's vars."""
    kind = assertion.get("type")
    if not isinstance(kind, str) or not kind:
        return Mapped(unmapped="assert without a type")
    inverse = kind.startswith("not-")
    base = kind.removeprefix("not-")
    extra = sorted(str(key) for key in assertion if key not in COMMON_KEYS)
    if base == "llm-rubric" and "provider" in extra and judge_of(assertion["provider"]):
        extra.remove("provider")
    if extra:
        return Mapped(unmapped=f"{kind} with {extra[0]}")
    try:
        value = _rendered(assertion.get("value"), values)
    except Unsupported as exc:
        return Mapped(unmapped=f"{kind} value: {exc}")
    mapped = _by_kind(base, inverse, assertion, value, schema_of, judge_of)
    if mapped.grader is not None:
        mapped.grader.update(_extras(assertion))
    return mapped


def _by_kind(
    base: str,
    inverse: bool,
    assertion: Mapping[str, Any],
    value: Any,
    schema_of: SchemaReader,
    judge_of: Callable[[Any], str | None],
) -> Mapped:
    if base == "equals":
        return _equals(value, inverse)
    if base in ("contains", "icontains", "contains-any", "icontains-any"):
        return _contains(base, value, inverse)
    if base in ("contains-all", "icontains-all"):
        return _contains(base, value, inverse)
    if base in ("starts-with", "regex"):
        return _regex(base, value, inverse)
    if base in ("is-json", "contains-json"):
        return _json(base, value, inverse, schema_of)
    if base == "llm-rubric" and not inverse:
        return _rubric(assertion, value, judge_of(assertion.get("provider")))
    if base in ("cost", "latency"):
        return _budget(base, assertion, inverse)
    if base == "is-valid-openai-tools-call" and not inverse:
        return Mapped(grader={"tool_call": {"against": "tools"}})
    return Mapped(unmapped=f"{'not-' if inverse else ''}{base} (no equivalent grader)")


def _rendered(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, list):
        return [_rendered(item, values) for item in value]
    return value


def _extras(assertion: Mapping[str, Any]) -> dict[str, Any]:
    """weight, threshold (in [0, 1]) and metric → the grader entry's keys."""
    extra: dict[str, Any] = {}
    weight = assertion.get("weight")
    if _number(weight) and weight != 1:
        extra["weight"] = weight
    threshold = assertion.get("threshold")
    if _number(threshold) and threshold <= 1:
        extra["threshold"] = threshold
    metric = assertion.get("metric")
    if isinstance(metric, str) and metric:
        extra["dimension"] = metric
    return extra
