"""``modelguard compare BASE CANDIDATE``: read, pair, judge, print and write. Exit 0 when
the gate passes, 1 when it fails, 4 when a file or an option is wrong."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ScoreFileError
from ..core.jsonfile import write_json_atomic
from ..core.safety import output_problem
from .outcome import FileComparison, Rule, judge_files
from .read import Choice, read_scores
from .render import json_document, markdown, text_lines

__all__ = ["Choice", "CompareRun", "Rule", "run_compare"]


@dataclass(frozen=True)
class CompareRun:
    base: Path
    candidate: Path
    rule: Rule
    base_choice: Choice
    candidate_choice: Choice
    allow_mismatch: bool = False
    show: int = 10
    json_path: Path | None = None
    markdown_path: Path | None = None


def run_compare(run: CompareRun) -> int:
    """Print the comparison and write the files asked for; the exit status."""
    for path in (run.json_path, run.markdown_path):
        problem = path and output_problem(path)
        if problem:
            return _fail(problem)
    try:
        result = _judge(run)
    except (ScoreFileError, ValueError) as exc:  # ValueError: compare()'s option checks
        return _fail(str(exc))
    print("\n".join(text_lines(result, run.show)))
    try:
        if run.json_path:
            write_json_atomic(run.json_path, json_document(result))
        if run.markdown_path:
            run.markdown_path.parent.mkdir(parents=True, exist_ok=True)
            run.markdown_path.write_text(markdown(result, run.show), encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}")
    return 1 if result.failed else 0


def _judge(run: CompareRun) -> FileComparison:
    base = read_scores(run.base, run.base_choice)
    candidate = read_scores(run.candidate, run.candidate_choice)
    return judge_files(base, candidate, run.rule, allow_mismatch=run.allow_mismatch)


def _fail(message: str) -> int:
    print(f"modelguard compare: {message}", file=sys.stderr)
    return 4
