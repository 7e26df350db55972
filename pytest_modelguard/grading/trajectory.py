"""The ``trajectory`` grader: an agent's tool calls, step by step, against the expected path.

Modes as in LangChain's agentevals: ``strict`` the same calls in the same order;
``unordered`` the same calls in any order; ``superset`` at least the expected calls
(extra allowed); ``subset`` only expected calls (fewer allowed: an agent that calls
nothing passes). Arguments compare ``exact``, as a ``subset`` of the call's, or are
ignored. Score 1 or 0, with the path in the reason. A one-call answer's tool calls are
its trajectory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..records.grades import Answer
from ..records.trajectory import calls_of
from ._options import Built, Kind, Options
from .tool_call import _normal, is_subset, shown

Call = Mapping[str, Any]
MODES = ("strict", "unordered", "subset", "superset")


def _expected(opts: Options) -> list[Call] | None:
    raw = opts.get("expected")
    if raw is None:
        return None
    return _calls(opts, raw, "expected")


def _calls(opts: Options, raw: Any, where: str) -> list[Call]:
    if not isinstance(raw, list) or not all(
        isinstance(c, Mapping) and isinstance(c.get("name"), str) for c in raw
    ):
        raise opts.error(f"{where} must be a list of {{name, arguments}}")
    return list(raw)


def build_trajectory(opts: Options) -> Built:
    """The calls made, matched with the expected ones under ``mode`` and ``arguments``."""
    fixed = _expected(opts)
    mode = opts.choice("mode", MODES, "strict")
    arguments = opts.choice("arguments", ("exact", "subset", "ignore"), "exact")

    def matches(want: Call, got: Call) -> bool:
        if want.get("name") != got.get("name"):
            return False
        if arguments == "ignore" or "arguments" not in want:
            return True
        wanted, given = _normal(want.get("arguments")), _normal(got.get("arguments"))
        return is_subset(wanted, given) if arguments == "subset" else wanted == given

    def check(answer: Answer) -> tuple[float, str]:
        expected = fixed if fixed is not None else _from_case(opts, answer)
        steps = answer.trajectory
        actual = calls_of(steps) if steps is not None else list(answer.tool_calls)
        ok = agrees(mode, expected, actual, matches)
        if ok:
            return 1.0, f"{mode}: {shown(actual)}, as expected"
        return 0.0, f"{mode}: got {shown(actual)}; expected {shown(expected)}"

    return Built(check)


def _from_case(opts: Options, answer: Answer) -> list[Call]:
    expected = answer.expected
    if isinstance(expected, Mapping) and "trajectory" in expected:
        return _calls(opts, expected["trajectory"], "expected.trajectory")
    raise opts.missing_reference(
        answer, "give the grader expected: [{name, arguments}] or the case expected: {trajectory}"
    )


def agrees(
    mode: str,
    expected: Sequence[Call],
    actual: Sequence[Call],
    matches: Callable[[Call, Call], bool],
) -> bool:
    """Whether ``actual`` is ``expected`` under ``mode`` (``matches(expected, actual)``)."""
    if mode == "strict":
        return len(expected) == len(actual) and all(
            matches(w, g) for w, g in zip(expected, actual, strict=True)
        )
    paired = _pairs(expected, actual, matches)
    if mode == "unordered":
        return len(expected) == len(actual) == paired
    if mode == "superset":
        return paired == len(expected)
    return paired == len(actual)  # subset: every call made was expected


def _pairs(
    expected: Sequence[Call], actual: Sequence[Call], matches: Callable[[Call, Call], bool]
) -> int:
    """The most (expected, actual) pairs that match, each call in one pair (Kuhn's matching)."""
    owner: dict[int, int] = {}  # actual index → expected index

    def place(w: int, seen: set[int]) -> bool:
        for g, got in enumerate(actual):
            if g in seen or not matches(expected[w], got):
                continue
            seen.add(g)
            if g not in owner or place(owner[g], seen):
                owner[g] = w
                return True
        return False

    return sum(1 for w in range(len(expected)) if place(w, set()))


KIND = Kind(build_trajectory, ("expected", "mode", "arguments"), scalar="mode")
