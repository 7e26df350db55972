"""Watched drift: every night against one fixed reference run, a late change seen.

With ``drift = "accumulate"`` a ``--modelguard-compare`` run does not judge tonight
against the stored run afresh (each such look is another chance of a false
"degraded": 52 % of 30-night A/A histories against ``last``, issue #17); it adds
tonight to a `DriftDetector` per model (change detection, `drift_detect.py`), kept in
``<cache_dir>/runs/drift-state.json`` (written atomically, checked field by field on
read) and keyed by the reference run (its file name and save time).

The rules, kept here and in docs/drift.md:

- the reference is the last *accepted* run: ``--modelguard-compare last`` resolves to
  the state's reference while its file is in ``runs/``, else to the newest *complete*
  stored run (a partial one, `StoredRun.partial`, is refused as a reference);
- a complete run saved without ``--modelguard-compare`` accepts itself as the new
  reference once saved: the state is cleared (`clear_state`), as is any state of another
  reference when a run names a different one. A partial run (a selection, ``--lf``,
  ``--modelguard-sequential``) is saved but accepted as nothing;
- a night counts for a model only when it answered every case the reference answered,
  with the same checks (a subset chosen by what happened tonight would bias the nightly
  mean, other checks would grade another thing); a night that does not is said and not
  counted, and the state is kept as it was; a change of confidence starts over, said;
- the state is updated on every night that is looked at, saved or not: a look that
  is not counted would be a free second chance. Its read-modify-write holds an
  exclusive ``flock`` on ``drift-state.json.lock``;
- a state that is not one (any field of the wrong type or range, case ids that are not
  the reference's, an older version) is a usage error naming the file, the field and
  how to reset; it is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ..config import Settings
from ..core.errors import HistoryError
from ..records.results import ItemResult
from .drift import DriftReport, ModelDrift, compare_runs
from .drift_detect import DriftDetector, DriftLook
from .drift_file import VERSION, StateError, broken, read_state, write_state
from .history import LAST, StoredRun, find_run, load_run, runs_dir, shown_path, stored_paths
from .pairing import CaseScores, answered, case_scores

STATE_FILE = "drift-state.json"

Checks = dict[str, list[str]]  # per case, the checks that grade it (suite: grader)


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
    with state_lock(settings.cache_dir):  # two runs at once: neither night is lost
        state = load_state(settings.cache_dir)
        try:
            report, state = accumulate(report, results, stored, state, settings.confidence)
        except StateError as exc:
            raise broken(state_path(settings.cache_dir), exc.field, exc.reason) from None
        save_state(settings.cache_dir, state)  # every look counts, saved run or not
    return report


def accumulate_night(
    entry: Mapping[str, Any] | None,
    reference: CaseScores,
    tonight: CaseScores,
    confidence: float,
    checks: tuple[Checks, Checks] | None = None,
) -> Night:
    """Add tonight's scores (per case) to the model's saved `entry` (None: the first night).

    The reference's cases, in a fixed order, are the night's cases; an entry for other
    cases starts over (it belongs to another reference), as does one of another
    confidence (said). ``checks``: the reference's and tonight's checks per case; a
    night whose checks differ is not counted.
    """
    cases = sorted(reference)
    notes = []
    if entry is not None and entry.get("cases") != cases:
        unknown = sorted(set(entry.get("cases") or ()) - set(cases))
        what = f"case ids not in the reference run ({unknown[0]!r}…)" if unknown else ""
        raise StateError("cases", what or "not the reference run's cases")
    if entry is not None and entry.get("confidence") == confidence:
        detector = DriftDetector.from_state(entry["detector"])
    else:
        detector = DriftDetector([reference[k] for k in cases], confidence)
        if entry is not None:
            was = entry.get("confidence")
            notes.append(f"started again tonight: confidence {confidence:g} (was {was})")
    got = sum(1 for k in cases if k in tonight)
    differ = _checks_differ(cases, *checks) if checks is not None else None
    if got < len(cases):
        notes.append(f"not counted tonight: {got} of {len(cases)} reference cases answered")
    elif differ is not None:
        notes.append(f"not counted tonight: the checks differ from the reference's ({differ})")
    else:
        detector.add_night([tonight[k] for k in cases])
    saved = {"cases": cases, "confidence": confidence, "detector": detector.to_state()}
    counted = got == len(cases) and differ is None
    return Night(detector.look, saved, counted, "; ".join(notes) or None)


def case_checks(results: Iterable[ItemResult]) -> Checks:
    """Per case (its pairing key), the checks its answers were graded by: every suite or
    Python test over it, with its graders' names."""
    checks: dict[str, set[str]] = defaultdict(set)
    for r in answered(results):
        names = sorted({g.name for g in r.grades})
        checks[r.pair_key].add(f"{r.suite}: {', '.join(names)}" if names else r.suite)
    return {case: sorted(found) for case, found in checks.items()}


def _checks_differ(cases: Sequence[str], reference: Checks, tonight: Checks) -> str | None:
    """How tonight's checks of the reference's cases differ from the reference's (the first
    case that differs), or None when they are the same."""
    for case in cases:
        then, now = set(reference.get(case, ())), set(tonight.get(case, ()))
        if then != now:
            shown = case.replace("\x00", "::")
            added, dropped = sorted(now - then), sorted(then - now)
            parts = [f"+{x}" for x in added] + [f"-{x}" for x in dropped]
            return f"{shown}: {'; '.join(parts)}"
    return None


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
        checks = (case_checks(then[name]), case_checks(tonight[name]))
        try:
            night = accumulate_night(
                entries.get(name),
                case_scores(then[name]),
                case_scores(tonight[name]),
                confidence,
                checks,
            )
        except StateError as exc:
            raise StateError(f"models.{name}.{exc.field}", exc.reason) from None
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
        since=look.since,
        visible_drop=look.visible_drop,
    )


def _by_model(results: Iterable[ItemResult]) -> dict[str, list[ItemResult]]:
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    return dict(by_model)


def state_path(cache_dir: Path) -> Path:
    return runs_dir(cache_dir) / STATE_FILE


def load_state(cache_dir: Path) -> dict[str, Any] | None:
    """The saved state (None when there is none), checked; a broken one is a usage error
    naming the file, the field and how to reset."""
    return read_state(state_path(cache_dir))


def check_cases(state: Mapping[str, Any], stored: StoredRun, path: Path) -> None:
    """Each model's saved case ids must be the reference run's (a state of this reference)."""
    if state.get("reference") != reference_id(stored):
        return
    then = _by_model(stored.results)
    for name, entry in state["models"].items():
        cases = sorted(case_scores(then.get(name, [])))
        unknown = sorted(set(entry["cases"]) - set(cases))
        if unknown:
            why = f"{len(unknown)} ids not in the reference run (first: {unknown[0]!r})"
            raise broken(path, f"models.{name}.cases", why)
        if entry["cases"] != cases:
            why = f"{len(entry['cases'])} ids, the reference run has {len(cases)}"
            raise broken(path, f"models.{name}.cases", why)


@contextlib.contextmanager
def state_lock(cache_dir: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``drift-state.json.lock`` (two runs at once)."""
    path = state_path(cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # drops the lock


def save_state(cache_dir: Path, doc: dict[str, Any]) -> Path:
    """Write the state atomically (a crash leaves the old one or the new one, whole)."""
    path = state_path(cache_dir)
    write_state(path, doc)
    return path


def clear_state(cache_dir: Path) -> None:
    """A new reference was accepted: nights start again from it."""
    with state_lock(cache_dir), contextlib.suppress(IsADirectoryError):
        state_path(cache_dir).unlink(missing_ok=True)  # a directory: the next look names it


def stored_run(spec: str | None, settings: Settings, cwd: Path) -> StoredRun | None:
    """The run ``--modelguard-compare`` names (None without it), read now so a bad one stops
    the run before it costs. With ``drift = "accumulate"``, ``last`` is the state's
    reference while it is stored (the last accepted run), else the newest complete stored
    run; a partial run (`StoredRun.partial`) is refused as a reference."""
    if not spec:
        return None
    cache_dir = settings.cache_dir
    if settings.drift != "accumulate":
        return load_run(find_run(spec, cache_dir, cwd))
    state = load_state(cache_dir)  # a broken state stops the run here, before it costs
    stored = _reference(spec, state, cache_dir, cwd)
    if state is not None:
        check_cases(state, stored, state_path(cache_dir))
    return stored


def _reference(spec: str, state: Mapping[str, Any] | None, cache_dir: Path, cwd: Path) -> StoredRun:
    if spec == LAST:
        name = state["reference"].get("name") if state is not None else None
        pinned = runs_dir(cache_dir) / name if isinstance(name, str) else None
        if pinned is not None and pinned.name == name and pinned.is_file():
            return load_run(pinned)
        return _newest_complete(cache_dir, cwd)
    stored = load_run(find_run(spec, cache_dir, cwd))
    if stored.partial is not None:
        raise HistoryError(f"{spec}: {_no_reference(stored.partial)}")
    return stored


def _newest_complete(cache_dir: Path, cwd: Path) -> StoredRun:
    """``last`` without an accepted reference: the newest stored run that is not partial."""
    newest = find_run(LAST, cache_dir, cwd)  # no stored run at all: its message
    for path in reversed(stored_paths(cache_dir)):
        stored = load_run(path)
        if stored.partial is None:
            return stored
    partial = load_run(newest).partial or ""
    raise HistoryError(
        f"--modelguard-compare last: every stored run in {runs_dir(cache_dir)} is partial "
        f"(the newest: {_no_reference(partial)})"
    )


def _no_reference(partial: str) -> str:
    return (
        f'a partial run ({partial}) is no reference for drift = "accumulate": '
        "save a complete run without --modelguard-compare"
    )
