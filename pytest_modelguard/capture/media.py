"""Captured images, audio and documents: stored content-addressed beside the trace DB.

A call's parts arrive in its SDK's form (Chat Completions ``image_url`` / ``input_audio`` /
``file``, Responses ``input_image`` / ``input_file``, Anthropic ``image`` / ``document``
blocks). Each part whose bytes ride inline is written once to ``<db>-media/<sha[:2]>/<sha>``
and stored in the row as ``{type, media_type, sha256}``; the row never holds the bytes.
A part over ``MAX_MEDIA_BYTES``, of a type modelguard does not know, or whose bytes
contain a secret of the capture, is stored as ``{type, omitted: why}`` and never written.
An ``https`` URL part is kept as ``{type: image, url}``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import FileRefused
from ..core.safety import read_regular_file
from ..records.parts import MAX_MEDIA_BYTES, MEDIA_KINDS, MEDIA_TYPES, a_kind, digest, sniff

_DATA_URL = re.compile(r"data:([^;,]*)(?:;[^,]*)?;base64,(.*)", re.DOTALL | re.IGNORECASE)
_EXTENSIONS = {
    "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
    "audio/wav": ".wav", "audio/mpeg": ".mp3", "application/pdf": ".pdf",
}  # fmt: skip


def media_dir(db: Path) -> Path:
    """Where a traces database keeps its parts' bytes: ``<db>-media`` beside it."""
    return db.with_name(db.name + "-media")


def blob_path(folder: Path, sha256: str) -> Path:
    return folder / sha256[:2] / sha256


def extension(media_type: str) -> str:
    return _EXTENSIONS.get(media_type, ".bin")


def keep_parts(messages: list[Any], folder: Path, secrets: Sequence[str]) -> list[Any]:
    """The messages with every inline part written to ``folder`` and kept by digest."""
    out = []
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list) and any(_found(p) for p in content):
            parts = [_kept(p, folder, secrets) if _found(p) else p for p in content]
            message = {**message, "content": parts}
        out.append(message)
    return out


def _found(part: Any) -> tuple[str, str, str] | None:
    """(kind, base64 data or URL, file name) of a media part in an SDK's form."""
    if not isinstance(part, Mapping):
        return None
    kind = part.get("type")
    if kind == "image_url":
        return "image", str((part.get("image_url") or {}).get("url") or ""), ""
    if kind == "input_image":
        return "image", str(part.get("image_url") or ""), ""
    if kind == "input_audio":
        return "audio", str((part.get("input_audio") or {}).get("data") or ""), ""
    if kind == "file":
        file = part.get("file") or {}
        return "file", str(file.get("file_data") or ""), str(file.get("filename") or "")
    if kind == "input_file":
        return "file", str(part.get("file_data") or ""), str(part.get("filename") or "")
    if kind in ("image", "document") and isinstance(part.get("source"), Mapping):
        source = part["source"]
        data = source.get("data") if source.get("type") == "base64" else source.get("url")
        return "image" if kind == "image" else "file", str(data or ""), ""
    return None


def _kept(part: Any, folder: Path, secrets: Sequence[str]) -> dict[str, Any]:
    """The part as a row keeps it: by digest (its bytes written once), a URL, or omitted."""
    kind, data, name = _found(part) or ("", "", "")
    stored: dict[str, Any] = {"type": kind}
    if name:
        stored["name"] = name[:200]
    if data.lower().startswith("https://"):
        return {**stored, "url": data}
    inline = _DATA_URL.fullmatch(data)
    if inline is not None:
        data = inline.group(2)
    elif re.match(r"[a-z][a-z0-9+.-]*:", data, re.IGNORECASE):  # a URL of another scheme
        return {**stored, "omitted": "not an https URL or inline bytes"}
    problem, raw = _decoded(data)
    if raw is not None:  # the bytes say what they are, whatever the part declared
        found = sniff(raw)
        if found not in MEDIA_TYPES[kind]:
            problem = f"not {a_kind(kind)} type modelguard knows"
        elif any(secret and secret.encode() in raw for secret in secrets):
            problem = "its bytes contain a secret of the capture"
        else:
            sha = digest(raw)
            _write_blob(blob_path(folder, sha), raw)
            return {**stored, "media_type": found, "sha256": sha}
    return {**stored, "omitted": problem}


def _decoded(data: str) -> tuple[str, bytes | None]:
    """(why not, None) or ("", the bytes) of base64 text, refused above the size limit."""
    if len(data) * 3 // 4 > MAX_MEDIA_BYTES:
        return f"over {MAX_MEDIA_BYTES // 2**20} MB", None
    try:
        return "", base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return "not valid base64", None


def _write_blob(path: Path, data: bytes) -> None:
    """Write once (content-addressed: an existing file already holds these bytes), atomically."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def stored_parts(content: Any) -> list[Mapping[str, Any]]:
    """The media parts kept by digest in a stored message's content."""
    if not isinstance(content, list):
        return []
    return [p for p in content if isinstance(p, Mapping) and p.get("type") in MEDIA_KINDS]


def read_blob(folder: Path, part: Mapping[str, Any]) -> bytes:
    """The bytes of a part kept by digest; ValueError saying why they cannot be had."""
    sha = part.get("sha256")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ValueError(f"{part.get('type')} part without its bytes ({part.get('omitted')})")
    path = blob_path(folder, sha)
    try:
        data = read_regular_file(path, MAX_MEDIA_BYTES)
    except (OSError, FileRefused) as exc:
        raise ValueError(f"{part.get('type')} bytes missing ({path}: {exc})") from None
    if digest(data) != sha:
        raise ValueError(f"{part.get('type')} bytes changed since capture ({path})")
    return data
