"""Issue #14, end to end: failures inside a run become item errors, counted and reported."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from loopback import LoopbackServer
from sdkwarm import warm_sdks

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
    result.assert_outcomes(passed=70, errors=10, failed=1)  # + the gate results
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
    result.assert_outcomes(errors=4, failed=2)  # + the gate results
    doc = json.loads((project.path / "report.json").read_text())
    assert {m["errors"] for m in doc["models"].values()} == {2}
    for case in doc["cases"]:
        assert case["score"] is None
        assert case["error"].startswith("grader 'odd' returned ")
    assert "Traceback" not in result.stdout.str()


ODD_MODELS = """
import asyncio, sys, threading
from pathlib import Path

def surrogate(request):
    with Path(__file__).with_name("calls.log").open("a") as log:
        log.write("call\\n")
    return request.messages[-1]["content"].split()[-1] + " \\ud800"

def hangs(request):
    threading.Event().wait()

async def hangs_async(request):
    await asyncio.sleep(3600)

def exits(request):
    sys.exit(3)
"""


def _odd_project(pytester: pytest.Pytester, baseline: str, extra: str = "") -> None:
    pytester.syspathinsert()
    pytester.makepyfile(odd=ODD_MODELS)
    config = f'[tool.modelguard]\nbaseline = "python:odd:{baseline}"\nrecord = "once"\n{extra}'
    pytester.makefile(".toml", pyproject=config)
    pytester.makefile(".modelguard.yaml", echo=_suite(3, "contains: w"))


def test_a_lone_surrogate_in_an_answer_is_stored_reported_and_replayed(
    pytester: pytest.Pytester,
) -> None:
    _odd_project(pytester, "surrogate")
    reports = ("--modelguard-json=r.json", "--modelguard-markdown=r.md", "--modelguard-html=r.html")
    first = pytester.runpytest("-p", "no:cacheprovider", "--junitxml=j.xml", *reports)
    first.assert_outcomes(passed=3)
    for name in ("r.json", "r.md", "r.html", "j.xml"):
        (pytester.path / name).read_text(encoding="utf-8")  # valid UTF-8, written whole
    doc = json.loads((pytester.path / "r.json").read_text())
    assert {c["output"] for c in doc["cases"]} == {f"w{i} \ufffd" for i in range(3)}
    second = pytester.runpytest("-p", "no:cacheprovider", "--modelguard-record", "none")
    second.assert_outcomes(passed=3)
    assert (pytester.path / "calls.log").read_text().count("call") == 3  # the rerun was free


@pytest.mark.parametrize("model", ["hangs", "hangs_async"])
def test_timeout_s_bounds_a_python_model(pytester: pytest.Pytester, model: str) -> None:
    _odd_project(pytester, model, "timeout_s = 0.3\n")
    started = time.monotonic()
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3, failed=1)  # + the gate results
    result.stdout.fnmatch_lines([f"*python:odd:{model} did not return within timeout_s = 0.3 s*"])
    assert time.monotonic() - started < 30


def test_system_exit_in_a_python_model_is_an_item_error(pytester: pytest.Pytester) -> None:
    _odd_project(pytester, "exits")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3, failed=1)  # + the gate results
    result.stdout.fnmatch_lines(["*python:odd:exits raised SystemExit: 3 (at odd.py:*)*"])
    assert "Traceback" not in result.stdout.str()


SECRET = "planted-hardening-value-not-a-key"  # distinctive, to search every file for
SECRET_PROJECT = """
[tool.modelguard]
baseline = "sim:base"
record = "once"
max_attempts = 1
retry_delay_s = 0

[tool.modelguard.providers.sim]
kind = "openai"
base_url = "{url}"
api_key_env = "MODELGUARD_HARDENING_KEY"
"""


def _leaks(root: Path, secret: str) -> list[Path]:
    """Files the run wrote that hold ``secret`` (the pyproject.toml it was given aside)."""
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "pyproject.toml"]
    return [p for p in files if secret.encode() in p.read_bytes()]


@pytest.mark.parametrize("where", ["answer", "base_url"])
def test_a_secret_never_reaches_a_file_or_the_output(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    where: str,
) -> None:
    warm_sdks(tmp_path_factory.mktemp("warm"))
    monkeypatch.setenv("MODELGUARD_HARDENING_KEY", SECRET)
    with LoopbackServer(lambda call: f"your key is {SECRET}") as srv:
        url = srv.openai_base_url
        if where == "base_url":  # a closed port, with a key in the query string
            url = f"http://127.0.0.1:9/v1?api_key={SECRET}&x=1"
        pytester.makefile(".toml", pyproject=SECRET_PROJECT.format(url=url))
        pytester.makefile(".modelguard.yaml", echo=_suite(2, "contains: key"))
        reports = ("--modelguard-json=r.json", "--modelguard-markdown=r.md")
        result = pytester.runpytest("--junitxml=j.xml", "--modelguard-html=r.html", *reports)
    output = result.stdout.str() + result.stderr.str()
    assert SECRET not in output and not _leaks(pytester.path, SECRET)
    if where == "answer":
        result.assert_outcomes(passed=2)
        doc = json.loads((pytester.path / "r.json").read_text())
        assert {c["output"] for c in doc["cases"]} == {"your key is [redacted]"}
    else:
        result.assert_outcomes(errors=2, failed=1)  # + the gate results
        result.stdout.fnmatch_lines(
            ["*connection failed*check that http://127.0.0.1:9/v1?[[]redacted[]] is reachable*"]
        )


def test_system_exit_while_importing_a_grader_module_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_modelguard.core.errors import GraderConfigError
    from pytest_modelguard.grading import build_grader
    from pytest_modelguard.records.grades import GraderSpec

    (tmp_path / "exiting_grader.py").write_text("import sys\nsys.exit(2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        GraderConfigError, match=r"^s.yaml:7: python: cannot import .*SystemExit: 2"
    ):
        build_grader(GraderSpec("python", "exiting_grader:fn", source="s.yaml:7"))
