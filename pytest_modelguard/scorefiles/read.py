"""Which kind of result file a path is, and its scores: the one entry to the readers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import FileRefused, ScoreFileError
from ..core.jsondoc import DocumentError, parse_document
from ..core.safety import read_regular_file
from .csv_scores import read_csv_scores
from .inspect_log import InspectLog, inspect_scores, is_inspect_log, log_from_json, log_from_zip
from .ours import read_report_scores
from .promptfoo import is_promptfoo_results, read_promptfoo
from .table import MAX_FILE_BYTES, ScoreTable

KINDS = (
    "a modelguard JSON report (--modelguard-json), an Inspect AI log (.json or .eval), "
    "promptfoo's `eval -o results.json`, or a CSV with id,score columns"
)


@dataclass(frozen=True)
class Choice:
    """What to read from a file holding several models or scorers; ``role`` names the
    side (``base`` or ``candidate``) for the flag a message suggests."""

    role: str
    model: str | None = None
    scorer: str | None = None


def read_scores(path: Path, choice: Choice) -> ScoreTable:
    """The per-case scores in ``path``; ScoreFileError naming the file (and line or field)."""
    if path.suffix.lower() == ".eval":
        return inspect_scores(log_from_zip(path, _bytes(path)), choice.scorer)
    text = _text(path)
    if path.suffix.lower() in (".csv", ".tsv") or _looks_like_csv(text):
        return read_csv_scores(path, text, choice.model, choice.role)
    try:
        doc = parse_document(text)
    except DocumentError as exc:
        raise ScoreFileError(f"{path}: {exc}; modelguard compare reads {KINDS}") from None
    if isinstance(doc, dict) and isinstance(doc.get("cases"), list) and "version" in doc:
        return read_report_scores(path, choice.model, choice.role)
    if is_inspect_log(doc):
        return inspect_scores(log_from_json(path, doc), choice.scorer)
    if is_promptfoo_results(doc):
        return read_promptfoo(path, doc, choice.model, choice.scorer, choice.role)
    raise ScoreFileError(f"{path}: not a result file modelguard compare reads: {KINDS}")


def load_inspect_log(path: Path) -> InspectLog:
    """An Inspect log, ``.eval`` or ``.json``; ScoreFileError when it is not one."""
    if path.suffix.lower() == ".eval":
        return log_from_zip(path, _bytes(path))
    try:
        doc = parse_document(_text(path))
    except DocumentError as exc:
        raise ScoreFileError(f"{path}: {exc}") from None
    if not is_inspect_log(doc):
        raise ScoreFileError(f"{path}: not an Inspect AI log (no 'eval' and 'samples')")
    return log_from_json(path, doc)


def _bytes(path: Path) -> bytes:
    if not path.exists():
        raise ScoreFileError(f"{path}: no such file")
    try:
        return read_regular_file(path, MAX_FILE_BYTES)
    except FileRefused as exc:
        raise ScoreFileError(f"{path}: not read: it {exc}") from None
    except OSError as exc:
        raise ScoreFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _text(path: Path) -> str:
    data = _bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScoreFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _looks_like_csv(text: str) -> bool:
    first = text.lstrip()[:1]
    return first not in ("{", "[", "")
