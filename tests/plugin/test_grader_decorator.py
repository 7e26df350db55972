"""The @grader decorator: calling conventions, scores, recording, and failure messages."""

from __future__ import annotations

import asyncio
import math
import textwrap
from typing import Any

import pytest
from paths import ROOT

from pytest_modelguard.grading import Answer, Grade, explain, grader, recording
from pytest_modelguard.records.calls import Completion


@grader
def cites_policy(answer: str) -> float:
    """Full credit for citing the policy, some for mentioning a refund."""
    return 1.0 if "policy" in answer else 0.3 if "refund" in answer else 0.0


@grader(threshold=0.7, dimension="tone", weight=2)
def polite(answer: str) -> tuple[float, str]:
    return (0.9, "says please") if "please" in answer else (0.2, "no please")


@grader
def matches(answer: str, expected: Any) -> bool:
    return bool(answer == expected)


@grader
def knows_the_case(answer: Answer) -> bool:
    return answer.case_id == "t-1" and answer.expected == "x"


def test_bool_and_float_results_become_grades() -> None:
    assert matches("a", "a") == Grade("matches", 1.0, True, "for 'a'", threshold=0.5)
    assert not matches("a", "b")
    low = cites_policy("we refund")
    assert (low.score, low.passed, low.threshold, low.reason) == (
        0.3,
        False,
        0.5,
        "for 'we refund'",
    )


def test_options_and_reason_pairs_reach_the_grade() -> None:
    result = polite("yes please")
    assert (result.name, result.score, result.passed, result.reason) == (
        "polite", 0.9, True, "says please",
    )  # fmt: skip
    assert (result.threshold, result.dimension, result.weight) == (0.7, "tone", 2.0)


def test_accepts_a_completion_an_answer_and_an_expected_argument() -> None:
    assert cites_policy(Completion(text="per our policy"))
    assert knows_the_case(Answer("out", expected="x", case_id="t-1"))
    assert matches(Answer("a", expected="zzz"), "a")  # the argument replaces expected
    with pytest.raises(TypeError, match="grade a str, a Completion or an Answer, not int"):
        cites_policy(3)


@pytest.mark.parametrize("value", [1.5, -0.1, math.nan, None, "0.5", [0.5]])
def test_results_outside_0_1_or_not_numbers_raise(value: Any) -> None:
    bad = grader(lambda answer: value)
    with pytest.raises(
        ValueError, match=r"grader '<lambda>' returned .*; return a bool or a float"
    ):
        bad("x")


def test_numpy_results_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    assert grader(lambda answer: np.float64(0.75))("x").score == 0.75
    assert grader(lambda answer: np.bool_(True))("x").score == 1.0


@pytest.mark.parametrize(("threshold", "weight"), [(1.5, 1.0), (-0.1, 1.0), (0.5, -1.0)])
def test_bad_decorator_options_raise_at_decoration(threshold: float, weight: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        grader(threshold=threshold, weight=weight)(lambda answer: True)


def test_signatures_that_fit_no_convention_raise_at_decoration() -> None:
    with pytest.raises(TypeError, match=r"a grader takes \(answer: str\)"):
        grader(lambda: True)
    with pytest.raises(TypeError, match="a grader takes"):
        grader(lambda a, b, c: True)


def test_the_wrapper_keeps_the_function_identity() -> None:
    assert cites_policy.__name__ == "cites_policy"
    assert (
        cites_policy.__doc__ == "Full credit for citing the policy, some for mentioning a refund."
    )
    assert cites_policy.__wrapped__("policy") == 1.0
    assert repr(cites_policy) == "<grader cites_policy>"


def test_recording_collects_calls_in_the_block_only() -> None:
    cites_policy("outside")
    with recording() as grades:
        cites_policy("policy")
        with recording() as inner:
            polite("please")
        matches.grade(Answer("a", expected="a"))  # .grade() does not record
    cites_policy("after")
    assert [g.name for g in grades] == ["cites_policy"]
    assert [g.name for g in inner] == ["polite"]


def test_recording_is_per_context() -> None:
    async def grade_in_task() -> None:
        cites_policy("policy")

    async def main() -> list[Grade]:
        with recording() as grades:
            await asyncio.gather(grade_in_task(), grade_in_task())
        return grades

    assert len(asyncio.run(main())) == 2  # tasks copy the context, so they share the list
    assert asyncio.run(grade_in_task()) is None  # and nothing records outside a block


def test_explain_lines() -> None:
    assert explain(cites_policy("we refund")) == [
        "grader cites_policy failed: score 0.3 < threshold 0.5",
        "reason: for 'we refund'",
    ]
    passed = Grade("schema", 1.0, True, required=True)
    assert explain(passed) == ["grader schema passed: score 1 >= threshold 1 (required)"]


def test_grade_repr_reads_as_a_failure_message() -> None:
    assert repr(cites_policy("we refund")) == (
        "Grade(cites_policy: failed, score 0.3 vs threshold 0.5: for 'we refund')"
    )


def test_long_answers_are_cut_in_the_reason() -> None:
    reason = cites_policy("x" * 1_000_000).reason
    assert reason.endswith("…' (1000000 chars)") and len(reason) < 120


def test_failing_assert_shows_score_threshold_and_reason(pytester: pytest.Pytester) -> None:
    pytester.syspathinsert(ROOT)
    pytester.makepyfile(
        textwrap.dedent(
            """
            from pytest_modelguard import grader

            @grader(threshold=0.7)
            def cites_policy(answer: str):
                return 0.3, "mentions a refund but no policy"

            def test_reply():
                assert cites_policy("We can refund you.")
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert Grade(cites_policy: failed, score 0.3 vs threshold 0.7:"
            " mentions a refund but no policy)",
            "E        +  where Grade(cites_policy: failed, *) = cites_policy('We can refund you.')",
        ]
    )
