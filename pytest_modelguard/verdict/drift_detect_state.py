"""A saved `DriftDetector`, checked field by field before it is trusted. Pure.

Every field's type and range, and how the fields fit together (as many anchors as
reference scores, one night's cases in the level's sequence per counted night, starts
among the nights counted). A field that does not fit raises `StateError` naming it
(a dotted path from the detector's state), so the caller can name the file too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MAX_CASES = 1_000_000
MAX_NIGHTS = 1_000_000


class StateError(ValueError):
    """A saved drift state that is not one: `field` (dotted) and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def checked_state(state: Any, *, stakes: int, max_starts: int) -> dict[str, Any]:
    """`state` when it is a saved detector, with its numbers as Python ints and floats."""
    doc = _mapping(state, "detector")
    reference = _floats(doc, "reference", 0.0, 1.0, MAX_CASES, min_size=1)
    anchor = _floats(doc, "anchor", 0.0, 1.0, MAX_CASES, min_size=1)
    if len(anchor) != len(reference):
        raise StateError("anchor", f"{len(anchor)} scores for {len(reference)} reference cases")
    confidence = _float(doc.get("confidence"), "confidence", 0.0, 1.0)
    if not 0 < confidence < 1:
        raise StateError("confidence", f"{confidence!r} is not in (0, 1)")
    nights = _int(doc.get("nights"), "nights", 0, MAX_NIGHTS)
    level = checked_sequence(doc.get("level"), "level")
    if level["n"] != nights * len(reference):
        raise StateError(
            "level.n", f"{level['n']} deltas for {nights} nights of {len(reference)} cases"
        )
    starts = [
        _int(x, f"starts[{i}]", 1, nights) for i, x in enumerate(_list(doc, "starts", max_starts))
    ]
    if any(b <= a for a, b in itertools.pairwise(starts)):
        raise StateError("starts", "not increasing")
    if nights and (not starts or starts[-1] != nights):
        raise StateError("starts", f"does not end on the last night counted ({nights})")
    bounds = _rows(doc, "bounds", len(starts), 2, -1.0, 2.0)
    log_e = _rows(doc, "log_e", len(starts), 2 * stakes, -1e300, 1e300, nested=(2, stakes))
    flags = {key: _night(doc, key, nights) for key in ("degraded", "improved", "since")}
    if flags["since"] is None and (flags["degraded"] or flags["improved"]):
        raise StateError("since", "missing for a change that was seen")
    return {
        "reference": reference,
        "anchor": anchor,
        "confidence": confidence,
        "nights": nights,
        "level": level,
        "starts": starts,
        "bounds": bounds,
        "log_e": log_e,
        **flags,
    }


def checked_sequence(value: Any, field: str) -> dict[str, Any]:
    """A saved `ConfidenceSequence` (without replacement and horizon: drift's own kind)."""
    doc = _mapping(value, field)
    tail = _float(doc.get("tail"), f"{field}.tail", 0.0, 0.5)
    if tail in (0.0, 0.5):
        raise StateError(f"{field}.tail", f"{tail!r} is not in (0, 0.5)")
    for key in ("n_total", "horizon"):
        if doc.get(key, "missing") is not None:
            raise StateError(f"{field}.{key}", "must be null for drift")
    grid = _floats(doc, "grid", -1.0, 1.0, 100_000, min_size=2, prefix=field)
    if any(b <= a for a, b in itertools.pairwise(grid)):
        raise StateError(f"{field}.grid", "not increasing")
    n = _int(doc.get("n"), f"{field}.n", 0, MAX_CASES * MAX_NIGHTS)
    total = _float(doc.get("total"), f"{field}.total", 0.0, float(n))
    squares = _float(doc.get("squares"), f"{field}.squares", 0.0, float(n))
    out = {"tail": tail, "n_total": None, "horizon": None, "grid": grid, "n": n}
    out |= {"total": total, "squares": squares}
    for key in ("log_up", "log_down"):
        out[key] = _floats(doc, key, -1e300, 1e300, len(grid), min_size=len(grid), prefix=field)
    for key in ("out_low", "out_high"):
        flags = _list(doc, key, len(grid), prefix=field)
        if len(flags) != len(grid) or not all(isinstance(x, bool) for x in flags):
            raise StateError(f"{field}.{key}", f"not {len(grid)} true/false values")
        out[key] = list(flags)
    return out


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StateError(field, f"is {_kind(value)}, not an object")
    return value


def _list(doc: Mapping[str, Any], key: str, most: int, *, prefix: str = "") -> Sequence[Any]:
    field = f"{prefix}.{key}" if prefix else key
    if key not in doc:
        raise StateError(field, "missing")
    value = doc[key]
    if not isinstance(value, list):
        raise StateError(field, f"is {_kind(value)}, not a list")
    if len(value) > most:
        raise StateError(field, f"has {len(value)} entries, more than {most}")
    return value


def _floats(
    doc: Mapping[str, Any],
    key: str,
    low: float,
    high: float,
    most: int,
    *,
    min_size: int = 0,
    prefix: str = "",
) -> list[float]:
    field = f"{prefix}.{key}" if prefix else key
    values = _list(doc, key, most, prefix=prefix)
    if len(values) < min_size:
        raise StateError(field, f"has {len(values)} entries, fewer than {min_size}")
    if all(type(x) is float for x in values):  # the common case, checked at once
        array = np.asarray(values, float)
        if np.all(np.isfinite(array) & (array >= low) & (array <= high)):
            return list(values)
    return [_float(x, f"{field}[{i}]", low, high) for i, x in enumerate(values)]


def _rows(
    doc: Mapping[str, Any],
    key: str,
    rows: int,
    width: int,
    low: float,
    high: float,
    *,
    nested: tuple[int, int] | None = None,
) -> list[Any]:
    """`rows` lists of `width` numbers (or of `nested[0]` lists of `nested[1]`)."""
    values = _list(doc, key, rows)
    if len(values) != rows:
        raise StateError(key, f"has {len(values)} rows for {rows} starts")
    out: list[Any] = []
    for i, row in enumerate(values):
        where = f"{key}[{i}]"
        if nested is None:
            out.append(_floats({"row": row}, "row", low, high, width, min_size=width, prefix=where))
            continue
        inner = _list({"row": row}, "row", nested[0], prefix=where)
        if len(inner) != nested[0]:
            raise StateError(where, f"has {len(inner)} sides, not {nested[0]}")
        out.append(
            [
                _floats({"s": side}, "s", low, high, nested[1], min_size=nested[1], prefix=where)
                for side in inner
            ]
        )
    return out


def _float(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateError(field, f"is {_kind(value)}, not a number")
    try:
        number = float(value)
    except OverflowError:
        raise StateError(field, "is too large a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise StateError(field, f"{number!r} is not in [{low:g}, {high:g}]")
    return number


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StateError(field, f"is {_kind(value)}, not a whole number")
    if not low <= value <= high:
        raise StateError(field, f"{value} is not in [{low}, {high}]")
    return value


def _night(doc: Mapping[str, Any], key: str, nights: int) -> int | None:
    if key not in doc:
        raise StateError(key, "missing")
    value = doc[key]
    return None if value is None else _int(value, key, 1, max(nights, 1))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    names = {bool: "true/false", str: "a string", list: "a list", dict: "an object"}
    return next((n for t, n in names.items() if isinstance(value, t)), "a number")
