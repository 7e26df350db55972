"""Judge hygiene (#19): temperature 0, a seed per repeat, the template in the cache key,
and a warning when the judge is one of the compared models."""

from __future__ import annotations

from pytest_modelguard.config import ModelSpec, ProviderSpec
from pytest_modelguard.grading.judging import judge_requests
from pytest_modelguard.grading.llm_judge import TEMPLATE_VERSION, JudgeGrader
from pytest_modelguard.records.grades import Answer, Grade, JudgeRecord
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.verdict.judges import judges_report

OPENAI = ModelSpec("judge", ProviderSpec("openai", "openai"), "gpt-judge")
ANTHROPIC = ModelSpec("judge", ProviderSpec("anthropic", "anthropic"), "claude-judge")
QUESTION = ({"role": "user", "content": "hi"},)


def test_openai_judge_gets_temperature_0_and_a_seed_per_repeat() -> None:
    grader = JudgeGrader(rubric="Is it polite?", repeats=3)
    requests = judge_requests(grader, OPENAI, Answer("hello"), QUESTION)
    assert [r.params for r in requests] == [{"temperature": 0, "seed": s} for s in (0, 1, 2)]
    assert len({r.key() for r in requests}) == 3  # each draw has its own cache entry


def test_a_provider_without_seeds_still_keys_repeats_apart() -> None:
    grader = JudgeGrader(rubric="Is it polite?", repeats=2)
    requests = judge_requests(grader, ANTHROPIC, Answer("hello"), QUESTION)
    assert [r.params for r in requests] == [{"temperature": 0}] * 2
    assert [r.repeat for r in requests] == [0, 1] and requests[0].key() != requests[1].key()


def test_rubric_scale_and_template_version_are_in_the_cache_key() -> None:
    def key(grader: JudgeGrader) -> str:
        return judge_requests(grader, OPENAI, Answer("hello"), QUESTION)[0].key()

    base = JudgeGrader(rubric="Is it polite?")
    assert key(base) != key(JudgeGrader(rubric="Is it kind?"))
    assert key(base) != key(JudgeGrader(rubric="Is it polite?", scale=3))
    system = judge_requests(base, OPENAI, Answer("hello"), QUESTION)[0].messages[0]["content"]
    assert f"(judge template {TEMPLATE_VERSION})" in system
    pairwise = JudgeGrader(rubric=None)
    calls = judge_requests(pairwise, OPENAI, Answer("hello", baseline_output="hey"), QUESTION)
    assert all(TEMPLATE_VERSION in r.messages[0]["content"] for r in calls)


def _result(model: str, case: str, judge_model: str) -> ItemResult:
    grade = Grade("llm_judge", 1.0, True, judge=JudgeRecord(judge_model, 2, (1.0,)))
    return ItemResult("s", case, model, score=1.0, passed=True, grades=(grade,), output="x")


def test_a_judge_that_is_a_compared_model_is_warned_about() -> None:
    results = [_result(m, f"c{i}", "openai:gpt-b") for m in ("a", "b") for i in range(3)]
    found = judges_report(results, "a", ["b"], model_ids={"a": "openai:gpt-a", "b": "openai:gpt-b"})
    assert found is not None
    (warning,) = found.warnings
    assert warning.startswith("judge llm_judge is openai:gpt-b, also a candidate (b)")
    assert "self-preference" in warning
    other = judges_report(results, "a", ["b"], model_ids={"a": "openai:x", "b": "openai:y"})
    assert other is not None and other.warnings == ()
