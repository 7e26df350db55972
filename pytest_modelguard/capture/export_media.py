"""A captured message as a suite writes it, its images, audio and files included.

Parts captured by digest (``capture/media.py``) are exported as files next to the suite,
in ``<suite>.media/``, and referenced by path; a part the capture could not keep, or whose
bytes are gone from ``<db>-media``, leaves the call out with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..records.parts import MEDIA_KINDS
from ..suite import ROLES
from ..suite.tools import message_problem
from .media import extension, media_dir, read_blob

_MESSAGE_KEYS = frozenset(("role", "content", "name", "tool_calls", "tool_call_id"))
_NON_TEXT = "non-text content (images, audio or files)"


def suite_message(message: Any) -> dict[str, Any] | str:
    """A message as a suite writes it, or why a suite cannot hold it."""
    if not isinstance(message, Mapping):
        return "a message that is not an object"
    message = {k: v for k, v in message.items() if k in _MESSAGE_KEYS or v not in (None, [], {})}
    extra = set(message) - _MESSAGE_KEYS
    if extra:
        return f"message field {sorted(extra)[0]!r}"
    if message.get("role") not in ROLES:
        return f"message role {str(message.get('role'))[:20]!r}"
    content = message.get("content")
    if isinstance(content, list) and all(_is_text_part(p) for p in content):
        content = "".join(p["text"] for p in content)
    elif isinstance(content, list):
        parts = [_part(p, message["role"]) for p in content]
        refused = next((p for p in parts if isinstance(p, str)), None)
        if refused is not None:
            return refused
        content = parts
    if not isinstance(content, str | list) and not (content is None and message.get("tool_calls")):
        return _NON_TEXT
    problem = message_problem({**message, "content": content})
    return f"a malformed {problem[0]}" if problem else {**message, "content": content}


def _is_text_part(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("type") == "text" and "text" in part


def _part(part: Any, role: str) -> dict[str, Any] | str:
    """A part as a suite writes it: text, a captured part by digest, an https image URL."""
    if _is_text_part(part):
        return {"type": "text", "text": str(part["text"])}
    if not isinstance(part, Mapping) or part.get("type") not in MEDIA_KINDS:
        return _NON_TEXT
    kind = part["type"]
    if role != "user":
        return f"{kind} in a {role} message"
    if "omitted" in part:
        return f"{kind} not kept at capture ({str(part['omitted'])[:40]})"
    if isinstance(part.get("url"), str) and kind == "image":
        return {"type": "image", "url": part["url"]}
    if isinstance(part.get("sha256"), str) and isinstance(part.get("media_type"), str):
        return {"type": kind, "sha256": part["sha256"], "media_type": part["media_type"]}
    return _NON_TEXT


def missing_bytes(case: Mapping[str, Any], db: Path) -> str | None:
    """Why a case's captured parts cannot be written out (bytes gone or changed), or None."""
    folder = media_dir(db)
    for part in _captured(case):
        try:
            read_blob(folder, part)
        except ValueError:
            return f"{part['type']} bytes missing from {folder.name}"
    return None


def write_parts(cases: list[dict[str, Any]], db: Path, out: Path) -> int:
    """Write the cases' captured parts next to the suite ``out`` (``<suite>.media/``) and
    point each part at its file; the number of files written."""
    folder_name = out.name.split(".modelguard.")[0] + ".media"
    written: set[str] = set()
    for case in cases:
        for part in _captured(case):
            sha = part.pop("sha256")
            name = f"{sha[:16]}{extension(part.pop('media_type'))}"
            target = out.parent / folder_name / name
            if name not in written:
                data = read_blob(media_dir(db), {"type": part["type"], "sha256": sha})
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                written.add(name)
            part["path"] = f"{folder_name}/{name}"
    return len(written)


def _captured(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The case's parts kept by digest (in its prompt or messages), as mutable dicts."""
    contents = [case.get("prompt")] + [m.get("content") for m in case.get("messages") or ()]
    return [
        part
        for content in contents
        if isinstance(content, list)
        for part in content
        if isinstance(part, dict) and "sha256" in part
    ]
