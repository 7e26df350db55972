"""`modelguard import dataset`: Pydantic Evals, LangSmith and Langfuse datasets → suites."""

from __future__ import annotations

from pathlib import Path

import paths
import pytest

from pytest_modelguard.cli import main
from pytest_modelguard.grading import build_grader
from pytest_modelguard.records.grades import Answer
from pytest_modelguard.suite import load_suite

FIXTURES = paths.FIXTURES / "datasets"


def _import(tmp_path: Path, name: str, *extra: str) -> tuple[int, str, Path]:
    source = FIXTURES / name
    status = main(["import", "dataset", str(source), "-o", str(tmp_path), *extra])
    return status, source.name.split(".")[0], tmp_path / f"{name.split('.')[0]}.modelguard.yaml"


def _score(case: object, output: str) -> list[float]:
    return [
        build_grader(spec)(Answer(output=output, expected=case.expected)).score  # type: ignore[attr-defined]
        for spec in case.graders  # type: ignore[attr-defined]
        if spec.name != "llm_judge"  # it needs a judge's replies
    ]


def test_pydantic_evals_to_file_output_from_its_docs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, suite = _import(tmp_path, "questions_cases.yaml")
    assert status == 0
    out = capsys.readouterr().out
    assert "wrote 2 cases from a pydantic-evals dataset" in out
    assert "mapped: EqualsExpected 2" in out
    assert "one json_field per key" in out
    case = load_suite(suite).cases[0]
    assert case.id == "Easy-Capital-Question"
    assert case.messages[-1]["content"] == "What is the capital of France?"
    assert _score(case, '{"answer": "Paris", "confidence": 0.95}') == [1.0, 1.0]
    assert _score(case, '{"answer": "Lyon", "confidence": 0.95}') == [0.0, 1.0]


def test_pydantic_evals_evaluators_map_or_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, suite = _import(tmp_path, "support_cases.yaml")
    assert status == 0
    out = capsys.readouterr().out
    assert "mapped: Contains 2, EqualsExpected 1, LLMJudge 1" in out
    assert (
        "not mapped 1: evaluator MaxDuration (no equivalent grader) "
        "(first at support_cases.yaml:26)" in out
    )
    assert (
        "left out 1: a case none of whose evaluators maps (first at support_cases.yaml:26)" in out
    )
    assert "noted 1: inputs with several fields written as 'key: value' lines" in out
    cases = {case.id: case for case in load_suite(suite).cases}
    assert set(cases) == {"refund_policy", "greeting", "capital"}
    assert _score(cases["refund_policy"], "30 days") == [1.0]
    assert _score(cases["greeting"], "HELLO there") == [1.0]  # case_sensitive: false
    assert _score(cases["capital"], "paris") == [0.0]  # Contains is case-sensitive by default
    judge = cases["capital"].graders[1]
    assert judge.name == "llm_judge" and judge.options["model"] == "openai:gpt-4.1"


def test_langsmith_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, suite = _import(tmp_path, "langsmith_examples.jsonl")
    assert status == 0
    out = capsys.readouterr().out
    assert "wrote 3 cases from a langsmith dataset" in out
    assert (
        "left out 1: no text in outputs to compare the answer with "
        "(first at langsmith_examples.jsonl:4)" in out
    )
    cases = load_suite(suite).cases
    assert cases[0].expected == "Mount Kilimanjaro is located in Tanzania."
    assert [m["role"] for m in cases[2].messages] == ["system", "user"]  # LangChain's types
    assert _score(cases[0], "Mount Kilimanjaro is located in Tanzania.") == [1.0]


@pytest.mark.parametrize("form", [[], ["--format", "langfuse"]])
def test_langfuse_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: list[str]
) -> None:
    status, _, suite = _import(tmp_path, "langfuse_items.jsonl", *form)
    assert status == 0
    out = capsys.readouterr().out
    assert "wrote 3 cases from a langfuse dataset" in out
    assert "left out 1: an archived item (first at langfuse_items.jsonl:4)" in out
    cases = load_suite(suite).cases
    assert [c.expected for c in cases] == ["bonjour", "merci", "chat"]
    assert cases[1].messages[-1]["content"] == "Translate to French: thank you"


def test_a_wrong_format_is_a_usage_error_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = _import(tmp_path, "langfuse_items.jsonl", "--format", "langsmith")
    assert status == 4
    captured = capsys.readouterr()
    assert "left out 3: inputs that is no text, object or list of messages" in captured.out
    assert "left out 1: an archived item" in captured.out
    assert "no case could be imported" in captured.err


def test_a_pydantic_evals_json_dataset_is_sniffed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    source = tmp_path / "src" / "golden.json"
    source.parent.mkdir()
    source.write_text(json.dumps({
        "$schema": "golden_schema.json",
        "cases": [{"name": "q1", "inputs": "2+2?", "expected_output": 4,
                   "evaluators": ["EqualsExpected", {"Equals": {"value": "4"}}]}],
    }))  # fmt: skip
    assert main(["import", "dataset", str(source), "-o", str(tmp_path)]) == 0
    assert "wrote 1 cases from a pydantic-evals dataset" in capsys.readouterr().out
    (case,) = load_suite(tmp_path / "golden.modelguard.yaml").cases
    assert case.expected == 4 and _score(case, "4") == [1.0, 1.0]
