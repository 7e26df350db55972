"""Content parts across wire formats: suites write ``{type: image|audio|file|text}``; each
API gets its own blocks (Chat Completions, Responses, Anthropic Messages).

``parts_problem`` says, at collection, which part a provider kind cannot take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...records.parts import data_url, is_media, media_parts, part_name

ANTHROPIC_FORM = ("anthropic", "bedrock", "vertex")
"""Kinds that speak Anthropic's Messages form."""
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/mpeg": "mp3"}
_CANNOT = {
    "openai-responses": {"audio": "the Responses API takes no audio input: use kind openai"},
    "anthropic": {"audio": "Anthropic's Messages API takes no audio"},
}


def parts_problem(
    kind: str, messages: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any], str] | None:
    """(the part, why) when a provider of ``kind`` cannot be sent one of these messages'
    parts; None when it can take them all."""
    rules = _CANNOT.get("anthropic" if kind in ANTHROPIC_FORM else kind, {})
    for part in media_parts(messages):
        reason = rules.get(str(part.get("type")))
        if reason:
            name = part_name(part)
            return part, f"the {part['type']} part {name} cannot be sent to {kind}: {reason}"
    return None


def _ours(content: Any) -> bool:
    return isinstance(content, list) and any(is_media(p) for p in content)


def openai_content(content: Any) -> Any:
    """Content for Chat Completions: ``image_url`` (a data URL), ``input_audio``, ``file``."""
    if not _ours(content):
        return content
    return [_openai_part(part) for part in content]


def _openai_part(part: Any) -> Any:
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _url(part)}}
    if kind == "audio":
        audio = {"data": _carried(part), "format": _AUDIO_FORMATS[part["media_type"]]}
        return {"type": "input_audio", "input_audio": audio}
    if kind == "file":
        return {"type": "file", "file": {"filename": part_name(part), "file_data": _url(part)}}
    return part


def responses_content(content: Any, role: str) -> Any:
    """Content for the Responses API: ``input_text``, ``input_image``, ``input_file``."""
    if not isinstance(content, list):
        return content
    text = "output_text" if role == "assistant" else "input_text"
    out = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            out.append({"type": text, "text": part["text"]})
        elif kind == "image":
            out.append({"type": "input_image", "image_url": _url(part), "detail": "auto"})
        elif kind == "file":
            out.append({"type": "input_file", "filename": part_name(part),
                        "file_data": _url(part)})  # fmt: skip
        elif kind == "audio":
            raise ValueError(_CANNOT["openai-responses"]["audio"])
        else:
            out.append(part)
    return out


def anthropic_content(content: Any) -> Any:
    """Content for Anthropic: ``image`` and ``document`` blocks with base64 sources."""
    if not _ours(content):
        return content
    out = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind in ("image", "file"):
            block = "image" if kind == "image" else "document"
            out.append({"type": block, "source": _anthropic_source(part)})
        elif kind == "audio":
            raise ValueError(_CANNOT["anthropic"]["audio"])
        else:
            out.append(part)
    return out


def _anthropic_source(part: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(part.get("url"), str):
        return {"type": "url", "url": part["url"]}
    return {"type": "base64", "media_type": part["media_type"], "data": _carried(part)}


def _url(part: Mapping[str, Any]) -> str:
    """The part's URL, or its bytes as a data URL."""
    if not isinstance(part.get("url"), str):
        _carried(part)
    return data_url(part)


def _carried(part: Mapping[str, Any]) -> str:
    """The part's bytes (base64); ValueError for a part stored without them (by digest)."""
    data = part.get("data")
    if not isinstance(data, str):
        raise ValueError(
            f"the {part.get('type')} part {part_name(part)} carries no bytes (only its digest): "
            "send it from the suite, whose file holds them"
        )
    return data
