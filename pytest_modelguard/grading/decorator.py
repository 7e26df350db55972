"""``@grader``: a plain function becomes a grader that returns a Grade and records it.

The function may take ``(answer: str)``, ``(answer: str, expected)`` or
``(answer: Answer)`` (chosen from its signature: a first parameter annotated
``Answer`` gets the whole Answer; two positional parameters get the output and
the case's expected value), and returns a bool, a float in [0, 1], or a
``(score, reason)`` pair. The default threshold is 0.5: a bool grader passes on
True, a float grader at 0.5 or more.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, overload

from ..core.errors import BadGrade
from ..records.grades import Answer, Grade
from ..records.trajectory import Trajectory
from ._options import cut, show

DEFAULT_THRESHOLD = 0.5

_RECORDER: ContextVar[list[Grade] | None] = ContextVar("modelguard_grades", default=None)


@contextmanager
def recording() -> Iterator[list[Grade]]:
    """Collect every Grade a ``@grader`` call returns inside the block (innermost block only)."""
    grades: list[Grade] = []
    token = _RECORDER.set(grades)
    try:
        yield grades
    finally:
        _RECORDER.reset(token)


def _takes_answer(parameter: inspect.Parameter) -> bool:
    annotation = parameter.annotation
    if isinstance(annotation, str):
        return annotation == "Answer" or annotation.endswith(".Answer")
    return annotation is Answer


def _convention(fn: Callable[..., Any]) -> Callable[[Answer], Any]:
    """How to call fn with an Answer, read from its signature; TypeError if it fits none."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    signature = inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.kind in positional]
    required = [p for p in params if p.default is inspect.Parameter.empty]
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values())
    if len(required) == 1 and _takes_answer(params[0]):
        return fn
    if len(params) >= 2 and len(required) <= 2:
        return lambda answer: fn(answer.output, answer.expected)
    if len(required) == 1 or (len(required) == 0 and (params or varargs)):
        return lambda answer: fn(answer.output)
    raise TypeError(
        f"a grader takes (answer: str), (answer: str, expected) or (answer: Answer), "
        f"not {getattr(fn, '__name__', fn)}{signature}"
    )


def _score(name: str, value: Any, output: str) -> tuple[float, str]:
    """A grader function's result as (score, reason); BadGrade when it is not one."""
    reason = f"for {show(output)}"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        value, reason = value
    problem = (
        f"grader {name!r} returned {cut(repr(value), 60)}; "
        "return a bool or a float in [0, 1], alone or as (score, reason)"
    )
    if value is None or isinstance(value, (str, bytes, tuple)):
        raise BadGrade(problem)
    try:
        score = float(value)
    except (TypeError, ValueError, OverflowError):
        raise BadGrade(problem) from None
    if not 0.0 <= score <= 1.0:
        raise BadGrade(problem)
    return score, reason


def _check_settings(threshold: float, weight: float) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"weight must be a number >= 0, got {weight!r}")


def _as_answer(value: Any, expected: Any) -> Answer:
    """A str, a Completion (anything with a ``.text`` str), a ``Trajectory`` (its steps
    too) or an Answer, as an Answer."""
    if isinstance(value, Answer):
        return value if expected is None else dataclasses.replace(value, expected=expected)
    if isinstance(value, Trajectory):
        return Answer(output=value.text, expected=expected, trajectory=value.to_dicts())
    text = value if isinstance(value, str) else getattr(value, "text", None)
    if not isinstance(text, str):
        raise TypeError(f"grade a str, a Completion or an Answer, not {type(value).__name__}")
    return Answer(output=text, expected=expected)


class GraderFunction:
    """A function wrapped by ``@grader``: calling it returns a Grade and records it."""

    __name__: str
    __wrapped__: Callable[..., Any]

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        weight: float = 1.0,
        dimension: str | None = None,
    ) -> None:
        _check_settings(threshold, weight)
        self._call = _convention(fn)
        self.name: str = getattr(fn, "__name__", type(fn).__name__)
        self.threshold = float(threshold)
        self.weight = float(weight)
        self.dimension = dimension
        functools.update_wrapper(self, fn)

    def __call__(self, answer: Any, expected: Any = None) -> Grade:
        """Grade a str, a Completion or an Answer; record the Grade when recording."""
        grade = self.grade(_as_answer(answer, expected))
        recorder = _RECORDER.get()
        if recorder is not None:
            recorder.append(grade)
        return grade

    def grade(self, answer: Answer) -> Grade:
        """The Grade of an Answer, without recording it."""
        score, reason = self.evaluate(answer)
        return Grade(
            name=self.name,
            score=score,
            passed=score >= self.threshold,
            reason=reason,
            weight=self.weight,
            dimension=self.dimension,
            threshold=self.threshold,
        )

    def evaluate(self, answer: Answer) -> tuple[float, str]:
        """The score and reason of an Answer (what a YAML ``python:`` grader uses)."""
        return _score(self.name, self._call(answer), answer.output)

    def __repr__(self) -> str:
        return f"<grader {self.name}>"


@overload
def grader(fn: Callable[..., Any], /) -> GraderFunction: ...
@overload
def grader(
    *, threshold: float = ..., weight: float = ..., dimension: str | None = ...
) -> Callable[[Callable[..., Any]], GraderFunction]: ...
def grader(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    weight: float = 1.0,
    dimension: str | None = None,
) -> GraderFunction | Callable[[Callable[..., Any]], GraderFunction]:
    """Make ``fn`` a grader: ``@grader`` or ``@grader(threshold=0.7, dimension="tone")``."""

    def wrap(function: Callable[..., Any]) -> GraderFunction:
        return GraderFunction(function, threshold=threshold, weight=weight, dimension=dimension)

    return wrap if fn is None else wrap(fn)


def explain(grade: Grade) -> list[str]:
    """Lines that say why a grade passed or failed: score against threshold, then the reason."""
    verdict, sign = ("passed", ">=") if grade.passed else ("failed", "<")
    lines = [
        f"grader {grade.name} {verdict}: score {grade.score:.3g} {sign} "
        f"threshold {grade.threshold:.3g}" + (" (required)" if grade.required else "")
    ]
    if grade.reason:
        lines.append(f"reason: {grade.reason}")
    return lines
