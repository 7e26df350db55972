"""pass^k and pass@k (tau-bench's reliability measures) of a model's repeated runs. Pure.

A *run* is one repeat of one case. It passes when its answer came (no error), the item did
not fail (no required check, no per-case budget) and every check of it scored at or above
its grader's threshold (each check's pass/fail, as ``-v`` and the reports show it); with
several checks of one answer (a Python test over a suite's case) all must pass. Over the
cases a model answered:

- pass^k: the share of cases where all k runs passed (reliable every time);
- pass@k: the share of cases where at least one of the k runs passed (possible at all).

k is a case's number of repeats; a suite may give its cases different ``repeat:`` (or a
sequential run ask fewer of some), so ``k_min`` and ``k_max`` are both kept. The ratios
mean something only when some case ran more than once: None otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..records.results import ItemResult


@dataclass(frozen=True, slots=True)
class PassK:
    """One model's pass^k and pass@k over ``cases`` cases of ``k_min``..``k_max`` runs."""

    cases: int
    k_min: int
    k_max: int
    all_pass: float  # pass^k
    any_pass: float  # pass@k

    def to_dict(self) -> dict[str, float | int]:
        return {
            "k_min": self.k_min,
            "k_max": self.k_max,
            "cases": self.cases,
            "pass_all": self.all_pass,
            "pass_any": self.any_pass,
        }


def pass_k(results: Iterable[ItemResult]) -> PassK | None:
    """pass^k and pass@k of one model's results; None when no case ran more than once."""
    runs: dict[str, dict[int, bool]] = defaultdict(dict)
    for result in results:
        case = runs[result.pair_key]
        ok = result.error is None and result.passed and all(g.passed for g in result.grades)
        case[result.repeat] = case.get(result.repeat, True) and ok  # every check of the run
    if not runs:
        return None
    ks = [len(case) for case in runs.values()]
    if max(ks) < 2:
        return None
    return PassK(
        cases=len(runs),
        k_min=min(ks),
        k_max=max(ks),
        all_pass=sum(all(case.values()) for case in runs.values()) / len(runs),
        any_pass=sum(any(case.values()) for case in runs.values()) / len(runs),
    )


def pass_k_by_model(results: Iterable[ItemResult]) -> Mapping[str, PassK]:
    """Each model's pass^k and pass@k, for the models where some case ran more than once."""
    by_model: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_model[result.model].append(result)
    found = {name: pass_k(rows) for name, rows in by_model.items()}
    return {name: figures for name, figures in found.items() if figures is not None}


def describe(figures: Mapping[str, Any]) -> str:
    """``pass^3 40% · pass@3 90% over 20 cases`` from ``PassK.to_dict()`` (a JSON report's)."""
    low, high = figures["k_min"], figures["k_max"]
    k = f"{high}" if low == high else f"{low}-{high}"
    return (
        f"pass^{k} {figures['pass_all']:.0%} · pass@{k} {figures['pass_any']:.0%} "
        f"over {figures['cases']} cases"
    )


DEFINITION = (
    "a run passes when every check of its answer scores at or above its threshold, with no "
    "error and no required check or per-case budget failed"
)
