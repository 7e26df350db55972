"""``modelguard cache merge``: the union of several caches' recorded answers, checked.

Every entry of a source is read under a size limit, parsed and checked against its key
(the file name) as a replay reads it, then written where its own request says it lives.
An entry whose key ``into`` already holds is never overwritten: the same answer is counted
as shared, a different one is a conflict (the existing one stays), an unreadable one there
is kept and reported. A corrupt source entry is reported and skipped. Writes are atomic
and never clobber: a temp file beside the entry, hard-linked into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import CacheError, CorruptEntryError
from ..records.calls import Completion
from .cache import entry_path, parse_entry

MAX_ENTRY_BYTES = 64 * 1024 * 1024  # far above any real answer; a bigger file is refused


@dataclass
class Merged:
    """What a merge did: entries added and shared, conflicts and corrupt entries (one line
    each, naming the files)."""

    read: int = 0  # source entries looked at
    added: int = 0
    shared: int = 0  # already in ``into`` with the same answer
    conflicts: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.corrupt


def merge_caches(sources: Sequence[Path], into: Path) -> Merged:
    """Add every valid entry of ``sources`` (in order: the first answer to a key wins) to
    the cache at ``into``; nothing of ``into`` is ever replaced or deleted."""
    merged = Merged()
    for source in sources:
        for path in _entries(source / "answers"):
            merged.read += 1
            _merge_one(path, into, merged)
    return merged


def _entries(folder: Path) -> Iterator[Path]:
    """The ``*.json`` files under ``folder``, in a stable order, symlinked folders not
    followed (a half-written ``.tmp-`` file is no entry)."""
    for where, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".json") and not name.startswith("."):
                yield Path(where, name)


def _read(path: Path) -> tuple[str, Completion, str, str]:
    """The entry's text, completion, provider and model; CorruptEntryError naming the file."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise CorruptEntryError(f"{path}: not a regular file (a link?), not a cache entry")
        if info.st_size > MAX_ENTRY_BYTES:
            raise CorruptEntryError(
                f"{path}: {info.st_size} bytes, over the {MAX_ENTRY_BYTES} a cache entry may have"
            )
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptEntryError(f"{path}: unreadable ({exc})") from None
    completion = parse_entry(text, str(path), path.stem)
    request = json.loads(text)["request"]
    provider, model = request.get("provider"), request.get("model")
    if not isinstance(provider, str) or not isinstance(model, str):
        raise CorruptEntryError(f"{path}: its request names no provider and model")
    return text, completion, provider, model


def _answer(completion: Completion) -> tuple[object, ...]:
    """What must agree for two recordings to be the same answer (not latency or usage)."""
    return completion.text, completion.tool_calls, completion.finish_reason


def _merge_one(path: Path, into: Path, merged: Merged) -> None:
    try:
        text, completion, provider, model = _read(path)
    except CorruptEntryError as exc:
        merged.corrupt.append(f"{exc} (skipped)")
        return
    target = entry_path(into, provider, model, path.stem)
    try:
        written = _write_new(target, text)
    except OSError as exc:
        raise CacheError(
            f"{target}: cannot be written ({type(exc).__name__}: {exc.strerror or exc}); "
            f"{merged.added} entries were merged before it, none lost: fix it and merge again"
        ) from None
    if not written:
        _compare(path, completion, target, merged)
    else:
        merged.added += 1


def _compare(path: Path, completion: Completion, target: Path, merged: Merged) -> None:
    try:
        _, existing, _, _ = _read(target)
    except CorruptEntryError as exc:
        merged.corrupt.append(f"{exc} (kept; {path} not merged over it: delete it and merge again)")
        return
    if _answer(existing) == _answer(completion):
        merged.shared += 1
    else:
        merged.conflicts.append(
            f"{target.stem[:12]}: {path} answers differently from {target} (kept {target})"
        )


def _write_new(target: Path, text: str) -> bool:
    """Write ``text`` at ``target`` unless a file is there; False when one is (or a link)."""
    if os.path.lexists(target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-merge-{os.getpid()}-{target.stem}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # atomic, and fails rather than replace a file written since
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: the same check, then a rename
            if os.path.lexists(target):
                return False
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return True
