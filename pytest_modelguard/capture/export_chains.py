"""The calls of a traces database as export reads them: each call that continues an earlier
answer (``previous_response_id``) rebuilt whole (``chains.py``), or the reason it cannot be."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from .chains import chain_of, continued, rebuilt
from .read import TraceDb, TraceFilter
from .store import Trace, plain, request_key

FETCH = 200
"""Calls read from the database at a time."""
_EARLIER_KEPT = 1024
"""Earlier calls kept while rebuilding (calls of one conversation are read once, not per turn)."""


class ChainedCalls:
    """``TraceDb.traces`` with continuing calls rebuilt; rebuilt again when read (holding
    every rebuilt history would hold each conversation once per turn)."""

    def __init__(self, db: TraceDb, where: TraceFilter | None) -> None:
        self.db, self.path = db, Path(db.path)
        self._answered = functools.lru_cache(maxsize=_EARLIER_KEPT)(self._read_answered)
        self.keys: dict[int, str] = {}  # a rebuilt call's request key
        self.problems: dict[int, str] = {}  # why a continuing call cannot be rebuilt
        continuing = sorted(db.continuing(where))
        for start in range(0, len(continuing), FETCH):
            for ident, trace in db.traces(continuing[start : start + FETCH]).items():
                if continued(trace) is None:  # not an id: left to the case's own checks
                    continue
                whole = self._rebuild(trace)
                if isinstance(whole, str):
                    self.problems[ident] = whole
                else:
                    self.keys[ident] = _key(whole)

    def traces(self, ids: Sequence[int]) -> dict[int, Trace]:
        """Full records of these calls, continuing ones rebuilt (those that cannot be are
        as stored: ``problems`` says why)."""
        found = self.db.traces(ids)
        for ident in found.keys() & self.keys.keys():
            whole = self._rebuild(found[ident])
            if isinstance(whole, Trace):
                found[ident] = whole
        return found

    def each(self, ids: Sequence[int]) -> Iterator[tuple[int, Trace]]:
        """``(id, trace)`` of these calls, read in chunks (grouping keeps only hashes)."""
        for start in range(0, len(ids), FETCH):
            chunk = ids[start : start + FETCH]
            traces = self.traces(chunk)
            yield from ((i, traces[i]) for i in chunk)

    def _rebuild(self, trace: Trace) -> Trace | str:
        chain = chain_of(trace, self._answered)
        return chain if isinstance(chain, str) else rebuilt(chain)

    def _read_answered(self, response_id: str) -> Trace | None:
        row = self.db.answered_as([response_id]).get(response_id)
        return None if row is None else self.db.traces([row]).get(row)


def _key(trace: Trace) -> str:
    """The request key the capture would have stored for the rebuilt request."""
    messages, params = (_json(v) for v in (list(trace.messages), trace.params))
    return request_key(trace.provider, trace.model, messages, params)


def _json(value: object) -> str:
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
