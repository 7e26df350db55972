"""The files ``modelguard import`` reads, under the project's input policy.

A file is read only when it is a regular file of at most ``MAX_FILE_BYTES``
(``FileRefused`` otherwise, before anything is written). It holds one JSON document (an
object, or a list of objects) or JSON Lines. A line longer than ``MAX_LINE_BYTES``, JSON
that is not valid (``NaN`` and ``Infinity`` included), numbers beyond 64 bits or the
largest float, and nesting deeper than ``MAX_DEPTH`` are skipped with their position.
Every string comes out valid Unicode: undecodable bytes and lone surrogates become U+FFFD
(said in a note).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.safety import MAX_FILE_BYTES, printable, read_regular_file, valid_text
from ..suite.yaml_loader import MAX_DEPTH

MAX_LINE_BYTES = 16 * 2**20
"""A JSON Lines record longer than this is skipped (a chat call with its answer is far less)."""
_INT_LIMIT = 2**63
_INVALID_UTF8 = "invalid UTF-8, read with U+FFFD in place of the bad bytes"
Record = tuple[str, Mapping[str, Any]]
"""A JSON object and where it was read (``file:line``, ``file item N``)."""


class Malformed(ValueError):
    """A record that cannot be imported; the message is the reason counted in the summary."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line  # where in the text parsed, when known


@dataclass
class ImportResult:
    """What an import wrote; what it skipped and noted per reason, each with its first place."""

    imported: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def skip(self, where: str, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.first.setdefault(reason, where)

    def note(self, where: str, reason: str) -> None:
        """Something imported with a caveat the user must hear (U+FFFD, a dropped duplicate)."""
        self.notes[reason] = self.notes.get(reason, 0) + 1
        self.first.setdefault(reason, where)

    def merge(self, other: ImportResult) -> None:
        for mine, theirs in ((self.skipped, other.skipped), (self.notes, other.notes)):
            for reason, count in theirs.items():
                mine[reason] = mine.get(reason, 0) + count
                self.first.setdefault(reason, other.first[reason])


def shown(text: str, limit: int = 60) -> str:
    """``text`` fit for a reason in the summary: printable, at most ``limit`` characters."""
    text = printable(text)
    return text if len(text) <= limit else text[:limit] + "…"


def load_json(text: str) -> Any:
    """Parsed JSON with every string valid; Malformed for invalid, non-finite or too deep data."""
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise Malformed(f"nested deeper than {MAX_DEPTH} levels") from None
    except Malformed:
        raise
    except json.JSONDecodeError as exc:
        raise Malformed(f"not valid JSON: {exc.msg}", exc.lineno) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise Malformed(f"not valid JSON: {' '.join(str(exc).split())[:80]}") from None
    return clean(data)


def clean(value: Any, depth: int = 0) -> Any:
    """JSON data with strings made valid; Malformed when too deep or a number is out of range."""
    if depth > MAX_DEPTH:
        raise Malformed(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise Malformed("a whole number beyond 64 bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Malformed("a number that is NaN or infinite")
        return value
    if isinstance(value, Mapping):
        return {valid_text(str(k)): clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in value]
    raise Malformed(f"a value of type {type(value).__name__}")


def _no_constant(name: str) -> Any:
    raise Malformed(f"not valid JSON: {name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Malformed("a number too large for a float")
    return value


def records(path: Path, result: ImportResult) -> Iterator[Record]:
    """Each JSON object of ``path`` with its place; what cannot be read is counted in ``result``.

    ``FileRefused`` (not a regular file, too large) and ``OSError`` propagate: the caller
    turns them into a usage error before anything is written.
    """
    data = read_regular_file(path, MAX_FILE_BYTES)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    problem: Malformed | None = None
    if data.lstrip()[:1] in (b"{", b"["):
        text, bad = _decoded(data)
        try:
            whole = load_json(text)
        except Malformed as exc:
            whole, problem = None, exc
        if bad and whole is not None:
            result.note(str(path), _INVALID_UTF8)
        if isinstance(whole, Mapping):
            yield f"{path}:1", whole
            return
        if isinstance(whole, list):
            yield from _items(path, whole, result)
            return
    yield from _lines(path, data, result, problem)


def _items(path: Path, items: list[Any], result: ImportResult) -> Iterator[Record]:
    for number, item in enumerate(items, start=1):
        where = f"{path} item {number}"
        if isinstance(item, Mapping):
            yield where, item
        else:
            result.skip(where, "not a JSON object")


def _lines(
    path: Path, data: bytes, result: ImportResult, whole: Malformed | None
) -> Iterator[Record]:
    """JSON Lines; when no line reads and the file failed as one document, one skip says why."""
    before = ImportResult()  # what failed before the first good line
    read_any = False
    lines = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        lines += 1
        where = f"{path}:{number}"
        sink = result if read_any else before
        record = _line(where, line, sink)
        if record is not None:
            if not read_any:
                result.merge(before)
                read_any = True
            yield where, record
    if not read_any:
        if whole is not None and lines > 1:  # one document over many lines, broken
            where = f"{path}:{whole.line}" if whole.line else str(path)
            result.skip(where, f"{whole} (the file read as one JSON document)")
        else:
            result.merge(before)


def _line(where: str, line: bytes, result: ImportResult) -> Mapping[str, Any] | None:
    if len(line) > MAX_LINE_BYTES:
        size = len(line) / 2**20
        result.skip(where, f"line of {size:.0f} MB (the limit is {MAX_LINE_BYTES // 2**20} MB)")
        return None
    text, bad = _decoded(line)
    try:
        record = load_json(text)
    except Malformed as exc:
        result.skip(where, str(exc))
        return None
    if not isinstance(record, Mapping):
        result.skip(where, "not a JSON object")
        return None
    if bad:
        result.note(where, _INVALID_UTF8)
    return record


def _decoded(data: bytes) -> tuple[str, bool]:
    """The text of ``data``, and whether it held bytes that are not UTF-8 (now U+FFFD)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True
