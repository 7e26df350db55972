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
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.safety import MAX_FILE_BYTES, printable, read_regular_file, valid_text
from ..suite.yaml_loader import MAX_DEPTH

MAX_LINE_BYTES = 16 * 2**20
"""A JSON Lines record longer than this is skipped (a chat call with its answer is far less)."""
_INT_LIMIT = 2**63
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape of a UTF-16 surrogate (a lone one becomes U+FFFD)."""
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


class Invalid:
    """A value the policy refuses, left in place in a whole document so that only the record
    (span) holding it is skipped; every type check treats it as the wrong type."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def load_json(text: str, *, strict: bool = True) -> Any:
    """Parsed JSON with every string valid; Malformed for invalid, non-finite or too deep data.

    Not ``strict``: refused values (NaN, out-of-range numbers, nesting deeper than
    ``MAX_DEPTH``) are left as ``Invalid`` for the record holding them to be skipped.
    """
    hooks = _STRICT_HOOKS if strict else _HOOKS
    try:
        data = json.loads(text, parse_constant=hooks[0], parse_float=hooks[1], parse_int=hooks[2])
    except RecursionError:
        raise Malformed(f"nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise Malformed(f"not valid JSON: {exc.msg}", exc.lineno) from None
    if strict and _as_parsed(text):
        return data  # the hooks refused every number clean() would: nothing left to change
    return clean(data, strict=strict)


def _as_parsed(text: str) -> bool:
    """Whether ``clean`` cannot change what ``text`` parses to: no lone-surrogate escape, and
    fewer brackets than the depth limit (so no value nests deeper than it)."""
    return text.count("{") + text.count("[") <= MAX_DEPTH and not _SURROGATE_ESCAPE.search(text)


def _refused(hook: Callable[[str], Any]) -> Callable[[str], Any]:
    """``hook`` raising Malformed for the value it would leave ``Invalid``."""

    def parse(text: str) -> Any:
        value = hook(text)
        if isinstance(value, Invalid):
            raise Malformed(value.reason)
        return value

    return parse


def clean(value: Any, depth: int = 0, *, strict: bool = True) -> Any:
    """JSON data with strings made valid; refused values raise Malformed (``strict``) or stay
    ``Invalid``."""
    kind = type(value)  # what json.loads makes, by exact type first: no ABC checks
    if depth > MAX_DEPTH:
        value = Invalid(f"nested deeper than {MAX_DEPTH} levels")
    elif kind is str:
        return value if value.isascii() else valid_text(value)
    elif kind is dict:
        return {
            (k if type(k) is str and k.isascii() else _text(str(k))): clean(
                v, depth + 1, strict=strict
            )
            for k, v in value.items()
        }
    elif kind is list:
        return [clean(v, depth + 1, strict=strict) for v in value]
    elif kind is bool or value is None or _finite(kind, value):
        return value
    elif isinstance(value, str):
        return value if value.isascii() else valid_text(value)
    elif isinstance(value, Mapping):
        return {_text(str(k)): clean(v, depth + 1, strict=strict) for k, v in value.items()}
    elif isinstance(value, list | tuple):
        return [clean(v, depth + 1, strict=strict) for v in value]
    elif isinstance(value, float) and not math.isfinite(value):
        value = Invalid("a number that is NaN or infinite")
    elif isinstance(value, int) and not -_INT_LIMIT <= value < _INT_LIMIT:
        value = Invalid("a whole number beyond 64 bits")
    elif not isinstance(value, int | float | bool | None | Invalid):
        value = Invalid(f"a value of type {type(value).__name__}")
    if strict and isinstance(value, Invalid):
        raise Malformed(value.reason)
    return value


def _finite(kind: type, value: Any) -> bool:
    """A float that is finite or an int within 64 bits (exactly those types)."""
    if kind is float:
        return math.isfinite(value)
    return kind is int and -_INT_LIMIT <= value < _INT_LIMIT


def _text(text: str) -> str:
    return text if text.isascii() else valid_text(text)


def refused(value: Any) -> str | None:
    """Why a cleaned value holds something refused (its first ``Invalid``), or None."""
    try:
        clean(value)
    except Malformed as exc:
        return str(exc)
    return None


def _constant(name: str) -> Invalid:
    return Invalid(f"{name}, which JSON does not allow")


def _float(text: str) -> float | Invalid:
    value = float(text)
    return value if math.isfinite(value) else Invalid("a number too large for a float")


def _int(text: str) -> int | Invalid:
    value = int(text) if len(text.lstrip("-")) <= 19 else None  # spares int() long digits
    if value is None or not -_INT_LIMIT <= value < _INT_LIMIT:
        return Invalid("a whole number beyond 64 bits")
    return value


_HOOKS = (_constant, _float, _int)
_STRICT_HOOKS = tuple(map(_refused, _HOOKS))


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
            whole = load_json(text, strict=False)
        except Malformed as exc:
            whole, problem = None, exc
        if bad and whole is not None:
            result.note(str(path), _INVALID_UTF8)
        if isinstance(whole, Mapping):  # refused values: per span, or the record
            reason = _refused_record(whole)
            if reason:
                result.skip(f"{path}:1", reason)
            else:
                yield f"{path}:1", whole
            return
        if isinstance(whole, list):
            yield from _items(path, whole, result)
            return
    yield from _lines(path, data, result, problem)


def _items(path: Path, items: list[Any], result: ImportResult) -> Iterator[Record]:
    """The objects of a JSON list, each ``file item N``."""
    for number, item in enumerate(items, start=1):
        where = f"{path} item {number}"
        problem = _refused_record(item)
        if problem:
            result.skip(where, problem)
        else:
            yield where, item


def _lines(
    path: Path, data: bytes, result: ImportResult, whole: Malformed | None
) -> Iterator[Record]:
    """JSON Lines; when no line reads and the file failed as one document, one skip says why."""
    before = ImportResult()  # what failed before the first line that is JSON
    read_any = False
    lines = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        lines += 1
        where = f"{path}:{number}"
        record = _line(where, line, result if read_any else before)
        if record is not None and not read_any:
            result.merge(before)
            read_any = True
        if isinstance(record, Mapping):
            yield where, record
    if not read_any:
        if whole is not None and lines > 1:  # one document over many lines, broken
            where = f"{path}:{whole.line}" if whole.line else str(path)
            result.skip(where, f"{whole} (the file read as one JSON document)")
        else:
            result.merge(before)


def _line(where: str, line: bytes, result: ImportResult) -> Mapping[str, Any] | bool | None:
    """The record on a line; False for JSON that is no record, None for a line that is no JSON."""
    if len(line) > MAX_LINE_BYTES:
        size = len(line) / 2**20
        result.skip(where, f"line of {size:.0f} MB (the limit is {MAX_LINE_BYTES // 2**20} MB)")
        return None
    text, bad = _decoded(line)
    try:
        record = load_json(text)
    except Malformed as exc:  # not JSON, or a refused value: an OTLP document keeps its spans
        try:
            record = load_json(text, strict=False)
        except Malformed:
            result.skip(where, str(exc))
            return None
        if not (isinstance(record, Mapping) and "resourceSpans" in record):
            result.skip(where, str(exc))
            return False
    if not isinstance(record, Mapping):
        result.skip(where, "not a JSON object")
        return False
    if bad:
        result.note(where, _INVALID_UTF8)
    return record


def _refused_record(record: Any) -> str | None:
    """Why a parsed value is no record to read (OTLP documents are checked span by span)."""
    if not isinstance(record, Mapping):
        return "not a JSON object"
    return None if "resourceSpans" in record else refused(record)


def _decoded(data: bytes) -> tuple[str, bool]:
    """The text of ``data``, and whether it held bytes that are not UTF-8 (now U+FFFD)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True
