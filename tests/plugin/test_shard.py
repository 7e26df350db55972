"""--modelguard-shard I/N: each case in exactly one shard, its models together; a shard
records, reports, and gates nothing (#28)."""

from __future__ import annotations

import fnmatch
import json

import pytest

from pytest_modelguard.core.shard import Shard, case_key, shard_of

ANSWERS = """
def good(request):
    word = request.messages[-1]["content"].split()[-1]
    if word == "boom":
        raise RuntimeError("the provider is down")
    return word

def half(request):
    word = request.messages[-1]["content"].split()[-1]
    return word if int(word[1:]) % 2 else "no"
"""
PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:good"
models = ["python:answers:half"]
resamples = 200
"""
PYTHON_TEST = """
import pytest

@pytest.mark.modelguard(suite="s.modelguard.yaml")
def test_echo(model, case):
    assert model.complete(case.messages)

@pytest.mark.modelguard
def test_plain_model(model):
    assert model.name

def test_not_a_case():
    pass
"""
CASES = 24


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS, test_over_cases=PYTHON_TEST)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    cases = "".join(f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(CASES))
    pytester.makefile(".modelguard.yaml", s=f"defaults:\n  graders: [equals]\ncases:\n{cases}")
    return pytester


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0/3", "the shard must be from 1 to 3"),
        ("4/3", "the shard must be from 1 to 3"),
        ("1/0", "the number of shards must be from 1"),
        ("2", "is not I/N"),
        ("-1/3", "is not I/N"),
        ("a/b", "is not I/N"),
        ("1/3/4", "is not I/N"),
        ("1/99999999", "the number of shards must be from 1 to 10000"),
        ("1/" + "9" * 30, "is not I/N"),
        ("1/\u0663", "is not I/N"),  # an Arabic-Indic digit: int() would take it
        ("1/\ud800", "is not I/N"),
    ],
)
def test_a_bad_shard_is_refused_saying_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Shard.parse(text)


def test_every_key_is_in_exactly_one_shard_of_any_count() -> None:
    keys = [case_key(f"evals/s{i % 7}.modelguard.yaml", f"case-{i}") for i in range(500)]
    for count in (1, 2, 3, 7):
        shards = [Shard.parse(f"{i}/{count}") for i in range(1, count + 1)]
        for key in keys:
            assert [s.index for s in shards if s.holds(key)] == [shard_of(key, count)]
        sizes = [sum(s.holds(k) for k in keys) for s in shards]
        assert min(sizes) > 500 / count / 2  # no shard starved: the hash spreads keys


def test_the_key_is_the_same_on_every_platform() -> None:
    assert case_key("evals\\s.modelguard.yaml", "c1") == case_key("evals/s.modelguard.yaml", "c1")
    assert case_key("s.modelguard.yaml", "c1") != case_key("t.modelguard.yaml", "c1")


def _ran(result: pytest.RunResult) -> list[str]:
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return [r.nodeid for r in reports if r.when == "call" and "::gate[" not in r.nodeid]


def _without_model(nodeid: str) -> str:
    for model in ("python:answers:good", "python:answers:half"):
        nodeid = nodeid.replace(f"-{model}]", "]").replace(f"[{model}]", "")
    return nodeid


def test_shards_split_cases_and_python_tests_keeping_models_together(
    project: pytest.Pytester,
) -> None:
    whole = _ran(project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "once"))
    shards: list[list[str]] = []
    for i in (1, 2, 3):
        result = project.runpytest(
            "-p", "no:cacheprovider", "--modelguard-shard", f"{i}/3", "--modelguard-json", "r.json"
        )
        assert result.ret == pytest.ExitCode.OK
        shards.append(_ran(result))
        doc = json.loads((project.path / "r.json").read_text())
        assert doc["verdict"] == "not-gated"
        assert doc["not_gated"].startswith(f"shard {i}/3: no verdict")
        assert doc["partial"] == f"shard {i}/3 of the cases"
        result.stdout.fnmatch_lines([f"modelguard gate not evaluated: shard {i}/3: no verdict*"])
        deselected = len(whole) - len(shards[-1])  # test_not_a_case: run by every shard
        result.stdout.fnmatch_lines([f"*{deselected} deselected*"])
    ran = [nodeid for shard in shards for nodeid in shard if "test_not_a_case" not in nodeid]
    assert sorted(ran) == sorted(n for n in whole if "test_not_a_case" not in n)  # each once
    assert all(any("test_not_a_case" in n for n in shard) for shard in shards)
    for shard in shards:  # a case's (or test's) runs for every model are in one shard
        others = [n for s in shards if s is not shard for n in s]
        both = {_without_model(n) for n in shard} & {_without_model(n) for n in others}
        both.discard("test_over_cases.py::test_not_a_case")
        assert not both
        assert all(shard)  # and no shard is empty on this suite


def test_a_shard_fails_when_a_call_failed_but_never_on_quality(project: pytest.Pytester) -> None:
    suite = project.path / "s.modelguard.yaml"
    (project.path / "test_over_cases.py").unlink()
    # the candidate answers half the cases wrong: the whole run fails its gate
    assert project.runpytest("--modelguard-record", "once").ret == pytest.ExitCode.TESTS_FAILED
    for i in (1, 2):
        shard = project.runpytest("--modelguard-shard", f"{i}/2")
        assert shard.ret == pytest.ExitCode.OK  # no gate; scores are reported, not judged
    key = case_key("s.modelguard.yaml", "c0")
    suite.write_text(suite.read_text().replace("say w0", "say boom"))
    failing = project.runpytest(
        "--modelguard-record", "once", "--modelguard-shard", f"{shard_of(key, 2)}/2"
    )
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    failing.stdout.fnmatch_lines(["*c0*the provider is down*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--modelguard-shard", "4/3"], "*argument --modelguard-shard: '4/3': the shard must be*"),
        (["--modelguard-shard", "x"], "*argument --modelguard-shard: 'x' is not I/N*"),
        (
            ["--modelguard-shard", "1/2", "--modelguard-sequential"],
            "*with --modelguard-sequential*",
        ),
        (["--modelguard-shard", "1/2", "--modelguard-save"], "*cannot run with --modelguard-save*"),
        (
            ["--modelguard-shard", "1/2", "--modelguard-compare", "last"],
            "*with --modelguard-compare*",
        ),
    ],
)
def test_shard_misuse_is_a_usage_error(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    result = project.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert any(fnmatch.fnmatch(line, message) for line in result.stderr.lines), result.stderr.str()


def test_sequential_in_pyproject_is_refused_too(project: pytest.Pytester) -> None:
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("resamples", "sequential = true\nresamples"))
    result = project.runpytest("-p", "no:cacheprovider", "--modelguard-shard", "1/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot run with sequential = true*"])


def test_one_of_one_is_the_whole_suite_and_still_no_verdict(project: pytest.Pytester) -> None:
    whole = project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "once")
    one = project.runpytest("-p", "no:cacheprovider", "--modelguard-shard", "1/1")
    assert sorted(_ran(one)) == sorted(_ran(whole))
    one.stdout.fnmatch_lines(["*gate not evaluated: shard 1/1: no verdict*"])
