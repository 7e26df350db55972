"""Adaptive repeats of a sequential run: how many of a case's repeats to ask. Pure.

The rule, per model (the baseline too), decided before a batch is asked:

- full repeats until the model has answered `min_cases` cases with at least two
  repeats (the first batch, at the default batch size), and for good once any of its
  cases' repeats disagreed (scores not all equal);
- otherwise one repeat per case, except every `probe_every`-th case in the asking
  order, which gets full repeats so that disagreement can still show up.

Why this keeps the sequence valid. A case's score is the mean of the repeats asked.
Given the case, its repeats are i.i.d. draws in [0, 1], so the mean of the first k has
the same expectation whatever k is, and stays in [0, 1]: the per-case delta keeps its
mean and its bounds. The k of every case in batch b is fixed from batches < b only
(its position in the seeded order and the earlier cases' answers), never from the
case's own answers — a predictable choice, like the sequence's bets, so each capital
process stays a nonnegative martingale under the true delta and Ville's inequality
holds as before. Choosing k from the case's own repeats ("ask more where they
disagree") would not: it biases the case's mean. What a reduced k changes is only the
noise of a case's delta, so the sequence may settle later, never wrongly more often.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MIN_CASES = 20  # cases with ≥ 2 repeats seen before a model's repeats may be reduced
PROBE_EVERY = 10  # while reduced, every 10th case in the asking order gets full repeats
_TIE = 1e-9  # scores closer than this agree


class RepeatRule:
    """One model's repeats per case, batch by batch, from its earlier batches only."""

    def __init__(self, *, min_cases: int = MIN_CASES, probe_every: int = PROBE_EVERY) -> None:
        if min_cases < 1 or probe_every < 1:
            raise ValueError("min_cases and probe_every must be at least 1")
        self.min_cases, self.probe_every = min_cases, probe_every
        self.repeated = 0  # cases seen with ≥ 2 repeats
        self.disagreed = 0  # of them, cases whose repeats did not all score alike

    @property
    def reduced(self) -> bool:
        """Whether cases (other than probes) get one repeat from now on."""
        return self.disagreed == 0 and self.repeated >= self.min_cases

    def repeats(self, position: int, nominal: int) -> int:
        """How many of its `nominal` repeats the case at `position` (in the asking order,
        0-based) gets: fixed before the case is asked."""
        if nominal <= 1 or not self.reduced or position % self.probe_every == 0:
            return nominal
        return 1

    def observe(self, scores: Mapping[str, Sequence[float]]) -> None:
        """A batch's per-case scores of this model's repeats (after the batch)."""
        for values in scores.values():
            if len(values) >= 2:
                self.repeated += 1
                self.disagreed += max(values) - min(values) > _TIE

    def reason(self, asked: int, nominal: int) -> str:
        """Why a case's repeats after the first `asked` of `nominal` were not asked."""
        which = f"repeat {nominal}" if asked + 1 == nominal else f"repeats {asked + 1}-{nominal}"
        return (
            f"{which} not asked: repeats agreed on the {self.repeated} earlier cases "
            f"asked with repeats"
        )
