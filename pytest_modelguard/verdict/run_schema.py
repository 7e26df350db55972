"""A JSON report read back as a run: the input policy and the report's schema.

``--modelguard-compare``, the runs under ``runs/`` that drift compares against and
``modelguard label sample`` read reports through ``read_report``: a regular file of at
most ``MAX_REPORT_BYTES``, UTF-8, nested at most ``MAX_DEPTH`` deep, lone surrogates
made U+FFFD, a ``version`` this code writes, and every case record's fields of their
type and range (``NaN``, ``Infinity`` and ``1e400`` are no score, cost or count).
Every refusal is a ``HistoryError`` naming the file and the field (``cases[3].score``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import FileRefused, HistoryError
from ..core.jsondoc import DocumentError, parse_document
from ..core.safety import read_regular_file

VERSION = 1
"""The JSON report's format; a report of another version is refused, not guessed at."""
MAX_REPORT_BYTES = 256 * 2**20
MAX_DEPTH = 100
MAX_COUNT = 10**12  # tokens
MAX_USD = 1e9
MAX_REPEAT = 10**6
MAX_SECONDS = 1e7
_NOT_A_REPORT = "not a modelguard JSON report"


def read_report(path: Path) -> dict[str, Any]:
    """The report at ``path``, checked; HistoryError naming the file and field otherwise."""
    try:
        raw = read_regular_file(path, MAX_REPORT_BYTES)
    except FileRefused as exc:
        raise HistoryError(f"{path}: not read: it {exc}") from None
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HistoryError(f"{path}: {_NOT_A_REPORT} (not UTF-8 text)") from None
    doc = _parse(path, text)
    if not isinstance(doc, dict):
        raise HistoryError(f"{path}: {_NOT_A_REPORT} (no 'cases' list)")
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise HistoryError(f"{path}: {_NOT_A_REPORT} (no 'cases' list)")
    version = doc.get("version")
    if version != VERSION or isinstance(version, bool):
        shown = "no 'version'" if "version" not in doc else f"version {_shown(version)}"
        raise HistoryError(
            f"{path}: version: {_NOT_A_REPORT} of version {VERSION} ({shown}); write it "
            "again with --modelguard-json or --modelguard-save"
        )
    for key in ("saved_at", "partial"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise HistoryError(f"{path}: {key}: {_shown(doc[key])} is not text")
    if not isinstance(doc.get("models", {}), dict):
        raise HistoryError(f"{path}: models: {_shown(doc['models'])} is not a mapping")
    seen: dict[tuple[Any, ...], int] = {}
    for i, case in enumerate(cases):
        where = f"{path}: cases[{i}]"
        check_case(where, case)
        ident = (case["suite"], case["id"], case["model"], case.get("repeat", 0))
        if ident in seen:
            twin = f"cases[{seen[ident]}]"
            raise HistoryError(f"{where}: the same suite, id, model and repeat as {twin}")
        seen[ident] = i
    return doc


def _parse(path: Path, text: str) -> Any:
    try:
        return parse_document(text, max_depth=MAX_DEPTH)
    except DocumentError as exc:
        line, _, why = str(exc).partition(": not JSON ")
        if why:  # a syntax error: the line goes after the file's name
            raise HistoryError(
                f"{path}:{line.removeprefix('line ')}: {_NOT_A_REPORT} {why}"
            ) from None
        raise HistoryError(f"{path}: {_NOT_A_REPORT} ({exc})") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _number(value: Any, low: float, high: float, *, whole: bool = False) -> bool:
    kinds = (int,) if whole else (int, float)
    return (
        isinstance(value, kinds)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _name(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _text_or_null(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _flag(v: Any) -> bool:
    return isinstance(v, bool)


def _fraction(v: Any) -> bool:
    return _number(v, 0, 1)


_NAME = ("a non-empty name", _name)
_FLAG = ("true or false", _flag)
_FRACTION_OR_NULL = ("a number in [0, 1]", lambda v: v is None or _fraction(v))
_USD = ("a cost in USD", lambda v: v is None or _number(v, 0, MAX_USD))
_TEXT_OR_NULL = ("text or null", _text_or_null)
_COUNT = (f"a whole number in [0, {MAX_COUNT:,}]", lambda v: _number(v, 0, MAX_COUNT, whole=True))
_RULES: dict[str, tuple[str, Any]] = {
    "suite": _NAME,
    "id": _NAME,
    "model": _NAME,
    "tags": ("a list of names", lambda v: isinstance(v, list) and all(_name(t) for t in v)),
    "repeat": (f"a whole number in [0, {MAX_REPEAT:,}]",
               lambda v: _number(v, 0, MAX_REPEAT, whole=True)),
    "score": _FRACTION_OR_NULL,
    "human_label": _FRACTION_OR_NULL,
    "passed": _FLAG,
    "cached": _FLAG,
    "batch": _FLAG,
    "cost_usd": _USD,
    "judge_cost_usd": _USD,
    "latency_s": ("a number of seconds", lambda v: v is None or _number(v, 0, MAX_SECONDS)),
    "error": _TEXT_OR_NULL,
    "failure": _TEXT_OR_NULL,
    "unit": _TEXT_OR_NULL,
    "output": ("text", lambda v: isinstance(v, str)),
    "answer_sha": ("hex digits", lambda v: isinstance(v, str) and _hex(v)),
    "grades": ("a list of grades", lambda v: isinstance(v, list)),
    "tool_calls": ("a list of tool calls", lambda v: v is None or (
        isinstance(v, list) and all(isinstance(c, dict) for c in v))),
    "inputs": ("a list of parts", lambda v: v is None or (
        isinstance(v, list) and all(isinstance(p, dict) for p in v))),
    "input_tokens": _COUNT,
    "output_tokens": _COUNT,
    "cached_input_tokens": _COUNT,
    "reasoning_tokens": _COUNT,
    "steps": ("a whole number of steps or null", lambda v: v is None or _number(
        v, 0, MAX_COUNT, whole=True)),
    "tool_errors": _COUNT,
    "unmatched_tool_calls": _COUNT,
    "trajectory": ("a list of steps", lambda v: isinstance(v, list) and all(
        isinstance(s, dict) for s in v)),
}  # fmt: skip
_GRADE_RULES: dict[str, tuple[str, Any]] = {
    "name": _NAME,
    "score": ("a number in [0, 1]", _fraction),
    "passed": _FLAG,
    "reason": ("text", lambda v: isinstance(v, str)),
    "weight": ("a number of at least 0", lambda v: _number(v, 0, 1e9)),
    "required": _FLAG,
    "dimension": ("a name or null", _text_or_null),
    "threshold": ("a number in [0, 1]", _fraction),
    "judge": ("a judge record or null", lambda v: v is None or _judge(v)),
}


def _hex(text: str) -> bool:
    return 0 < len(text) <= 64 and all(c in "0123456789abcdef" for c in text)


def _judge(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("model"), str):
        return False
    scale, draws, orders = value.get("scale"), value.get("draws", []), value.get("orders", [])
    return (
        (scale is None or _number(scale, 1, 1000, whole=True))
        and isinstance(draws, list)
        and all(_number(d, -1e9, 1e9) for d in draws)
        and isinstance(orders, list)
        and all(
            isinstance(o, list) and len(o) == 2 and all(_number(x, -1e9, 1e9) for x in o)
            for o in orders
        )
    )


def check_case(where: str, case: Any) -> None:
    """One case record of a report: its required keys, each field of its type and range."""
    _check(where, case, _RULES, ("suite", "id", "model"), "a case record")
    for j, grade in enumerate(case.get("grades", ())):
        _check(f"{where}.grades[{j}]", grade, _GRADE_RULES, ("name", "score", "passed"), "a grade")


def _check(
    where: str,
    record: Any,
    rules: Mapping[str, tuple[str, Any]],
    required: tuple[str, ...],
    what: str,
) -> None:
    if not isinstance(record, dict):
        raise HistoryError(f"{where}: {_shown(record)} is not {what} (a mapping)")
    for key in required:
        if key not in record:
            raise HistoryError(f"{where}: missing key {key!r}")
    for key, (expected, ok) in rules.items():
        if key in record and not ok(record[key]):
            raise HistoryError(f"{where}: {key} {_shown(record[key])} is not {expected}")
