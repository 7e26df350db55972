"""Human labels beside a suite: the labels file, a seeded sample to label, and a CSV sheet.

Pure (no pytest). A label is a score in [0, 1] for one answer, keyed by suite, case id,
model and the answer's text hash (`answer_sha`: the first 16 hex digits of the
SHA-256 of its UTF-8 text), so a label never applies to a different answer: `find`
returns None when the model's answer has changed, and `stale` lists such labels.

The labels file sits next to the suite, `<suite>.labels.yaml` (`labels_path`):

    labels:
    - {suite: triage, case: refund-1, model: "openai:gpt-4.1", answer_sha: 3f2a…, label: 1}

A filled label sheet (CSV, below) is also a labels file. Every problem is a
LabelsError naming the file and line.

Labelling: `sample_for_labelling` draws a seeded sample of whole cases (every model's
answer of each: what PPI needs, and the same count per model); `write_label_sheet`
writes it as a CSV to fill in a spreadsheet (prompt and answer shown, one empty
`label` column); `read_label_sheet` reads it back, skipping rows left blank.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import FileRefused, SuiteError
from ..core.formatting import capped
from ..core.safety import MAX_FILE_BYTES, read_regular_file
from .yaml_loader import LineDict, LineList, read_yaml

__all__ = [
    "SHEET_COLUMNS",
    "Answered",
    "Label",
    "Labels",
    "LabelsError",
    "answer_sha",
    "labels_path",
    "load_labels",
    "read_label_sheet",
    "sample_for_labelling",
    "sheet_rows",
    "write_label_sheet",
    "write_labels",
]

KEY_FIELDS = ("suite", "case", "model", "answer_sha")
FIELDS = (*KEY_FIELDS, "label")
SHEET_COLUMNS = ("suite", "case", "model", "answer_sha", "prompt", "answer", "label")
SHA_HEX = 16
SHEET_CHARS = 32_000
"""Of a prompt or answer in the label sheet: spreadsheets hold 32,767 characters a cell."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


class LabelsError(ValueError):
    """A labels file or sheet that cannot be used; the message names the file and line."""


def answer_sha(text: str) -> str:
    """The answer's text hash a label is keyed by: SHA-256 of its UTF-8, first 16 hex digits."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:SHA_HEX]


def labels_path(suite_path: str | Path) -> Path:
    """`<suite>.labels.yaml` beside the suite: `triage.modelguard.yaml` -> `triage.labels.yaml`."""
    path = Path(suite_path)
    stem = path.name
    for suffix in (".modelguard.yaml", ".modelguard.yml", ".yaml", ".yml"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return path.with_name(stem + ".labels.yaml")


@dataclass(frozen=True, slots=True)
class Label:
    """One human score for one answer; `where` is its file and line."""

    suite: str
    case: str
    model: str
    answer_sha: str
    score: float
    where: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.suite, self.case, self.model, self.answer_sha)


@dataclass(frozen=True, slots=True)
class Answered:
    """A model's answer to a case, as shown to the person labelling it."""

    suite: str
    case: str
    model: str
    prompt: str
    text: str
    sha: str = ""  # the whole answer's hash when ``text`` is cut (a report's `answer_sha`)

    @property
    def answer_sha(self) -> str:
        return self.sha or answer_sha(self.text)


class Labels:
    """Labels by (suite, case, model, answer_sha); the same answer twice must agree."""

    def __init__(self, labels: Iterable[Label] = ()) -> None:
        self._by_key: dict[tuple[str, str, str, str], Label] = {}
        for label in labels:
            known = self._by_key.get(label.key)
            if known is not None and known.score != label.score:
                raise LabelsError(
                    f"{label.where}: this answer is labelled {label.score:g} here but "
                    f"{known.score:g} at {known.where} (suite {label.suite!r}, case "
                    f"{label.case!r}, model {label.model!r}): keep one"
                )
            self._by_key.setdefault(label.key, label)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Label]:
        return iter(self._by_key.values())

    def merge(self, other: Iterable[Label]) -> Labels:
        """These labels and `other`'s (a conflicting score for the same answer: LabelsError)."""
        return Labels([*self, *other])

    def find(self, suite: str, case: str, model: str, text: str) -> float | None:
        """The human score of this exact answer text; None if unlabelled or labelled for another."""
        label = self._by_key.get((suite, case, model, answer_sha(text)))
        return None if label is None else label.score

    def stale(self, answers: Iterable[Answered]) -> list[Label]:
        """Labels of these answers' (suite, case, model) whose text hash matches none of them."""
        current: dict[tuple[str, str, str], set[str]] = {}
        for a in answers:
            current.setdefault((a.suite, a.case, a.model), set()).add(a.answer_sha)
        return [
            label
            for label in self
            if label.answer_sha not in current.get(label.key[:3], {label.answer_sha})
        ]


# -- the labels file -----------------------------------------------------------------------


def load_labels(path: str | Path) -> Labels:
    """The labels of a `.labels.yaml` file or of a (filled) label sheet `.csv`.

    The YAML file is read like a suite (`yaml_loader`: size, depth and alias limits, no
    tags); every problem is a LabelsError naming the file and line."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_label_sheet(path)
    try:
        root = read_yaml(path, str(path), "labels file")
    except SuiteError as exc:
        raise LabelsError(str(exc)) from None
    return Labels(_label(path, line, entry) for line, entry in _entries(path, root))


def _entries(path: Path, root: Any) -> Iterator[tuple[int, Any]]:
    """(line, value) of each item of the top-level `labels:` list."""
    if root is None:
        return
    if not isinstance(root, LineDict) or set(root) != {"labels"}:
        line = getattr(root, "line", 1)
        raise LabelsError(f"{path}:{line}: expected `labels:` and a list")
    items = root["labels"]
    if not isinstance(items, LineList):
        raise LabelsError(f"{path}:{root.key_lines['labels']}: `labels:` must be a list")
    yield from zip(items.item_lines, items, strict=True)


def _label(path: Path, line: int, entry: Any) -> Label:
    """A Label from one entry (a mapping of FIELDS); LabelsError naming file and line."""
    where = f"{path}:{line}"
    if not isinstance(entry, Mapping):
        raise LabelsError(f"{where}: expected a mapping with {', '.join(FIELDS)}, got {entry!r}")
    unknown = sorted(str(k) for k in entry if k not in FIELDS)
    if unknown:
        raise LabelsError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(FIELDS)})")
    missing = [k for k in FIELDS if k not in entry]
    if missing:
        raise LabelsError(f"{where}: missing {', '.join(missing)}")
    return _checked(where, {k: entry[k] for k in FIELDS})


def _checked(where: str, values: Mapping[str, Any]) -> Label:
    """Validate the five fields of one label."""
    names = {}
    for key in ("suite", "case", "model"):
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
            raise LabelsError(f"{where}: {key} must be a non-empty name, got {value!r}")
        names[key] = str(value)
    sha = str(values["answer_sha"]).strip().lower()
    if len(sha) < SHA_HEX or len(sha) > 64 or any(c not in "0123456789abcdef" for c in sha):
        raise LabelsError(
            f"{where}: answer_sha must be {SHA_HEX} hex digits (the first of the answer "
            f"text's SHA-256), got {values['answer_sha']!r}"
        )
    return Label(**names, answer_sha=sha[:SHA_HEX], score=_score(where, values["label"]),
                 where=where)  # fmt: skip


def _score(where: str, value: Any) -> float:
    """A label: a number in [0, 1] (1 pass, 0 fail, fractions for partial credit)."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = value.strip()
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and 0 <= value <= 1)
    ):
        raise LabelsError(
            f"{where}: label must be a number in [0, 1] (1 pass, 0 fail, 0.5 half), got {value!r}"
        )
    return float(value)


def write_labels(path: str | Path, labels: Iterable[Label]) -> None:
    """Write a `.labels.yaml` file, one label a line, sorted by suite, case, model."""
    rows = [
        {"suite": x.suite, "case": x.case, "model": x.model, "answer_sha": x.answer_sha,
         "label": x.score}
        for x in sorted(labels, key=lambda x: x.key)
    ]  # fmt: skip
    header = (
        "# modelguard labels: a human score in [0, 1] per answer; answer_sha is the first\n"
        "# 16 hex digits of the SHA-256 of the answer's text (a changed answer is unlabelled)\n"
    )
    body = yaml.safe_dump({"labels": rows}, default_flow_style=None, sort_keys=False, width=1000)
    Path(path).write_text(header + body, encoding="utf-8")


def _read(path: Path) -> str:
    try:
        return read_regular_file(path, MAX_FILE_BYTES).decode("utf-8-sig")
    except FileRefused as exc:
        raise LabelsError(f"{path}: not read: it {exc}") from None
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise LabelsError(f"{path}: not UTF-8 text (byte {exc.start})") from None


# -- labelling -----------------------------------------------------------------------------


def sample_for_labelling(
    answers: Sequence[Answered], n: int, seed: int, stratify_by_model: bool = True
) -> list[Answered]:
    """A seeded sample of about `n` answers to label, independent of the answers' order.

    `stratify_by_model` (the default): whole cases, drawn uniformly among the cases
    every model answered, with all their answers (n rounded up to whole cases), so
    each model gets the same number of labels and every labelled case has both sides
    of its delta (what PPI needs). Otherwise n answers drawn uniformly (agreement only).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    import numpy as np  # only when sampling: the suite loader imports this module

    rng = np.random.default_rng(seed)
    ordered = sorted(answers, key=lambda a: (a.suite, a.case, a.model, a.answer_sha))
    if not stratify_by_model:
        picked = rng.permutation(len(ordered))[:n]
        return [ordered[i] for i in sorted(picked)]
    models = {a.model for a in ordered}
    cases: dict[tuple[str, str], list[Answered]] = {}
    for a in ordered:
        cases.setdefault((a.suite, a.case), []).append(a)
    complete = [key for key, group in cases.items() if {a.model for a in group} == models]
    wanted = math.ceil(n / max(1, len(models)))
    chosen = sorted(rng.permutation(len(complete))[:wanted])
    return [a for i in chosen for a in cases[complete[i]]]


def write_label_sheet(path: str | Path, sample: Iterable[Answered]) -> None:
    """The sample as a CSV to fill in: SHEET_COLUMNS, `label` empty; opens in a spreadsheet.

    UTF-8 with a byte-order mark (so spreadsheets read it as UTF-8); a prompt or answer
    cell that a spreadsheet would run as a formula is shown with a leading apostrophe;
    one longer than ``SHEET_CHARS`` is cut, its size said (`answer_sha` stays the whole
    answer's, so the label still applies to it).
    """
    with Path(path).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SHEET_COLUMNS)
        for a in sample:
            row = (a.suite, a.case, a.model, a.answer_sha, _cell(a.prompt), _cell(a.text), "")
            writer.writerow(row)


def _cell(text: str) -> str:
    text = capped(text, SHEET_CHARS)
    return "'" + text if text.startswith(_FORMULA_START) else text


def read_label_sheet(path: str | Path) -> Labels:
    """The labels of a filled sheet; rows whose `label` is blank are not labelled yet."""
    return Labels(label for label, _answer in sheet_rows(path))


def sheet_rows(path: str | Path) -> list[tuple[Label, str]]:
    """Each labelled row of a filled sheet: its label (`where` is file:line) and the answer
    cell as the sheet shows it ("" without an `answer` column)."""
    path = Path(path)
    lines = _read(path).splitlines(keepends=True)
    reader = csv.DictReader(lines)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, MAX_FILE_BYTES))  # cells of sheets written before caps
    try:
        missing = [c for c in FIELDS if c not in (reader.fieldnames or [])]
        if missing:
            raise LabelsError(f"{path}:1: the header lacks the column(s) {', '.join(missing)}")
        rows = []
        start = reader.line_num + 1
        for row in reader:
            if (row.get("label") or "").strip():
                label = _checked(f"{path}:{start}", {k: row[k] for k in FIELDS})
                rows.append((label, row.get("answer") or ""))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise LabelsError(f"{path}:{start}: not valid CSV: {exc}") from None
    finally:
        csv.field_size_limit(limit)
    return rows
