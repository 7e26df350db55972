"""Content parts as suites write them: ``{type: image, path: img/receipt.png}`` and the like.

A part's file is read like a grader's ``$ref``: a regular file inside the project (a path
or symlink leading outside is refused), at most ``MAX_MEDIA_BYTES``; its media type is
sniffed from its magic bytes and must agree with its extension or declared ``media_type``.
Every refusal is a ``PartProblem``: the node whose line to show, its key, what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import FileRefused
from ..core.formatting import did_you_mean
from ..core.safety import read_regular_file
from ..records.parts import (
    EXTENSIONS,
    MAX_MEDIA_BYTES,
    MEDIA_KINDS,
    MEDIA_TYPES,
    PART_KINDS,
    a_kind,
    byte_part,
    media_parts,
    part_summary,
    sniff,
)

_KEYS = {
    "text": ("type", "text"),
    "image": ("type", "path", "url", "data", "media_type"),
    "audio": ("type", "path", "data", "media_type"),
    "file": ("type", "path", "data", "media_type"),
}
_SOURCES = ("path", "url", "data")
_DATA_URL = re.compile(r"data:([a-z]+/[a-z0-9.+-]+);base64,(.*)", re.DOTALL | re.IGNORECASE)
_NAMES = {
    "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP",
    "audio/wav": "WAV", "audio/mpeg": "MP3", "application/pdf": "PDF",
}  # fmt: skip


def inputs_of(messages: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """What reports show of the messages' images, audio and files (``part_summary``)."""
    return tuple(part_summary(part) for part in media_parts(messages))


class PartProblem(Exception):
    """A part a suite cannot hold: ``node`` (for its line), ``key``, ``problem``."""

    def __init__(self, node: Any, key: str | None, problem: str) -> None:
        super().__init__(problem)
        self.node, self.key, self.problem = node, key, problem


def content_parts(raw: list[Any], role: str, base_dir: str, root: str) -> list[dict[str, Any]]:
    """The parts of a ``content`` (or ``prompt``) list, read and checked."""
    if not raw:
        raise PartProblem(raw, None, "a list of parts needs at least one part")
    parts = []
    for item in raw:
        part = _part(item, role, base_dir, root)
        if part["type"] != "text" and getattr(item, "line", 0):
            part["line"] = item.line  # where collection errors point (never in a cache key)
        parts.append(part)
    return parts


def _part(item: Any, role: str, base_dir: str, root: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise PartProblem(item, None, f"a part is a mapping with a type, got {item!r:.40}")
    kind = item.get("type")
    if kind not in PART_KINDS:
        raise PartProblem(
            item,
            "type",
            f"unknown part type {kind!r:.40}: use one of {', '.join(PART_KINDS)}"
            + did_you_mean(str(kind), PART_KINDS),
        )
    unknown = [k for k in item if k not in _KEYS[kind]]
    if unknown:
        raise PartProblem(
            item,
            str(unknown[0]),
            f"unknown key in {a_kind(kind)} part (it takes {', '.join(_KEYS[kind][1:])})"
            + did_you_mean(str(unknown[0]), _KEYS[kind]),
        )
    if kind == "text":
        text = item.get("text")
        if not isinstance(text, str):
            raise PartProblem(item, "text", "a text part needs text (a string)")
        return {"type": "text", "text": text}
    if role != "user":
        raise PartProblem(item, "type", f"{a_kind(kind)} part goes in a user message, not {role!r}")
    sources = [k for k in _SOURCES if k in item]
    if len(sources) != 1:
        given = " and ".join(sources) or "none"
        raise PartProblem(item, None, f"{a_kind(kind)} part needs exactly one of {_sources(kind)} "
                          f"(given: {given})")  # fmt: skip
    declared = _declared(item, kind)
    if "url" in item:
        return _url_part(item, declared)
    if "data" in item:
        if declared is None:
            raise PartProblem(item, "data", "inline data needs its media_type (e.g. image/png)")
        data = _decoded(item, "data", item["data"])
        return _checked(item, "data", kind, data, declared, "")
    return _file_part(item, kind, declared, base_dir, root)


def _sources(kind: str) -> str:
    return "path, url or data" if kind == "image" else "path or data"


def _declared(item: Mapping[str, Any], kind: str) -> str | None:
    declared = item.get("media_type")
    if declared is None:
        return None
    allowed = MEDIA_TYPES[kind]
    if declared not in allowed:
        raise PartProblem(
            item,
            "media_type",
            f"{declared!r:.40} is not {a_kind(kind)} type modelguard sends: use one of "
            f"{', '.join(allowed)}" + did_you_mean(str(declared), allowed),
        )
    return str(declared)


def _url_part(item: Mapping[str, Any], declared: str | None) -> dict[str, Any]:
    url = item["url"]
    if not isinstance(url, str) or not url:
        raise PartProblem(item, "url", "must be an https:// or data: URL (a string)")
    inline = _DATA_URL.fullmatch(url)
    if inline is not None:
        media_type = inline.group(1).lower()
        if declared is not None and declared != media_type:
            raise PartProblem(item, "media_type", f"is {declared} but the data URL says "
                              f"{media_type}")  # fmt: skip
        data = _decoded(item, "url", inline.group(2))
        return _checked(item, "url", "image", data, _declared({"media_type": media_type},
                        "image") or media_type, "")  # fmt: skip
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme != "https":
        raise PartProblem(
            item,
            "url",
            f"scheme {scheme or 'missing'!r}: an image url must be https:// (sent to the "
            "provider as is) or data:; use path: for a file of the project",
        )
    if any(c.isspace() for c in url) or len(url) > 2048:
        raise PartProblem(item, "url", "is not a URL (spaces, or longer than 2,048 characters)")
    part: dict[str, Any] = {"type": "image", "url": url}
    if declared is not None:
        part["media_type"] = declared
    return part


def _decoded(item: Any, key: str, text: Any) -> bytes:
    if not isinstance(text, str):
        raise PartProblem(item, key, "inline data must be base64 text")
    compact = "".join(text.split())
    if len(compact) * 3 // 4 > MAX_MEDIA_BYTES:
        raise PartProblem(item, key, f"inline data is over {MAX_MEDIA_BYTES // 2**20} MB; "
                          "the limit for one part")  # fmt: skip
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PartProblem(item, key, f"is not valid base64 ({exc})") from None


def _file_part(
    item: Mapping[str, Any], kind: str, declared: str | None, base_dir: str, root: str
) -> dict[str, Any]:
    written = item["path"]
    if not isinstance(written, str) or not written:
        raise PartProblem(item, "path", "must be a file's path, relative to the suite")
    if "://" in written:
        raise PartProblem(item, "path", f"{written!r:.60} is a URL; a path names a file")
    path = Path(base_dir, written)
    inside = Path(root).resolve()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise PartProblem(item, "path", f"cannot resolve {written!r}: {exc}") from None
    if not resolved.is_relative_to(inside):
        raise PartProblem(
            item, "path", f"{written!r} is outside the project ({inside}); copy the file in"
        )
    try:
        data = read_regular_file(path, MAX_MEDIA_BYTES)
    except FileNotFoundError:
        raise PartProblem(item, "path", f"file {written!r} not found (looked for {path})") from None
    except FileRefused as exc:
        raise PartProblem(item, "path", f"{written!r} {exc}") from None
    except OSError as exc:
        raise PartProblem(item, "path", f"cannot read {written!r}: {exc.strerror or exc}") from None
    by_name = EXTENSIONS.get(path.suffix.lower())
    if by_name is not None and by_name not in MEDIA_TYPES[kind]:
        raise PartProblem(item, "path", f"{written!r} is a {_NAMES[by_name]} by its name, not "
                          f"{a_kind(kind)}: use type: {_kind_of(by_name)}")  # fmt: skip
    said = "media_type says" if declared else "its name says"
    return _checked(item, "path", kind, data, declared or by_name, written, said)


def _kind_of(media_type: str) -> str:
    return next(kind for kind in MEDIA_KINDS if media_type in MEDIA_TYPES[kind])


def _checked(
    item: Any,
    key: str,
    kind: str,
    data: bytes,
    expected: str | None,
    written: str,
    said: str = "media_type says",
) -> dict[str, Any]:
    """The part of these bytes, once their magic agrees with the kind and the expected type."""
    found = sniff(data)
    allowed = MEDIA_TYPES[kind]
    if found not in allowed:
        what = f"a {_NAMES[found]}" if found else "not a type modelguard knows"
        raise PartProblem(
            item,
            key,
            f"{written or 'the data'} is {what} by its content, not {a_kind(kind)} "
            f"({', '.join(_NAMES[t] for t in allowed)})",
        )
    if expected is not None and expected != found:
        raise PartProblem(
            item,
            key,
            f"{written or 'the data'} is a {_NAMES[found]} by its content, but {said} "
            f"{_NAMES[expected]}: rename it or fix media_type",
        )
    name = Path(written).name if written else ""
    return byte_part(kind, data, found, name=name, path=written)
