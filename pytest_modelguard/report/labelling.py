"""``modelguard label sample`` and ``label import``: a report's answers to a sheet, and back.

The report is read like a stored run (``verdict.run_schema``: a malformed one is an
error naming the file and field). A sheet's row is imported only when it can apply: a
row naming a case its suite lacks or an ``answer_sha`` that is not the hash of the
answer the row shows is skipped, counted by reason with its first position; a row for a
model pyproject.toml does not configure is kept (a ``--models`` run may use it) and
counted. Nothing is taken silently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ConfigError, SuiteError
from ..records.parts import shown_text
from ..suite import load_suite
from ..suite.labels import (
    Answered,
    Label,
    Labels,
    LabelsError,
    answer_sha,
    labels_path,
    load_labels,
    sample_for_labelling,
    sheet_rows,
    write_label_sheet,
    write_labels,
)
from ..verdict.run_schema import read_report

_CUT = re.compile(r"… \([\d.]+ [KM]?B, [\d.]+ [KM]?B not shown; answer_sha [0-9a-f]{16}\)\Z")
_FORMULA_GUARD = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def suite_files(root: Path) -> dict[str, Path]:
    """Suite name → its file, for every ``*.modelguard.yaml`` under ``root`` that loads."""
    found: dict[str, Path] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
        for name in sorted(files):
            if name.endswith((".modelguard.yaml", ".modelguard.yml")):
                path = Path(folder) / name
                try:
                    found.setdefault(load_suite(path, root).name, path)
                except SuiteError:
                    continue  # not ours to report here; pytest will
    return found


def _prompts(suites: Mapping[str, Path], root: Path) -> dict[tuple[str, str], str]:
    """(suite, case) → the case's last user message, as shown in the label sheet."""
    prompts = {}
    for path in suites.values():
        suite = load_suite(path, root)
        for case in suite.cases:
            users = [m for m in case.messages if m.get("role") == "user"] or list(case.messages)
            content = users[-1].get("content", "") if users else ""
            prompts[(suite.name, case.id)] = shown_text(content)  # an image by its label
    return prompts


def sample_sheet(report: Path, n: int, seed: int, output: Path, root: Path) -> list[Answered]:
    """Write a seeded sample of the report's answers as a sheet; returns the sample.

    HistoryError for a malformed report, ValueError when nothing can be labelled.
    """
    cases = read_report(report)["cases"]
    prompts = _prompts(suite_files(root), root)
    seen: dict[tuple[str, str, str], Answered] = {}
    for row in cases:
        if row.get("error") or row.get("repeat", 0) != 0 or "::" in row["suite"]:
            continue  # errors have no answer; Python tests have no suite case to label
        key = (row["suite"], row["id"], row["model"])
        prompt = prompts.get((row["suite"], row["id"]), "")
        text = row.get("output") or ""
        seen.setdefault(key, Answered(*key, prompt, text, sha=row.get("answer_sha") or ""))
    if not seen:
        raise ValueError(f"{report}: no answered suite cases to label")
    sample = sample_for_labelling(list(seen.values()), n, seed)
    try:
        write_label_sheet(output, sample)
    except OSError as exc:
        raise ValueError(f"{output}: cannot write the sheet: {exc.strerror or exc}") from None
    return sample


@dataclass
class Imported:
    """What ``label import`` wrote, per labels file, and the rows it skipped."""

    written: list[tuple[str, Path, int, int]] = field(default_factory=list)  # suite, file, new, all
    skipped: dict[str, int] = field(default_factory=dict)  # reason → rows
    first: dict[str, str] = field(default_factory=dict)  # reason → file:line of the first
    unconfigured: dict[str, str] = field(default_factory=dict)  # model → its first row
    models_checked: bool = True

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.first.setdefault(reason, where)


def import_sheet(sheet: Path, root: Path, models: set[str] | None) -> Imported:
    """Merge a filled sheet's labels into the labels file beside each suite.

    ``models``: the project's model names (None: not known, not checked). LabelsError for
    a sheet or labels file that cannot be read, ValueError when nothing can be imported.
    """
    rows = sheet_rows(sheet)
    if not rows:
        raise ValueError(f"{sheet}: no row has a label yet (fill the label column)")
    suites = suite_files(root)
    missing = sorted({label.suite for label, _ in rows} - set(suites))
    if missing:
        raise ValueError(f"{sheet}: suite {missing[0]!r} has no *.modelguard.yaml under {root}")
    done = Imported(models_checked=models is not None)
    case_ids = {name: {c.id for c in load_suite(path, root).cases} for name, path in suites.items()}
    by_suite: dict[str, list[Label]] = {}
    for label, answer in rows:
        reason = _unusable(label, answer, case_ids[label.suite])
        if reason is not None:
            done.skip(reason, label.where)
            continue
        if models is not None and label.model not in models:
            done.unconfigured.setdefault(label.model, label.where)
        by_suite.setdefault(label.suite, []).append(label)
    if not by_suite:
        raise ValueError(f"{sheet}: no row could be imported ({_skipped_text(done)})")
    Labels(label for labels in by_suite.values() for label in labels)  # conflicts: LabelsError
    for name, new in sorted(by_suite.items()):
        path = labels_path(suites[name])
        old = load_labels(path) if path.is_file() else Labels()
        keys = {label.key for label in new}
        merged = [label for label in old if label.key not in keys] + new
        try:
            write_labels(path, merged)
        except OSError as exc:
            raise LabelsError(f"{path}: cannot write: {exc.strerror or exc}") from None
        done.written.append((name, path, len(new), len(merged)))
    return done


def _unusable(label: Label, answer: str, cases: set[str]) -> str | None:
    """Why a sheet row's label cannot apply, or None."""
    if label.case not in cases:
        return "case not in its suite"
    if answer and not _shows(answer, label.answer_sha):
        return "answer_sha is not the hash of the answer the row shows (edited?)"
    return None


def _shows(answer: str, sha: str) -> bool:
    """Whether the sheet's answer cell is the answer hashed as ``sha`` (a cut cell is taken
    at its word: the report's `answer_sha` of the whole answer)."""
    if _CUT.search(answer):
        return True
    candidates = {answer, answer.replace("\r\n", "\n")}
    if answer.startswith(_FORMULA_GUARD):  # the sheet's guard against formulas
        candidates |= {c[1:] for c in candidates}
    return any(answer_sha(c) == sha for c in candidates)


def _skipped_text(done: Imported) -> str:
    return "; ".join(
        f"skipped {n}: {why} (first at {done.first[why]})"
        for why, n in sorted(done.skipped.items(), key=lambda item: -item[1])
    )


def skipped_lines(done: Imported) -> list[str]:
    """The summary's lines of skipped rows, most frequent reason first."""
    lines = [f"  {part}" for part in _skipped_text(done).split("; ") if part]
    for model, where in done.unconfigured.items():
        lines.append(
            f"  kept labels for model {model!r}, which pyproject.toml does not configure "
            f"(first at {where}): they apply only to runs that name it"
        )
    if not done.models_checked:
        lines.append("  models not checked: no [tool.modelguard] in pyproject.toml under --root")
    return lines


def project_models(root: Path) -> set[str] | None:
    """The model names the project at ``root`` configures; None when it has none to read."""
    from ..config import Overrides, load_settings, read_pyproject

    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        table = read_pyproject(pyproject)
        if not table:
            return None
        settings = load_settings(str(pyproject), table, Overrides(), root)
    except ConfigError:
        return None
    return {m.name for m in settings.models}
