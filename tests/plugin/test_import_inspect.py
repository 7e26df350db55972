"""``modelguard import inspect``: an Inspect AI log's samples as a suite whose baseline is
the answer Inspect logged, replayed against a candidate with no call to the baseline."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import paths
import pytest
import yaml

from pytest_modelguard.core.errors import ScoreFileError
from pytest_modelguard.scorefiles.inspect_suite import import_inspect
from pytest_modelguard.suite import load_suite

FIXTURES = paths.FIXTURES / "inspect"

ANSWERS = """
from pathlib import Path

def never(request):
    raise AssertionError("the baseline is the logged answer: never called")

def arith(request):
    with Path(__file__).with_name("calls.log").open("a") as log:
        log.write("call\\n")
    question = request.messages[-1]["content"]
    a, b = question.removeprefix("What is ").removesuffix("?").split("+")
    return str(int(a) + int(b) + (1 if int(a) % 3 == 0 else 0))  # a third wrong
"""
PYPROJECT = """
[tool.modelguard]
baseline = "python:answers:never"
models = ["python:answers:arith"]
resamples = 1000
"""


def test_a_log_becomes_a_suite_of_its_samples_with_the_logged_answers(tmp_path: Path) -> None:
    out = tmp_path / "arith.modelguard.yaml"
    done = import_inspect([FIXTURES / "base.json"], out, name=None, overwrite=False)
    suite = load_suite(out)
    raw = json.loads((FIXTURES / "base.json").read_text())
    first = {s["id"]: s for s in raw["samples"] if s["epoch"] == 1}
    assert done.cases == len(suite.cases) == len(first) == 30  # epochs are not cases
    assert suite.name == "arith"
    assert done.graded_by == {"includes → contains": 30} and not done.left_out
    for case in suite.cases:
        sample = first[case.id]
        assert case.messages[-1]["content"] == sample["input"]
        assert case.expected == sample["target"]
        assert case.baseline is not None
        assert case.baseline.output == sample["output"]["completion"]
        assert case.baseline.usage["input_tokens"] == sample["output"]["usage"]["input_tokens"]
    text = out.read_text()
    assert "model: inspect:mockllm/model" in text and "contains:" in text


def test_the_import_replays_against_a_candidate_only(pytester: pytest.Pytester) -> None:
    import_inspect([FIXTURES / "base.json"], pytester.path / "arith.modelguard.yaml",
                   name=None, overwrite=False)  # fmt: skip
    pytester.syspathinsert()
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    result = pytester.runpytest("--modelguard-record", "once", "--modelguard-json", "r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # a third of the candidate's are wrong
    calls = (pytester.path / "calls.log").read_text().splitlines()
    assert len(calls) == 30  # the candidate only: the baseline is the logged answer
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["models"]["python:answers:arith"]["verdict"] == "regression"
    assert report["models"]["python:answers:never"]["mean_score"] == 1.0
    again = pytester.runpytest("--modelguard-json", "r2.json")  # replay: record none
    assert len((pytester.path / "calls.log").read_text().splitlines()) == 30
    assert json.loads((pytester.path / "r2.json").read_text())["models"] == report["models"]
    assert again.ret == pytest.ExitCode.TESTS_FAILED


def test_an_eval_archive_imports_like_its_json_twin(tmp_path: Path) -> None:
    pytest.importorskip("zipfile_zstd", reason="the inspect extra reads zstd archives")
    a, b = tmp_path / "a.modelguard.yaml", tmp_path / "b.modelguard.yaml"
    import_inspect([FIXTURES / "candidate.eval"], a, name="x", overwrite=False)
    import_inspect([FIXTURES / "candidate.json"], b, name="x", overwrite=False)
    cases = [yaml.safe_load(f.read_text())["cases"] for f in (a, b)]
    for case in cases[0] + cases[1]:
        del case["baseline"]["latency_s"]  # two runs of one task: only the timing differs
    assert cases[0] == cases[1]


def log(tmp_path: Path, samples: list[object], name: str = "log.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"eval": {"model": "m", "task": "t"}, "samples": samples}))
    return path


def sample(ident: object, input_: object, **extra: object) -> dict[str, object]:
    return {"id": ident, "epoch": 1, "input": input_, "target": "yes",
            "output": {"completion": "yes", "usage": {"input_tokens": 3, "output_tokens": 1}},
            "scores": {"includes": {"value": "C"}}, **extra}  # fmt: skip


def test_what_a_suite_cannot_hold_is_counted_not_dropped(tmp_path: Path) -> None:
    image = [{"role": "user", "content": [{"type": "image", "image": "data:..."}]}]
    tool = [{"role": "tool", "content": "42"}]
    samples = [
        sample("ok", "fine?"),
        sample("img", image),
        sample("tool", tool),
        sample("err", "boom?", error={"message": "x"}),
        sample("judge", "graded?", scores={"model_graded_qa": {"value": "C"}}),
        sample("chat", [{"role": "system", "content": "be brief"},
                        {"role": "user", "content": [{"type": "text", "text": "hi?"}]}]),
    ]  # fmt: skip
    out = tmp_path / "t.modelguard.yaml"
    done = import_inspect([log(tmp_path, samples)], out, name=None, overwrite=False)
    assert done.cases == 3  # ok, judge (on the default grader), chat
    assert done.left_out == {
        "non-text content (images, audio or files)": 1,
        "a message of role 'tool' (tools are not imported)": 1,
        "no logged answer (the sample errored)": 1,
    }
    assert done.unmapped_scorers == {"model_graded_qa": 1}
    cases = {c.id: c for c in load_suite(out).cases}
    assert [g.name for g in cases["judge"].graders] == ["similarity"]
    assert cases["chat"].messages == ({"role": "system", "content": "be brief"},
                                      {"role": "user", "content": "hi?"})  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("not-a-suite-name", "must end with .modelguard.yaml"),
        ("exists", "exists (pass --force to replace it)"),
        ("no-samples", "the log has no samples"),
        ("not-inspect", "not an Inspect AI log"),
        ("all-errored", "no sample could become a case"),
        ("bad-id", "samples[0].id: None is not a sample id"),
    ],
)
def test_bad_input_is_named(tmp_path: Path, setup: str, message: str) -> None:
    out = tmp_path / ("out.yaml" if setup == "not-a-suite-name" else "out.modelguard.yaml")
    source = log(tmp_path, [sample("a", "q?")])
    if setup == "exists":
        out.write_text("suite: keep me\n")
    elif setup == "no-samples":
        source = log(tmp_path, [])
    elif setup == "not-inspect":
        source.write_text('{"cases": []}')
    elif setup == "all-errored":
        source = log(tmp_path, [sample("a", "q?", error={"message": "x"})])
    elif setup == "bad-id":
        source = log(tmp_path, [sample(None, "q?")])
    with pytest.raises(ScoreFileError, match=re.escape(message)):
        import_inspect([source], out, name=None, overwrite=False)
    if setup == "exists":
        assert out.read_text() == "suite: keep me\n"  # never clobbered


def test_targets_and_answers_with_yaml_hazards_survive_the_round_trip(tmp_path: Path) -> None:
    hazards = ["yes", "no", "null", "- item", "a: b", "#x", "1e3", "line\nbreak", "\ud800 x"]
    samples = [
        {**sample(f"h{i}", f"say {h}?"), "target": h, "output": {"completion": h}}
        for i, h in enumerate(hazards)
    ]
    out = tmp_path / "h.modelguard.yaml"
    import_inspect([log(tmp_path, samples)], out, name=None, overwrite=False)
    cases = load_suite(out).cases
    assert [c.baseline.output for c in cases if c.baseline] == [
        h.replace("\ud800", "\ufffd") for h in hazards
    ]


def test_a_zip_that_is_not_an_eval_log(tmp_path: Path) -> None:
    bad = tmp_path / "x.eval"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("other.json", "{}")
    with pytest.raises(
        ScoreFileError, match=r"no header\.json in the archive: not an Inspect \.eval log"
    ):
        import_inspect([bad], tmp_path / "o.modelguard.yaml", name=None, overwrite=False)
