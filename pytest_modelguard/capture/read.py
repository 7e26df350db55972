"""Reading a traces database: filters, light metadata scans, and full Trace records by id."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from ..providers.base import Usage
from .store import COLUMNS, PROVIDERS, SCHEMA_VERSION, USAGE_FIELDS, Trace

_READABLE = frozenset(("id", *COLUMNS))
_CHUNK = 500


class TraceDbError(Exception):
    """A traces database that cannot be read; the message names the file and the fix."""


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """Which stored calls to read: a time window [since, until) and model names."""

    since: float | None = None
    until: float | None = None
    models: tuple[str, ...] = ()


EVERYTHING = TraceFilter()


def parse_time(text: str, *, end: bool = False) -> float:
    """Unix seconds of an ISO 8601 date or date-time (UTC unless it names a zone).

    With ``end``, a bare date means the end of that day, so ``--until 2025-01-31``
    includes the 31st.
    """
    text = text.strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(
            f"invalid date {text!r}: use ISO 8601, e.g. 2025-01-31 or 2025-01-31T14:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end and len(text) == 10:
        when += timedelta(days=1)
    return when.timestamp()


class TraceDb:
    """A traces database opened read-only (it is never modified)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._conn = _open_for_reading(self.path)

    def __enter__(self) -> TraceDb:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def scan(
        self, columns: Sequence[str], where: TraceFilter | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows of the named columns, in call order; cheap when the columns are small."""
        unknown = set(columns) - _READABLE
        if unknown:
            raise ValueError(f"unknown trace columns: {sorted(unknown)}")
        clauses, args = _where(where or EVERYTHING)
        query = f"SELECT {', '.join(columns)} FROM traces{clauses} ORDER BY started_at, id"
        try:
            for row in self._conn.execute(query, args):
                yield dict(zip(columns, row, strict=True))
        except sqlite3.Error as exc:
            raise TraceDbError(f"{self.path}: cannot read traces: {exc}") from None

    def traces(self, ids: Sequence[int]) -> dict[int, Trace]:
        """Full records of the calls with these row ids."""
        found: dict[int, Trace] = {}
        query = f"SELECT id, {', '.join(COLUMNS)} FROM traces WHERE id IN "
        try:
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                rows = self._conn.execute(query + f"({', '.join('?' * len(chunk))})", chunk)
                for row in rows:
                    found[row[0]] = _from_row(dict(zip(COLUMNS, row[1:], strict=True)))
        except (sqlite3.Error, ValueError) as exc:
            raise TraceDbError(f"{self.path}: cannot read traces: {exc}") from None
        return found


def _open_for_reading(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise TraceDbError(
            f"{path}: no such traces database (record one with "
            "pytest_modelguard.capture.capture(client, db=...))"
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise TraceDbError(f"{path}: cannot open: {exc}") from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'traces'").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise TraceDbError(f"{path}: not a readable traces database: {exc}") from None
    if version > SCHEMA_VERSION or not has_table:
        conn.close()
        problem = (
            (
                f"schema version {version} is newer than this modelguard's ({SCHEMA_VERSION}); "
                "upgrade pytest-modelguard"
            )
            if has_table
            else "not a modelguard traces database"
        )
        raise TraceDbError(f"{path}: {problem}")
    return conn


def _where(where: TraceFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if where.since is not None:
        clauses.append("started_at >= ?")
        args.append(where.since)
    if where.until is not None:
        clauses.append("started_at < ?")
        args.append(where.until)
    if where.models:
        clauses.append("(" + " OR ".join(_model_clause(name, args) for name in where.models) + ")")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _model_clause(name: str, args: list[Any]) -> str:
    """Match ``model`` or ``provider:model`` against the requested or the answering model."""
    provider, _, model = name.partition(":")
    if provider not in PROVIDERS:
        provider, model = "", name
    args += [model, model] + ([provider] if provider else [])
    return "((model = ? OR response_model = ?)" + (" AND provider = ?)" if provider else ")")


def _from_row(row: dict[str, Any]) -> Trace:
    known = row[USAGE_FIELDS[0]] is not None
    usage = Usage(**{n: int(row[n] or 0) for n in USAGE_FIELDS}) if known else None
    return Trace(
        provider=row["provider"], model=row["model"],
        messages=tuple(json.loads(row["messages"])), params=json.loads(row["params"]),
        output=row["output"], usage=usage, cost_usd=row["cost_usd"],
        latency_s=float(row["latency_s"]), started_at=float(row["started_at"]),
        tags=tuple(json.loads(row["tags"])), stream=bool(row["stream"]),
        response_model=row["response_model"], finish_reason=row["finish_reason"],
        error=row["error"], host=row["host"],
    )  # fmt: skip
