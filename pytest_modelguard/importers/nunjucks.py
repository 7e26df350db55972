"""The part of Nunjucks a prompt can be rendered with faithfully: ``{{ var }}`` and
``{{ var.field }}`` (also ``{{var}}``), and ``{# comments #}``.

Anything else — a filter (``{{ x | upper }}``), an expression, a call, a tag such as
``{% for %}`` or ``{% if %}``, whitespace control (``{{-``) — raises ``Unsupported``: such
a prompt is listed as unmapped, never rendered wrongly. As in Nunjucks, an undefined
variable renders as nothing (the importer notes it), objects render as JSON, ``true`` and
``false`` as JavaScript writes them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#.*?#\}", re.S)
_NAME = re.compile(r"\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*)\s*")
_PART = re.compile(r"\.?([A-Za-z_$][\w$]*)|\[(\d+)\]")


class Unsupported(ValueError):
    """A template this renderer cannot render faithfully; the message says what."""


def check(template: str) -> None:
    """Unsupported when the template holds anything this renderer cannot render faithfully."""
    for found in _TAG.finditer(template):
        _path(found)


def _path(found: re.Match[str]) -> list[str]:
    if found.group(0).startswith("{#"):
        return [""]
    if found.group(2) is not None:
        tag = found.group(2).strip().split(" ", 1)[0] or "tag"
        raise Unsupported(f"Nunjucks tag {{% {tag} %}} (loops, conditionals, set, include)")
    inner = found.group(1)
    name = _NAME.fullmatch(inner)
    if name is None or inner.startswith("-") or inner.endswith("-"):
        shown = " ".join(inner.split())[:40]
        what = "a filter" if "|" in inner else "an expression"
        raise Unsupported(f"{what} in {{{{ {shown} }}}}")
    return [m.group(1) or m.group(2) for m in _PART.finditer(name.group(1))]


def text_of(value: Any) -> str:
    """A value as Nunjucks prints it: JSON for objects, JavaScript's numbers and booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def render(template: str, values: Mapping[str, Any], missing: set[str] | None = None) -> str:
    """``template`` with its variables filled in; names not in ``values`` go to ``missing``."""

    def fill(found: re.Match[str]) -> str:
        path = _path(found)
        if path == [""]:
            return ""
        value: Any = values
        for part in path:
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                if missing is not None:
                    missing.add(".".join(path))
                return ""
        return text_of(value)

    return _TAG.sub(fill, template)
