"""Text that is safe to store and show: valid Unicode, no secrets, short error messages."""

from __future__ import annotations

import os
import re
import stat
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .errors import FileRefused

REDACTED = "[redacted]"
MAX_MESSAGE = 300
MAX_FILE_BYTES = 50 * 2**20
"""Suites and the schemas they refer to are refused above this size."""
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def valid_text(text: str) -> str:
    """``text`` with lone surrogates (not encodable as UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def scrub_secrets(text: str, secrets: Sequence[str | None]) -> str:
    """``text`` with every secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` (JSON-like data) with ``change`` applied to every string, mapping keys too.

    Tuples stay tuples; anything else that is not a string, mapping or list is kept.
    """
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {change(str(k)): map_strings(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(map_strings(v, change) for v in value)
    return value


MIN_SECRET_LEN = 8
"""Shorter values are never treated as secrets: scrubbing ``1`` or ``en`` would maul answers."""
_NOT_SECRET = re.compile(r"[0-9][0-9.\-]*(-preview)?|true|false", re.IGNORECASE)
"""Query values that are versions or flags (Azure's ``api-version=2024-10-21``), not tokens."""


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The values of ``url`` that may be credentials: its password and query values."""
    if not url:
        return ()
    try:
        parts = urlsplit(url)
        values = [parts.password or "", *(v for _, v in parse_qsl(parts.query))]
    except ValueError:
        return ()
    return tuple(v for v in values if len(v) >= MIN_SECRET_LEN and not _NOT_SECRET.fullmatch(v))


_AUTH_FIELD = re.compile(
    r"""((?:authorization|x-api-key|api[_-]?key|aws_secret_access_key|aws_session_token"""
    r"""|x-amz-security-token)["']?\s*[:=]\s*["']?(?:bearer\s+|basic\s+)?)"""
    r"""(?!\[redacted\])[^\s"',;&}\]]+""",  # a value redacted already is left as it is
    re.IGNORECASE,
)
_CLOUD_CREDENTIAL = re.compile(
    r"\b(?:(?:AKIA|ASIA)[A-Z0-9]{16}|AIza[\w-]{35})\b|\bya29\.[\w.-]{16,}"
)
"""An AWS access key id, a Google API key (Gemini's), a Google OAuth access token."""


def scrub_auth_fields(text: str) -> str:
    """``text`` with the values of ``Authorization``, ``x-api-key``, ``api_key`` and AWS
    secret fields (as an error body or a header dump writes them), and AWS key ids, Google
    API keys and OAuth tokens wherever they appear, replaced by ``[redacted]``."""
    text = _AUTH_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    return _CLOUD_CREDENTIAL.sub(REDACTED, text)


def scrub_url(url: str) -> str:
    """A URL fit to show: no user info, query or fragment (where keys ride)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return REDACTED
    if ":" in host:
        host = f"[{host}]"
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, host + port, parts.path, query, ""))


def user_frame(exc: BaseException) -> str | None:
    """``file:line`` of the innermost frame of ``exc`` outside this package, if any."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE):
            return f"{_shown(frame.filename)}:{frame.lineno}"
    return None


def describe(exc: BaseException) -> str:
    """``Type: message (at file:line)``, one short line, for an exception in user code."""
    message = " ".join(str(exc).split())
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "…"
    where = user_frame(exc)
    text = type(exc).__name__ + (f": {message}" if message else "")
    return valid_text(text + (f" (at {where})" if where else ""))


def _shown(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes.

    FileRefused otherwise (a device, FIFO or directory is never opened); OSError when
    it cannot be read.
    """
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"is not a regular file ({_file_kind(info.st_mode)})")
    if info.st_size > limit:
        raise FileRefused(_too_large(info.st_size, limit))
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew after the check
        raise FileRefused(_too_large(len(data), limit))
    return data


def _too_large(size: int, limit: int) -> str:
    return f"is {size / 2**20:.1f} MB; the limit is {limit // 2**20} MB"


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a directory",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "a special file")


def output_problem(path: Path) -> str | None:
    """Why a report could not be written to ``path`` (checked before anything is paid for)."""
    if path.is_dir():
        return f"{path} is a directory; name a file"
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else f"{parent} is a file, so {path} cannot be created"
    return None


def write_problem(path: Path) -> str | None:
    """Why ``path`` cannot be written, found by trying: its directories are made (as the
    writer would) and the file opened for appending, then removed if this made it."""
    problem = output_problem(path)
    if problem:
        return problem
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"{path} cannot be written: {exc.strerror or exc}"
    if not existed:
        path.unlink(missing_ok=True)
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters (NUL, ESC, BEL, ...), each shown as U+FFFD."""
    return _CONTROL.sub("\ufffd", valid_text(text))
