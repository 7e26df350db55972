"""``--modelguard-continue``: a sequential run resumes the sequences an earlier one saved.

Every sequential run saves, in ``<cache_dir>/runs/sequential-state.json`` (atomically),
the cases it counted and each candidate's confidence sequence, under a key: the
baseline, the candidates (names and provider:model ids), the gate, margin and
confidence. A run with ``--modelguard-continue`` and the same key asks only the cases
no earlier run counted (cases added to the suite, and those an earlier run never
reached) and adds them to the saved sequences, so a suite that grows between runs is
re-gated as one sequence: its error stays at the nominal rate however many runs
continue it. A different key is a usage error that says what changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import Settings
from ..core.errors import ConfigError
from ..core.jsonfile import write_json_atomic
from ..core.safety import MAX_FILE_BYTES, read_regular_file
from ..records.results import ItemResult
from ..verdict.sequential_gate import SequentialOutcome
from .sequential_schema import VERSION, StateInvalid, check_state

STATE_FILE = "sequential-state.json"
KEPT_OUTPUT = 1000  # characters of each answer the state keeps (the cache keeps them all)
_SHOWN = 80


def state_path(settings: Settings) -> Path:
    return settings.cache_dir / "runs" / STATE_FILE


def run_key(settings: Settings) -> dict[str, Any]:
    """What a continued run must share with the one it continues."""
    return {
        "baseline": settings.baseline.name if settings.baseline else None,
        "models": {m.name: f"{m.provider.name}:{m.model}" for m in settings.models},
        "gate": settings.gate,
        "margin": settings.margin,
        "confidence": settings.confidence,
    }


def save(
    settings: Settings,
    plan_state: dict[str, Any],
    results: Iterable[ItemResult],
    outcomes: Mapping[str, SequentialOutcome],
) -> None:
    """Keep this run's sequences for a run that continues it, with the results they
    counted (every run's so far) and each model's outcome as reported."""
    doc = {
        "version": VERSION,
        "key": run_key(settings),
        **plan_state,
        "results": [_kept(r) for r in results],
        "outcomes": {name: _counts(o) for name, o in outcomes.items()},
    }
    write_json_atomic(state_path(settings), doc)


def saved_results(state: Mapping[str, Any]) -> list[ItemResult]:
    """The results the continued sequences counted (checked by `load`)."""
    return [ItemResult.from_dict(r) for r in state.get("results", ())]


def restate(
    outcomes: Mapping[str, SequentialOutcome], state: Mapping[str, Any] | None
) -> dict[str, SequentialOutcome]:
    """A model this run asked nothing keeps the outcome the run that settled it reported
    (cases asked, settled after, calls saved), with its sequence's look of now."""
    saved = (state or {}).get("outcomes", {})
    out = dict(outcomes)
    for name, outcome in outcomes.items():
        if outcome.n_asked == 0 and name in saved:
            counts = saved[name]
            out[name] = replace(
                outcome,
                n_asked=counts["n_asked"],
                n_total=counts["n_total"],
                settled_after=counts["settled_after"],
                calls_saved=counts["calls_saved"],
                usd_saved=counts["usd_saved"],
                batch=counts["batch"],
                repeats_saved=counts["repeats_saved"],
            )
    return out


def load(settings: Settings) -> dict[str, Any]:
    """The saved state a ``--modelguard-continue`` run resumes, checked against its schema;
    what is wrong, said plainly with how to start over."""
    path = state_path(settings)
    fresh = "run without --modelguard-continue to start a fresh sequence"
    broken = f"{fresh} (it replaces the file), or delete the file"
    if not path.exists():
        raise ConfigError(
            f"--modelguard-continue: no saved sequential run in {path}; run once with "
            "--modelguard-sequential first"
        )
    try:
        text = read_regular_file(path, MAX_FILE_BYTES).decode("utf-8")
        doc = json.loads(text)  # NaN and 1e400 read as floats: the schema refuses them
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a saved sequential run ({exc}); {broken}") from None
    except RecursionError:
        problem = "nested too deep"
        raise ConfigError(f"{path}: not a saved sequential run ({problem}); {broken}") from None
    try:
        state = check_state(doc)
    except StateInvalid as exc:
        raise ConfigError(f"{path}: field {exc}; {broken}") from None
    saved, now = state["key"], run_key(settings)
    changed = [k for k in now if saved.get(k) != now[k]]
    if changed:
        what = ", ".join(f"{k} {_shown(saved.get(k))} → {_shown(now[k])}" for k in changed)
        raise ConfigError(f"--modelguard-continue: the saved run differs: {what}; {fresh}")
    try:
        _check_names(state, settings)
    except StateInvalid as exc:
        raise ConfigError(f"{path}: field {exc}; {broken}") from None
    return state


def _check_names(state: Mapping[str, Any], settings: Settings) -> None:
    """Every model the state names is one of this run's."""
    names = {m.name for m in settings.models}
    for field, found in (
        ("tests", state["tests"]),
        ("outcomes", state["outcomes"]),
        ("results", {r["model"]: r for r in state["results"]}),
    ):
        unknown = sorted(set(found) - names)
        if unknown:
            raise StateInvalid(field, f"model {unknown[0][:_SHOWN]!r} is not one of this run's")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _kept(result: ItemResult) -> dict[str, Any]:
    """The result as the state keeps it: the answer cut at KEPT_OUTPUT characters."""
    data = result.to_dict()
    if len(result.output) > KEPT_OUTPUT:
        data["output"] = result.output[:KEPT_OUTPUT] + "…"
    if len(json.dumps(data["tool_calls"])) > KEPT_OUTPUT:
        data["tool_calls"] = []
    return data


def _counts(outcome: SequentialOutcome) -> dict[str, Any]:
    return {
        "n_asked": outcome.n_asked,
        "n_total": outcome.n_total,
        "settled_after": outcome.settled_after,
        "calls_saved": outcome.calls_saved,
        "usd_saved": outcome.usd_saved,
        "batch": outcome.batch,
        "repeats_saved": outcome.repeats_saved,
    }
