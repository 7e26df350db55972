"""Stored runs: ``--modelguard-save`` keeps a run's JSON report, ``--modelguard-compare`` reads one.

Runs live in ``<cache_dir>/runs/`` as ``<UTC time>.json`` (names sort by time), written
atomically so an interrupted save never leaves half a report to compare against.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import HistoryError
from ..core.jsonfile import write_json
from ..records.results import ItemResult
from .run_schema import read_report

RUNS_DIR = "runs"
LAST = "last"


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run read back from its JSON report."""

    path: Path
    saved_at: str | None
    results: tuple[ItemResult, ...]
    partial: str | None = None  # why the run left cases or checks out (None: complete)


def runs_dir(cache_dir: Path) -> Path:
    return cache_dir / RUNS_DIR


def save_run(doc: dict[str, Any], cache_dir: Path, now: datetime | None = None) -> Path:
    """Write the run's report under ``runs/`` with the time it was saved; returns the path."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    directory = runs_dir(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = moment.strftime("%Y-%m-%dT%H-%M-%SZ")
    saved_at = moment.isoformat(timespec="seconds")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        os.fchmod(fd, 0o644)  # like the cache's entries: readable as any report
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            write_json({**doc, "saved_at": saved_at}, handle)
        return _publish(tmp, directory, stamp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _publish(tmp: str, directory: Path, stamp: str) -> Path:
    """Link the written file under the first free name: two saves in one second both stay."""
    n = 0
    while True:
        path = directory / (f"{stamp}.json" if n == 0 else f"{stamp}-{n}.json")
        try:
            os.link(tmp, path)
        except FileExistsError:
            n += 1
        else:
            return path


_RUN_NAME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ)(?:-(\d+))?\.json")


def _saved_order(path: Path) -> tuple[str, int]:
    """``<time>Z.json`` then ``<time>Z-1.json``, ``<time>Z-2.json`` (saved in the same second)."""
    match = _RUN_NAME.fullmatch(path.name)
    assert match is not None
    return match[1], int(match[2] or 0)


def stored_paths(cache_dir: Path) -> list[Path]:
    """The stored runs, oldest first."""
    directory = runs_dir(cache_dir)
    found = directory.glob("*.json") if directory.is_dir() else []
    return sorted((p for p in found if _RUN_NAME.fullmatch(p.name)), key=_saved_order)


def find_run(spec: str, cache_dir: Path, cwd: Path) -> Path:
    """``last`` → the newest stored run; anything else is a path to a JSON report."""
    if spec == LAST:
        directory = runs_dir(cache_dir)
        stored = stored_paths(cache_dir)
        if not stored:
            raise HistoryError(
                f"--modelguard-compare last: no stored run in {directory}; "
                "run once with --modelguard-save first"
            )
        return stored[-1]
    path = Path(spec)
    path = path if path.is_absolute() else cwd / path
    if not path.is_file():
        raise HistoryError(f"--modelguard-compare: {spec}: no such file")
    return path


def shown_path(path: Path) -> str:
    """The path relative to the working directory when it lies under it, as a user would type."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_run(path: Path) -> StoredRun:
    """Read a stored run (or any ``--modelguard-json`` report) back into its results.

    Checked against the report's schema (``run_schema``): HistoryError naming the file
    and the field of anything a report never holds.
    """
    doc = read_report(path)
    return StoredRun(
        path=path,
        saved_at=doc.get("saved_at"),
        results=tuple(ItemResult.from_dict(case) for case in doc["cases"]),
        partial=doc.get("partial"),
    )
