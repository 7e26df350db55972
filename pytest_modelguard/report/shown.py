"""A case record as reports show it: huge answers, arguments and reasons capped.

A 5 MB answer or tool-call argument would make every report tens of MB; reports show
``SHOWN_CHARS`` of each with the full size and the whole text's hash said
(``core.formatting.capped``). The record carries ``answer_sha`` (of the whole answer,
as labels key it), so a capped answer is still labelled and compared as itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..core.formatting import SHOWN_CHARS, capped
from ..suite.labels import answer_sha

NAME_CHARS = 1_000  # a tool call's id or name
THUMBNAILS_CHARS = 2 * 2**20
"""The report's thumbnails together (data URLs) stop at this size; later images show by label."""
_IMAGE_URL = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;")


def shown_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """``case`` (``ItemResult.to_dict()``) with its long texts capped and ``answer_sha`` added."""
    shown = dict(case)
    output = str(case.get("output") or "")
    shown["output"] = capped(output)
    shown["answer_sha"] = answer_sha(output)
    for key in ("error", "failure"):
        if isinstance(case.get(key), str):
            shown[key] = capped(case[key])
    shown["grades"] = [
        {**g, "reason": capped(g["reason"])} if isinstance(g.get("reason"), str) else g
        for g in case.get("grades") or ()
    ]
    shown["tool_calls"] = [_call(c) for c in case.get("tool_calls") or ()]
    if isinstance(case.get("trajectory"), list):  # an agent case: each step's text and calls
        shown["trajectory"] = [_step(s) for s in case["trajectory"] if isinstance(s, Mapping)]
    return shown


def _step(step: Mapping[str, Any]) -> dict[str, Any]:
    """An agent step with its text, tool calls and their results capped like answers."""
    calls = [
        {**_call(c), "result": capped(str(c.get("result", "")))}
        for c in step.get("tool_calls") or ()
        if isinstance(c, Mapping)
    ]
    return {**step, "text": capped(str(step.get("text") or "")), "tool_calls": calls}


def _call(call: Mapping[str, Any]) -> dict[str, Any]:
    """A tool call with its id and name capped, and arguments too long to show as capped text."""
    shown = {k: capped(v, NAME_CHARS) if isinstance(v, str) else v for k, v in call.items()}
    arguments = call.get("arguments")
    try:
        text = json.dumps(arguments, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        text = str(arguments)
    if len(text) > SHOWN_CHARS:
        shown["arguments"] = capped(text)
    return shown


def thumbnails(cases: list[dict[str, Any]]) -> dict[str, str]:
    """The small images of the cases' inputs, once each by digest (``thumbnail`` taken out
    of every case record), up to ``THUMBNAILS_CHARS`` in all."""
    found: dict[str, str] = {}
    size = 0
    for case in cases:
        inputs = case.get("inputs")
        if not isinstance(inputs, list):
            continue
        case["inputs"] = [dict(part) for part in inputs if isinstance(part, Mapping)]
        for part in case["inputs"]:
            url, digest = part.pop("thumbnail", None), part.get("sha256")
            fits = isinstance(url, str) and size + len(url) <= THUMBNAILS_CHARS
            if fits and isinstance(digest, str) and url.startswith(_IMAGE_URL):
                size += 0 if digest in found else len(url)
                found.setdefault(digest, url)
    return found
