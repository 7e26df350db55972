"""Reading a traces database: filters, light metadata scans, and full Trace records by id."""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from ..core.errors import TraceDbError
from ..records.calls import Usage, tool_calls_from
from .store import COLUMNS, LATEST_TIME, PROVIDERS, SCHEMA_VERSION, USAGE_FIELDS, Trace

_READABLE = frozenset(("id", *COLUMNS))
_CHUNK = 500


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
        present = {row[1] for row in self._conn.execute("PRAGMA table_info(traces)")}
        self._missing = {c for c in COLUMNS if c not in present}  # older schema: read as NULL

    def _select(self, names: Sequence[str]) -> str:
        return ", ".join(f"NULL AS {n}" if n in self._missing else n for n in names)

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
        names = ("id", *columns)
        query = f"SELECT {self._select(names)} FROM traces{clauses} ORDER BY started_at, id"
        try:
            for row in self._conn.execute(query, args):
                yield self._checked(dict(zip(names, row, strict=True)), columns)
        except sqlite3.Error as exc:
            raise TraceDbError(f"{self.path}: cannot read traces: {exc}") from None

    def tool_use(self, where: TraceFilter | None = None) -> set[int]:
        """Ids of the calls that answered with tool calls or send a tool result: the only
        calls an agent conversation is made of, found without reading them (a result names
        its call: ``"tool_call_id"``, Anthropic's blocks are ``"tool_result"``)."""
        clauses, args = _where(where or EVERYTHING)
        joined = " AND " if clauses else " WHERE "
        sent = """messages LIKE '%"tool_call_id"%' OR messages LIKE '%"tool_result"%'"""
        answered = "" if "tool_calls" in self._missing else "tool_calls IS NOT NULL OR "
        query = f"SELECT id FROM traces{clauses}{joined}({answered}{sent})"
        try:
            return {row[0] for row in self._conn.execute(query, args)}
        except sqlite3.Error as exc:
            raise TraceDbError(f"{self.path}: cannot read traces: {exc}") from None

    def continuing(self, where: TraceFilter | None = None) -> set[int]:
        """Ids of the calls that name the response they continue (``previous_response_id``):
        found without reading them."""
        clauses, args = _where(where or EVERYTHING)
        joined = " AND " if clauses else " WHERE "
        query = f"""SELECT id FROM traces{clauses}{joined}params LIKE '%"previous_response_id"%'"""
        try:
            return {row[0] for row in self._conn.execute(query, args)}
        except sqlite3.Error as exc:
            raise TraceDbError(f"{self.path}: cannot read traces: {exc}") from None

    def answered_as(self, response_ids: Sequence[str]) -> dict[str, int]:
        """The row id of the answered call with each of these response ids (the latest, if
        several), among all the calls: a chain may start outside an export's filters."""
        if "response_id" in self._missing:
            return {}
        found: dict[str, int] = {}
        query = "SELECT response_id, id FROM traces WHERE error IS NULL AND response_id IN "
        try:
            for start in range(0, len(response_ids), _CHUNK):
                chunk = list(response_ids[start : start + _CHUNK])
                rows = self._conn.execute(
                    query + f"({', '.join('?' * len(chunk))}) ORDER BY id", chunk
                )
                found.update((str(ident), int(row)) for ident, row in rows)
        except sqlite3.Error as exc:
            raise TraceDbError(f"{self.path}: cannot read traces: {exc}") from None
        return found

    def _checked(self, row: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
        """The row's ``columns`` when each holds what it must; TraceDbError naming it otherwise."""
        for column in columns:
            problem = _problem(column, row[column])
            if problem:
                raise TraceDbError(f"{self.path}: row {row['id']}: {column}: {problem}")
        return {column: row[column] for column in columns}

    def traces(self, ids: Sequence[int]) -> dict[int, Trace]:
        """Full records of the calls with these row ids."""
        found: dict[int, Trace] = {}
        query = f"SELECT id, {self._select(COLUMNS)} FROM traces WHERE id IN "
        try:
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                rows = self._conn.execute(query + f"({', '.join('?' * len(chunk))})", chunk)
                for row in rows:
                    values = self._checked(dict(zip(("id", *COLUMNS), row, strict=True)), COLUMNS)
                    found[row[0]] = _from_row(values)
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


_NUMBERS = frozenset(("id", *USAGE_FIELDS, "cost_usd", "latency_s", "started_at", "stream"))
_NULLABLE = frozenset(
    (*USAGE_FIELDS, "cost_usd", "latency_s", "output", "finish_reason", "error", "tool_calls",
     "response_id")
)  # fmt: skip
_JSON = {"messages": list, "params": dict, "tags": list, "tool_calls": list}


def _problem(column: str, value: Any) -> str | None:
    """What is wrong with a stored value of ``column``, or None."""
    if value is None:
        return None if column in _NULLABLE else "missing"
    if column in _NUMBERS:
        ok = isinstance(value, int | float) and math.isfinite(value) and value >= 0
        if ok and column == "started_at" and value >= LATEST_TIME:
            return f"expected a time before 2100, got {value!r}"
        return None if ok else f"expected a number >= 0, got {str(value)[:40]!r}"
    if column in _JSON:
        try:
            data = json.loads(value)
        except (TypeError, ValueError, RecursionError):
            return "not valid JSON"
        kind = _JSON[column]
        if not isinstance(data, kind) or (
            column == "tags" and not all(isinstance(t, str) for t in data)
        ):
            return f"expected a JSON {'list' if kind is list else 'object'}"
        return None
    return None if isinstance(value, str) else f"expected text, got {str(value)[:40]!r}"


def _from_row(row: dict[str, Any]) -> Trace:
    known = row[USAGE_FIELDS[0]] is not None
    usage = Usage(**{n: int(row[n] or 0) for n in USAGE_FIELDS}) if known else None
    return Trace(
        provider=row["provider"], model=row["model"],
        messages=tuple(json.loads(row["messages"])), params=json.loads(row["params"]),
        output=row["output"], usage=usage, cost_usd=row["cost_usd"],
        latency_s=None if row["latency_s"] is None else float(row["latency_s"]),
        started_at=float(row["started_at"]),
        tags=tuple(json.loads(row["tags"])), stream=bool(row["stream"]),
        response_model=row["response_model"], finish_reason=row["finish_reason"],
        error=row["error"], host=row["host"],
        tool_calls=tool_calls_from(json.loads(row["tool_calls"] or "[]")),
        response_id=row["response_id"] or "",
    )  # fmt: skip
