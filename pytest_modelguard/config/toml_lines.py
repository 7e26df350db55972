"""Where a key sits in pyproject.toml: tomllib keeps no positions, so a plain line scan."""

from __future__ import annotations

import re
from pathlib import Path

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY_PART = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)"""
_KEY = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+)""")


def _dotted(text: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _PART.findall(text))


def key_line(source: str, path: tuple[str, ...]) -> int | None:
    """The line of ``[tool.modelguard]`` key ``path`` in ``source``, or of its nearest parent.

    A plain line scan (tomllib keeps no positions): table headers and ``key =`` lines.
    """
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    full = ("tool", "modelguard", *path)
    best, best_line = 1, None
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _dotted(header[1])
            candidate = table
        else:
            key = _KEY.match(line)
            if key is None:
                continue
            candidate = table + _dotted(key[1])
        if len(candidate) > best and candidate == full[: len(candidate)]:
            best, best_line = len(candidate), number
    return best_line
