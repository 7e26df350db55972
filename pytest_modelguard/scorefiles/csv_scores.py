"""A CSV of ``id,score`` (and optionally ``model``) as per-case scores.

The header names the columns (any order, any case); a repeated id is that case's next
repeat; an empty score is counted, not scored; anything else that is not a score in
[0, 1] is an error naming the line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..core.errors import ScoreFileError
from .table import ScoreTable, as_score, pick

KIND = "CSV"


def read_csv_scores(path: Path, text: str, model: str | None, role: str) -> ScoreTable:
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(rows)]
    except StopIteration:
        raise ScoreFileError(f"{path}: empty: a CSV needs a header row with id,score") from None
    except csv.Error as exc:
        raise ScoreFileError(f"{path}:1: not CSV ({exc})") from None
    missing = [name for name in ("id", "score") if name not in header]
    if missing:
        raise ScoreFileError(f"{path}:1: no {' or '.join(missing)} column (it needs id,score)")
    col: dict[str, int] = {
        name: header.index(name) for name in ("id", "score", "model") if name in header
    }
    records = _records(path, rows, col)
    models = sorted({m for _, _, _, m in records})
    chosen = pick(models, model, "model", str(path), f"--{role}-model") if "model" in col else ""
    table = ScoreTable(path, KIND, chosen or path.stem, "score")
    for line, case, value, row_model in records:
        if row_model != chosen:
            continue
        if not value.strip():
            table.leave_out("empty score")
            continue
        table.add(case, as_score(value, f"{path}:{line}: score"))
    return table


def _records(path: Path, rows: Any, col: dict[str, int]) -> list[tuple[int, str, str, str]]:
    """(line, id, score text, model) of each non-blank row; ``rows`` a ``csv.reader``."""
    found = []
    try:
        for row in rows:
            line = rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(col.values()):
                raise ScoreFileError(f"{path}:{line}: {len(row)} columns; the header has more")
            case = row[col["id"]].strip()
            if not case:
                raise ScoreFileError(f"{path}:{line}: id: empty")
            found.append(
                (line, case, row[col["score"]], row[col["model"]] if "model" in col else "")
            )
    except csv.Error as exc:
        raise ScoreFileError(f"{path}:{rows.line_num}: not CSV ({exc})") from None
    return found
