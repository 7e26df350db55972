"""The schema of ``sequential-state.json``, checked on read: every field, type and range.

A saved state is the capital of confidence sequences, so a wrong number is a wrong
verdict: a file that does not match is refused whole (`StateInvalid` names the field),
never repaired or half-read. Version 1 (before the state kept its results) migrates:
it reads as a version 2 state without results or outcomes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

VERSION = 2
MAX_GRID = 100_000  # grid points of a saved sequence (ours has 1,001 or so)
_OUTCOME_COUNTS = ("n_asked", "n_total", "calls_saved", "repeats_saved", "batch")


class StateInvalid(ValueError):
    """The saved state breaks its schema: ``field`` says where, the message what."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def check_state(doc: Any) -> dict[str, Any]:
    """``doc`` as a version 2 state, or StateInvalid naming the first field that is wrong."""
    state = _mapping(doc, "the file")
    version = state.get("version")
    if "version" not in state:
        raise StateInvalid("version", f"missing; this modelguard reads 1 and {VERSION}")
    if version not in (1, VERSION) or isinstance(version, bool):
        raise StateInvalid("version", f"{version!r}; this modelguard reads 1 and {VERSION}")
    for name in ("key", "seen", "tests"):
        if name not in state:
            raise StateInvalid(name, "missing")
    _mapping(state["key"], "key")
    seen = _strings(state["seen"], "seen")
    if len(set(seen)) != len(seen):
        raise StateInvalid("seen", "a case is listed twice")
    tests = _mapping(state["tests"], "tests")
    for name, test in tests.items():
        where = f"tests.{name}"
        cs = _mapping(_mapping(test, where).get("cs"), f"{where}.cs")
        _check_sequence(cs, f"{where}.cs", len(seen))
    results = state.get("results", []) if version == VERSION else []
    outcomes = state.get("outcomes", {}) if version == VERSION else {}
    units = set(seen)
    for index, result in enumerate(_list(results, "results")):
        _check_result(result, f"results[{index}]", units)
    for name, outcome in _mapping(outcomes, "outcomes").items():
        _check_outcome(outcome, f"outcomes.{name}")
    return {**state, "version": VERSION, "results": results, "outcomes": outcomes}


def _check_sequence(cs: Mapping[str, Any], where: str, seen: int) -> None:
    """A `ConfidenceSequence.to_state`: its arrays agree and its sums are possible."""
    tail = _number(cs.get("tail"), f"{where}.tail")
    if not 0 < tail < 0.5:
        raise StateInvalid(f"{where}.tail", f"{tail!r} is not in (0, 0.5)")
    n = _count(cs.get("n"), f"{where}.n")
    if n > seen:
        raise StateInvalid(f"{where}.n", f"{n} cases, but only {seen} are listed in 'seen'")
    if cs.get("n_total") is not None and _count(cs["n_total"], f"{where}.n_total") < max(n, 1):
        raise StateInvalid(f"{where}.n_total", f"{cs['n_total']} is fewer than the {n} seen")
    if cs.get("horizon") is not None and _number(cs["horizon"], f"{where}.horizon") <= 0:
        raise StateInvalid(f"{where}.horizon", "must be positive")
    total = _number(cs.get("total"), f"{where}.total")
    if not 0 <= total <= n:
        raise StateInvalid(f"{where}.total", f"{total!r} is not in [0, n = {n}]")
    if _number(cs.get("squares"), f"{where}.squares") < 0:
        raise StateInvalid(f"{where}.squares", "is negative")
    grid = [_number(v, f"{where}.grid") for v in _list(cs.get("grid"), f"{where}.grid")]
    if not 2 <= len(grid) <= MAX_GRID or any(not -1 <= g <= 1 for g in grid):
        raise StateInvalid(f"{where}.grid", f"must be 2 to {MAX_GRID} points in [-1, 1]")
    if any(b <= a for a, b in itertools.pairwise(grid)):
        raise StateInvalid(f"{where}.grid", "must increase")
    for name in ("log_up", "log_down", "out_low", "out_high"):
        values = _list(cs.get(name), f"{where}.{name}")
        if len(values) != len(grid):
            raise StateInvalid(f"{where}.{name}", f"{len(values)} values for {len(grid)} points")
        flags = name.startswith("out")
        for value in values:
            if flags and not isinstance(value, bool):
                raise StateInvalid(f"{where}.{name}", f"{value!r} is not true or false")
            if not flags:
                _number(value, f"{where}.{name}")


def _check_result(result: Any, where: str, seen: set[str]) -> None:
    """A saved `ItemResult.to_dict`, of a case the sequence counted."""
    data = _mapping(result, where)
    for name in ("suite", "id", "model"):
        _string(data.get(name), f"{where}.{name}")
    unit = data.get("unit") or f"{data['suite']}\x00{data['id']}"
    _string(unit, f"{where}.unit")
    if unit not in seen:
        raise StateInvalid(f"{where}.unit", f"case {data['id']!r} is not among the 'seen' cases")
    _strings(data.get("tags", []), f"{where}.tags")
    _count(data.get("repeat", 0), f"{where}.repeat")
    for name in ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens"):
        _count(data.get(name, 0), f"{where}.{name}")
    for name, high in (("score", 1.0), ("human_label", 1.0), ("cost_usd", math.inf)):
        _optional_number(data.get(name), f"{where}.{name}", high)
    for name in ("latency_s", "judge_cost_usd"):
        _optional_number(data.get(name), f"{where}.{name}", math.inf)
    for name in ("passed", "cached"):
        if name in data and not isinstance(data[name], bool):
            raise StateInvalid(f"{where}.{name}", f"{data[name]!r} is not true or false")
    for name in ("error", "failure", "output"):
        if data.get(name) is not None:
            _string(data[name], f"{where}.{name}")
    for index, call in enumerate(_list(data.get("tool_calls", []), f"{where}.tool_calls")):
        _mapping(call, f"{where}.tool_calls[{index}]")
    for index, grade in enumerate(_list(data.get("grades", []), f"{where}.grades")):
        _check_grade(grade, f"{where}.grades[{index}]")


def _check_grade(grade: Any, where: str) -> None:
    data = _mapping(grade, where)
    _string(data.get("name"), f"{where}.name")
    _optional_number(data.get("score"), f"{where}.score", 1.0, required=True)
    if not isinstance(data.get("passed"), bool):
        raise StateInvalid(f"{where}.passed", f"{data.get('passed')!r} is not true or false")
    for name in ("weight", "threshold"):
        _optional_number(data.get(name), f"{where}.{name}", math.inf)
    if data.get("judge"):
        judge = _mapping(data["judge"], f"{where}.judge")
        _string(judge.get("model"), f"{where}.judge.model")
        if judge.get("scale") is not None:
            _count(judge["scale"], f"{where}.judge.scale")
        for draw in _list(judge.get("draws", []), f"{where}.judge.draws"):
            _number(draw, f"{where}.judge.draws")
        for pair in _list(judge.get("orders", []), f"{where}.judge.orders"):
            if not isinstance(pair, list) or len(pair) != 2:
                raise StateInvalid(f"{where}.judge.orders", f"{pair!r} is not a pair")
            for value in pair:
                _number(value, f"{where}.judge.orders")


def _check_outcome(outcome: Any, where: str) -> None:
    """A saved sequential outcome's counts (what the run that settled it reported)."""
    data = _mapping(outcome, where)
    for name in _OUTCOME_COUNTS:
        _count(data.get(name), f"{where}.{name}")
    if data.get("settled_after") is not None:
        _count(data["settled_after"], f"{where}.settled_after")
    _optional_number(data.get("usd_saved"), f"{where}.usd_saved", math.inf)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise StateInvalid(where, f"expected an object, got {_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateInvalid(where, f"expected a list, got {_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise StateInvalid(where, f"expected text, got {_kind(value)}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    return [_string(v, where) for v in _list(value, where)]


def _number(value: Any, where: str) -> float:
    """A finite real number (JSON's ``1e400`` reads as infinity: refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StateInvalid(where, f"expected a number, got {_kind(value)}")
    if isinstance(value, int) and abs(value) > 2**53:
        raise StateInvalid(where, f"{value} is out of range")
    if not math.isfinite(value):
        raise StateInvalid(where, f"{value!r} is not a finite number")
    return float(value)


def _optional_number(value: Any, where: str, high: float, *, required: bool = False) -> None:
    """None (unless ``required``) or a finite number in [0, ``high``]."""
    if value is None and not required:
        return
    number = _number(value, where)
    if not 0 <= number <= high:
        raise StateInvalid(where, f"{number!r} is not in [0, {high:g}]")


def _count(value: Any, where: str) -> int:
    """A whole number of at least 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateInvalid(where, f"expected a whole number, got {_kind(value)}")
    if not 0 <= value <= 2**53:
        raise StateInvalid(where, f"{value} is not a count (0 or more)")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    if isinstance(value, dict):
        return "an object"
    return "a list" if isinstance(value, list) else type(value).__name__
