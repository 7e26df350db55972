"""Captured calls in SQLite: the Trace record, a non-blocking background writer, and the reader.

The writer never raises into, nor blocks, the caller: calls are queued (bounded), a
daemon thread writes them in batches (WAL mode), pending rows are flushed at exit,
and any database failure is logged once while calls go on unrecorded.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core.safety import scrub_secrets
from ..records.calls import Message, Usage
from ..records.pricing import table_price
from .media import keep_parts, media_dir

log = logging.getLogger("pytest_modelguard.capture")

SCHEMA_VERSION = 4  # 2: the tool_calls column; 3: latency_s may be NULL; 4: response_id
LATEST_TIME = 4_102_444_800.0
"""2100-01-01 UTC: a call time after it (or before 1970) is refused, never stored."""
PROVIDERS = ("openai", "anthropic")
USAGE_FIELDS = tuple(Usage.__dataclass_fields__)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS traces (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,      -- unix seconds when the call began
    provider TEXT NOT NULL,        -- openai | anthropic (the wire format)
    host TEXT NOT NULL,            -- the API host the client called
    model TEXT NOT NULL,           -- as requested
    response_model TEXT NOT NULL,  -- as answered ('' if unknown)
    request_key TEXT NOT NULL,     -- sha256 of provider, model, messages, params
    messages TEXT NOT NULL,        -- JSON, system message first
    params TEXT NOT NULL,          -- JSON
    output TEXT,                   -- NULL when the call failed
    finish_reason TEXT,
    {", ".join(f"{name} INTEGER" for name in USAGE_FIELDS)},  -- NULL when unknown
    cost_usd REAL,                 -- NULL when usage or price is unknown
    latency_s REAL,                -- NULL when unknown (imported records without timing)
    stream INTEGER NOT NULL,
    tags TEXT NOT NULL,            -- JSON list
    error TEXT,
    tool_calls TEXT,               -- JSON list of the answer's tool calls, NULL when none
    response_id TEXT               -- a Responses API answer's id, NULL when none
);
CREATE INDEX IF NOT EXISTS traces_started_at ON traces (started_at);
CREATE INDEX IF NOT EXISTS traces_response_id ON traces (response_id);
"""
COLUMNS = (
    "started_at", "provider", "host", "model", "response_model", "request_key", "messages",
    "params", "output", "finish_reason", *USAGE_FIELDS, "cost_usd", "latency_s", "stream",
    "tags", "error", "tool_calls", "response_id",
)  # fmt: skip
INSERT = f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


@dataclass(frozen=True, slots=True)
class Trace:
    """One captured call: request, answer (or error), usage, cost, latency, tags.

    ``usage`` is None when the provider did not report it (an OpenAI stream without
    ``stream_options={"include_usage": True}``, an imported record without token counts);
    ``latency_s`` is None when unknown (imported JSONL and Batch records carry no timing);
    ``cost_usd`` is filled in when stored.
    """

    provider: str
    model: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    output: str | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    latency_s: float | None = 0.0
    started_at: float = 0.0
    tags: tuple[str, ...] = ()
    stream: bool = False
    response_model: str = ""
    finish_reason: str | None = None
    error: str | None = None
    host: str = ""
    tool_calls: tuple[Mapping[str, Any], ...] = ()  # the answer's {id, name, arguments}
    response_id: str = ""  # a Responses API answer's id ("" unknown): continued by later calls

    def map_text(self, scrub: Callable[[str], str]) -> Trace:
        """A copy with ``scrub`` applied to every message text, the answer and the error."""
        return replace(
            self,
            messages=tuple(
                {**m, "content": _map_content(m.get("content"), scrub)} for m in self.messages
            ),
            output=None if self.output is None else scrub(self.output),
            error=None if self.error is None else scrub(self.error),
        )

    def key(self) -> str:
        """sha256 of the canonical request (provider, model, messages, params): dedupe key."""
        messages, params = _dumps(list(self.messages)), _dumps(self.params)
        return request_key(self.provider, self.model, messages, params)


Redactor = Callable[[Trace], "Trace | None"]
"""Scrubs a Trace before it is written; returning None drops the call."""


def _map_content(content: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(content, str):
        return scrub(content)
    if isinstance(content, list):
        return [
            {**part, "text": scrub(part["text"])}
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
            else part
            for part in content
        ]
    return content


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(provider: str, model: str, messages_json: str, params_json: str) -> str:
    """sha256 of a request from its canonical (sorted, compact) JSON parts."""
    text = "\x00".join((provider, model, messages_json, params_json))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plain(value: Any) -> Any:
    """``value`` as JSON data: SDK models dumped, omitted-argument sentinels dropped."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if not _is_sentinel(v)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return plain(dump(mode="json", exclude_unset=True))
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def _is_sentinel(value: Any) -> bool:
    return type(value).__name__ in ("NotGiven", "Omit")


@dataclass(frozen=True, slots=True)
class Pending:
    """A trace waiting for the writer, with its capture's redactor and secrets to scrub."""

    trace: Trace
    redact: Redactor | None = None
    secrets: tuple[str, ...] = ()


def to_row(pending: Pending, media: Path) -> tuple[Any, ...] | None:
    """The database row of a pending trace, redacted and scrubbed; None if redaction drops it.

    Its images, audio and files are written to ``media`` and kept in the row by digest."""
    trace = pending.trace
    messages, params = plain(list(trace.messages)), plain(trace.params)
    if pending.redact is not None:
        redacted = pending.redact(replace(trace, messages=tuple(messages), params=params))
        if redacted is None:
            return None
        trace = redacted
        messages, params = plain(list(trace.messages)), plain(trace.params)
    secrets = pending.secrets
    messages = keep_parts(messages, media, secrets)
    messages_json, params_json, tags_json = (
        scrub_secrets(_dumps(value), secrets) for value in (messages, params, list(trace.tags))
    )
    output = None if trace.output is None else scrub_secrets(trace.output, secrets)
    calls = (
        scrub_secrets(_dumps(plain(list(trace.tool_calls))), secrets) if trace.tool_calls else None
    )
    error = None if trace.error is None else scrub_secrets(trace.error, secrets)
    usage = trace.usage
    cost = trace.cost_usd if trace.cost_usd is not None else _cost(trace)
    counts = [None if usage is None else getattr(usage, name) for name in USAGE_FIELDS]
    return (
        trace.started_at, trace.provider, trace.host, trace.model, trace.response_model,
        request_key(trace.provider, trace.model, messages_json, params_json), messages_json,
        params_json, output, trace.finish_reason, *counts, cost, trace.latency_s,
        int(trace.stream), tags_json, error, calls, trace.response_id or None,
    )  # fmt: skip


def _cost(trace: Trace) -> float | None:
    if trace.usage is None or trace.error is not None:
        return None
    for model in dict.fromkeys((trace.response_model, trace.model)):
        price = table_price(trace.provider, model) if model else None
        if price is not None:
            return price.cost(trace.usage)
    return None


def connect(path: Path, timeout_s: float) -> sqlite3.Connection:
    """Open (creating if needed) a traces database in WAL mode with the current schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout_s)
    try:
        version = _version(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if version < SCHEMA_VERSION:
            _upgrade(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"schema version {version} is newer than this modelguard's ({SCHEMA_VERSION}); "
            "upgrade pytest-modelguard"
        )
    return version


def _upgrade(conn: sqlite3.Connection) -> None:
    """Create the schema, or bring an older one up to date, in one immediate transaction.

    Version 1 gains the tool_calls column; versions 1 and 2 are copied into a table whose
    latency_s may be NULL (SQLite cannot drop a NOT NULL constraint in place); version 3
    gains the response_id column.
    """
    level = conn.isolation_level
    conn.isolation_level = None
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _version(conn)  # again: another process may have upgraded meanwhile
            if version == 1:
                conn.execute("ALTER TABLE traces ADD COLUMN tool_calls TEXT")
            if version == 3:
                conn.execute("ALTER TABLE traces ADD COLUMN response_id TEXT")
            if version in (1, 2):
                conn.execute("ALTER TABLE traces RENAME TO traces_old")
                conn.execute("DROP INDEX IF EXISTS traces_started_at")
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if version in (1, 2):
                names = ", ".join(("id", *(c for c in COLUMNS if c != "response_id")))
                conn.execute(f"INSERT INTO traces ({names}) SELECT {names} FROM traces_old")
                conn.execute("DROP TABLE traces_old")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.isolation_level = level


class TraceStore:
    """A traces database fed by a daemon writer thread; ``submit`` never blocks or raises."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_pending: int = 10_000,
        batch_size: int = 500,
        busy_timeout_s: float = 1.0,
        exit_timeout_s: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.max_pending = max_pending
        self.batch_size = batch_size
        self.busy_timeout_s = busy_timeout_s
        self.exit_timeout_s = exit_timeout_s
        self.dropped = 0
        self.written = 0
        self._pending: deque[Pending] = deque()
        self._unwritten = 0
        self._closed = False
        self._warned: set[str] = set()
        self._cond = threading.Condition()
        self._thread = self._start_writer()
        _live.add(self)
        atexit.register(self.close)

    def _start_writer(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="modelguard-capture", daemon=True)
        thread.start()
        return thread

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock, queue and writer; the parent writes its own calls."""
        self._cond = threading.Condition()
        self._pending.clear()
        self._unwritten = 0
        if not self._closed:
            self._thread = self._start_writer()

    def submit(self, pending: Pending) -> None:
        """Queue a trace for writing; when the queue is full, drop it (warned once)."""
        with self._cond:
            if not self._closed and len(self._pending) < self.max_pending:
                self._pending.append(pending)
                self._unwritten += 1
                self._cond.notify()
                return
            self.dropped += 1
        self.warn_once("full", "the writer is behind (or the store closed); dropping calls")

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued trace is written (or dropped); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._unwritten == 0, timeout_s)

    def close(self) -> None:
        """Flush (up to ``exit_timeout_s``), then stop the writer. Runs at interpreter exit."""
        atexit.unregister(self.close)
        self.flush(self.exit_timeout_s)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(self.exit_timeout_s)

    @property
    def closed(self) -> bool:
        return self._closed

    def warn_once(self, kind: str, problem: str) -> None:
        """Log one warning per kind of failure for this database."""
        with self._cond:
            first = kind not in self._warned
            self._warned.add(kind)
        if first:
            log.warning(
                "modelguard capture: %s: %s (calls go on; this warning is shown once)",
                self.path,
                problem,
            )

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while (batch := self._next_batch()) is not None:
            try:
                conn = conn or self._open()
                if conn is None:
                    self._count(dropped=len(batch))
                elif not self._write(conn, batch):
                    _closed(conn)
                    conn = None  # reopen for the next batch: the file may be fixed by then
            except Exception as exc:  # never let the writer die: later calls must drain
                self.warn_once("writer", f"calls were not recorded: {exc!r}")
            finally:
                with self._cond:
                    self._unwritten -= len(batch)
                    self._cond.notify_all()
        _closed(conn)

    def _next_batch(self) -> list[Pending] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._closed)
            if not self._pending:
                return None
            count = min(len(self._pending), self.batch_size)
            return [self._pending.popleft() for _ in range(count)]

    def _open(self) -> sqlite3.Connection | None:
        try:
            return connect(self.path, self.busy_timeout_s)
        except (sqlite3.Error, OSError) as exc:
            self.warn_once("database", f"cannot open the traces database: {exc}")
            return None

    def _write(self, conn: sqlite3.Connection, batch: list[Pending]) -> bool:
        """Insert the batch in one transaction; False (warned once) if the database refused."""
        rows = []
        for pending in batch:
            try:
                row = to_row(pending, media_dir(self.path))
            except Exception as exc:  # a user's redact hook or an odd SDK object
                self._count(dropped=1)
                self.warn_once("row", f"a call was not recorded: {type(exc).__name__}: {exc}")
                continue
            if row is not None:
                rows.append(row)
        try:
            with conn:
                conn.executemany(INSERT, rows)
        except sqlite3.Error as exc:
            self._count(dropped=len(rows))
            self.warn_once("database", f"cannot write to the traces database: {exc}")
            return False
        self._count(written=len(rows))
        return True

    def _count(self, *, dropped: int = 0, written: int = 0) -> None:
        with self._cond:
            self.dropped += dropped
            self.written += written


def _closed(conn: sqlite3.Connection | None) -> None:
    """Close ``conn`` if open, ignoring errors."""
    if conn is not None:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


_stores: dict[str, TraceStore] = {}
_stores_lock = threading.Lock()
_live: weakref.WeakSet[TraceStore] = weakref.WeakSet()


def _restart_writers_after_fork() -> None:
    global _stores_lock
    _stores_lock = threading.Lock()
    for store in list(_live):
        store._after_fork()


if hasattr(os, "register_at_fork"):  # a prefork server (gunicorn --preload) keeps capturing
    os.register_at_fork(after_in_child=_restart_writers_after_fork)


def open_store(path: str | os.PathLike[str]) -> TraceStore:
    """The process's one store for ``path`` (captures of one database share a writer)."""
    key = os.path.abspath(path)
    with _stores_lock:
        store = _stores.get(key)
        if store is None or store.closed:
            store = _stores[key] = TraceStore(key)
        return store
