"""The per-dimension table for Markdown and HTML, as plain-text cells from the JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.formatting import p_value

DIMENSION_HEAD = ("model", "dimension", "score", "Δ vs baseline [CI]", "p")
DIMENSIONS_NOTE = (
    "dimension deltas are descriptive, not gating: each CI two-sided at the run's "
    "confidence, with no correction across dimensions or candidates (no Holm)"
)
SEQUENTIAL_DIMENSIONS_NOTE = (
    "dimension deltas are descriptive, not gating, and shown without CI or p: a sequential "
    "run stops on the overall score, so a dimension's fixed-n CI and p-value would not be "
    "valid (optional stopping)"
)


def dimensions_note(sequential: bool) -> str:
    """The note under dimension deltas: in a sequential run, why they have no CI or p."""
    return SEQUENTIAL_DIMENSIONS_NOTE if sequential else DIMENSIONS_NOTE


def dimension_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    """One row per (model, dimension): its mean, and for a candidate its paired delta."""
    rows = []
    for name, m in doc["models"].items():
        deltas = m.get("dimension_deltas") or {}
        for dimension, mean in (m.get("dimensions") or {}).items():
            d = deltas.get(dimension)
            rows.append([
                name,
                dimension,
                f"{mean:.3f}",
                _delta(d),
                "—" if d is None or d["p_value"] is None else p_value(d["p_value"]),
            ])  # fmt: skip
    return rows


def _delta(d: Mapping[str, Any] | None) -> str:
    if d is None:
        return "—"
    if d["ci_low"] is None:  # a sequential run's: the mean alone
        return f"{d['mean']:+.3f}"
    return f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"


def has_deltas(doc: Mapping[str, Any]) -> bool:
    """Whether any candidate carries a dimension delta (and so the note applies)."""
    return any(m.get("dimension_deltas") for m in doc["models"].values())


def note_of(doc: Mapping[str, Any]) -> str:
    """The note for this document's dimension deltas (a sequential run's says why no CI)."""
    return dimensions_note(any(m.get("sequential") for m in doc["models"].values()))
