"""Content parts: images, audio and documents in a message's ``content`` list.

A part made from bytes is kept whole in memory (``data``, base64) with its ``sha256``;
what identifies it — in cache keys, the gate's unit and stored requests — is only
``{type, media_type, sha256}`` (``canonical_messages``): a changed byte is a new
request, a moved, renamed or touched file is not, and no stored request holds the bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..core.safety import printable

MEDIA_KINDS = ("image", "audio", "file")
PART_KINDS = ("text", *MEDIA_KINDS)
MAX_MEDIA_BYTES = 20 * 2**20
"""A part's bytes are refused above this size (OpenAI's limit on one image)."""
MEDIA_TYPES = {
    "image": ("image/png", "image/jpeg", "image/gif", "image/webp"),
    "audio": ("audio/wav", "audio/mpeg"),
    "file": ("application/pdf",),
}
EXTENSIONS = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".pdf": "application/pdf",
}  # fmt: skip
_IDENTITY = ("type", "media_type", "sha256", "url", "text")
"""The keys of a part that make a request what it is; the rest (bytes, name, path) do not."""


def sniff(data: bytes) -> str | None:
    """The media type the bytes' magic number says (PNG, JPEG, GIF, WebP, WAV, MP3, PDF)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if data[8:12] == b"WEBP" else "audio/wav"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG, GIF or JPEG header; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The frame size of a JPEG: its segments walked to the first start-of-frame."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF and at + 9 <= len(data):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if length < 2:
            return None
        at += 2 + length
    return None


def a_kind(kind: str) -> str:
    """``an image``, ``an audio``, ``a file``: a kind of part in a sentence."""
    return ("an " if kind[:1] in ("a", "e", "i", "o", "u") else "a ") + kind


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def byte_part(
    kind: str, data: bytes, media_type: str, name: str = "", path: str = ""
) -> dict[str, Any]:
    """A part carrying ``data``: its digest, its bytes (base64), where it came from, and an
    image's size."""
    part: dict[str, Any] = {
        "type": kind,
        "media_type": media_type,
        "sha256": digest(data),
        "data": base64.b64encode(data).decode("ascii"),
        "bytes": len(data),
    }
    if name:
        part["name"] = name
    if path:
        part["path"] = path
    size = image_size(data) if kind == "image" else None
    if size is not None:
        part["width"], part["height"] = size
    return part


def is_media(part: Any) -> bool:
    """A part of ours that is not text (``image``, ``audio``, ``file``)."""
    return isinstance(part, Mapping) and part.get("type") in MEDIA_KINDS


def media_parts(messages: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every media part of the messages, in order."""
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            yield from (part for part in content if is_media(part))


def part_bytes(part: Mapping[str, Any]) -> bytes:
    """The bytes a part carries; ValueError when it carries none (a URL part, a stored one)."""
    data = part.get("data")
    if not isinstance(data, str):
        raise ValueError(f"the {part.get('type')} part {part_name(part)} carries no bytes")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the {part.get('type')} part {part_name(part)}: {exc}") from None


def data_url(part: Mapping[str, Any]) -> str:
    """The part as a ``data:`` URL (a URL part: its URL)."""
    if isinstance(part.get("url"), str):
        return str(part["url"])
    return f"data:{part['media_type']};base64,{part['data']}"


def part_name(part: Mapping[str, Any]) -> str:
    """The file name a part came from, else its URL's last segment, else ``inline``."""
    name = part.get("name")
    if isinstance(name, str) and name:
        return name
    url = part.get("url")
    if isinstance(url, str) and not url.startswith("data:"):
        return url.rstrip("/").rsplit("/", 1)[-1][:60] or url[:60]
    return "inline"


def part_label(part: Mapping[str, Any]) -> str:
    """``[image receipt.png 640×480 3f2a…]``: kind, name, size, the digest's head."""
    words = [str(part.get("type")), part_name(part)]
    if isinstance(part.get("width"), int) and isinstance(part.get("height"), int):
        words.append(f"{part['width']}×{part['height']}")
    elif isinstance(part.get("bytes"), int):
        words.append(_size(part["bytes"]))
    if isinstance(part.get("sha256"), str):
        words.append(part["sha256"][:4] + "…")
    return printable("[" + " ".join(words) + "]")


IMAGE_TOKENS = (85, 2_500)
"""An image's prompt tokens lie about here (OpenAI's tiles and patches, Anthropic's
width × height / 750); an image of unknown size is counted at the top."""


def estimated_tokens(part: Mapping[str, Any]) -> int:
    """A generous guess at the prompt tokens one media part costs (for the spend cap)."""
    if part.get("type") == "image":
        width, height = part.get("width"), part.get("height")
        if isinstance(width, int) and isinstance(height, int):
            return min(max(math.ceil(width * height / 750), IMAGE_TOKENS[0]), IMAGE_TOKENS[1])
        return IMAGE_TOKENS[1]
    size = part.get("bytes")
    per = 1_000 if part.get("type") == "audio" else 100  # ~10 tokens a second; PDF pages
    return math.ceil(size / per) if isinstance(size, int) else IMAGE_TOKENS[1]


THUMBNAIL_BYTES = 48 * 1024
"""An image up to this size is shown in the HTML report as itself (a data URL); larger
ones by their label (no image library here to shrink them)."""
_SUMMARY = ("type", "name", "path", "url", "media_type", "sha256", "bytes", "width", "height")


def part_summary(part: Mapping[str, Any]) -> dict[str, Any]:
    """What reports show of a part: where it came from, its digest and size, never its bytes;
    a small image's data URL as ``thumbnail``."""
    summary = {key: part[key] for key in _SUMMARY if key in part}
    summary["label"] = part_label(part)
    small = isinstance(part.get("bytes"), int) and part["bytes"] <= THUMBNAIL_BYTES
    if part.get("type") == "image" and small and isinstance(part.get("data"), str):
        summary["thumbnail"] = data_url(part)
    return summary


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    return f"{count / 1024:.0f} KB" if count < 2**20 else f"{count / 2**20:.1f} MB"


def canonical_part(part: Any) -> Any:
    """What identifies a part: a media part without its bytes, name or path."""
    if not is_media(part) or not (isinstance(part.get("sha256"), str) or "url" in part):
        return part
    return {key: part[key] for key in _IDENTITY if key in part}


def canonical_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """The message as requests are keyed and stored: media parts by their digest."""
    content = message.get("content")
    if not isinstance(content, list) or not any(is_media(p) for p in content):
        return dict(message)
    return {**message, "content": [canonical_part(p) for p in content]}


def canonical_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [canonical_message(m) for m in messages]


def shown_text(content: Any) -> str:
    """A message's content for people and judges: text, each media part by its label."""
    if isinstance(content, list):
        return "".join(
            f"\n{part_label(p)}\n" if is_media(p) else str(p.get("text", ""))
            for p in content
            if isinstance(p, Mapping)
        )
    return "" if content is None else str(content)


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or its text parts joined."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)
