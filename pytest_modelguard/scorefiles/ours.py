"""Our own JSON report (``--modelguard-json``) as per-case scores, as the gate pairs them."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import HistoryError, ScoreFileError
from ..records.results import ItemResult
from ..verdict.pairing import case_scores
from ..verdict.run_schema import read_report
from .table import ScoreTable, pick

KIND = "modelguard JSON report"


def read_report_scores(path: Path, model: str | None, role: str) -> ScoreTable:
    """The scores of one model of the report: ``model``, the only one, or (``role`` base)
    the report's baseline and (candidate) its only other model.

    A case is the prompt (every check of one answer is one observation, repeats one
    cluster), exactly as the gate sees it; errored answers are counted, not scored.
    """
    try:
        doc = read_report(path)
    except HistoryError as exc:
        raise ScoreFileError(str(exc)) from None
    results = [ItemResult.from_dict(case) for case in doc["cases"]]
    chosen = pick(_choices(doc, results, model, role), model, "model", str(path), f"--{role}-model")
    mine = [r for r in results if r.model == chosen]
    table = ScoreTable(path, KIND, chosen, "score")
    for result in mine:
        if result.error is not None or result.score is None:
            table.leave_out("errored answer (no score)")
    labels = {r.pair_key: f"{r.suite}/{r.case_id}" for r in reversed(mine)}
    for key, scores in case_scores(mine).items():
        for score in scores:
            table.add(key, score, labels[key])
    return table


def _choices(
    doc: dict[str, object], results: list[ItemResult], model: str | None, role: str
) -> list[str]:
    models = sorted({r.model for r in results})
    if model is not None or len(models) <= 1:
        return models
    baseline = doc.get("baseline")
    if role == "base" and baseline in models:
        return [str(baseline)]
    others = [m for m in models if m != baseline]
    return others if baseline in models else models
