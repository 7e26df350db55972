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
from pathlib import Path
from typing import Any

from ..config import Settings
from ..core.errors import ConfigError
from ..core.jsonfile import write_json_atomic

STATE_FILE = "sequential-state.json"
VERSION = 1


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


def save(settings: Settings, plan_state: dict[str, Any]) -> None:
    """Keep this run's sequences for a run that continues it."""
    doc = {"version": VERSION, "key": run_key(settings), **plan_state}
    write_json_atomic(state_path(settings), doc)


def load(settings: Settings) -> dict[str, Any]:
    """The saved state a ``--modelguard-continue`` run resumes; what is wrong, said plainly."""
    path = state_path(settings)
    fresh = "run without --modelguard-continue to start a fresh sequence"
    if not path.is_file():
        raise ConfigError(
            f"--modelguard-continue: no saved sequential run in {path}; run once with "
            "--modelguard-sequential first"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a saved sequential run ({exc}); {fresh}") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise ConfigError(f"{path}: not a saved sequential run of version {VERSION}; {fresh}")
    saved, now = doc.get("key"), run_key(settings)
    if not isinstance(saved, dict):
        raise ConfigError(f"{path}: no 'key'; {fresh}")
    changed = [k for k in now if saved.get(k) != now[k]]
    if changed:
        what = ", ".join(f"{k} {saved.get(k)!r} → {now[k]!r}" for k in changed)
        raise ConfigError(f"--modelguard-continue: the saved run differs: {what}; {fresh}")
    if not isinstance(doc.get("seen"), list) or not isinstance(doc.get("tests"), dict):
        raise ConfigError(f"{path}: no 'seen' cases or 'tests'; {fresh}")
    return doc
