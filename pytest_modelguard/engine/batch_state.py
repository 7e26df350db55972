"""The provider batches a run submitted and has not collected: ``CACHE_DIR/batches.json``.

Saved the moment a provider accepts a batch, so a run that is killed, interrupted or out of
``batch_wait_s`` is resumed by the next one: it collects those batches, never submits their
requests again. The file is small and versioned, written atomically; one that cannot be
read is an error naming the file and field, never a reason to resubmit (the batches it
named may still be in flight, and paid for).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import CacheError

VERSION = 1
FILE = "batches.json"
MAX_BYTES = 256 * 1024 * 1024
"""A saved list larger than this is refused (a batch of 100,000 requests takes 6.7 MB)."""
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,256}")
_KEY = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class SavedBatch:
    """One submitted batch: where, its id, and the request keys it answers not yet collected."""

    provider: str  # the configured provider name
    id: str
    keys: tuple[str, ...]
    submitted_at: float  # Unix time
    submitting: bool = False  # saved before the provider answered: ``id`` is the batch's tag

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "provider": self.provider,
            "id": self.id,
            "keys": list(self.keys),
            "submitted_at": self.submitted_at,
        }
        if self.submitting:
            data["submitting"] = True
        return data


def path_of(cache_dir: Path) -> Path:
    return Path(cache_dir) / FILE


def load(cache_dir: Path) -> list[SavedBatch]:
    """The saved batches ([] when there is no file); CacheError naming the file and field."""
    path = path_of(cache_dir)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _refused(path, f"cannot be read ({exc.strerror or exc})") from None
    if size > MAX_BYTES:
        raise _refused(path, f"{size} bytes, above the {MAX_BYTES} a saved list may take")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _refused(path, f"not valid JSON ({type(exc).__name__}: {exc})") from None
    return parse(data, path)


def parse(data: Any, path: Path) -> list[SavedBatch]:
    """The saved batches of a decoded file, every field checked."""
    if not isinstance(data, Mapping):
        raise _refused(path, "the top level must be an object")
    if data.get("version") != VERSION:
        raise _refused(path, f"version must be {VERSION}, got {str(data.get('version'))[:40]!r}")
    batches = data.get("batches")
    if not isinstance(batches, list):
        raise _refused(path, "batches must be a list")
    return [_entry(item, f"batches[{i}]", path) for i, item in enumerate(batches)]


def _entry(item: Any, where: str, path: Path) -> SavedBatch:
    if not isinstance(item, Mapping):
        raise _refused(path, f"{where} must be an object")
    provider, ident, keys = item.get("provider"), item.get("id"), item.get("keys")
    when = item.get("submitted_at")
    if not isinstance(provider, str) or not _ID.fullmatch(provider):
        raise _refused(path, f"{where}.provider must be a provider name")
    if not isinstance(ident, str) or not _ID.fullmatch(ident):
        raise _refused(path, f"{where}.id must be a batch id (letters, digits, _ . : -)")
    good = isinstance(keys, list) and all(isinstance(k, str) and _KEY.fullmatch(k) for k in keys)
    if not good:
        raise _refused(path, f"{where}.keys must be a list of request keys (64 hex digits)")
    if isinstance(when, bool) or not isinstance(when, int | float) or not 0 <= when < 1e11:
        raise _refused(path, f"{where}.submitted_at must be a Unix time")
    submitting = item.get("submitting", False)
    if not isinstance(submitting, bool):
        raise _refused(path, f"{where}.submitting must be true or false")
    return SavedBatch(provider, ident, tuple(keys or ()), float(when), submitting)


def _refused(path: Path, problem: str) -> CacheError:
    return CacheError(
        f"{path}: {problem}. Nothing was submitted: the batches this file names may still be in "
        "flight (and paid for). Check them in your provider's console (OpenAI: Batches; "
        "Anthropic: Message Batches), then fix or delete the file"
    )


_WRITING = threading.Lock()


def save(cache_dir: Path, batches: list[SavedBatch]) -> None:
    """Write the list atomically (temp file, then ``os.replace``); the file goes when empty."""
    path = path_of(cache_dir)
    if not batches:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    data = {"version": VERSION, "batches": [b.to_dict() for b in batches]}
    tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
    with _WRITING:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
