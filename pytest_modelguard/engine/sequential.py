"""A sequential run's plan: which cases to ask next, of whom, and what stopping saved. Pure.

The cases (the gate's units, `ItemResult.pair_key`) are asked in a seeded random order
(`ask_order`), `batch` at a time. After each batch every still-open candidate's
`SequentialTest` sees the batch's paired per-case scores; a settled candidate is not
asked again, and the baseline is asked only for a batch some candidate still needs.
With `adaptive_repeats`, each model's `RepeatRule` (``sequential_repeats.py``) fixes,
before a batch is asked, how many of each case's repeats it asks (`repeats_of`).
The plugin does the asking and grading; this module only decides and counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..core.vocabulary import Gate
from ..inference.sequential import Look, SequentialTest, ask_order, end_verdict
from ..records.calls import Request
from ..records.pricing import Price
from ..verdict.pairing import CaseScores
from ..verdict.sequential_gate import SequentialOutcome
from .sequential_repeats import RepeatRule
from .spend import worst_case_cost

DEFAULT_BATCH = 50


class SequentialPlan:
    """The batches of one run and each candidate's sequence, batch by batch."""

    def __init__(
        self,
        units: Iterable[str],
        baseline: str,
        candidates: Sequence[str],
        *,
        seed: int,
        batch: int = DEFAULT_BATCH,
        gate: Gate = "regression",
        margin: float = 0.0,
        confidence: float = 0.95,
        resume: Mapping[str, Any] | None = None,
        repeats: Mapping[str, int] | None = None,
        adaptive_repeats: bool = False,
    ) -> None:
        """``repeats``: each case's nominal repeats (1 when absent); ``adaptive_repeats``:
        ask fewer of them where a model's earlier repeats agreed (``RepeatRule``)."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        seen = list(resume["seen"]) if resume is not None else []
        self.seen = frozenset(seen)  # counted by the runs this one continues
        self.order = [u for u in ask_order(dict.fromkeys(units), seed) if u not in self.seen]
        self.baseline, self.batch = baseline, batch
        self.n_total = len(self.seen) + len(self.order)
        self.tests = {
            name: SequentialTest(
                gate, margin, confidence, max(self.n_total, 1), max(len(candidates), 1), final="cs"
            )
            for name in candidates
        }
        saved_tests = dict((resume or {}).get("tests", {}))
        if resume is not None and set(saved_tests) != set(self.tests):
            raise ValueError(
                f"the saved run sequenced {', '.join(sorted(saved_tests)) or 'no candidate'}, "
                f"this one {', '.join(sorted(self.tests))}"
            )
        for name, saved in saved_tests.items():
            self.tests[name].resume(saved)
        self.asked: dict[str, list[str]] = {name: [] for name in (baseline, *candidates)}
        self.settled_after: dict[str, int] = {}
        self.position = 0
        self.nominal = dict(repeats or {})
        self.rules = {name: RepeatRule() for name in self.asked} if adaptive_repeats else {}
        self.repeats: dict[tuple[str, str], int] = {}  # (case, model) → repeats asked
        self.why: dict[tuple[str, str], str] = {}  # (case, model) → why fewer were asked

    @property
    def open(self) -> list[str]:
        """The candidates still to be asked: their verdict is not settled."""
        return [name for name, test in self.tests.items() if not test.look.settled]

    def next_batch(self) -> tuple[list[str], list[str]] | None:
        """The next cases and the models to ask them (baseline first); None: done."""
        still = self.open
        if not still or self.position >= len(self.order):
            return None
        start = self.position
        cases = self.order[start : start + self.batch]
        self.position += len(cases)
        for name in (self.baseline, *still):
            self.asked[name] += cases
            rule = self.rules.get(name)
            for offset, case in enumerate(cases):
                nominal = self.nominal.get(case, 1)
                k = nominal if rule is None else rule.repeats(start + offset, nominal)
                self.repeats[(case, name)] = k
                if rule is not None and k < nominal:
                    self.why[(case, name)] = rule.reason(k, nominal)
        return cases, [self.baseline, *still]

    def repeats_of(self, case: str, model: str) -> int:
        """How many of the case's repeats `model` is asked (fixed by `next_batch`)."""
        return self.repeats.get((case, model), self.nominal.get(case, 1))

    def state(self) -> dict[str, Any]:
        """What a run continuing this one resumes: the cases counted and each sequence."""
        asked = {unit for units in self.asked.values() for unit in units}
        seen = sorted(self.seen | asked)
        return {"seen": seen, "tests": {n: t.to_state() for n, t in self.tests.items()}}

    def record(self, cases: Sequence[str], scores: Mapping[str, CaseScores]) -> dict[str, Look]:
        """The batch's per-case scores by model: each open candidate's next Look."""
        for name, rule in self.rules.items():  # what the next batches' repeats go by
            mine = scores.get(name, {})
            rule.observe({c: mine[c] for c in cases if c in mine})
        base = scores.get(self.baseline, {})
        looks = {}
        for name in self.open:
            mine = scores.get(name, {})
            both = [c for c in cases if c in base and c in mine]  # in asking order
            test = self.tests[name]
            look = test.update([base[c] for c in both], [mine[c] for c in both])
            if look.settled and look.decided_by == "sequence":
                self.settled_after[name] = look.n_seen
            looks[name] = look
        return looks

    def final_looks(self) -> dict[str, Look]:
        """Each candidate's last Look; one still open (errors left cases unpaired) gets
        the gate's default at the end: pass (regression), not-non-inferior (NI)."""
        looks = {}
        for name, test in self.tests.items():
            look = test.look
            if not look.settled:
                look = replace(
                    look,
                    settled=True,
                    verdict=end_verdict(test.gate),
                    decided_by="end",
                    reason="the suite ran out with the sequence open",
                )
            looks[name] = look
        return looks

    def skip_reason(self, model: str) -> str:
        """Why `model`'s cases that were never asked are skipped."""
        test = self.tests.get(model)
        if test is not None:
            return test.look.reason
        return (
            f"no candidate needed the baseline: every verdict settled after "
            f"{len(self.seen) + self.position} of {self.n_total} cases"
        )

    def outcomes(
        self,
        unasked: Mapping[str, Sequence[Request]],
        prices: Mapping[str, Price | None],
        repeats_saved: Mapping[str, int] | None = None,
    ) -> dict[str, SequentialOutcome]:
        """Per model: cases asked, when it settled, calls never asked and their worst-case
        price, and the repeats of asked cases not asked (``repeats_saved``)."""
        looks = self.final_looks()
        return {
            name: SequentialOutcome(
                model=name,
                look=looks.get(name),
                n_asked=len(asked),
                n_total=self.n_total,
                settled_after=self.settled_after.get(name),
                calls_saved=len(unasked.get(name, ())),
                usd_saved=saved_usd(unasked.get(name, ()), prices.get(name)),
                batch=self.batch,
                repeats_saved=(repeats_saved or {}).get(name, 0),
            )
            for name, asked in self.asked.items()
        }


def saved_usd(requests: Sequence[Request], price: Price | None) -> float | None:
    """The worst-case price of requests never asked (the dry run's estimate); None: no price."""
    if not requests:
        return 0.0
    if price is None:
        return None
    return sum(worst_case_cost(r, price) for r in requests)
