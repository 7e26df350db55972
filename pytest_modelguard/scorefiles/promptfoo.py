"""promptfoo's ``promptfoo eval -o results.json`` as per-test scores.

A case is one (prompt, test) pair — ``test 3``, or ``prompt 2 · test 3`` when the eval
has several prompts — so two runs of one config pair up. The prompt is known by its
``promptId`` (promptfoo gives each prompt × provider its own ``promptIdx``, so the index
would split one prompt's rows by provider), numbered in order of appearance; the test by
``testIdx``; a test's description is shown beside it. Rows of one (prompt, test) with
``--repeat`` are its repeats. The score is promptfoo's weighted assertion ``score``;
``--scorer pass`` takes ``success`` as 1/0 and any other name a ``namedScores`` metric.
A row whose call failed is counted, not scored.
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
    prompts: dict[str, int] = {}
    for _, row in checked:
        prompts.setdefault(_prompt_key(row), len(prompts) + 1)
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
        case, label = _case(path, where, row, prompts)
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


def _prompt_key(row: dict[str, Any]) -> str:
    """The prompt a row answers: its ``promptId``, else its template's label, else index."""
    prompt = row.get("prompt")
    label = prompt.get("label") if isinstance(prompt, dict) else None
    return str(row.get("promptId") or label or row.get("promptIdx", 0))


def _case(path: Path, where: str, row: dict[str, Any], prompts: dict[str, int]) -> tuple[str, str]:
    test = row.get("testIdx")
    if isinstance(test, bool) or not isinstance(test, int) or test < 0:
        raise ScoreFileError(f"{path}: {where}.testIdx: {test!r} is not a position")
    number = prompts[_prompt_key(row)]
    case = f"prompt {number} · test {test + 1}" if len(prompts) > 1 else f"test {test + 1}"
    test_case = row.get("testCase")
    described = test_case.get("description") if isinstance(test_case, dict) else None
    label = f"{case} ({described})" if isinstance(described, str) and described else case
    return case, label
