"""promptfoo's ``promptfoo eval -o results.json`` as per-test scores.

A case is one (prompt, test) pair by position — ``test 3``, or ``prompt 2 · test 3`` when
the eval has several prompts — so two runs of one config pair up; a test's description is
shown beside it. Rows of one (prompt, test) with ``--repeat`` are its repeats. The score is
promptfoo's weighted assertion ``score``; ``--scorer pass`` takes ``success`` as 1/0 and any
other name a ``namedScores`` metric. A row whose call failed is counted, not scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import ScoreFileError
from .table import ScoreTable, as_score, pick

KIND = "promptfoo results"
_ERROR = 2  # promptfoo's ResultFailureReason.ERROR


def is_promptfoo_results(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(_body(doc).get("results"), list)
        and ("evalId" in doc or isinstance(doc.get("results"), dict))
    )


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    results = doc.get("results")
    return results if isinstance(results, dict) else doc


def read_promptfoo(
    path: Path, doc: dict[str, Any], model: str | None, scorer: str | None, role: str
) -> ScoreTable:
    rows = _body(doc)["results"]
    checked = [(f"results[{i}]", _row(path, i, row)) for i, row in enumerate(rows)]
    providers = sorted({_provider(row) for _, row in checked})
    chosen = pick(providers, model, "provider", str(path), f"--{role}-model")
    metric = scorer or "score"
    table = ScoreTable(path, KIND, chosen, metric)
    several_prompts = len({row.get("promptIdx", 0) for _, row in checked}) > 1
    for where, row in checked:
        if _provider(row) != chosen:
            continue
        if row.get("failureReason") == _ERROR or (row.get("error") and "score" not in row):
            table.leave_out("errored call (no score)")
            continue
        value = _value(row, metric)
        if value is None:
            table.leave_out(f"row without a {metric!r} score")
            continue
        score = as_score(value, f"{path}: {where}.{_field(metric)}")
        case, label = _case(path, where, row, several_prompts)
        table.add(case, score, label)
    return table


def _row(path: Path, i: int, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ScoreFileError(f"{path}: results[{i}]: not a result row")
    return row


def _provider(row: dict[str, Any]) -> str:
    provider = row.get("provider")
    if isinstance(provider, dict):
        provider = provider.get("label") or provider.get("id")
    return str(provider) if provider else "unknown provider"


def _value(row: dict[str, Any], metric: str) -> Any:
    if metric == "score":
        return row.get("score")
    if metric == "pass":
        return row.get("success")
    named = row.get("namedScores")
    return named.get(metric) if isinstance(named, dict) else None


def _field(metric: str) -> str:
    return {"score": "score", "pass": "success"}.get(metric, f"namedScores.{metric}")


def _case(path: Path, where: str, row: dict[str, Any], several_prompts: bool) -> tuple[str, str]:
    test, prompt = row.get("testIdx"), row.get("promptIdx", 0)
    for name, index in (("testIdx", test), ("promptIdx", prompt)):
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ScoreFileError(f"{path}: {where}.{name}: {index!r} is not a position")
    assert isinstance(test, int) and isinstance(prompt, int)
    case = f"prompt {prompt + 1} · test {test + 1}" if several_prompts else f"test {test + 1}"
    test_case = row.get("testCase")
    described = test_case.get("description") if isinstance(test_case, dict) else None
    label = f"{case} ({described})" if isinstance(described, str) and described else case
    return case, label
