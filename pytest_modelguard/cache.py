"""Recorded answers: one pretty JSON file per request, keyed by the canonical request.

Layout: ``CACHE_DIR/answers/<provider>/<model>/<key[:2]>/<key>.json``. Each file holds
the request (so a git diff reads as "this prompt, this answer") and the completion.
Writes go to a temp file in the same directory and are ``os.replace``d, so readers
(and pytest-xdist workers) never see a torn entry.
"""

from __future__ import annotations

import json
import os
import re
import threading
from enum import Enum
from pathlib import Path

from .providers.base import Completion, Request

FORMAT_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


class RecordMode(str, Enum):
    """When the runner may call a model (SPEC §7)."""

    NONE = "none"  # never call: a missing answer is an error
    ONCE = "once"  # record what is missing
    NEW = "new"  # same as once: record missing, keep the rest
    ALL = "all"  # re-record everything

    @property
    def calls_misses(self) -> bool:
        return self is not RecordMode.NONE


class CorruptEntryError(ValueError):
    """A cache file that is not a valid entry; the message names the file."""


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or "_"


class Cache:
    """Recorded answers under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, request: Request, key: str | None = None) -> Path:
        key = key or request.key()
        return (
            self.root
            / "answers"
            / _safe(request.provider)
            / _safe(request.model)
            / key[:2]
            / f"{key}.json"
        )

    def get(self, request: Request) -> Completion | None:
        """The recorded answer, or None when absent. A corrupt file raises CorruptEntryError."""
        path = self.path_for(request)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
            return Completion.from_dict(data["completion"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptEntryError(
                f"{path}: not a valid modelguard cache entry ({exc}); "
                "delete it and re-record with --modelguard-record once"
            ) from exc

    def put(self, request: Request, completion: Completion) -> Path:
        """Write the entry atomically (temp file, then ``os.replace``); returns its path."""
        key = request.key()
        path = self.path_for(request, key)
        entry = {
            "version": FORMAT_VERSION,
            "key": key,
            "request": request.canonical(),
            "completion": completion.to_dict(),
        }
        data = (json.dumps(entry, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        # unique per process and thread, so concurrent writers never share a temp file
        tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
        try:
            fd = os.open(tmp, _WRITE_FLAGS, 0o644)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, _WRITE_FLAGS, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path
