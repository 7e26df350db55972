"""Accumulated drift: every night against one fixed reference run, valid over all nights.

With ``drift = "accumulate"`` a ``--modelguard-compare`` run does not judge tonight
against the stored run afresh (each such look is another chance of a false
"degraded": 52 % of 30-night A/A histories against ``last``, issue #17); it adds
tonight to a `DriftAccumulator` per model, kept in ``<cache_dir>/runs/drift-state.json``
(written atomically) and keyed by the reference run (its file name and save time).

The rules, kept here and in the README:

- the reference is the last *accepted* run: ``--modelguard-compare last`` resolves to
  the state's reference while its file is in ``runs/``, not to the newest save;
- a run saved without ``--modelguard-compare`` accepts itself as the new reference: the
  state is cleared (`clear_state`), as is any state of another reference when a run
  names a different one;
- a night counts for a model only when it answered every case the reference answered
  (a subset chosen by what happened tonight would bias the nightly mean); a night that
  does not is said and not counted, and the state is kept as it was;
- the state is updated on every night that is looked at, saved or not: a look that
  is not counted would be a free second chance.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import Settings
from ..core.errors import HistoryError
from ..core.jsonfile import write_json_atomic
from ..records.results import ItemResult
from .drift import DriftReport, ModelDrift, compare_runs
from .history import LAST, StoredRun, find_run, load_run, runs_dir, shown_path
from .pairing import CaseScores, case_scores
from .sequential import DriftAccumulator, DriftLook

STATE_FILE = "drift-state.json"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Night:
    """One model's night: the accumulated look, the state to keep, and whether it counted."""

    look: DriftLook
    entry: dict[str, Any]
    counted: bool
    note: str | None


def drift_report(
    results: Sequence[ItemResult], stored: StoredRun, settings: Settings
) -> DriftReport:
    """This run's results against a stored run's; with ``drift = "accumulate"`` added to
    the nights since the reference was accepted, and the state saved."""
    report = compare_runs(
        results,
        stored.results,
        against=shown_path(stored.path),
        saved_at=stored.saved_at,
        confidence=settings.confidence,
        seed=settings.seed,
        method=settings.interval,
        resamples=settings.resamples,
    )
    if settings.drift != "accumulate":
        return report
    state = load_state(settings.cache_dir)
    report, state = accumulate(report, results, stored, state, settings.confidence)
    save_state(settings.cache_dir, state)  # every look counts, saved run or not
    return report


def accumulate_night(
    entry: Mapping[str, Any] | None,
    reference: CaseScores,
    tonight: CaseScores,
    confidence: float,
) -> Night:
    """Add tonight's scores (per case) to the model's saved `entry` (None: the first night).

    The reference's cases, in a fixed order, are the night's cases; an entry for other
    cases or another confidence starts over (it belongs to another reference).
    """
    cases = sorted(reference)
    if entry is not None and entry.get("cases") == cases and entry.get("confidence") == confidence:
        accumulator = DriftAccumulator.from_state(entry["accumulator"])
    else:
        accumulator = DriftAccumulator([reference[k] for k in cases], confidence)
    answered = sum(1 for k in cases if k in tonight)
    note = None
    if answered == len(cases):
        accumulator.add_night([tonight[k] for k in cases])
    else:
        note = f"not counted tonight: {answered} of {len(cases)} reference cases answered"
    saved = {"cases": cases, "confidence": confidence, "accumulator": accumulator.to_state()}
    return Night(accumulator.look, saved, note is None, note)


def reference_id(stored: StoredRun) -> dict[str, str | None]:
    """What the state is keyed by: the reference run's file name and save time."""
    return {"name": stored.path.name, "saved_at": stored.saved_at}


def accumulate(
    report: DriftReport,
    now: Sequence[ItemResult],
    reference: StoredRun,
    state: Mapping[str, Any] | None,
    confidence: float,
) -> tuple[DriftReport, dict[str, Any]]:
    """`compare_runs`' report with each paired model's status and interval accumulated;
    and the state to save (the models of `state` when it is this reference's)."""
    key = reference_id(reference)
    same = state is not None and state.get("reference") == key
    entries: dict[str, Any] = dict(state["models"]) if same and state is not None else {}
    then, tonight = _by_model(reference.results), _by_model(now)
    models = dict(report.models)
    for name, drift in report.models.items():
        if drift.delta is None or name not in then or name not in tonight:
            continue
        night = accumulate_night(entries.get(name), then[name], tonight[name], confidence)
        entries[name] = night.entry
        models[name] = _accumulated(drift, night)
    doc = {"version": VERSION, "reference": key, "models": entries}
    return replace(report, models=models, accumulated=True), doc


def _accumulated(drift: ModelDrift, night: Night) -> ModelDrift:
    look = night.look
    assert drift.delta is not None
    delta = replace(
        drift.delta,
        mean=look.mean,
        ci_low=look.ci_low,
        ci_high=look.ci_high,
        method=look.method,
        confidence=look.confidence,
        p_adjusted=None,
    )
    return replace(
        drift,
        status=look.status,
        delta=delta,
        p_adjusted=None,
        nights=look.nights,
        night_note=night.note,
    )


def _by_model(results: Iterable[ItemResult]) -> dict[str, CaseScores]:
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    return {model: case_scores(mine) for model, mine in by_model.items()}


def state_path(cache_dir: Path) -> Path:
    return runs_dir(cache_dir) / STATE_FILE


def load_state(cache_dir: Path) -> dict[str, Any] | None:
    """The saved state (None when there is none); a broken file names itself and the fix."""
    path = state_path(cache_dir)
    if not path.is_file():
        return None
    fix = "delete it to start accumulating again from the next reference"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HistoryError(f"{path}: not a drift state ({exc}); {fix}") from None
    if not (isinstance(doc, dict) and doc.get("version") == VERSION):
        raise HistoryError(f"{path}: not a drift state of version {VERSION}; {fix}")
    models, key = doc.get("models"), doc.get("reference")
    if not (isinstance(models, dict) and isinstance(key, dict)):
        raise HistoryError(f"{path}: no 'reference' and 'models'; {fix}")
    return doc


def save_state(cache_dir: Path, doc: dict[str, Any]) -> Path:
    """Write the state atomically (a crash leaves the old one or the new one, whole)."""
    path = state_path(cache_dir)
    write_json_atomic(path, doc)
    return path


def clear_state(cache_dir: Path) -> None:
    """A new reference was accepted: nights start again from it."""
    state_path(cache_dir).unlink(missing_ok=True)


def stored_run(spec: str | None, settings: Settings, cwd: Path) -> StoredRun | None:
    """The run ``--modelguard-compare`` names (None without it), read now so a bad one stops
    the run before it costs. With ``drift = "accumulate"``, ``last`` is the state's
    reference while it is stored (the last accepted run), else the newest stored run."""
    if not spec:
        return None
    cache_dir = settings.cache_dir
    if spec == LAST and settings.drift == "accumulate":
        state = load_state(cache_dir)
        name = state["reference"].get("name") if state is not None else None
        pinned = runs_dir(cache_dir) / name if isinstance(name, str) else None
        if pinned is not None and pinned.name == name and pinned.is_file():
            return load_run(pinned)
    return load_run(find_run(spec, cache_dir, cwd))
