"""``modelguard compare BASE CANDIDATE``: result files of any tool, paired and judged.

The Inspect logs under tests/fixtures/inspect were written by Inspect AI itself
(``make_logs.py``, its ``mockllm`` model with scripted answers); when ``inspect_ai`` is
installed, one test writes them afresh so the format is checked against today's Inspect.
Expected figures are computed here from the raw files, independently of the readers, and
judged with ``compare()``: the command must give exactly those numbers.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import paths
import pytest

from pytest_modelguard.cli import main
from pytest_modelguard.inference.compare import compare
from pytest_modelguard.records.results import ItemResult
from pytest_modelguard.scorefiles import inspect_log

FIXTURES = paths.FIXTURES / "inspect"
LETTER = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}
HAS_ZSTD = importlib.util.find_spec("zipfile_zstd") is not None


def run_cli(*args: str | Path) -> tuple[int, dict[str, Any] | None, str, str]:
    """Exit status, the --json document (when written), stdout and stderr."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    json_path = next((Path(a) for a in args if str(a).endswith(".out.json")), None)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    doc = json.loads(json_path.read_text()) if json_path and json_path.exists() else None
    return status, doc, out.getvalue(), err.getvalue()


def raw_inspect_scores(samples: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per sample id, its epochs' 'includes' scores, read straight from the records."""
    found: dict[str, list[float]] = {}
    for sample in sorted(samples, key=lambda s: s["epoch"]):
        found.setdefault(str(sample["id"]), []).append(
            LETTER[sample["scores"]["includes"]["value"]]
        )
    return found


def expected(base: dict[str, list[float]], cand: dict[str, list[float]], **rule: Any) -> Any:
    ids = [i for i in base if i in cand]
    return compare([base[i] for i in ids], [cand[i] for i in ids], **rule)


def close(doc: dict[str, Any], comparison: Any) -> None:
    want = asdict(comparison)
    for key, value in doc["comparison"].items():
        if isinstance(value, float):
            assert value == pytest.approx(want[key], abs=1e-12), key
        else:
            assert value == want[key], key


@pytest.mark.parametrize("gate", ["regression", "non-inferiority"])
def test_two_inspect_logs_give_the_verdict_compare_gives(tmp_path: Path, gate: str) -> None:
    base = json.loads((FIXTURES / "base.json").read_text())
    cand = json.loads((FIXTURES / "candidate.json").read_text())
    assert base["eval"]["model"] == cand["eval"]["model"] == "mockllm/model"
    margin = ["--margin", "0.05"] if gate == "non-inferiority" else []
    out = tmp_path / "r.out.json"
    status, doc, text, _ = run_cli(
        "compare", FIXTURES / "base.json", FIXTURES / "candidate.json", "--gate", gate,
        *margin, "--json", out,
    )  # fmt: skip
    want = expected(
        raw_inspect_scores(base["samples"]), raw_inspect_scores(cand["samples"]),
        gate=gate, margin=0.05 if margin else 0.0,
    )  # fmt: skip
    assert doc is not None
    close(doc, want)
    assert want.verdict in ("regression", "not-non-inferior")
    assert status == 1 and doc["failed"]
    assert doc["base"]["cases"] == doc["comparison"]["n_pairs"] == 30
    assert doc["base"]["answers"] == 60  # two epochs: a case's repeats
    assert f"{want.verdict.upper()} — Δ {want.mean:+.3f}" in text
    assert "q2: 1.000 → 0.000 (-1.000)" in text


@pytest.mark.skipif(not HAS_ZSTD, reason="zipfile-zstd (the inspect extra) not installed")
def test_an_eval_archive_reads_as_its_json_twin() -> None:
    from pytest_modelguard.scorefiles.read import Choice, read_scores

    archive = read_scores(FIXTURES / "candidate.eval", Choice("candidate"))
    twin = read_scores(FIXTURES / "candidate.json", Choice("candidate"))
    assert archive.scores == twin.scores and archive.model == twin.model
    assert (archive.kind, archive.scorer, archive.context) == (
        "Inspect log",
        "includes",
        "task arith",
    )


def test_an_eval_archive_without_a_zstd_reader_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        inspect_log, "_readable", lambda: {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
    )
    status, _, _, err = run_cli("compare", FIXTURES / "base.json", FIXTURES / "candidate.eval")
    assert status == 4
    assert "candidate.eval: its members are zstd-compressed" in err
    assert "inspect log convert --to json" in err


@pytest.mark.skipif(
    importlib.util.find_spec("inspect_ai") is None, reason="inspect_ai (the inspect extra) absent"
)
def test_logs_written_by_todays_inspect(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(FIXTURES))
    try:
        from make_logs import write_logs
    finally:
        sys.path.remove(str(FIXTURES))
    logs = write_logs(tmp_path, (("base", "json"), ("candidate", "eval")))
    status, doc, _, _ = run_cli(
        "compare", logs["base.json"], logs["candidate.eval"], "--json", tmp_path / "r.out.json"
    )
    committed = run_cli(
        "compare", FIXTURES / "base.json", FIXTURES / "candidate.json",
        "--json", tmp_path / "c.out.json",
    )[1]  # fmt: skip
    assert status == 1 and doc is not None and committed is not None
    assert doc["comparison"] == committed["comparison"]


def report(tmp_path: Path, rows: list[ItemResult], baseline: str) -> Path:
    path = tmp_path / "run.json"
    doc = {"version": 1, "baseline": baseline, "cases": [r.to_dict() for r in rows]}
    path.write_text(json.dumps(doc))
    return path


def item(model: str, case: str, score: float | None, *, suite: str = "s", repeat: int = 0,
         unit: str = "", error: str | None = None) -> ItemResult:  # fmt: skip
    return ItemResult(suite=suite, case_id=case, model=model, repeat=repeat, score=score,
                      passed=bool(score), unit=unit or f"u-{case}", error=error)  # fmt: skip


def test_our_report_pairs_as_the_gate_pairs(tmp_path: Path) -> None:
    """One file holds both models: the base is its baseline, the candidate its other model;
    the same prompt graded in two suites is one case; errored answers are counted."""
    rows = []
    for i in range(40):
        rows.append(item("base", f"c{i}", 1.0))
        rows.append(item("cand", f"c{i}", 0.0 if i % 4 == 0 else 1.0))
    rows.append(item("base", "c0-again", 1.0, suite="other", unit="u-c0"))  # same prompt
    rows.append(item("cand", "c0-again", 0.0, suite="other", unit="u-c0"))
    rows.append(item("cand", "c1", None, repeat=1, error="HTTP 500"))
    path = report(tmp_path, rows, "base")
    out = tmp_path / "r.out.json"
    status, doc, text, _ = run_cli("compare", path, path, "--json", out)
    assert doc is not None
    close(doc, compare([1.0] * 40, [0.0 if i % 4 == 0 else 1.0 for i in range(40)]))
    assert doc["base"]["model"] == "base" and doc["candidate"]["model"] == "cand"
    assert doc["candidate"]["left_out"] == {"errored answer (no score)": 1}
    assert status == 1 and "candidate: 1 left out: errored answer (no score)" in text


def test_a_file_of_several_candidates_asks_which(tmp_path: Path) -> None:
    rows = [item(m, f"c{i}", 1.0) for m in ("base", "a", "b") for i in range(12)]
    path = report(tmp_path, rows, "base")
    status, _, _, err = run_cli("compare", path, path)
    assert status == 4
    assert "several models ('a', 'b'): pick one with --candidate-model" in err
    assert run_cli("compare", path, path, "--candidate-model", "b")[0] == 0


def write_csv(
    path: Path, rows: list[tuple[str, str]], header: tuple[str, ...] = ("id", "score")
) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_repeats_unpaired_ids_and_empty_scores_are_reported(tmp_path: Path) -> None:
    base = write_csv(tmp_path / "a.csv", [(f"c{i}", "1") for i in range(30)] + [("only-a", "1")])
    rows = [(f"c{i}", "0" if i < 10 else "1") for i in range(30)]
    rows += [("c5", "1"), ("only-b", "0"), ("c7", "")]  # a repeat, an unpaired id, no score
    cand = write_csv(tmp_path / "b.csv", rows)
    status, doc, text, _ = run_cli("compare", base, cand, "--json", tmp_path / "r.out.json")
    cand_scores = [[0.0, 1.0] if i == 5 else [0.0 if i < 10 else 1.0] for i in range(30)]
    assert doc is not None
    close(doc, compare([[1.0]] * 30, cand_scores))
    assert doc["base"]["unpaired"] == ["only-a"] and doc["candidate"]["unpaired"] == ["only-b"]
    assert doc["candidate"]["left_out"] == {"empty score": 1}
    assert "only in the base (not compared): only-a" in text
    assert status == 1


PROMPTFOO_ROW = {
    "promptIdx": 0, "testIdx": 0, "provider": {"id": "openai:gpt-4.1", "label": ""},
    "testCase": {"description": "greeting", "vars": {}}, "success": True, "score": 1,
    "namedScores": {"tone": 0.5}, "latencyMs": 10, "failureReason": 0,
}  # fmt: skip


def promptfoo_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"evalId": "eval-1", "results": {"version": 3, "results": rows}}))
    return path


def test_promptfoo_results_pair_by_prompt_and_test(tmp_path: Path) -> None:
    def rows(provider: str, failing: set[int]) -> list[dict[str, Any]]:
        return [
            {**PROMPTFOO_ROW, "provider": {"id": provider}, "promptIdx": p, "testIdx": t,
             "score": 0 if t in failing and p == 0 else 1, "success": t not in failing}
            for p in range(2) for t in range(20)
        ]  # fmt: skip

    both = promptfoo_file(tmp_path / "results.json", rows("a", set()) + rows("b", {1, 2, 3, 4}))
    status, doc, text, _ = run_cli(
        "compare", both, both, "--base-model", "a", "--candidate-model", "b",
        "--json", tmp_path / "r.out.json",
    )  # fmt: skip
    assert doc is not None and doc["comparison"]["n_pairs"] == 40
    want = [0.0 if (p == 0 and t in {1, 2, 3, 4}) else 1.0 for p in range(2) for t in range(20)]
    close(doc, compare([1.0] * 40, want))
    assert "prompt 1 · test 2 (greeting): 1.000 → 0.000" in text
    pass_doc = run_cli("compare", both, both, "--base-model", "a", "--candidate-model", "b",
                       "--scorer", "pass", "--json", tmp_path / "p.out.json")[1]  # fmt: skip
    assert pass_doc is not None and pass_doc["comparison"]["mean"] == pytest.approx(-8 / 40)
    assert status == 1


def test_a_real_promptfoo_export_pairs_one_prompt_across_its_providers(tmp_path: Path) -> None:
    """promptfoo numbers each prompt × provider (promptIdx 0 for gpt-5, 1 for gpt-5-mini):
    the rows of one prompt and test still pair (by promptId); failureReason 1 (an assertion
    failed) keeps its score."""
    export = paths.FIXTURES / "promptfoo_results" / "sample-export.json"
    rows = json.loads(export.read_text())["results"]["results"]
    score = {(r["provider"]["id"], r["testIdx"]): r["score"] for r in rows}
    status, doc, text, _ = run_cli(
        "compare", export, export, "--base-model", "openai:gpt-5",
        "--candidate-model", "openai:gpt-5-mini", "--json", tmp_path / "r.out.json",
    )  # fmt: skip
    assert doc is not None and doc["comparison"]["n_pairs"] == 2
    base = [score[("openai:gpt-5", t)] for t in (0, 1)]
    cand = [score[("openai:gpt-5-mini", t)] for t in (0, 1)]
    close(doc, compare(base, cand))
    assert doc["verdict"] == "inconclusive" and status == 0  # two cases decide nothing
    assert "test 1: 0.500 → 0.750 (+0.250)" in text
    assert [c["id"] for c in doc["cases"]] == ["test 2", "test 1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"evalId": "x", "results": {"results": [{"promptIdx": 0, "testIdx": 0, "score": 7}]}}',
            "results[0].score: 7 is not a score in [0, 1]",
        ),
        (
            '{"evalId": "x", "results": {"results": [{"testIdx": -1, "score": 1}]}}',
            "results[0].testIdx: -1 is not a position",
        ),
        ('{"evalId": "x", "results": {"results": ["row"]}}', "results[0]: not a result row"),
        ('{"a": 1}', "not a result file modelguard compare reads"),
        ('{"a": [1, 2', "line 1: not JSON"),
        ('{"a": NaN}', "not a result file"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 100 levels"),
        ('{"eval": {"model": "m"}, "samples": []}', "the log has no samples"),
        (
            '{"eval": {}, "samples": [{"id": "q", "epoch": 1, "scores": {"s": {"value": "Z"}}}]}',
            "samples[0].scores.s: 'Z' is not a score",
        ),
        (
            '{"eval": {}, "samples": [{"id": true, "scores": {"s": {"value": 1}}}]}',
            "samples[0].id: True is not a sample id",
        ),
        (
            '{"eval": {}, "samples": [{"id": 1, "scores": {"s": {"value": {"a": 1}}}}]}',
            "a scorer of several values",
        ),
        (
            '{"eval": {}, "samples": [{"id": 1, "scores": {"s": {"value": 1}, "t": {}}}]}',
            "several scorers ('s', 't'): pick one with --scorer",
        ),
        ("id,score\nc1,1.5\n", "b.csv:2: score: '1.5' is not a score in [0, 1]"),
        ("id,score\nc1,abc\n", "b.csv:2: score: 'abc' is not a score"),
        ("id,score\nc1,nan\n", "b.csv:2: score: 'nan' is not a score in [0, 1]"),
        ("name,value\nc1,1\n", "b.csv:1: no id or score column"),
        ("id,score\n,1\n", "b.csv:2: id: empty"),
        ("id,score\nc1\n", "b.csv:2: 1 columns; the header has more"),
        ("", "empty: a CSV needs a header row"),
    ],
)
def test_hostile_files_are_named_not_tracebacks(tmp_path: Path, content: str, message: str) -> None:
    base = write_csv(tmp_path / "a.csv", [("c1", "1")])
    name = "b.csv" if content.startswith(("id", "name")) or not content else "b.json"
    bad = tmp_path / name
    bad.write_text(content)
    status, _, _, err = run_cli("compare", base, bad)
    assert status == 4, err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["missing", "directory", "not utf-8", "fifo"])
def test_files_that_cannot_be_read(tmp_path: Path, kind: str) -> None:
    import os

    base = write_csv(tmp_path / "a.csv", [("c1", "1")])
    bad = tmp_path / "bad.json"
    if kind == "directory":
        bad.mkdir()
    elif kind == "not utf-8":
        bad.write_bytes(b"\xff\xfe\x00id")
    elif kind == "fifo":
        os.mkfifo(bad)
    status, _, _, err = run_cli("compare", base, bad)
    assert status == 4
    assert str(bad) in err and "Traceback" not in err


def test_a_zip_bomb_is_refused_before_it_is_inflated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inspect_log, "MAX_MEMBER_BYTES", 2**20)
    bomb = tmp_path / "bomb.eval"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", json.dumps({"eval": {"model": "m"}, "status": "success"}))
        archive.writestr("samples/q_epoch_1.json", b"{" + b" " * (3 * 2**20) + b"}")
    status, _, _, err = run_cli("compare", bomb, bomb)
    assert status == 4
    assert "samples/q_epoch_1.json inflates to 3 MB" in err


def test_mismatched_scorers_are_refused_unless_named(tmp_path: Path) -> None:
    def log(path: Path, scorer: str) -> Path:
        samples = [
            {"id": f"q{i}", "epoch": 1, "scores": {scorer: {"value": "C"}}} for i in range(12)
        ]
        path.write_text(json.dumps({"eval": {"model": "m", "task": "t"}, "samples": samples}))
        return path

    a, b = log(tmp_path / "a.json", "match"), log(tmp_path / "b.json", "includes")
    status, _, _, err = run_cli("compare", a, b)
    assert status == 4 and "scorers differ: 'match' in the base, 'includes' in the candidate" in err
    status, _, text, _ = run_cli("compare", a, b, "--base-scorer", "match",
                                 "--candidate-scorer", "includes")  # fmt: skip
    assert status == 0 and "note: scorers differ" in text


def test_surrogates_and_control_characters_in_ids_are_printable(tmp_path: Path) -> None:
    ids = [f"c{i}\x1b[31m\ud800" for i in range(12)]
    samples = [{"id": i, "epoch": 1, "scores": {"s": {"value": 1}}} for i in ids]
    worse = [{"id": i, "epoch": 1, "scores": {"s": {"value": 0}}} for i in ids]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"eval": {"model": "m"}, "samples": samples}))
    b.write_text(json.dumps({"eval": {"model": "n"}, "samples": worse}))
    status, _, text, _ = run_cli("compare", a, b, "--markdown", tmp_path / "r.md")
    assert status == 1
    assert "\x1b" not in text and "\ud800" not in text
    assert "\x1b" not in (tmp_path / "r.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--confidence", "1.5"], "--confidence: must be a number in [0.5, 1)"),
        (["--margin", "-0.1"], "--margin: must be a number in [0, 1)"),
        (["--gate", "non-inferiority"], "margin"),
    ],
)
def test_bad_options(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_csv(tmp_path / "a.csv", [(f"c{i}", "1") for i in range(12)])
    try:
        status = main(["compare", str(base), str(base), *args])
    except SystemExit as exc:  # argparse's usage error
        status = int(exc.code or 0)
    assert status in (2, 4)
    assert message in capsys.readouterr().err


def test_an_unwritable_output_is_refused_before_reading(tmp_path: Path) -> None:
    base = write_csv(tmp_path / "a.csv", [(f"c{i}", "1") for i in range(12)])
    status, _, _, err = run_cli("compare", base, base, "--json", tmp_path)
    assert status == 4 and "is a directory; name a file" in err
