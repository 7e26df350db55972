"""One result file as per-case scores, and the score values other tools write. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ScoreFileError

MAX_FILE_BYTES = 512 * 2**20
"""A result file larger than this is refused before it is read."""

_LETTERS = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}
"""Inspect's CORRECT, PARTIAL, INCORRECT and NOANSWER, as its own ``value_to_float``."""
_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}


@dataclass
class ScoreTable:
    """Per case id, the scores of its answers (repeats, epochs) in file order.

    ``context`` names what was evaluated where the tool says (an Inspect task), so two
    files of different tasks are reported; ``labels`` names a case as the tool shows it
    where that differs from its id; ``left_out`` counts, per reason, the records read but
    not scored (an errored sample, a missing score): nothing is dropped silently.
    """

    path: Path
    kind: str
    model: str
    scorer: str
    context: str = ""
    scores: dict[str, list[float]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)

    def add(self, case: str, score: float, label: str | None = None) -> None:
        self.scores.setdefault(case, []).append(score)
        if label and label != case:
            self.labels.setdefault(case, label)

    def label(self, case: str) -> str:
        return self.labels.get(case, case)

    def leave_out(self, reason: str) -> None:
        self.left_out[reason] = self.left_out.get(reason, 0) + 1

    @property
    def answers(self) -> int:
        return sum(len(v) for v in self.scores.values())


def as_score(value: Any, where: str) -> float:
    """A score in [0, 1] from what a tool wrote: a number, a boolean, Inspect's letters
    C/P/I/N, yes/no, true/false. ScoreFileError naming ``where`` otherwise."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        score = float(value)
    elif isinstance(value, str) and value.strip().upper() in _LETTERS:
        return _LETTERS[value.strip().upper()]
    elif isinstance(value, str) and value.strip().lower() in _WORDS:
        return _WORDS[value.strip().lower()]
    elif isinstance(value, str):
        try:
            score = float(value)
        except ValueError:
            raise ScoreFileError(f"{where}: {_shown(value)} is not a score") from None
    else:
        raise ScoreFileError(f"{where}: {_shown(value)} is not a score")
    if not math.isfinite(score) or not 0.0 <= score <= 1.0:
        raise ScoreFileError(
            f"{where}: {_shown(value)} is not a score in [0, 1] (compare needs scores "
            "in [0, 1]: rescale them, or pick another scorer with --scorer)"
        )
    return score


def pick(choices: list[str], wanted: str | None, what: str, where: str, flag: str) -> str:
    """``wanted`` if it is one of ``choices``; else the only choice; else ScoreFileError."""
    if wanted is not None:
        if wanted not in choices:
            known = ", ".join(repr(c) for c in choices[:20]) or "none"
            raise ScoreFileError(f"{where}: no {what} {wanted!r} (it has {known})")
        return wanted
    if len(choices) == 1:
        return choices[0]
    if not choices:
        raise ScoreFileError(f"{where}: no {what} in the file")
    known = ", ".join(repr(c) for c in choices[:20])
    raise ScoreFileError(f"{where}: several {what}s ({known}): pick one with {flag}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
