"""``modelguard replay``: "can I switch?" in one command, from captured production traffic.

Exports a seeded sample of a traces database to a temporary suite (production answers
as the baseline), runs it through pytest with the same engine and gate as any suite,
and says the answer in words: the quality delta with its CI, the verdict, the savings.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..capture.export import ExportOptions, export_suite
from ..capture.read import TraceFilter
from ..core.formatting import money
from ..core.vocabulary import Verdict

GRADERS: dict[str, list[dict[str, Any]]] = {
    "similarity": [{"similarity": {"against": "baseline"}}],
    "judge": [{"llm_judge": {"pairwise": True}}],
}
VERDICT_WORDS: dict[str, str] = {
    Verdict.PASS: "no significant quality drop",
    Verdict.REGRESSION: "quality is significantly worse",
    Verdict.NOT_NON_INFERIOR: "not shown to be within the margin of production",
    Verdict.BUDGET: "a budget is blown",
    Verdict.ERROR: "too many calls failed to judge",
}


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What to replay and how."""

    db: Path
    candidate: str
    sample: int = 200
    seed: int = 0
    grader: str = "similarity"
    record: str = "once"
    pyproject: Path | None = None
    where: TraceFilter = field(default_factory=TraceFilter)


def build_suite(plan: ReplayPlan, workdir: Path) -> tuple[Path, str]:
    """Export the sample; returns the suite and the production model (the baseline label)."""
    suite = workdir / "replay.modelguard.yaml"
    options = ExportOptions(where=plan.where, sample=plan.sample, seed=plan.seed, dedupe=True)
    export_suite(plan.db, suite, options)
    document = yaml.safe_load(suite.read_text(encoding="utf-8"))
    document.setdefault("defaults", {})["graders"] = GRADERS[plan.grader]
    suite.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    models = Counter(
        case["baseline"]["model"] for case in document["cases"] if "model" in case["baseline"]
    )
    return suite, models.most_common(1)[0][0] if models else "production:unknown"


def pytest_args(plan: ReplayPlan, suite: Path, baseline: str, report: Path) -> list[str]:
    """The pytest command line that runs the replay."""
    args = [str(suite), "-q", "-p", "no:cacheprovider", "--rootdir", str(suite.parent)]
    if plan.pyproject is not None and plan.pyproject.exists():
        args += ["-c", str(plan.pyproject)]
    return [
        *args,
        "--baseline", baseline, "--models", plan.candidate,
        "--modelguard-record", plan.record, "--modelguard-seed", str(plan.seed),
        "--modelguard-json", str(report),
    ]  # fmt: skip


def verdict_lines(doc: dict[str, Any], candidate: str) -> list[str]:
    """The answer in words, from the run's JSON report."""
    model = doc["models"].get(candidate)
    base = doc["models"].get(doc["baseline"], {})
    if model is None:
        return [f"{candidate}: no answers (see the errors above)"]
    delta = model["delta"]
    lines = [f"{candidate} vs production ({doc['baseline']}) on {model['n']} replayed calls:"]
    if delta is not None:
        lines.append(
            f"  quality delta {delta['mean']:+.3f}, {delta['confidence']:.0%} CI "
            f"[{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}], p = {delta['p_value']:.3g}"
        )
    if model.get("mean_score") is not None and base.get("mean_score") is not None:
        lines.append(f"  score {model['mean_score']:.3f} vs production {base['mean_score']:.3f}")
    words = VERDICT_WORDS.get(model["verdict"], model["verdict"])
    lines.append(f"  verdict: {model['verdict']}: {words}")
    lines += [f"  - {reason}" for reason in model["reasons"]]
    lines.append("  " + _savings(base.get("cost_per_case_usd"), model.get("cost_per_case_usd")))
    return lines


def _savings(production: float | None, candidate: float | None) -> str:
    if production is None or candidate is None:
        return "savings: unknown (a price is missing; set price on an alias)"
    saved = production - candidate
    change = f"{-saved / production:+.0%}" if production else "n/a"
    return (
        f"cost per call {money(candidate)} vs {money(production)} ({change}): "
        f"{'saves' if saved >= 0 else 'costs'} {money(abs(saved))} per call, "
        f"{money(abs(saved) * 1000)} per 1,000 calls"
    )


def run_replay(plan: ReplayPlan, run_pytest: Any = None) -> tuple[int, list[str]]:
    """Export, run, and describe; returns the exit status and the lines to print."""
    import pytest

    main = run_pytest or pytest.main
    with tempfile.TemporaryDirectory(prefix="modelguard-replay-") as tmp:
        workdir = Path(tmp)
        suite, baseline = build_suite(plan, workdir)
        report = workdir / "report.json"
        status = int(main(pytest_args(plan, suite, baseline, report)))
        if not report.exists():
            return (status or 1), ["modelguard replay: the run produced no report"]
        doc = json.loads(report.read_text(encoding="utf-8"))
    return status, verdict_lines(doc, plan.candidate)


__all__: Sequence[str] = ("ReplayPlan", "run_replay")
