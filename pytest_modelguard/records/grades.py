"""What a grader receives and returns: Answer in, Grade out."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Answer:
    """Everything a grader may look at for one answer."""

    output: str
    expected: Any = None
    baseline_output: str | None = None
    case_id: str = ""
    tags: tuple[str, ...] = ()
    tool_calls: tuple[Mapping[str, Any], ...] = ()  # {id, name, arguments}
    baseline_tool_calls: tuple[Mapping[str, Any], ...] | None = None
    tools: tuple[Mapping[str, Any], ...] = ()  # the tools the request offered (OpenAI form)
    trajectory: tuple[Mapping[str, Any], ...] | None = None  # an agent case's steps (JSON form)


@dataclass(frozen=True, slots=True)
class JudgeRecord:
    """What an llm_judge's calls said about one answer, for the judge's calibration report.

    ``model`` is the judge model's name; ``scale`` the rubric's (None: pairwise);
    ``draws`` the score of each of the judge's repeats (the grade's score is their
    mean); ``orders`` (pairwise) the candidate's outcome per repeat shown first and
    shown second (1 win, 0.5 tie, 0 loss): where position bias shows.
    """

    model: str
    scale: int | None = None
    draws: tuple[float, ...] = ()
    orders: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scale": self.scale,
            "draws": list(self.draws),
            "orders": [list(o) for o in self.orders],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeRecord:
        scale = data.get("scale")
        return cls(
            model=str(data["model"]),
            scale=None if scale is None else int(scale),
            draws=tuple(float(d) for d in data.get("draws", ())),
            orders=tuple((float(a), float(b)) for a, b in data.get("orders", ())),
        )


@dataclass(frozen=True, slots=True)
class Grade:
    """One grader's verdict on one answer: a score in [0, 1] and why.

    Truthy only when it passes, so ``assert my_grader(answer)`` reads naturally.
    """

    name: str
    score: float
    passed: bool
    reason: str = ""
    weight: float = 1.0
    required: bool = False
    dimension: str | None = None
    threshold: float = 1.0
    judge: JudgeRecord | None = None  # llm_judge grades: what its calls said

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "failed"
        text = (
            f"Grade({self.name}: {verdict}, score {self.score:.3g} "
            f"vs threshold {self.threshold:.3g}"
        )
        return text + (f": {self.reason})" if self.reason else ")")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "score": self.score,
            "passed": self.passed,
            "reason": self.reason,
            "weight": self.weight,
            "required": self.required,
            "dimension": self.dimension,
            "threshold": self.threshold,
        }
        if self.judge is not None:
            data["judge"] = self.judge.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grade:
        return cls(
            name=str(data["name"]),
            score=float(data["score"]),
            passed=bool(data["passed"]),
            reason=str(data.get("reason", "")),
            weight=float(data.get("weight", 1.0)),
            required=bool(data.get("required", False)),
            dimension=data.get("dimension"),
            threshold=float(data.get("threshold", 1.0)),
            judge=JudgeRecord.from_dict(data["judge"]) if data.get("judge") else None,
        )


@dataclass(frozen=True, slots=True)
class GraderSpec:
    """A grader as written in a suite, with where it was written.

    ``name`` is the grader kind (``equals``, ``contains``, ... or ``python``),
    ``options`` its mapping (or scalar) value.
    """

    name: str
    options: Any = None
    weight: float = 1.0
    required: bool = False
    threshold: float | None = None
    dimension: str | None = None
    source: str = "<suite>"  # "path:line" for error messages
    base_dir: str = "."  # for $ref and relative files
    root_dir: str | None = None  # files it names must lie inside; None: inside base_dir
    extra: Mapping[str, Any] = field(default_factory=dict)


GradeFn = Callable[[Answer], Grade]


RESERVED_KEYS = ("weight", "required", "dimension", "threshold")
"""Keys a suite entry may carry beside the grader itself."""


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def weighted_mean(grades: Sequence[Grade]) -> float:
    for grade in grades:
        if not is_number(grade.weight) or grade.weight < 0:
            raise ValueError(f"grade {grade.name!r} has weight {grade.weight!r}; weights are >= 0")
    total = math.fsum(grade.weight for grade in grades)
    if total == 0:
        return math.fsum(grade.score for grade in grades) / len(grades)
    mean = math.fsum(grade.weight * grade.score for grade in grades) / total
    return min(1.0, max(0.0, mean))


def dimension_scores(grades: Sequence[Grade]) -> dict[str, float]:
    """Weighted mean score per dimension; grades without one count only in the case score."""
    groups: dict[str, list[Grade]] = {}
    for grade in grades:
        if grade.dimension is not None:
            groups.setdefault(grade.dimension, []).append(grade)
    return {name: weighted_mean(group) for name, group in groups.items()}
