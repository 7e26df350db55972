"""Graders: build them from suite entries, and combine their grades into a case score.

``build_grader`` checks a suite entry completely at collection time and returns a
pure ``Answer -> Grade`` function. Errors are ``GraderConfigError`` whose message
starts with the entry's ``path:line``, names the key and says how to fix it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.errors import BadGrade, GraderConfigError, GraderFailed
from ..core.formatting import capped, did_you_mean
from ..core.safety import describe, valid_text
from ..records.grades import (
    RESERVED_KEYS,
    Answer,
    Grade,
    GradeFn,
    GraderSpec,
    dimension_scores,
    is_number,
    weighted_mean,
)
from ._options import Check, Kind, Options
from .builtin import BUILTINS
from .decorator import GraderFunction, explain, grader, recording

__all__ = [
    "Answer",
    "BoundGrader",
    "Grade",
    "GradeFn",
    "GraderConfigError",
    "GraderFunction",
    "GraderSpec",
    "build_grader",
    "dimension_scores",
    "explain",
    "grader",
    "grader_kinds",
    "grader_names",
    "recording",
    "score_answer",
]

_PLUGGED = {
    "llm_judge": "pytest_modelguard.grading.llm_judge",
    "trajectory": "pytest_modelguard.grading.trajectory",
    "steps": "pytest_modelguard.grading.steps",
}
"""Graders in their own module (imported on first use), which defines ``KIND: Kind``."""


@dataclass(frozen=True, slots=True)
class BoundGrader:
    """A built grader: a check plus the suite entry's weight, threshold, dimension, required."""

    name: str
    check: Check
    threshold: float
    weight: float = 1.0
    required: bool = False
    dimension: str | None = None

    def __call__(self, answer: Answer) -> Grade:
        score, reason = self.check(answer)
        return Grade(
            name=self.name,
            score=score,
            passed=score >= self.threshold,
            reason=reason,
            weight=self.weight,
            required=self.required,
            dimension=self.dimension,
            threshold=self.threshold,
        )


def grader_names() -> list[str]:
    """Every grader kind a suite may name, sorted."""
    return sorted([*BUILTINS, *_PLUGGED])


def grader_kinds() -> dict[str, Kind]:
    """Every grader kind a suite may name, by name, the plugged ones imported."""
    plugged = {name: importlib.import_module(module).KIND for name, module in _PLUGGED.items()}
    return {**BUILTINS, **plugged}


def _kind(spec: GraderSpec) -> Kind:
    if spec.name in BUILTINS:
        return BUILTINS[spec.name]
    if spec.name in _PLUGGED:
        try:
            module = importlib.import_module(_PLUGGED[spec.name])
        except ImportError as exc:
            raise GraderConfigError(f"{spec.source}: {spec.name} is not available: {exc}") from None
        kind: Kind = module.KIND
        return kind
    hint = did_you_mean(spec.name, grader_names())
    known = "" if hint else f"; known graders: {', '.join(grader_names())}"
    raise GraderConfigError(f"{spec.source}: unknown grader {spec.name!r}{hint}{known}")


def _check_entry(spec: GraderSpec, kind: Kind) -> None:
    """The keys beside the grader: no unknown ones, and sane weight/threshold/required/dimension."""
    where = f"{spec.source}: {spec.name}"
    for key in spec.extra:
        hint = did_you_mean(key, RESERVED_KEYS)
        if not hint and key in kind.keys:
            hint = f" (an option of {spec.name}? indent it under `{spec.name}:`)"
        raise GraderConfigError(
            f"{where}: unknown key {key!r}{hint}; beside a grader use {', '.join(RESERVED_KEYS)}"
        )
    if not is_number(spec.weight) or spec.weight < 0:
        raise GraderConfigError(f"{where}: weight must be a number >= 0, got {spec.weight!r}")
    if spec.threshold is not None and not (is_number(spec.threshold) and 0 <= spec.threshold <= 1):
        raise GraderConfigError(f"{where}: threshold must be in [0, 1], got {spec.threshold!r}")
    if not isinstance(spec.required, bool):
        raise GraderConfigError(f"{where}: required must be true or false, got {spec.required!r}")
    if spec.dimension is not None and not (isinstance(spec.dimension, str) and spec.dimension):
        raise GraderConfigError(f"{where}: dimension must be a name, got {spec.dimension!r}")


def build_grader(spec: GraderSpec) -> GradeFn:
    """Check a suite entry now and return its ``Answer -> Grade`` function.

    A check with ``bind_entry`` (llm_judge) returns a richer grader of its own.
    """
    kind = _kind(spec)
    _check_entry(spec, kind)
    built = kind.build(Options(spec, kind))
    bound = BoundGrader(
        name=built.name or spec.name,
        check=built.check,
        threshold=float(spec.threshold if spec.threshold is not None else built.threshold),
        weight=float(spec.weight),
        required=spec.required,
        dimension=spec.dimension or built.dimension,
    )
    bind = getattr(built.check, "bind_entry", None)
    return bind(bound) if callable(bind) else bound


def score_answer(grades: Sequence[Grade]) -> tuple[float, bool]:
    """The case score (weighted mean; plain mean when all weights are 0) and whether it passed.

    It fails only when a ``required`` grade failed. No grades gives ``(1.0, True)``:
    nothing was checked, so nothing failed (the suite loader rejects a case
    without graders, so this only arises for a Python test that grades nothing).
    """
    passed = all(grade.passed for grade in grades if grade.required)
    return (weighted_mean(grades) if grades else 1.0), passed


def run_grader(grader: GradeFn, answer: Answer) -> Grade:
    """One grader's grade; GraderFailed with one short line when it raises."""
    try:
        return grader(answer)
    except (GraderConfigError, BadGrade) as exc:
        raise GraderFailed(valid_text(str(exc))) from None
    except (Exception, SystemExit) as exc:
        name = getattr(grader, "name", None) or getattr(grader, "__name__", "grader")
        raise GraderFailed(f"grader {name} raised {describe(exc)}") from None


FAILURE_CHARS = 2_000
"""Of a failing item's message (terminal, JUnit): a 5 MB reason is cut there, its size said."""


def required_failure(grades: Sequence[object]) -> str | None:
    """The first failed ``required`` grade, as the item's failure message."""
    for grade in grades:
        if getattr(grade, "required", False) and not grade:
            return capped(f"required grader {grade!r}", FAILURE_CHARS)  # the terminal shows it
    return None
