"""The judges' tables (#19) for Markdown and HTML, as plain-text cells from the JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JUDGE_HEAD = (
    "judge", "labelled", "agreement", "accuracy", "TPR", "FPR", "MAE", "position bias",
    "self-consistency", "score~length ρ",
)  # fmt: skip
DELTA_HEAD = ("candidate", "judge only Δ [CI]", "corrected Δ [CI] (PPI++)", "labelled cases",
              "judge noise")  # fmt: skip


def _num(value: Any, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def judge_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    """One row per judge: agreement with the labels and the judge's own biases."""
    judges = doc.get("judges") or {}
    rows = []
    for j in judges.get("judges", ()):
        ag = j.get("agreement") or {}
        figure = (
            "—"
            if not ag
            else f"{'κ' if ag['kind'] == 'binary' else 'ρ'} {_num(ag.get('figure'), '{:+.2f}')}"
        )
        pb = j.get("position_bias") or {}
        sc = j.get("self_consistency") or {}
        kind = "pairwise" if j["pairwise"] else "rubric"
        rows.append([
            f"{j['grader']} {kind} ({j['model']})" + (" ✗" if j.get("failure") else ""),
            str(ag.get("n", 0)),
            figure,
            _num(ag.get("accuracy"), "{:.0%}"),
            _num(ag.get("tpr"), "{:.2f}"),
            _num(ag.get("fpr"), "{:.2f}"),
            _num(ag.get("mae"), "{:.2f}") if ag.get("kind") == "scale" else "—",
            f"{pb['share']:.0%} of {pb['n']}" if pb.get("share") is not None else "—",
            f"{sc['identical']:.0%} identical ({sc['repeats']:g} draws)" if sc else "—",
            _num(j.get("length_correlation"), "{:+.2f}"),
        ])  # fmt: skip
    return rows


def delta_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    """One row per candidate with labels or a repeated judge: judge-only and corrected deltas."""
    judges = doc.get("judges") or {}
    rows = []
    for name, c in (judges.get("candidates") or {}).items():
        ppi = c.get("ppi")
        if ppi is None and c.get("judge_noise_share") is None and not c.get("ppi_note"):
            continue
        delta = (doc.get("models", {}).get(name) or {}).get("delta") or {}
        judge_only = (
            f"{delta['mean']:+.3f} [{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}]"
            if delta
            else "—"
        )
        corrected = (
            f"{ppi['mean']:+.3f} [{ppi['ci_low']:+.3f}, {ppi['ci_high']:+.3f}]"
            if ppi
            else c.get("ppi_note") or "—"
        )
        labelled = f"{ppi['n_labelled']} of {ppi['n_total']}" if ppi else str(c["labelled_cases"])
        rows.append([name, judge_only, corrected, labelled,
                     _num(c.get("judge_noise_share"), "{:.0%} of the variance")])  # fmt: skip
    return rows


def judge_notes(doc: Mapping[str, Any]) -> list[str]:
    """Failures (judge_min_agreement) and warnings (self-preference), in that order."""
    judges = doc.get("judges") or {}
    failures = [j["failure"] for j in judges.get("judges", ()) if j.get("failure")]
    return [f"FAILED: {f}" for f in failures] + [
        f"warning: {w}" for w in judges.get("warnings", ())
    ]
