"""What the loopback server reads of content parts: images, audio and documents as each wire
format carries them (``loopback.Call.media``), and a PNG made for tests.

Chat Completions: ``image_url`` (a data URL or a URL), ``input_audio``, ``file``;
Responses: ``input_image``, ``input_file``; Anthropic: ``image`` and ``document`` blocks.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

_DATA_URL = re.compile(r"data:([^;,]+);base64,(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Media:
    """One part as the server received it: the wire's block type and what it carried."""

    block: str  # image_url, input_audio, file, input_image, input_file, image, document
    media_type: str = ""
    data: bytes = b""  # the decoded bytes ("" for a URL part)
    url: str = ""  # the URL as sent (a data URL included)
    source: str = ""  # Anthropic's source type: base64 or url


def media_of(body: dict[str, Any]) -> tuple[Media, ...]:
    """Every media part of a request body (any of the three wire formats), in order."""
    found: list[Media] = []
    raw = body.get("messages", body.get("input"))
    for message in raw if isinstance(raw, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            media = _media(part) if isinstance(part, dict) else None
            if media is not None:
                found.append(media)
    return tuple(found)


def _media(part: dict[str, Any]) -> Media | None:
    kind = part.get("type")
    if kind == "image_url":
        return _from_url(kind, str((part.get("image_url") or {}).get("url", "")))
    if kind == "input_image":
        return _from_url(kind, str(part.get("image_url", "")))
    if kind == "file":
        return _from_url(kind, str((part.get("file") or {}).get("file_data", "")))
    if kind == "input_file":
        return _from_url(kind, str(part.get("file_data", "")))
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        media_type = {"wav": "audio/wav", "mp3": "audio/mpeg"}.get(audio.get("format"), "")
        return Media(kind, media_type, base64.b64decode(audio.get("data", "")))
    if kind in ("image", "document"):
        source = part.get("source") or {}
        if source.get("type") == "url":
            return Media(kind, url=str(source.get("url")), source="url")
        data = base64.b64decode(source.get("data", ""), validate=True)
        return Media(kind, str(source.get("media_type", "")), data, source=str(source.get("type")))
    return None


def _from_url(block: str, url: str) -> Media:
    inline = _DATA_URL.fullmatch(url)
    if inline is None:
        return Media(block, url=url)
    return Media(block, inline.group(1), base64.b64decode(inline.group(2), validate=True), url)


def png(width: int, height: int, seed: int = 0) -> bytes:
    """A valid RGB PNG of this size (a gradient shifted by ``seed``), made with zlib."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in ((x * 7 + seed) % 256, y * 5 % 256, 128))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )  # fmt: skip
