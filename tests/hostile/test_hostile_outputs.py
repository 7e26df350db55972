"""Hostile inputs to what a run writes and reads back: report outputs, stored runs, labels.

Each input asserts the exit status (or the error raised in-process), the message (file
and line or field) and that nothing was lost: a stored run or labels file is left as it
was, the other reports are written, the cache keeps every answer. In-process calls where
they can be; pytester only for the plugin's glue (several checks batched into one run).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.cli import main as cli
from pytest_modelguard.config import ModelSpec, ProviderSpec, Settings
from pytest_modelguard.core.errors import HistoryError
from pytest_modelguard.core.formatting import capped
from pytest_modelguard.records.grades import Grade
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.report.finish import finish_run
from pytest_modelguard.report.outputs import Outputs
from pytest_modelguard.report.shown import shown_case
from pytest_modelguard.suite import load_suite
from pytest_modelguard.suite.labels import (
    SHEET_CHARS,
    LabelsError,
    answer_sha,
    load_labels,
    read_label_sheet,
)
from pytest_modelguard.verdict.drift import compare_runs
from pytest_modelguard.verdict.history import load_run

MB = 2**20
SHA = "0123456789abcdef"

# --- stored runs: --modelguard-compare and runs/ ---------------------------------------


def _doc(version: Any = 1, **case: Any) -> str:
    record = {"suite": "s", "id": "c1", "model": "m", "score": 1.0, "passed": True, **case}
    return json.dumps({"version": version, "models": {}, "cases": [record]})


def _case_text(field: str, raw: str) -> str:
    """A report whose one case has ``field`` written as the raw JSON ``raw`` (NaN, 1e400)."""
    return _doc(**{field: "@@"}).replace('"@@"', raw)


def _grade(**grade: Any) -> str:
    return _doc(grades=[{"name": "g", "score": 1.0, "passed": True, **grade}])


def _nested(depth: int) -> str:
    return _doc(tool_calls=[{"id": "1", "name": "f", "arguments": "@@"}]).replace(
        '"@@"', "[" * depth + "]" * depth
    )


@dataclass(frozen=True)
class Run:
    id: str
    text: str | bytes
    message: str  # a regex after the file's name


def _field(name: str, raw: str, expected: str) -> Run:
    return Run(
        f"{name}={raw}", _case_text(name, raw), rf": cases\[0\]: {name} .* is not {expected}"
    )


STORED_RUNS = [
    Run("not-json", "{", r":1: not a modelguard JSON report"),
    Run("empty", "", r":1: not a modelguard JSON report"),
    Run("binary", b"\xff\xfe\x00", r": not a modelguard JSON report \(not UTF-8 text\)"),
    Run("a-list", "[1]", r": not a modelguard JSON report \(no 'cases' list\)"),
    Run("cases-text", '{"version": 1, "cases": "x"}', r": not a .* report \(no 'cases' list\)"),
    Run("models-and-cases-only", '{"models": {}, "cases": []}', r": version: .*no 'version'"),
    Run("version-2", '{"version": 2, "cases": []}', r": version: .*\(version 2\)"),
    Run("version-text", '{"version": "1", "cases": []}', r": version: .*\(version '1'\)"),
    Run("version-bool", '{"version": true, "cases": []}', r": version: .*\(version True\)"),
    Run("saved-at-number", '{"version": 1, "saved_at": 5, "cases": []}', r": saved_at: 5 is not"),
    Run("partial-list", '{"version": 1, "partial": [], "cases": []}', r": partial: \[\] is not"),
    Run("models-list", '{"version": 1, "models": [], "cases": []}', r": models: \[\] is not a"),
    Run("case-number", '{"version": 1, "cases": [1]}', r": cases\[0\]: 1 is not a case record"),
    Run(
        "no-suite",
        json.dumps({"version": 1, "cases": [{"id": "c", "model": "m"}]}),
        r": cases\[0\]: missing key 'suite'",
    ),
    Run(
        "no-model",
        json.dumps({"version": 1, "cases": [{"id": "c", "suite": "s"}]}),
        r": cases\[0\]: missing key 'model'",
    ),
    _field("id", '""', "a non-empty name"),
    _field("id", "5", "a non-empty name"),
    _field("suite", "null", "a non-empty name"),
    _field("tags", '"x"', "a list of names"),
    _field("tags", "[1]", "a list of names"),
    _field("repeat", "-1", "a whole number"),
    _field("repeat", "1.5", "a whole number"),
    _field("repeat", "10000000", "a whole number"),
    _field("repeat", "true", "a whole number"),
    _field("score", "NaN", r"a number in \[0, 1\]"),
    _field("score", "Infinity", r"a number in \[0, 1\]"),
    _field("score", "1e400", r"a number in \[0, 1\]"),
    _field("score", "-0.1", r"a number in \[0, 1\]"),
    _field("score", '"1"', r"a number in \[0, 1\]"),
    _field("human_label", "2", r"a number in \[0, 1\]"),
    _field("human_label", "NaN", r"a number in \[0, 1\]"),
    _field("passed", '"yes"', "true or false"),
    _field("passed", "1", "true or false"),
    _field("cached", '"no"', "true or false"),
    _field("cost_usd", "-1", "a cost in USD"),
    _field("cost_usd", "NaN", "a cost in USD"),
    _field("cost_usd", "1e400", "a cost in USD"),
    _field("judge_cost_usd", '"x"', "a cost in USD"),
    _field("input_tokens", "1e400", "a whole number"),
    _field("input_tokens", "-5", "a whole number"),
    _field("output_tokens", "1.5", "a whole number"),
    _field("reasoning_tokens", "10000000000000", "a whole number"),
    _field("cached_input_tokens", '"7"', "a whole number"),
    _field("latency_s", "-1", "a number of seconds"),
    _field("latency_s", '"fast"', "a number of seconds"),
    _field("error", "5", "text or null"),
    _field("failure", "[]", "text or null"),
    _field("output", "5", "text"),
    _field("output", "null", "text"),
    _field("unit", "{}", "text or null"),
    _field("answer_sha", '"XYZ"', "hex digits"),
    _field("tool_calls", '"x"', "a list of tool calls"),
    _field("tool_calls", "[1]", "a list of tool calls"),
    _field("grades", '"x"', "a list of grades"),
    Run("grade-number", _doc(grades=[1]), r": cases\[0\]\.grades\[0\]: 1 is not a grade"),
    Run(
        "grade-no-score",
        _doc(grades=[{"name": "g", "passed": True}]),
        r": cases\[0\]\.grades\[0\]: missing key 'score'",
    ),
    Run("grade-score-2", _grade(score=2), r"\.grades\[0\]: score 2 is not a number in \[0, 1\]"),
    Run("grade-passed-text", _grade(passed="y"), r"\.grades\[0\]: passed 'y' is not true or"),
    Run("grade-weight-negative", _grade(weight=-1), r"\.grades\[0\]: weight -1 is not a number"),
    Run("grade-threshold-2", _grade(threshold=2), r"\.grades\[0\]: threshold 2 is not"),
    Run("grade-reason-number", _grade(reason=5), r"\.grades\[0\]: reason 5 is not text"),
    Run("grade-dimension-number", _grade(dimension=5), r"\.grades\[0\]: dimension 5 is not"),
    Run("grade-judge-model", _grade(judge={"model": 5}), r"\.grades\[0\]: judge .* is not a judge"),
    Run("grade-judge-draws", _grade(judge={"model": "j", "draws": ["x"]}), r"judge .* is not"),
    Run(
        "duplicate-case",
        json.dumps({"version": 1, "cases": [{"suite": "s", "id": "c", "model": "m"}] * 2}),
        r": cases\[1\]: the same suite, id, model and repeat as cases\[0\]",
    ),
    Run("nested-150", _nested(150), r": not a modelguard JSON report \(nested deeper than 100"),
    Run("nested-100000", "[" * 100_000 + "]" * 100_000, r": not a .* \(nested deeper than 100"),
    Run(
        "int-5000-digits",
        _case_text("input_tokens", "9" * 5000),
        r": not a modelguard JSON report \(Exceeds the limit",
    ),
]


@pytest.mark.parametrize("bad", STORED_RUNS, ids=[r.id for r in STORED_RUNS])
def test_a_malformed_stored_run_names_the_file_and_field(tmp_path: Path, bad: Run) -> None:
    path = tmp_path / "run.json"
    data = bad.text.encode() if isinstance(bad.text, str) else bad.text
    path.write_bytes(data)
    with pytest.raises(HistoryError) as caught:
        load_run(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and re.search(bad.message, message), message
    assert path.read_bytes() == data  # read, never changed


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("dir", r": not read: it is not a regular file \(a directory\)"),
        ("/dev/null", r": not read: it is not a regular file \(a character device\)"),
        ("missing", r": cannot read: No such file"),
        ("sparse", r": not read: it is 300\.0 MB; the limit is 256 MB"),
    ],
)
def test_a_stored_run_that_is_no_regular_file_is_never_read(
    tmp_path: Path, where: str, message: str
) -> None:
    path = Path(where) if where.startswith("/") else tmp_path / where
    if where == "dir":
        path.mkdir()
    if where == "sparse":
        with path.open("wb") as handle:
            handle.truncate(300 * MB)  # sparse: never read
    with pytest.raises(HistoryError, match=re.escape(str(path)) + message):
        load_run(path)


def test_lone_surrogates_in_a_stored_run_are_made_valid(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(_doc(output="a\\ud800b", suite="s\\udfff").replace("\\\\", "\\"))
    (result,) = load_run(path).results
    assert result.output == "a\ufffdb" and result.suite == "s\ufffd"
    result.output.encode("utf-8")  # storable again


# --- stored runs through the plugin: --modelguard-compare and runs/ --------------------

ANSWERS = """
from pytest_modelguard import Completion

def good(request):
    return request.messages[-1]["content"].split()[-1]

def same(request):
    return good(request)

def huge(request):
    word = good(request)
    if word not in ("w0", "w1"):
        return word
    arguments = {"blob": "y" * (5 * 2**20)}
    call = {"id": "call-1", "name": "store", "arguments": arguments}
    return Completion(text=word + " " + "x" * (5 * 2**20), tool_calls=(call,))
"""
PYPROJECT = '[tool.modelguard]\nbaseline = "python:answers:good"\nresamples = 500\nseed = 1\n'
SAME = 'models = ["python:answers:same"]\n'
CASES = 8
SUITE = "suite: echo\ndefaults:\n  graders: [equals]\ncases:\n" + "".join(
    f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(CASES)
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(answers=ANSWERS)
    pytester.makefile(".toml", pyproject=PYPROJECT + SAME)
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\n")
    pytester.makefile(".modelguard.yaml", echo=SUITE)
    return pytester


def _run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-p", "no:cacheprovider", "--modelguard-record", "new", *args)


def _answers(project: pytest.Pytester) -> list[Path]:
    return sorted((project.path / ".modelguard" / "answers").rglob("*.json"))


def test_stored_runs_the_plugin_reads_are_checked_before_the_run_pays(
    project: pytest.Pytester,
) -> None:
    bad = project.path / "bad.json"
    bad.write_text(_case_text("score", "NaN"))
    named = _run(project, "--modelguard-compare", "bad.json")
    assert named.ret == pytest.ExitCode.USAGE_ERROR
    named.stderr.fnmatch_lines(["*bad.json: cases[[]0[]]: score nan is not a number in [[]0, 1[]]"])
    runs = project.path / ".modelguard" / "runs"
    runs.mkdir(parents=True)
    (runs / "2026-01-01T00-00-00Z.json").write_text('{"models": {}, "cases": []}')
    last = _run(project, "--modelguard-compare", "last")
    assert last.ret == pytest.ExitCode.USAGE_ERROR
    last.stderr.fnmatch_lines(["*2026-01-01T00-00-00Z.json: version: not a modelguard JSON*"])
    for result in (named, last):
        assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert _answers(project) == []  # stopped before any call was paid for


# --- outputs after the run: a warning naming the path, the verdict and status kept -----


def _results(n: int = 12) -> list[ItemResult]:
    return [
        ItemResult(suite="s", case_id=f"c{i}", model=model, score=1.0, passed=True,
                   grades=(Grade("equals", 1.0, True),), cost_usd=0.001, output=f"w{i}")
        for i in range(n)
        for model in ("base", "cand")
    ]  # fmt: skip


def _settings(cache_dir: Path) -> Settings:
    spec = ProviderSpec("openai", "openai")
    return Settings(baseline=ModelSpec("base", spec, "base"),
                    candidates=(ModelSpec("cand", spec, "cand"),), resamples=200,
                    cache_dir=cache_dir)  # fmt: skip


KINDS = {
    "json": "--modelguard-json report",
    "markdown": "--modelguard-markdown report",
    "html": "--modelguard-html report",
    "routes": "--modelguard-routes file",
    "step_summary": "$GITHUB_STEP_SUMMARY",
}


def _blocked(tmp_path: Path, how: str) -> Path:
    """A path that cannot be written: the disk is full, its directory is missing (for the
    step summary, whose directory is never made), or a file sits where its directory goes."""
    if how == "full":
        return Path("/dev/full")
    if how == "missing-dir":
        return tmp_path / "gone" / "deeper" / "report.out"
    (tmp_path / "taken").write_text("a file, not a directory")
    return tmp_path / "taken" / "report.out"


BLOCKED = [(kind, how) for kind in KINDS for how in ("full", "file-as-dir")]
BLOCKED.append(("step_summary", "missing-dir"))  # reports make their directory; not the CI's


@pytest.mark.parametrize(("kind", "how"), BLOCKED)
def test_an_output_that_cannot_be_written_is_a_warning_and_the_rest_is_written(
    tmp_path: Path, kind: str, how: str
) -> None:
    blocked = _blocked(tmp_path, how)
    others = {k: tmp_path / f"ok-{k}" for k in KINDS if k != kind}
    outputs = Outputs(**{kind: blocked}, **others)  # type: ignore[arg-type]
    clean = finish_run(_results(), _settings(tmp_path), Outputs(), subset=False, not_gated=None)
    finished = finish_run(_results(), _settings(tmp_path), outputs, subset=False, not_gated=None)
    assert finished.report.verdict == clean.report.verdict  # the verdict stands
    (problem,) = finished.problems
    assert problem.startswith(f"{KINDS[kind]} not written to {blocked}: ")
    assert problem.endswith("(the verdict stands)")
    assert all(path.stat().st_size > 0 for path in others.values())  # the rest is written


@pytest.mark.parametrize("how", ["runs-is-a-file", "cache-is-a-file"])
def test_a_run_that_cannot_be_saved_says_where_and_why(tmp_path: Path, how: str) -> None:
    cache = tmp_path / ".modelguard"
    if how == "runs-is-a-file":
        cache.mkdir()
        (cache / "runs").write_text("x")
    else:
        cache.write_text("x")
    report = tmp_path / "r.json"
    outputs = Outputs(json=report, runs=cache)
    finished = finish_run(_results(), _settings(cache), outputs, subset=False, not_gated=None)
    assert finished.saved is None
    assert finished.unsaved is not None
    assert finished.unsaved.startswith(f"the run not written to {cache / 'runs'}: ")
    assert json.loads(report.read_text())["verdict"] == finished.report.verdict


SPOIL = """
from pathlib import Path

def test_spoil_the_outputs():
    Path("taken").write_text("a file where the report's directory goes")
    runs = Path(".modelguard") / "runs"
    runs.parent.mkdir(exist_ok=True)
    runs.write_text("a file where runs/ goes")
"""


def test_unwritable_outputs_after_the_run_are_warnings_and_the_exit_status_stays(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.path / "echo.labels.yaml").write_text(
        f"labels:\n- {{suite: echo, case: gone, model: m, answer_sha: '{SHA}', label: 1}}\n"
    )  # a label of a case the suite no longer has: said, not used
    clean = _run(project)
    assert clean.ret == pytest.ExitCode.OK
    clean.stdout.fnmatch_lines(["*echo.labels.yaml:2: 1 label(s) of echo.modelguard.yaml name a "
                                "case this suite does not have (first: case 'gone')*"])  # fmt: skip
    calls = len(_answers(project))
    project.makepyfile(test_spoil=SPOIL)  # spoils two outputs while the run goes
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "no" / "dir" / "summary.md"))
    result = _run(project, "--modelguard-json=/dev/full", "--modelguard-markdown=taken/r.md",
                  "--modelguard-routes=/dev/full", "--modelguard-html=ok.html",
                  "--modelguard-save")  # fmt: skip
    assert result.ret == clean.ret
    result.stdout.fnmatch_lines_random([
        "modelguard warning: --modelguard-json report not written to /dev/full: No space left*",
        "modelguard warning: --modelguard-markdown report not written to taken/r.md: *",
        "modelguard warning: --modelguard-routes file not written to /dev/full: *",
        "modelguard warning: $GITHUB_STEP_SUMMARY not written to */no/dir/summary.md: No such*",
        "run not saved: the run not written to *.modelguard/runs: *",
        "modelguard gate *",
    ])  # fmt: skip
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str()
    assert (project.path / "ok.html").stat().st_size > 0
    assert len(_answers(project)) == calls  # every answer still cached


# --- huge answers and arguments: reports cap them, the cache keeps them ----------------


def test_a_5_mb_answer_and_argument_make_small_reports_and_stay_whole_in_the_cache(
    project: pytest.Pytester,
) -> None:
    project.makefile(".toml", pyproject=PYPROJECT + 'models = ["python:answers:huge"]\n')
    result = _run(project, "--modelguard-json=r.json", "--modelguard-markdown=r.md",
                  "--modelguard-html=r.html", "--junitxml=j.xml", "-v")  # fmt: skip
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    sizes = {name: (project.path / name).stat().st_size for name in ("r.json", "r.html", "r.md")}
    sizes["j.xml"] = (project.path / "j.xml").stat().st_size
    answers = 2 * 2 * 5 * MB  # what the candidate's two huge answers and arguments weigh
    assert sizes["r.json"] < 3 * MB and sizes["r.html"] < 3 * MB, sizes
    assert sizes["r.md"] < 200_000 and sizes["j.xml"] < 200_000, sizes
    assert len(result.stdout.str()) < 200_000
    doc = json.loads((project.path / "r.json").read_text())
    huge = [c for c in doc["cases"] if c["id"] in ("c0", "c1") and c["model"].endswith("huge")]
    assert len(huge) == 2
    for case in huge:
        assert re.search(
            r"… \(5\.0 MB, 4\.9 MB not shown; answer_sha [0-9a-f]{16}\)$", case["output"]
        )
        assert "not shown" in case["tool_calls"][0]["arguments"]
        assert case["answer_sha"] == case["output"][-17:-1]  # the whole answer's hash
    cached = sum(p.stat().st_size for p in _answers(project))
    assert cached > answers  # the cache keeps every answer whole
    assert sum(sizes.values()) < cached / 20


def test_capping_is_idempotent_and_tells_apart_texts_that_differ_past_the_cut() -> None:
    a, b = "x" * MB, "x" * (MB - 1) + "y"
    assert capped(capped(a)) == capped(a)
    assert capped(a) != capped(b) and capped(a)[:1000] == capped(b)[:1000]
    assert capped("short") == "short"


def test_a_stored_capped_answer_is_no_drift_but_a_change_past_the_cut_is() -> None:
    now = [ItemResult(suite="s", case_id=f"c{i}", model="m", score=1.0, passed=True,
                      output="z" * 100_000 + str(i)) for i in range(6)]  # fmt: skip
    stored = [ItemResult.from_dict(shown_case(r.to_dict())) for r in now]
    assert all(len(r.output) < 65_000 for r in stored)
    same = compare_runs(now, stored, against="then")
    assert same.models["m"].answers_changed == 0
    changed = [ItemResult.from_dict({**r.to_dict(), "output": r.output + "!"}) for r in now[:1]]
    assert compare_runs(changed + now[1:], stored, against="then").models["m"].answers_changed == 1


@pytest.mark.parametrize(
    "arguments",
    [{"blob": "y" * (2 * MB)}, ["x"] * 200_000, {"k": {"deep": "z" * 100_000}}, "q" * 100_000],
    ids=["one-big-string", "many-small-items", "nested-big", "raw-text"],
)
def test_tool_call_arguments_are_capped_in_reports(arguments: Any) -> None:
    call = {"id": "1", "name": "n" * 5000, "arguments": arguments}
    result = ItemResult(suite="s", case_id="c", model="m", tool_calls=(call,))
    (call,) = shown_case(result.to_dict())["tool_calls"]
    assert len(call["arguments"]) <= 64_000 and len(call["name"]) <= 1_000
    assert "not shown" in call["arguments"] and "not shown" in call["name"]
    assert result.tool_calls[0]["arguments"] is arguments  # the result itself keeps it whole


# --- labels files ------------------------------------------------------------------------


def _laughs() -> str:
    lines = ['a0: &a0 ["l","l","l","l","l","l","l","l","l"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\nlabels: []\n"


LABEL_ROW = f"{{suite: t, case: c, model: m, answer_sha: '{SHA}', label: 1}}"
LABEL_FILES = [
    ("nested-150", "labels:\n- " + "[" * 150 + "]" * 150 + "\n", r":2: invalid YAML: nested"),
    ("python-tag", "labels:\n- !!python/object/apply:os.system [echo hi]\n",
     r":2: invalid YAML: tag '!!python/object/apply:os.system' is not allowed"),
    ("python-name-tag", "labels: !!python/name:os.system\n", r":1: invalid YAML: tag"),
    ("billion-laughs", _laughs(), r":\d+: YAML aliases expand to more than"),
    ("recursive-alias", "labels: &a [*a]\n", r":1: invalid YAML: recursive alias"),
    ("tab", "labels:\n\t- x\n", r":2: invalid YAML.*tab"),
    ("duplicate-key", "labels: []\nlabels: []\n", r":2: duplicate key 'labels'"),
    ("not-utf8", b"labels: \xff\n", r":1: cannot read labels file: not UTF-8"),
    ("top-list", "- a\n", r":1: expected `labels:` and a list"),
    ("extra-key", "labels: []\nother: 1\n", r":1: expected `labels:` and a list"),
    ("labels-number", "labels: 5\n", r":1: `labels:` must be a list"),
    ("entry-number", "labels:\n- 5\n", r":2: expected a mapping"),
    ("unknown-key", f"labels:\n- {LABEL_ROW[:-1]}, extra: 1}}\n", r":2: unknown key 'extra'"),
    ("label-2", "labels:\n- " + LABEL_ROW.replace("label: 1", "label: 2") + "\n",
     r":2: label must be a number in \[0, 1\]"),
    ("label-nan", "labels:\n- " + LABEL_ROW.replace("label: 1", "label: .nan") + "\n",
     r":2: label must be a number"),
    ("label-huge", "labels:\n- " + LABEL_ROW.replace("label: 1", "label: 1e400") + "\n",
     r":2: label must be a number"),
    ("sha-short", "labels:\n- " + LABEL_ROW.replace(SHA, "abc") + "\n", r":2: answer_sha must be"),
    ("suite-float", "labels:\n- " + LABEL_ROW.replace("suite: t", "suite: 1.5") + "\n",
     r":2: suite must be a non-empty name"),
    ("conflict", f"labels:\n- {LABEL_ROW}\n- {LABEL_ROW.replace('label: 1', 'label: 0')}\n",
     r":3: this answer is labelled 0 here but 1 at"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), [b[1:] for b in LABEL_FILES],
                         ids=[b[0] for b in LABEL_FILES])  # fmt: skip
def test_a_hostile_labels_file_names_file_and_line(
    tmp_path: Path, body: str | bytes, message: str
) -> None:
    path = tmp_path / "t.labels.yaml"
    data = body.encode() if isinstance(body, str) else body
    path.write_bytes(data)
    with pytest.raises(LabelsError) as caught:
        load_labels(path)
    said = str(caught.value)
    assert said.startswith(str(path)) and re.search(message, said), said
    assert path.read_bytes() == data


@pytest.mark.parametrize(
    ("label", "first"),
    [("suite: t, case: gone", "case 'gone'"), ("suite: other, case: c0", "suite 'other'")],
)
def test_labels_that_apply_to_no_case_of_the_suite_are_said(
    tmp_path: Path, label: str, first: str
) -> None:
    suite = tmp_path / "t.modelguard.yaml"
    suite.write_text(LABEL_SUITE)
    rows = f"- {{suite: t, case: c0, model: m, answer_sha: '{SHA}', label: 1}}\n"
    rows += f"- {{{label}, model: m, answer_sha: '{SHA}', label: 0}}\n"
    (tmp_path / "t.labels.yaml").write_text("labels:\n" + rows)
    loaded = load_suite(suite, tmp_path)
    (note,) = loaded.notes
    assert note.startswith(f"{tmp_path / 't.labels.yaml'}:3: 1 label(s) of t.modelguard.yaml ")
    assert f"(first: {first}); they are not used" in note
    assert loaded.cases[0].answer_labels == {("m", SHA): 1.0}  # the good label still applies


@pytest.mark.parametrize("kind", ["dir", "sparse"])
def test_a_labels_file_that_is_no_regular_small_file_is_never_read(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "t.labels.yaml"
    if kind == "dir":
        path.mkdir()
    else:
        with path.open("wb") as handle:
            handle.truncate(60 * MB)
    expected = "a directory" if kind == "dir" else "60.0 MB; the limit is 50 MB"
    with pytest.raises(LabelsError, match=re.escape(f"{path}: the labels file is ")):
        load_labels(path)
    with pytest.raises(LabelsError, match=re.escape(expected)):
        load_labels(path)


# --- label sample and label import ---------------------------------------------------------

LABEL_SUITE = "suite: t\ndefaults:\n  graders: [equals]\ncases:\n" + "".join(
    f"  - {{id: c{i}, prompt: 'say w{i}', expected: w{i}}}\n" for i in range(4)
)


def _report(tmp_path: Path, outputs: dict[str, str]) -> Path:
    cases = [
        shown_case(ItemResult(suite="t", case_id=case, model=model, score=1.0, passed=True,
                              output=text).to_dict())
        for (case, model), text in ((tuple(k.split("/")), v) for k, v in outputs.items())
    ]  # fmt: skip
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"version": 1, "models": {}, "cases": cases}))
    return path


@pytest.fixture
def labelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.modelguard.yaml").write_text(LABEL_SUITE)
    return tmp_path


REPORTS = [
    ("not-json", "{", r"report\.json:1: not a modelguard JSON report"),
    ("no-version", '{"cases": []}', r"report\.json: version: "),
    ("case-not-mapping", '{"version": 1, "cases": ["x"]}', r"cases\[0\]: 'x' is not a case"),
    ("suite-missing", '{"version": 1, "cases": [{"id": "c", "model": "m"}]}',
     r"cases\[0\]: missing key 'suite'"),
    ("repeat-text", _case_text("repeat", '"0"'), r"cases\[0\]: repeat '0' is not"),
    ("output-number", _case_text("output", "5"), r"cases\[0\]: output 5 is not text"),
    ("nested", _nested(200), r"nested deeper than 100"),
    ("cases-null", '{"version": 1, "cases": null}', r"no 'cases' list"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), [r[1:] for r in REPORTS], ids=[r[0] for r in REPORTS])
def test_label_sample_of_a_malformed_report_is_a_usage_error(
    labelled: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (labelled / "report.json").write_text(text)
    (labelled / "sheet.csv").write_text("kept")
    assert cli(["label", "sample", "report.json", "-o", "sheet.csv"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("modelguard: report.json") and re.search(message, err), err
    assert "Traceback" not in err
    assert (labelled / "sheet.csv").read_text() == "kept"  # nothing overwritten


def _fill(sheet: Path, label: str = "1", edit: dict[int, dict[str, str]] | None = None) -> None:
    with sheet.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        row["label"] = label
        row.update((edit or {}).get(i, {}))
    with sheet.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_huge_answer_is_cut_in_the_sheet_and_its_label_still_applies(
    labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = "w0 " + "é" * 300_000  # past the 64,000 of the report and the 32,000 of a cell
    report = _report(labelled, {"c0/a": big, "c0/b": "w0", "c1/a": "w1", "c1/b": "w1"})
    assert cli(["label", "sample", str(report), "-n", "4", "-o", "sheet.csv"]) == 0
    sheet = (labelled / "sheet.csv").read_text(encoding="utf-8-sig")
    assert len(sheet) < 3 * SHEET_CHARS
    _fill(labelled / "sheet.csv")
    assert cli(["label", "import", "sheet.csv"]) == 0
    out = capsys.readouterr().out
    assert "suite t: 4 labels written" in out and "skipped" not in out
    labels = load_labels(labelled / "t.labels.yaml")
    assert labels.find("t", "c0", "a", big) == 1.0  # keyed by the whole answer


def test_an_old_sheet_with_cells_over_128_kb_imports(labelled: Path) -> None:
    text = "w0 " + "x" * 200_000
    with (labelled / "old.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("suite", "case", "model", "answer_sha", "prompt", "answer", "label"))
        writer.writerow(("t", "c0", "a", answer_sha(text), "say w0", text, "1"))
    assert cli(["label", "import", "old.csv"]) == 0
    assert load_labels(labelled / "t.labels.yaml").find("t", "c0", "a", text) == 1.0
    assert len(read_label_sheet(labelled / "old.csv")) == 1


IMPORT_ROWS = [
    ("unknown-case", "w0", {"case": "c9"},
     "skipped 1: case not in its suite (first at sheet.csv:2)"),
    ("edited-answer", "w0", {"answer": "w0 edited"},
     "skipped 1: answer_sha is not the hash of the answer the row shows (edited?) "
     "(first at sheet.csv:2)"),
    ("answer-crlf", "w0\nline", {"answer": "w0\r\nline"}, None),  # a spreadsheet's line ends
    ("formula-guard", "=w0", {"answer": "'=w0"}, None),  # the sheet's guard against formulas
]  # fmt: skip


@pytest.mark.parametrize(("first", "edit", "said"), [r[1:] for r in IMPORT_ROWS],
                         ids=[r[0] for r in IMPORT_ROWS])  # fmt: skip
def test_label_import_skips_rows_that_cannot_apply_and_says_so(
    labelled: Path,
    capsys: pytest.CaptureFixture[str],
    first: str,
    edit: dict[str, str],
    said: str | None,
) -> None:
    report = _report(labelled, {"c0/a": first, "c1/a": "w1"})
    assert cli(["label", "sample", str(report), "-n", "2", "-o", "sheet.csv"]) == 0
    _fill(labelled / "sheet.csv", edit={0: edit})
    assert cli(["label", "import", "sheet.csv"]) == 0
    out = capsys.readouterr().out
    labels = load_labels(labelled / "t.labels.yaml")
    if said is None:
        assert "skipped" not in out and len(labels) == 2
    else:
        assert said in out and len(labels) == 1


def test_label_import_of_only_unusable_rows_is_a_usage_error_and_keeps_the_labels(
    labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = f"labels:\n- {{suite: t, case: c1, model: a, answer_sha: '{SHA}', label: 1}}\n"
    (labelled / "t.labels.yaml").write_text(kept)
    (labelled / "sheet.csv").write_text(
        f"suite,case,model,answer_sha,prompt,answer,label\nt,nosuch,a,{SHA},p,,1\n"
    )
    assert cli(["label", "import", "sheet.csv"]) == 4
    err = capsys.readouterr().err
    assert "sheet.csv: no row could be imported (skipped 1: case not in its suite" in err
    assert (labelled / "t.labels.yaml").read_text() == kept


def test_labels_for_a_model_the_project_does_not_configure_are_kept_and_said(
    labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (labelled / "pyproject.toml").write_text('[tool.modelguard]\nbaseline = "python:m:a"\n')
    (labelled / "sheet.csv").write_text(
        "suite,case,model,answer_sha,prompt,answer,label\n"
        f"t,c0,python:m:a,{answer_sha('w0')},p,w0,1\nt,c1,other,{answer_sha('w1')},p,w1,0\n"
    )
    assert cli(["label", "import", "sheet.csv"]) == 0
    out = capsys.readouterr().out
    assert "kept labels for model 'other', which pyproject.toml does not configure" in out
    assert "(first at sheet.csv:3)" in out
    assert len(load_labels(labelled / "t.labels.yaml")) == 2
