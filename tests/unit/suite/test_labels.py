"""Labels beside a suite: the file, the hash check, the seeded sample, the CSV sheet."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from pytest_modelguard.suite.labels import (
    SHEET_COLUMNS,
    Answered,
    Label,
    Labels,
    LabelsError,
    answer_sha,
    labels_path,
    load_labels,
    read_label_sheet,
    sample_for_labelling,
    write_label_sheet,
    write_labels,
)

MODELS = ("openai:gpt-4.1", "anthropic:claude-haiku")


def _answers(cases: int = 100) -> list[Answered]:
    return [
        Answered("triage", f"case-{i}", model, f"prompt {i}", f"{model} says {i}\nline two")
        for i in range(cases)
        for model in MODELS
    ]


def test_answer_sha_is_the_first_16_hex_of_sha256() -> None:
    assert answer_sha("") == "e3b0c44298fc1c14"  # SHA-256 of the empty string
    assert len(answer_sha("héllo")) == 16


def test_labels_path_beside_the_suite() -> None:
    assert labels_path("suites/triage.modelguard.yaml") == Path("suites/triage.labels.yaml")
    assert labels_path("qa.yml") == Path("qa.labels.yaml")


def test_yaml_round_trip_and_hash_check(tmp_path: Path) -> None:
    text = "Refunds take 5 days."
    labels = [
        Label("triage", "refund-1", "openai:gpt-4.1", answer_sha(text), 1.0),
        Label("triage", "refund-1", "haiku", answer_sha("Ask support."), 0.5),
    ]
    path = tmp_path / "triage.labels.yaml"
    write_labels(path, labels)
    loaded = load_labels(path)
    assert len(loaded) == 2
    assert loaded.find("triage", "refund-1", "openai:gpt-4.1", text) == 1.0
    assert loaded.find("triage", "refund-1", "haiku", "Ask support.") == 0.5
    # the model's answer changed: the old label does not apply, and is reported stale
    assert loaded.find("triage", "refund-1", "openai:gpt-4.1", text + " ") is None
    now = [Answered("triage", "refund-1", "openai:gpt-4.1", "p", "Refunds take 3 days.")]
    assert [x.model for x in loaded.stale(now)] == ["openai:gpt-4.1"]
    assert [x.where for x in loaded] == [f"{path}:4", f"{path}:5"]


def test_hand_written_file(tmp_path: Path) -> None:
    sha = answer_sha("yes")
    path = tmp_path / "t.labels.yaml"
    path.write_text(
        "labels:\n"
        f"  - {{suite: t, case: 7, model: 'openai:gpt-4.1', answer_sha: '{sha}', label: 1}}\n"
        f"  - suite: t\n    case: 8\n    model: haiku\n    answer_sha: '{sha.upper()}'\n"
        "    label: 0.25\n",
        encoding="utf-8",
    )
    loaded = load_labels(path)
    assert loaded.find("t", "7", "openai:gpt-4.1", "yes") == 1.0
    assert loaded.find("t", "8", "haiku", "yes") == 0.25


SHA = answer_sha("x")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("labels: [\n", r"t.labels.yaml:2: invalid YAML"),
        ("- 1\n", r"t.labels.yaml:1: expected `labels:` and a list"),
        ("labels: 3\n", r"t.labels.yaml:1: `labels:` must be a list"),
        ("labels:\n- 3\n", r"t.labels.yaml:2: expected a mapping"),
        (
            f"labels:\n- {{suite: t, case: c, model: m, answer_sha: '{SHA}', label: 1, by: me}}\n",
            r"t.labels.yaml:2: unknown key 'by'",
        ),
        ("labels:\n- {suite: t, case: c, model: m, label: 1}\n", r":2: missing answer_sha"),
        (
            "labels:\n- {suite: t, case: c, model: m, answer_sha: 'xyz', label: 1}\n",
            r":2: answer_sha must be 16 hex digits",
        ),
        (
            f"labels:\n\n- {{suite: t, case: c, model: m, answer_sha: '{SHA}', label: 4}}\n",
            r"t.labels.yaml:3: label must be a number in \[0, 1\]",
        ),
        (
            f"labels:\n- {{suite: t, case: c, model: m, answer_sha: '{SHA}', label: true}}\n",
            r":2: label must be a number",
        ),
        (
            f"labels:\n- {{suite: '', case: c, model: m, answer_sha: '{SHA}', label: 1}}\n",
            r":2: suite must be a non-empty name",
        ),
        (
            f"labels:\n- {{suite: t, case: c, model: m, answer_sha: '{SHA}', label: 1}}\n"
            f"- {{suite: t, case: c, model: m, answer_sha: '{SHA}', label: 0}}\n",
            r"t.labels.yaml:3: this answer is labelled 0 here but 1 at .*t.labels.yaml:2",
        ),
    ],
)
def test_bad_labels_file_names_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "t.labels.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(LabelsError, match=message):
        load_labels(path)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match=r"missing\.labels\.yaml: cannot read"):
        load_labels(tmp_path / "missing.labels.yaml")
    binary = tmp_path / "b.labels.yaml"
    binary.write_bytes(b"labels: \xff\n")
    with pytest.raises(LabelsError, match=r"b\.labels\.yaml:1: cannot read labels file: not UTF-8"):
        load_labels(binary)


def test_empty_file_has_no_labels(tmp_path: Path) -> None:
    path = tmp_path / "e.labels.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert len(load_labels(path)) == 0


def test_identical_duplicates_merge() -> None:
    a = Label("t", "c", "m", SHA, 1.0, "a:1")
    assert len(Labels([a]).merge([Label("t", "c", "m", SHA, 1.0, "b:1")])) == 1


# -- sampling and the sheet ----------------------------------------------------------------


def test_sample_is_seeded_whole_cases_and_order_free() -> None:
    answers = _answers()
    sample = sample_for_labelling(answers, 40, seed=3)
    assert len(sample) == 40
    assert Counter(a.model for a in sample) == {m: 20 for m in MODELS}
    cases = Counter(a.case for a in sample)
    assert set(cases.values()) == {2}  # both answers of every labelled case
    assert sample == sample_for_labelling(list(reversed(answers)), 40, seed=3)
    assert sample != sample_for_labelling(answers, 40, seed=4)


def test_sample_rounds_up_to_whole_cases_and_skips_incomplete_ones() -> None:
    answers = _answers(10)[:-1]  # case-9 lacks the second model's answer
    sample = sample_for_labelling(answers, 5, seed=0)
    assert len(sample) == 6 and "case-9" not in {a.case for a in sample}
    assert len(sample_for_labelling(answers, 100, seed=0)) == 18


def test_unstratified_sample_is_n_answers() -> None:
    sample = sample_for_labelling(_answers(), 37, seed=1, stratify_by_model=False)
    assert len(sample) == 37 and len(set(sample)) == 37
    with pytest.raises(ValueError, match="n must be at least 1"):
        sample_for_labelling(_answers(), 0, seed=1)


def test_sheet_round_trip(tmp_path: Path) -> None:
    answers = _answers()
    answers.append(Answered("triage", "inject", MODELS[0], "=cmd()", '=HYPERLINK("x")'))
    sample = sample_for_labelling(answers, 200, seed=9)
    sheet = tmp_path / "to_label.csv"
    write_label_sheet(sheet, sample)
    with sheet.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == SHEET_COLUMNS and len(rows) == len(sample)
    assert all(not r["answer"].startswith("=") for r in rows)
    assert len(read_label_sheet(sheet)) == 0  # nothing labelled yet
    for i, row in enumerate(rows):  # a person fills in some labels, leaving others blank
        row["label"] = "" if i % 3 == 0 else ("1" if i % 2 else "0.5")
    with sheet.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    labels = load_labels(sheet)
    assert len(labels) == sum(1 for i in range(len(rows)) if i % 3)
    first = sample[1]  # row 1 was labelled "1"
    assert labels.find(first.suite, first.case, first.model, first.text) == 1.0
    merged = tmp_path / "triage.labels.yaml"
    write_labels(merged, labels)
    assert len(load_labels(merged)) == len(labels)


def test_bad_sheet_names_file_and_line(tmp_path: Path) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "suite,case,model,answer_sha,prompt,answer,label\n"
        f't,c1,m,{SHA},p,"two\nlines",1\n'
        f"t,c2,m,{SHA},p,a,yes\n",
        encoding="utf-8",
    )
    with pytest.raises(LabelsError, match=r"s.csv:4: label must be a number in \[0, 1\].*'yes'"):
        read_label_sheet(sheet)
    sheet.write_text("suite,case,answer\n", encoding="utf-8")
    with pytest.raises(LabelsError, match=r"s.csv:1: the header lacks the column\(s\) model"):
        read_label_sheet(sheet)
