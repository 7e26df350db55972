"""The JSON report is written case by case: the same text as ``json.dumps(doc, indent=2)``,
without ever holding that text (or its chunks) whole in memory."""

from __future__ import annotations

import io
import json
import tracemalloc
from typing import Any

from pytest_modelguard.core.jsonfile import write_json


def case(i: int) -> dict[str, Any]:
    grade = {"name": "équals", "score": 1.0, "passed": True, "reason": "matched 'billing'"}
    return {"suite": "s", "id": f"c{i:05d}", "model": "m", "tags": ["a"], "score": 1.0,
            "grades": [grade], "error": None, "output": "bill\ning"}  # fmt: skip


def test_the_streamed_report_is_the_same_text() -> None:
    docs: list[dict[str, Any]] = [
        {},
        {"cases": []},
        {"version": 1, "models": {"m": {"n": 2, "dimensions": {}}}, "cases": [case(0), case(1)]},
        {"version": 1, "cases": [case(0)], "saved_at": "2026-01-01T00:00:00+00:00"},
    ]
    for doc in docs:
        out = io.StringIO()
        write_json(doc, out)
        assert out.getvalue() == json.dumps(doc, indent=2) + "\n"


def peak_bytes(write: Any) -> int:
    tracemalloc.start()
    try:
        write()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class Sink(io.TextIOBase):
    """Counts what is written and keeps none of it."""

    size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def test_writing_5000_cases_holds_a_small_fraction_of_the_whole_text() -> None:
    doc = {"version": 1, "cases": [case(i) for i in range(5000)]}
    streamed, whole = Sink(), Sink()
    streaming = peak_bytes(lambda: write_json(doc, streamed))
    at_once = peak_bytes(lambda: whole.write(json.dumps(doc, indent=2) + "\n"))
    assert streamed.size == whole.size > 1_000_000
    assert streaming < whole.size / 5 < whole.size < at_once
