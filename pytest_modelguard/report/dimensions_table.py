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
                "—" if d is None else f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]",
                "—" if d is None else p_value(d["p_value"]),
            ])  # fmt: skip
    return rows


def has_deltas(doc: Mapping[str, Any]) -> bool:
    """Whether any candidate carries a dimension delta (and so the note applies)."""
    return any(m.get("dimension_deltas") for m in doc["models"].values())
