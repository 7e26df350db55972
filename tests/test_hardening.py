"""Issue #14, end to end: failures inside a run become item errors, counted and reported."""

from __future__ import annotations

import json

import pytest

MODELS = """
def base(request):
    return request.messages[-1]["content"].split()[-1]

def cand(request):
    word = request.messages[-1]["content"].split()[-1]
    return "boom " + word if int(word[1:]) % 4 == 0 else word
"""

GRADERS = """
def exact(output, expected):
    if output.startswith("boom"):
        raise RuntimeError("cannot grade " + output)
    return output == expected
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:models:base"
models = ["python:models:cand"]
resamples = 1000
record = "once"
"""


def _suite(n: int, grader: str = "python: graders:exact") -> str:
    cases = "".join(
        f"  - id: c{i:02d}\n    prompt: 'say w{i}'\n    expected: w{i}\n" for i in range(n)
    )
    return f"defaults:\n  graders:\n    - {grader}\ncases:\n{cases}"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert()
    pytester.makepyfile(models=MODELS, graders=GRADERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    return pytester


def test_a_raising_grader_makes_its_items_errors_that_fail_the_gate(
    project: pytest.Pytester,
) -> None:
    project.makefile(".modelguard.yaml", echo=_suite(40))
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-json=report.json")
    output = result.stdout.str()
    result.assert_outcomes(passed=70, errors=10)
    assert "Traceback" not in output and output.count("RuntimeError") <= 20
    doc = json.loads((project.path / "report.json").read_text())
    cand = doc["models"]["python:models:cand"]
    assert cand["errors"] == 10 and cand["verdict"] == "error" and doc["verdict"] != "pass"
    errors = [c["error"] for c in doc["cases"] if c["error"]]
    assert len(errors) == 10
    for error in errors:
        assert error.startswith("grader exact raised RuntimeError: cannot grade boom w")
        assert error.endswith("(at graders.py:3)") and len(error) < 200
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*modelguard gate FAILED*python:models:cand (error)*"])


@pytest.mark.parametrize(
    "returned",
    ["float('nan')", "float('inf')", "'good'", "None", "1.5", "-0.1", "(0.5,)", "(0.5, 1)"],
)
def test_a_python_grader_returning_no_grade_is_an_item_error(
    project: pytest.Pytester, returned: str
) -> None:
    project.makepyfile(graders=f"def odd(output):\n    return {returned}\n")
    project.makefile(".modelguard.yaml", echo=_suite(2, "python: graders:odd"))
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-json=report.json")
    result.assert_outcomes(errors=4)
    doc = json.loads((project.path / "report.json").read_text())
    assert {m["errors"] for m in doc["models"].values()} == {2}
    for case in doc["cases"]:
        assert case["score"] is None
        assert case["error"].startswith("grader 'odd' returned ")
    assert "Traceback" not in result.stdout.str()
