"""Trusting the judge (#19), end to end: label a sample, check the judge against it.

A simulated world with `python:` models. 100 cases; the baseline answers 90 well,
the candidate 75, and its poor answers are long. The rubric judge passes good
answers and, wrongly, any long one (a length bias); the pairwise judge prefers the
good answer and, between two alike, the first shown (a position bias). The people's
labels are the simulation's truth: 1 for a good answer, 0 for a poor one.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pytest_modelguard.cli import main as cli

SIM = """
import re


def _i(request):
    return int(re.findall(r"[0-9]+", request.messages[-1]["content"])[-1])


def base(request):
    i = _i(request)
    return f"GOOD answer {i}." if i % 10 else f"poor answer {i}."


def cand(request):
    i = _i(request)
    if i % 4:
        return f"GOOD answer {i}."
    return f"poor answer {i}, " + "with many words that say little " * 3


def _blocks(text, label):
    return re.findall(r"<<<" + label + r" \\w+>>>\\n(.*?)\\n<<<END " + label, text, re.S)


def judge(request):
    system, user = request.messages[0]["content"], request.messages[1]["content"]
    if "VERDICT" in system:
        a, b = _blocks(user, "RESPONSE A")[0], _blocks(user, "RESPONSE B")[0]
        if ("GOOD" in a) != ("GOOD" in b):
            return "VERDICT: " + ("A" if "GOOD" in a else "B")
        return "Alike; the first reads better.\\nVERDICT: A"
    response = _blocks(user, "RESPONSE")[0]
    return "SCORE: 2" if "GOOD" in response or len(response) > 80 else "SCORE: 1"
"""

PYPROJECT = """
[tool.modelguard]
baseline = "python:sim:base"
models = ["python:sim:cand"]
judge = "python:sim:judge"
record = "new"
{extra}
"""

SUITE = "suite: triage\ndefaults:\n  graders:\n" + (
    "    - llm_judge: {rubric: 'Is the answer right?', scale: 2}\n"
    "    - llm_judge: {pairwise: true}\n      weight: 0\n"
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert()
    pytester.makepyfile(sim=SIM)
    pytester.makefile(".toml", pyproject=PYPROJECT.format(extra=""))
    cases = "".join(f"  - id: q{i:03d}\n    prompt: 'question {i}'\n" for i in range(100))
    pytester.makefile(".modelguard.yaml", triage=SUITE + "cases:\n" + cases)
    return pytester


def label_honestly(sheet: Path) -> int:
    """Fill the sheet's label column with the simulation's truth: 1 good, 0 poor."""
    with sheet.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["label"] = "1" if "GOOD" in row["answer"] else "0"
    with sheet.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def labelled_project(project: pytest.Pytester) -> pytest.Pytester:
    """Run once, sample 40 answers (20 whole cases), label them, import the labels."""
    project.runpytest("--modelguard-json", "first.json")
    sheet = project.path / "sheet.csv"
    assert cli(["label", "sample", "first.json", "-n", "40", "--seed", "0", "-o", str(sheet)]) == 0
    assert label_honestly(sheet) == 40
    assert cli(["label", "import", str(sheet)]) == 0
    return project


def test_labelled_sample_shows_agreement_position_bias_and_length(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled_project(project)
    out = capsys.readouterr().out
    assert "wrote 40 answers (20 cases" in out and "40 labels written to" in out
    labels = (project.path / "triage.labels.yaml").read_text()
    assert labels.count("suite: triage") == 40
    result = project.runpytest(
        "--modelguard-json",
        "r.json",
        "--modelguard-markdown",
        "r.md",
        "--modelguard-html",
        "r.html",
    )
    report = json.loads((project.path / "r.json").read_text())
    cases = report["cases"]
    assert sum(c["human_label"] is not None for c in cases) == 40  # of 200 judged answers
    judges = {j["pairwise"]: j for j in report["judges"]["judges"]}
    rubric, pairwise = judges[False], judges[True]
    assert rubric["answers"] == 200 and rubric["agreement"]["n"] == 40
    assert rubric["agreement"]["kind"] == "binary"
    assert rubric["agreement"]["fpr"] > 0  # it passes long poor answers
    assert rubric["length_correlation"] > 0  # long answers pass whatever they say
    assert pairwise["position_bias"]["n"] > 0 and pairwise["position_bias"]["share"] > 0
    assert pairwise["position_bias"]["first_favoured"] == pairwise["position_bias"]["changed"]
    candidate = report["judges"]["candidates"]["python:sim:cand"]
    ppi = candidate["ppi"]
    assert ppi["n_labelled"] == 20 and ppi["n_total"] == 100
    assert ppi["judge_only_mean"] > 0 > ppi["mean"]  # the judge flatters; the labels do not
    text = result.stdout.str()
    assert "judges (40 answers labelled by people):" in text
    assert "position bias" in text and "score~length rho" in text and "corrected delta" in text
    markdown = (project.path / "r.md").read_text()
    assert "**Judges** (40 answers labelled by people)" in markdown
    assert "| judge | labelled | agreement |" in markdown and "κ +0.44" in markdown
    page = (project.path / "r.html").read_text()
    assert "<h2>Judges</h2>" in page and "corrected Δ [CI] (PPI++)" in page


def test_judge_min_agreement_fails_a_run_whose_judge_disagrees(project: pytest.Pytester) -> None:
    labelled_project(project)
    project.makefile(".toml", pyproject=PYPROJECT.format(extra="judge_min_agreement = 0.9"))
    result = project.runpytest("--modelguard-json", "r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((project.path / "r.json").read_text())
    assert report["verdict"] == "fail"
    failure = next(j["failure"] for j in report["judges"]["judges"] if not j["pairwise"])
    assert "judge llm_judge rubric (python:sim:judge): Cohen's kappa" in failure
    assert "below judge_min_agreement = 0.9" in failure
    result.stdout.fnmatch_lines(
        ["*FAILED: judge llm_judge rubric (python:sim:judge): Cohen's kappa*"]
    )
    failed = "modelguard gate FAILED: judge llm_judge rubric (python:sim:judge) (below judge_min"
    result.stdout.fnmatch_lines([failed + "_agreement)"])


def test_judge_min_agreement_without_labels_fails_naming_the_fix(
    project: pytest.Pytester,
) -> None:
    project.makefile(".toml", pyproject=PYPROJECT.format(extra="judge_min_agreement = 0.5"))
    result = project.runpytest("--modelguard-json", "r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*FAILED: judge llm_judge rubric (python:sim:judge): no labelled*"]
    )
    judges = json.loads((project.path / "r.json").read_text())["judges"]["judges"]
    assert all("modelguard label sample" in j["failure"] for j in judges)


def test_gate_on_human_uses_the_corrected_interval(project: pytest.Pytester) -> None:
    project.makefile(".toml", pyproject=PYPROJECT.format(extra='gate_on = "human"'))
    plain = project.runpytest("--modelguard-json", "r.json")
    report = json.loads((project.path / "r.json").read_text())
    cand = report["models"]["python:sim:cand"]
    assert cand["verdict"] == "inconclusive"  # no labels: no corrected interval
    assert "gate_on = human: no corrected delta" in cand["reasons"][0]
    assert plain.ret == pytest.ExitCode.OK  # inconclusive fails only non-inferiority
    # every case labelled: the corrected interval is the labels' own, and shows the drop
    lines = ["labels:"]
    for row in report["cases"]:
        good = 1 if "GOOD" in row["output"] else 0
        sha = __import__("pytest_modelguard.suite.labels", fromlist=["x"]).answer_sha(row["output"])
        lines.append(
            f"- {{suite: triage, case: {row['id']}, model: '{row['model']}', "
            f"answer_sha: '{sha}', label: {good}}}"
        )
    (project.path / "triage.labels.yaml").write_text("\n".join(lines) + "\n")
    result = project.runpytest("--modelguard-json", "r.json")
    report = json.loads((project.path / "r.json").read_text())
    cand = report["models"]["python:sim:cand"]
    assert cand["judge_delta"] > 0  # the judge alone: the candidate looks better
    assert cand["delta"]["mean"] < 0 and cand["delta"]["method"] == "ppi++"  # what decided
    assert cand["verdict"] == "regression"
    assert cand["reasons"][0].startswith("gate_on = human: corrected delta -0.150")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_case_may_carry_labels_by_model(project: pytest.Pytester) -> None:
    suite = (
        SUITE + "cases:\n  - id: q001\n    prompt: 'question 1'\n    labels: {python:sim:base: 1}\n"
    )
    project.makefile(".modelguard.yaml", triage=suite)
    project.runpytest("--modelguard-json", "r.json")
    cases = json.loads((project.path / "r.json").read_text())["cases"]
    assert {c["model"]: c["human_label"] for c in cases} == {
        "python:sim:base": 1.0,
        "python:sim:cand": None,
    }
    bad = (
        SUITE + "cases:\n  - id: q001\n    prompt: 'question 1'\n    labels: {python:sim:base: 2}\n"
    )
    project.makefile(".modelguard.yaml", triage=bad)
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*triage.modelguard.yaml:*: python:sim:base: label must be*"])


NOISY = """
import re


def judge(request):
    user = request.messages[1]["content"]
    response = re.findall(r"<<<RESPONSE \\w+>>>\\n(.*?)\\n<<<END RESPONSE", user, re.S)[0]
    i = int(re.findall(r"[0-9]+", response)[-1])
    base = 4 if "GOOD" in response else 2
    return f"SCORE: {base + (i * 7 + request.repeat) % 3 - 1}"  # the judge's own noise
"""


def test_judge_repeats_ask_k_times_and_report_the_judge_noise(project: pytest.Pytester) -> None:
    project.makepyfile(noisy=NOISY)
    project.makefile(
        ".toml",
        pyproject=PYPROJECT.format(extra="").replace("python:sim:judge", "python:noisy:judge"),
    )
    cases = "".join(f"  - id: q{i:03d}\n    prompt: 'question {i}'\n" for i in range(40))
    graders = "    - llm_judge: {rubric: 'Is it right?', judge_repeats: 3}\n"
    project.makefile(
        ".modelguard.yaml", triage="defaults:\n  graders:\n" + graders + "cases:\n" + cases
    )
    result = project.runpytest("--modelguard-json", "r.json")
    report = json.loads((project.path / "r.json").read_text())
    grade = report["cases"][0]["grades"][0]
    draws = grade["judge"]["draws"]
    assert len(draws) == 3 and len(set(draws)) > 1  # three calls, three cache entries
    assert grade["score"] == pytest.approx(sum(draws) / 3)
    (judge,) = report["judges"]["judges"]
    assert judge["self_consistency"]["repeats"] == 3
    share = report["judges"]["candidates"]["python:sim:cand"]["judge_noise_share"]
    assert 0 < share <= 1
    result.stdout.fnmatch_lines(["*python:sim:cand: judge noise is *% of the delta's variance*"])


def test_a_bad_labels_file_is_a_collection_error_naming_file_and_line(
    project: pytest.Pytester,
) -> None:
    (project.path / "triage.labels.yaml").write_text(
        "labels:\n- {suite: triage, case: q001, model: m, answer_sha: 0123456789abcdef, label: 3}\n"
    )
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*triage.labels.yaml:2: label must be a number in [[]0, 1[]]*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_label_import_refuses_a_sheet_of_an_unknown_suite(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = project.path / "sheet.csv"
    sheet.write_text(
        "suite,case,model,answer_sha,prompt,answer,label\nnosuch,q001,m,0123456789abcdef,p,a,1\n"
    )
    assert cli(["label", "import", str(sheet)]) == 4
    assert "suite 'nosuch' has no *.modelguard.yaml under ." in capsys.readouterr().err


def test_the_dry_run_plans_the_labels_from_the_last_saved_run(project: pytest.Pytester) -> None:
    """gate_on = "human" with 20 labelled cases: the interval cannot decide yet, and the dry
    run says what labelling could do, from the saved run's labels and judge scores."""
    labelled_project(project)
    project.makefile(".toml", pyproject=PYPROJECT.format(extra='gate_on = "human"\nmargin = 0.1'))
    project.runpytest("--modelguard-save", "--modelguard-json", "r.json")
    cand = json.loads((project.path / "r.json").read_text())["models"]["python:sim:cand"]
    plan = cand["reasons"][0].split("]); ")[1]  # after the corrected and judge-only figures
    assert "label" in plan and "20 now" in plan
    dry = project.runpytest("--modelguard-dry-run")
    lines = dry.stdout.lines
    assert "modelguard label planning (gate_on = human):" in lines
    assert any(line.startswith(f"  python:sim:cand: {plan} (from ") for line in lines), lines
