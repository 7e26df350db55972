"""`gate_on = "human"`: the row shows the label-corrected delta that decided (issue 24 item 7),
with the judge-only delta beside it, labelled, in the table, the JSON and the Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_modelguard.config import Overrides, load_settings
from pytest_modelguard.inference.compare import compare
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.report.json_report import build_json
from pytest_modelguard.report.markdown import render_markdown
from pytest_modelguard.report.terminal import reason_lines, summary_rows
from pytest_modelguard.verdict.gate import GateConfig, evaluate

N, JUDGE_WINS, HUMAN_LOSSES = 100, 10, 30


def _results() -> list[ItemResult]:
    """The issue's example: the judge scores the candidate better on 10 of 100 cases
    (+0.100), the people who labelled every answer worse on 30 (-0.300)."""
    out = []
    for i in range(N):
        case = f"c{i:03d}"
        base = ItemResult("s", case, "base", score=0.0, human_label=1.0, unit=case)
        cand = ItemResult(
            "s", case, "cand",
            score=1.0 if i < JUDGE_WINS else 0.0,
            human_label=0.0 if i >= N - HUMAN_LOSSES else 1.0,
            unit=case,
        )  # fmt: skip
        out += [base, cand]
    return out


@pytest.fixture
def doc(tmp_path: Path) -> dict:
    results = _results()
    config = GateConfig(baseline="base", candidates=("cand",), gate_on="human")
    report = evaluate(results, config)
    settings = load_settings(
        "pyproject.toml",
        {"baseline": "python:m:base", "models": ["python:m:cand"], "gate_on": "human"},
        Overrides(),
        tmp_path,
    )
    data = build_json(report, results, settings)
    data["_report"] = report
    return data


def test_the_row_is_the_corrected_delta_and_the_judge_sits_beside_it(doc: dict) -> None:
    cand = doc["models"]["cand"]
    judge = compare([0.0] * N, [1.0] * JUDGE_WINS + [0.0] * (N - JUDGE_WINS))
    human_mean = -HUMAN_LOSSES / N
    assert cand["verdict"] == "regression"
    assert cand["delta"]["mean"] == pytest.approx(human_mean)
    assert cand["delta"]["ci_high"] < 0 and cand["delta"]["method"] == "ppi++"
    assert cand["delta"]["ci_low"] <= human_mean <= cand["delta"]["ci_high"]
    ppi = doc["judges"]["candidates"]["cand"]["ppi"]
    assert (cand["delta"]["ci_low"], cand["delta"]["ci_high"]) == (ppi["ci_low"], ppi["ci_high"])
    assert cand["judge_delta"] == pytest.approx(judge.mean) == pytest.approx(JUDGE_WINS / N)
    assert cand["judge_ci_low"] == pytest.approx(judge.ci_low)
    assert cand["judge_ci_high"] == pytest.approx(judge.ci_high)
    assert cand["delta"]["evidence"] == "inferior"


def test_table_and_markdown_show_what_decided(doc: dict) -> None:
    report = doc.pop("_report")
    corrected = f"{doc['models']['cand']['delta']['mean']:+.3f}"
    judge = f"{doc['models']['cand']['judge_delta']:+.3f}"
    row = next(line for summary, line in summary_rows(report) if summary and summary.name == "cand")
    assert corrected in row and judge not in row
    reasons = "\n".join(reason_lines(report, width=400))
    assert f"judge only: {judge} [" in reasons
    markdown = render_markdown(doc)
    table_row = next(line for line in markdown.splitlines() if "| `cand` |" in line)
    assert corrected in table_row and judge not in table_row
    assert f"judge only: {judge}" in markdown
