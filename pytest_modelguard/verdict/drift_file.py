"""Reading and writing ``drift-state.json``: the input policy, then its schema, on read.

A regular file of at most `MAX_FILE_BYTES` (never a directory or a device), UTF-8 JSON
without NaN or Infinity, not nested past the parser's limit; then version 2, the
reference's key, and per model its case ids and a `DriftDetector` state checked field
by field (`drift_detect_state.py`). Anything else is a `HistoryError` (a usage error)
naming the file, the field and how to reset; the file is left as it was.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.errors import FileRefused, HistoryError
from ..core.jsonfile import write_json_atomic
from ..core.safety import MAX_FILE_BYTES, read_regular_file
from .drift_detect import MAX_STARTS, STAKES
from .drift_detect_state import MAX_CASES, StateError, checked_state

__all__ = ["VERSION", "StateError", "broken", "read_state", "write_state"]

VERSION = 2


def reset(path: Path) -> str:
    """How to start again: the file's nights are lost either way."""
    return (
        f"to reset, delete {path} (the watch starts again from the reference), or save a "
        "run without --modelguard-compare to accept a new reference"
    )


def broken(path: Path, field: str | None, reason: str) -> HistoryError:
    """The error for a state that is not one: file, field, why, how to reset."""
    where = f"{path}: {field}: " if field else f"{path}: "
    return HistoryError(f"{where}{reason}; {reset(path)}")


def read_state(path: Path) -> dict[str, Any] | None:
    """The state at `path` (None when there is none), checked; `HistoryError` otherwise."""
    try:
        path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise broken(path, None, f"cannot be read ({exc.strerror})") from None
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except FileRefused as exc:
        raise broken(path, None, f"not a drift state: it {exc}") from None
    except OSError as exc:
        raise broken(path, None, f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise broken(path, None, "not a drift state: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise broken(path, None, f"not a drift state: not JSON ({exc.msg} at {where})") from None
    except ValueError as exc:
        raise broken(path, None, f"not a drift state: {exc}") from None
    except RecursionError:
        raise broken(path, None, "not a drift state: JSON nested too deeply") from None
    try:
        return checked_doc(doc)
    except StateError as exc:
        raise broken(path, exc.field, exc.reason) from None


def write_state(path: Path, doc: dict[str, Any]) -> None:
    """Write the state atomically (a crash leaves the old one or the new one, whole)."""
    write_json_atomic(path, doc)


def checked_doc(doc: Any) -> dict[str, Any]:
    """The whole state: version, reference, and every model's entry (`StateError`)."""
    if not isinstance(doc, dict):
        raise StateError("(top level)", "not a JSON object")
    version = doc.get("version")
    if version == 1:
        raise StateError(
            "version",
            "1, from an older pytest-modelguard that averaged every night; its nights "
            "cannot carry over to change detection",
        )
    if version != VERSION or isinstance(version, bool):
        raise StateError("version", f"{version!r} is not {VERSION}")
    reference = doc.get("reference")
    if not isinstance(reference, dict):
        raise StateError("reference", "missing or not an object")
    if not isinstance(reference.get("name"), str) or not reference["name"]:
        raise StateError("reference.name", "missing or not a file name")
    if reference.get("saved_at") is not None and not isinstance(reference["saved_at"], str):
        raise StateError("reference.saved_at", "not a time")
    models = doc.get("models")
    if not isinstance(models, dict):
        raise StateError("models", "missing or not an object")
    for name, entry in models.items():
        _check_entry(f"models.{name}", entry)
    return doc


def _check_entry(field: str, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        raise StateError(field, "not an object")
    cases = entry.get("cases")
    if not isinstance(cases, list) or not 1 <= len(cases) <= MAX_CASES:
        raise StateError(f"{field}.cases", "missing or not a list of case ids")
    for i, case in enumerate(cases):
        if not isinstance(case, str):
            raise StateError(f"{field}.cases[{i}]", "not a case id (a string)")
    if len(set(cases)) != len(cases) or cases != sorted(cases):
        raise StateError(f"{field}.cases", "not sorted case ids, each once")
    confidence = entry.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, float | int):
        raise StateError(f"{field}.confidence", "missing or not a number")
    if not (math.isfinite(confidence) and 0 < confidence < 1):
        raise StateError(f"{field}.confidence", f"{confidence!r} is not in (0, 1)")
    try:
        detector = checked_state(entry.get("detector"), stakes=STAKES.size, max_starts=MAX_STARTS)
    except StateError as exc:
        raise StateError(f"{field}.detector.{exc.field}", exc.reason) from None
    if len(detector["reference"]) != len(cases):
        raise StateError(f"{field}.cases", f"{len(cases)} ids for {len(detector['reference'])}")
    if detector["confidence"] != confidence:
        raise StateError(f"{field}.confidence", "not the detector's")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")
