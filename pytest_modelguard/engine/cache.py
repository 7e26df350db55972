"""Recorded answers: one pretty JSON file per request, keyed by the canonical request.

Layout: ``CACHE_DIR/answers/<provider>/<model>/<key[:2]>/<key>.json``. Each file holds
the request (so a git diff reads as "this prompt, this answer") and the completion.
Writes go to a temp file in the same directory and are ``os.replace``d, so readers
(and pytest-xdist workers) never see a torn entry.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import getpass
import hashlib
import json
import os
import re
import stat
import struct
import tempfile
import threading

from ..core.errors import CacheError, CorruptEntryError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
from pathlib import Path

from ..records.calls import Completion, Request, canonical_key

FORMAT_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
_BYTE_LOCKS = hasattr(fcntl, "F_OFD_SETLK")  # Linux: one lock file per cache, not per request
_BYTE_LOCK = struct.Struct("hhqqi")  # struct flock: type, whence, start, len, pid
_READ_CHUNK = 1 << 16


class Claim:
    """An exclusive, cross-process hold on one request while it is being paid for.

    On Linux, an open-file-description lock on one byte (picked by the request key) of the
    cache's lock file in the user's private temp dir (``private_dir``); elsewhere, an advisory
    ``flock`` on a per-request lock file there. Either way pytest-xdist workers (or two CI jobs
    sharing a cache) never pay twice for the same answer, and the lock dies with its open file,
    so a killed run leaves nothing stale. Locks are per user: two users recording into one
    cache at once do not see each other's. Without ``fcntl`` it holds nothing.
    """

    def __init__(self, path: str, byte: int | None) -> None:
        self._byte = byte  # None: the whole file is this request's
        self._fd: int | None = None if fcntl is None else _open_lock_file(path)

    def try_acquire(self) -> bool:
        """Take the lock; False, at once, when another process (or claim) holds it."""
        if self._fd is None or fcntl is None:
            return True
        try:
            if self._byte is None:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                lock = _BYTE_LOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, self._byte, 1, 0)
                fcntl.fcntl(self._fd, fcntl.F_OFD_SETLK, lock)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def private_dir() -> str:
    """``<tmp>/modelguard-<user>``, mode 0700, created on first use and checked to be ours."""
    user = str(os.getuid()) if hasattr(os, "getuid") else _safe(getpass.getuser())
    path = os.path.join(tempfile.gettempdir(), f"modelguard-{user}")
    os.makedirs(path, 0o700, exist_ok=True)
    info = os.lstat(path)
    mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    if not stat.S_ISDIR(info.st_mode) or not mine:
        raise CacheError(f"{path}: exists but is not a directory of yours; remove it")
    return path


def _open_lock_file(path: str) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _entry_bytes(path: str, recorded_after: float | None = None) -> bytes | None:
    """The file's bytes (a replay reads thousands: plain system calls, no file object);
    None when absent or, given ``recorded_after`` (a Unix time), written before then."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):  # absent, or no such directory
        return None
    try:
        if recorded_after is not None and os.fstat(fd).st_mtime < recorded_after:
            return None
        chunks = []
        while chunk := os.read(fd, _READ_CHUNK):
            chunks.append(chunk)
    except IsADirectoryError as exc:
        raise CorruptEntryError(f"{path}: a directory, not a cache entry; delete it") from exc
    finally:
        os.close(fd)
    return b"".join(chunks)


def parse_entry(text: str | bytes, path: str, key: str, *, audit: bool = True) -> Completion:
    """The completion of the entry ``text`` (or its UTF-8 bytes) read from ``path``, checked
    against ``key``.

    An entry that names another key (a file copied over another request's) raises
    CorruptEntryError, like an unreadable one: it is never served. ``audit`` (``cache
    check``, ``cache merge``) also hashes the stored request, which catches a request edited
    in place; a replay hashes it only for an entry that names no key.
    """
    try:
        data = json.loads(text)
        named = data.get("key", None)
        request = data["request"]
        stored = canonical_key(request) if audit or named is None else named
        completion = Completion.from_dict(data["completion"])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise CorruptEntryError(
            f"{path}: not a valid modelguard cache entry ({exc}); "
            "delete it and re-record with --modelguard-record once"
        ) from exc
    if stored != key or (named is not None and named != key):
        raise CorruptEntryError(
            f"{path}: holds the answer to another request (its request hashes to "
            f"{str(stored)[:12]}, the file is for {key[:12]}); delete it and re-record with "
            "--modelguard-record once"
        )
    return completion


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or "_"


def entry_path(root: Path, provider: str, model: str, key: str) -> Path:
    """Where the entry of a request to ``provider``/``model`` with ``key`` lives under root."""
    return Path(root, "answers", _safe(provider), _safe(model), key[:2], f"{key}.json")


class Cache:
    """Recorded answers under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._dirs: dict[tuple[str, str], str] = {}  # (provider, model) -> its directory

    def path_for(self, request: Request, key: str | None = None) -> Path:
        return Path(self._file(request, key or request.key()))

    def _file(self, request: Request, key: str) -> str:
        where = (request.provider, request.model)
        folder = self._dirs.get(where)
        if folder is None:
            folder = self._dirs[where] = os.path.join(
                self.root, "answers", _safe(request.provider), _safe(request.model)
            )
        return os.path.join(folder, key[:2], f"{key}.json")

    def claim(self, request: Request) -> Claim:
        """The lock a caller holds while it pays for ``request`` (see Claim)."""
        key = request.key()
        if _BYTE_LOCKS:
            return Claim(f"{self._locks}.lock", int(key[:15], 16))  # 60 bits of the key
        return Claim(os.path.join(self._locks, f"{key}.lock"), None)

    def check_writable(self) -> None:
        """Raise CacheError naming the directory when answers could not be written there."""
        private_dir()  # the claims' lock files must be possible too
        folder = os.path.join(self.root, "answers")
        probe = os.path.join(folder, f".tmp-probe-{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(probe, "wb") as handle:
                handle.write(b"{}")
            os.unlink(probe)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(probe)
            raise CacheError(
                f"cache_dir {self.root}: recorded answers cannot be written there "
                f"({type(exc).__name__}: {exc.strerror or exc}); nothing was called. Make it "
                "writable, free space, or set cache_dir to another directory"
            ) from None

    def ledger_path(self) -> str:
        """The spend ledger of the runs recording into this cache (see spend.Ledger)."""
        return f"{self._locks}.spend.json"

    @functools.cached_property
    def _locks(self) -> str:
        """Lock files live in this user's private temp dir, keyed by this cache: never in the
        committed cache, and never in a directory another user created."""
        root = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]
        return os.path.join(private_dir(), root)

    def file_of(self, request: Request, key: str) -> str | None:
        """The path of the request's entry when one is recorded (a stat, nothing read)."""
        path = self._file(request, key)
        return path if os.path.isfile(path) else None

    def read(self, path: str, key: str) -> Completion | None:
        """The entry at ``path`` (from ``file_of``), or None when it is gone since."""
        data = _entry_bytes(path)
        return None if data is None else parse_entry(data, path, key, audit=False)

    def get(self, request: Request, recorded_after: float | None = None) -> Completion | None:
        """The recorded answer, or None when absent or (given ``recorded_after``, a Unix time)
        written before then. A corrupt file raises CorruptEntryError."""
        path = self._file(request, request.key())
        data = _entry_bytes(path, recorded_after)
        return None if data is None else parse_entry(data, path, request.key(), audit=False)

    def put(self, request: Request, completion: Completion) -> Path:
        """Write the entry atomically (temp file, then ``os.replace``); returns its path."""
        key = request.key()
        path = self._file(request, key)
        entry = {
            "version": FORMAT_VERSION,
            "key": key,
            "request": request.canonical(),
            "completion": completion.to_dict(),
        }
        data = (json.dumps(entry, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        # unique per process and thread, so concurrent writers never share a temp file;
        # not *.json, so a write cut short by a kill never looks like an entry
        folder = os.path.dirname(path)
        tmp = os.path.join(folder, f".tmp-{os.getpid()}-{threading.get_ident()}-{key}.tmp")
        try:
            fd = os.open(tmp, _WRITE_FLAGS, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, _WRITE_FLAGS, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return Path(path)
