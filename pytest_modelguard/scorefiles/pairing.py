"""Two score tables paired by case id, and what does not pair. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .table import ScoreTable


@dataclass(frozen=True)
class Pairing:
    """The cases both tables scored, in a stable order, and those only one scored."""

    cases: tuple[str, ...]
    base: tuple[tuple[float, ...], ...]
    candidate: tuple[tuple[float, ...], ...]
    only_base: tuple[str, ...]
    only_candidate: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.cases)


def pair_tables(base: ScoreTable, candidate: ScoreTable) -> Pairing:
    """Cases paired by id (ids in file order of the base); repeats stay with their case."""
    both = [case for case in base.scores if case in candidate.scores]
    return Pairing(
        cases=tuple(both),
        base=tuple(tuple(base.scores[c]) for c in both),
        candidate=tuple(tuple(candidate.scores[c]) for c in both),
        only_base=tuple(c for c in base.scores if c not in candidate.scores),
        only_candidate=tuple(c for c in candidate.scores if c not in base.scores),
    )


def mismatches(base: ScoreTable, candidate: ScoreTable) -> list[str]:
    """What differs between the two files beyond their models: scorer, kind of file, task."""
    found = []
    if base.scorer != candidate.scorer:
        found.append(
            f"scorers differ: {base.scorer!r} in the base, {candidate.scorer!r} in the candidate"
        )
    if base.context and candidate.context and base.context != candidate.context:
        found.append(f"the files evaluate different things: {base.context} vs {candidate.context}")
    return found
