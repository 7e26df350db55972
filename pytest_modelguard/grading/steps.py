"""The ``steps`` grader: an agent case's model calls against a budget, ``steps: {max: N}``.

Fewer is better: score 1 at one step, falling linearly to ``1/N`` at N steps, 0 past N
(a run that did not finish counts its steps and fails by itself). A one-call answer
took one step.
"""

from __future__ import annotations

from ..records.grades import Answer
from ._options import Built, Kind, Options


def build_steps(opts: Options) -> Built:
    """Score how many steps the answer took against ``max``."""
    limit = opts.count("max")
    if limit is None or limit < 1:
        raise opts.error("max: give the most steps allowed, a whole number >= 1")

    def check(answer: Answer) -> tuple[float, str]:
        taken = len(answer.trajectory) if answer.trajectory is not None else 1
        if taken > limit:
            return 0.0, f"{taken} steps, more than max {limit}"
        score = 1.0 - (taken - 1) / limit
        return score, f"{taken} of at most {limit} steps"

    return Built(check, threshold=1.0 / limit)


KIND = Kind(build_steps, ("max",), scalar="max")
