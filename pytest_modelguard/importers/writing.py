"""Writing an imported suite (and the config snippet beside it): checked first, never over an
existing file unless ``--force``, every string valid Unicode."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..core.errors import ExportError
from ..core.safety import output_problem, valid_text
from ..grading import build_grader
from ..suite import Suite
from ..suite import write_suite as write_suite_checked

SUFFIX = ".modelguard.yaml"


def targets(out_dir: Path, name: str, extras: Sequence[str], force: bool) -> list[Path]:
    """``DIR/NAME.modelguard.yaml`` and its companions; ExportError if any exists (no --force)."""
    if not name or any(c in name for c in "/\\:[]\n") or name.startswith("."):
        raise ExportError(f"suite name {name!r}: use letters, digits, '-' and '_' (no path)")
    paths = [out_dir / f"{name}{SUFFIX}", *(out_dir / f"{name}{extra}" for extra in extras)]
    for path in paths:
        problem = output_problem(path)
        if problem:
            raise ExportError(problem)
    existing = [str(path) for path in paths if path.exists()]
    if existing and not force:
        raise ExportError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written: choose another -o DIR or pass --force to replace"
        )
    return paths


def write_suite(path: Path, text: str) -> None:
    """Write atomically once the suite loader accepts the text and every grader builds."""
    write_suite_checked(path, text, _build_graders, what="imported")


def _build_graders(suite: Suite) -> None:
    for case in suite.cases:
        for spec in case.graders:
            build_grader(spec)


def write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(valid_text(text), encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from None
