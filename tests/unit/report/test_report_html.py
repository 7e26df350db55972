"""The HTML report: self-contained, escaped, the JSON report's numbers; renders in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_modelguard.config import ModelSpec, ProviderSpec, Settings
from pytest_modelguard.records.grades import Grade
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.report.html import render_html
from pytest_modelguard.report.json_report import build_json
from pytest_modelguard.verdict.gate import GateConfig, evaluate

BASE, CHEAP, BAD, FREE = "base", "cheap", "bad", "nocost"
NASTY = '</script><img id="pwned" src="https://evil.example/x.png"> & <!-- a|b'
DATA_BLOCK = re.compile(r'<script type="application/json" id="mg-data">(.*?)</script>', re.S)


def item(model: str, i: int, score: float, cost: float | None, output: str = "ok") -> ItemResult:
    grade = Grade("equals", score, score == 1.0, "" if score == 1.0 else f"got {output!r}")
    suite, tags = ("s" if i % 2 else "t"), (f"tag{i % 3}",)
    return ItemResult(suite=suite, case_id=f"c{i}", model=model, tags=tags, score=score,
                      passed=True, grades=(grade,), cost_usd=cost, output=output)  # fmt: skip


def report_doc(n: int = 120) -> dict[str, Any]:
    """The real gate's JSON report: `cheap` matches the baseline at a tenth of the cost, `bad`
    costs more and drops a third, `nocost` has no known price."""
    results = [item(BASE, i, 1.0, 0.001) for i in range(n)]
    results += [item(CHEAP, i, 1.0, 0.0001) for i in range(n)]
    results += [item(BAD, i, 0.0, 0.002, NASTY) if i % 3 == 0 else item(BAD, i, 1.0, 0.002)
                for i in range(n)]  # fmt: skip
    results += [item(FREE, i, 1.0, None) for i in range(n)]
    candidates = (CHEAP, BAD, FREE)
    config = GateConfig(baseline=BASE, candidates=candidates, resamples=300)
    openai = ProviderSpec("openai", "openai")
    settings = Settings(baseline=ModelSpec(BASE, openai, BASE),
                        candidates=tuple(ModelSpec(c, openai, c) for c in candidates),
                        resamples=300)  # fmt: skip
    return dict(json.loads(json.dumps(build_json(evaluate(results, config), results, settings))))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return report_doc()


@pytest.fixture(scope="module")
def page(doc: dict[str, Any]) -> str:
    return render_html(doc)


def test_page_is_self_contained(page: str) -> None:
    outside_data = DATA_BLOCK.sub("", page)
    for reference in ("http://", "https://", "src=", "href=", "url(", "@import"):
        assert reference not in outside_data
    assert page.count("<script") == 2 and page.count("</script>") == 2  # ours: data and code


def test_user_content_is_escaped_and_embedded_intact(doc: dict[str, Any], page: str) -> None:
    assert "pwned" not in DATA_BLOCK.sub("", page)
    block = DATA_BLOCK.search(page)
    assert block is not None and "<" not in block.group(1)  # cannot close its element
    data = json.loads(block.group(1))
    assert [c["output"] for c in data["cases"]] == [c["output"] for c in doc["cases"]]
    assert [c["score"] for c in data["cases"]] == [c["score"] for c in doc["cases"]]
    assert data["cases"][0]["grades"][0]["name"] == "equals"
    assert data["baseline"] == BASE and data["suites"] == ["s", "t"]


def test_tables_hold_the_json_reports_numbers(doc: dict[str, Any], page: str) -> None:
    for name, model in doc["models"].items():
        row = re.search(rf"<tr><td><b>{name}</b></td>(.*?)</tr>", page)
        assert row is not None, name
        assert f"{model['mean_score']:.3f}" in row.group(1)
        assert f"<td class='num'>{model['n']}</td>" in row.group(1)
        delta = model["delta"]
        if delta:
            ci = f"{delta['mean']:+.3f} [{delta['ci_low']:+.3f}, {delta['ci_high']:+.3f}]"
            assert ci in row.group(1)
    bad = doc["tags"]["tag0"][BAD]
    assert f"Δ {bad['delta']['mean']:+.3f} [{bad['delta']['ci_low']:+.3f}" in page
    assert "<td class='worse'>" in page  # bad's CI on tag0 is below zero


def test_chart_has_one_point_per_costed_model_and_marks_the_front(
    doc: dict[str, Any], page: str
) -> None:
    points = re.findall(r"<g class='model (\w+)' data-model='([^']+)'>.*?<circle class='([^']+)'",
                        page)  # fmt: skip
    assert {name for _, name, _ in points} == {BASE, CHEAP, BAD}  # nocost is not drawn
    front = {name for _, name, classes in points if "pareto" in classes}
    assert front == {CHEAP}  # cheapest and as good as anyone
    assert "Not plotted (cost or score unknown): nocost" in page
    assert "(log scale)" in page  # $0.0001 to $0.002 spans more than a decade
    base_mean = doc["models"][BASE]["mean_score"]
    delta = doc["models"][BAD]["delta"]
    bar = f"CI bar [{base_mean + delta['ci_low']:.3f}, {base_mean + delta['ci_high']:.3f}]"
    assert bar in page


def test_labels_of_points_close_together_do_not_overlap() -> None:
    from pytest_modelguard.report.html_chart import (
        CHAR_WIDTH,
        _Axis,
        _box,
        _clear,
        _cost_axis,
        _label_spots,
        _Point,
    )

    points = [_Point(f"openai:model-{i}", 0.0001 * (1 + i / 20), 0.95, None, "pass")
              for i in range(5)]  # fmt: skip
    x, y = _cost_axis([p.cost for p in points]), _Axis(0.5, 1.0, 336, 16)
    spots = _label_spots(points, x, y)
    boxes = [_box(spot, len(p.name) * CHAR_WIDTH) for p, spot in zip(points, spots, strict=True)]
    assert all(_clear(box, boxes[:i]) for i, box in enumerate(boxes))


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


@pytest.fixture
def chromium() -> str:
    """The headless browser; the test is skipped only when none is installed."""
    binary = next((found for n in CHROMIUM_NAMES if (found := shutil.which(n))), None)
    if binary is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    return binary


def dump_dom(chromium: str, html_file: Path, profile: Path) -> str:
    """The DOM after the page's scripts ran."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--dump-dom"]  # fmt: skip
    done = subprocess.run([chromium, *flags, html_file.as_uri()], capture_output=True, text=True,
                          timeout=180, check=True)  # fmt: skip
    return done.stdout


def test_renders_in_headless_chromium(chromium: str, tmp_path: Path) -> None:
    doc = report_doc(n=5000)  # 20,000 cases: the browser pages them
    html_file = tmp_path / "report.html"
    html_file.write_text(render_html(doc), encoding="utf-8")
    dom = dump_dom(chromium, html_file, tmp_path / "profile")
    assert 'data-rendered-rows="50"' in dom  # the script ran to its end
    assert dom.count('<tr class="case-row">') == 50
    assert "1\u201350 of 5000" in dom
    assert len(re.findall(r'<circle class="point', dom)) == 3
    assert 'id="pwned"' not in dom  # the answers are text, never markup
