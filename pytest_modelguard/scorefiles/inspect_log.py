"""An Inspect AI eval log (``.json``, or the ``.eval`` zip) as per-sample scores.

Read from Inspect's documented log format, without Inspect: the header's ``eval.model``
and ``eval.task``, and each sample's ``id``, ``epoch``, ``scores`` and ``error``. A
sample's epochs are its repeats; C/P/I/N become 1/0.5/0/0 as Inspect's own
``value_to_float`` does. ``.eval`` files are zip archives (zstd-compressed by Inspect
0.3.100 and later: read with the ``zipfile-zstd`` package, the ``inspect`` extra, on
Python < 3.14); members are size-checked before they are inflated.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ScoreFileError
from ..core.jsondoc import DocumentError, parse_document
from .table import MAX_FILE_BYTES, ScoreTable, as_score, pick

KIND = "Inspect log"
MAX_MEMBERS = 1_000_000
MAX_MEMBER_BYTES = 256 * 2**20


@dataclass(frozen=True)
class InspectLog:
    """An eval log's header (``eval``, ``status``) and its sample records, each with
    where it was read (``samples[3]`` or the archive member's name)."""

    path: Path
    header: dict[str, Any]
    samples: list[tuple[str, dict[str, Any]]]

    @property
    def model(self) -> str:
        return str(self.evaluation.get("model") or "unknown model")

    @property
    def task(self) -> str:
        return str(self.evaluation.get("task") or "")

    @property
    def evaluation(self) -> dict[str, Any]:
        found = self.header.get("eval")
        return found if isinstance(found, dict) else {}


def is_inspect_log(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("eval"), dict) and "samples" in doc


def log_from_json(path: Path, doc: dict[str, Any]) -> InspectLog:
    """The log of a ``.json`` file already parsed."""
    samples = doc.get("samples")
    if not isinstance(samples, list) or not samples:
        raise ScoreFileError(
            f"{path}: samples: the log has no samples (was it written with --no-log-samples?)"
        )
    return InspectLog(
        path, doc, list(_each(path, [(f"samples[{i}]", s) for i, s in enumerate(samples)]))
    )


def log_from_zip(path: Path, data: bytes) -> InspectLog:
    """The log of an ``.eval`` archive whose bytes are ``data``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = _checked_members(path, archive)
            header = _member(path, archive, "header.json")
            samples = [
                (name, _member(path, archive, name))
                for name in names
                if name.startswith("samples/") and name.endswith(".json")
            ]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ScoreFileError(f"{path}: not an Inspect .eval log ({exc})") from None
    if not isinstance(header, dict):
        raise ScoreFileError(f"{path}: header.json: not an Inspect log header")
    if not samples:
        raise ScoreFileError(f"{path}: the log has no samples")
    return InspectLog(path, header, list(_each(path, samples)))


def _checked_members(path: Path, archive: zipfile.ZipFile) -> list[str]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ScoreFileError(f"{path}: {len(infos):,} members; the limit is {MAX_MEMBERS:,}")
    total = sum(info.file_size for info in infos)
    if total > 4 * MAX_FILE_BYTES:
        raise ScoreFileError(f"{path}: inflates to {total / 2**20:,.0f} MB; too large")
    if any(info.compress_type not in _readable() for info in infos):
        raise ScoreFileError(
            f"{path}: its members are zstd-compressed (Inspect 0.3.100+): install "
            "'pytest-modelguard[inspect]' (zipfile-zstd), or convert the log with "
            "`inspect log convert --to json`"
        )
    return [info.filename for info in infos]


def _readable() -> set[int]:
    """The compression methods this Python's zipfile can inflate (zstd once patched in)."""
    with contextlib.suppress(ImportError):
        importlib.import_module("zipfile_zstd")
    kinds = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
    zstd: int | None = getattr(zipfile, "ZIP_ZSTANDARD", None)
    if zstd is not None and zstd in getattr(zipfile, "compressor_names", {}):
        kinds.add(zstd)
    return kinds


def _member(path: Path, archive: zipfile.ZipFile, name: str) -> Any:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ScoreFileError(
            f"{path}: no {name} in the archive: not an Inspect .eval log"
        ) from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise ScoreFileError(f"{path}: {name} inflates to {info.file_size / 2**20:,.0f} MB")
    with archive.open(info) as handle:
        data = handle.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise ScoreFileError(f"{path}: {name} inflates past {MAX_MEMBER_BYTES // 2**20} MB")
    try:
        return parse_document(data.decode("utf-8", errors="replace"))
    except DocumentError as exc:
        raise ScoreFileError(f"{path}: {name}: {exc}") from None


def inspect_scores(log: InspectLog, scorer: str | None) -> ScoreTable:
    """Per sample id, its epochs' scores from ``scorer`` (the only one when not named)."""
    path = log.path
    names = sorted({n for _, s in log.samples for n in _scores(s)})
    chosen = pick(names, scorer, "scorer", str(path), "--scorer")
    context = f"task {log.task}" if log.task else ""
    table = ScoreTable(path, KIND, log.model, chosen, context=context)
    status = log.header.get("status")
    if status not in (None, "success"):
        table.leave_out(f"log status {status!r}: samples that did not finish")
    for where, sample in log.samples:
        if sample.get("error"):
            table.leave_out("errored sample (no score)")
            continue
        found = _scores(sample).get(chosen)
        if not isinstance(found, dict) or found.get("value") is None:
            table.leave_out(f"sample without a {chosen!r} score")
            continue
        value = found["value"]
        if isinstance(value, dict | list):
            raise ScoreFileError(
                f"{path}: {where}.scores.{chosen}.value: a scorer of several values; "
                "compare reads one score per sample"
            )
        score = as_score(value, f"{path}: {where}.scores.{chosen}")
        table.add(sample_id(path, where, sample), score)
    return table


def _each(path: Path, samples: list[tuple[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, sample in samples:
        if not isinstance(sample, dict):
            raise ScoreFileError(f"{path}: {where}: not a sample record")
        yield where, sample


def _scores(sample: Any) -> dict[str, Any]:
    scores = sample.get("scores") if isinstance(sample, dict) else None
    return scores if isinstance(scores, dict) else {}


def sample_id(path: Path, where: str, sample: dict[str, Any]) -> str:
    ident = sample.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
        raise ScoreFileError(f"{path}: {where}.id: {ident!r} is not a sample id")
    return str(ident)
