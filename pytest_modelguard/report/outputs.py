"""Writes the report files a run asked for, all rendered from the one JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO


@dataclass(frozen=True, slots=True)
class Outputs:
    """Where to write each report; None means not asked for."""

    json: Path | None = None
    markdown: Path | None = None
    html: Path | None = None
    routes: Path | None = None
    step_summary: Path | None = None  # $GITHUB_STEP_SUMMARY: the Markdown is appended
    runs: Path | None = None  # --modelguard-save: the cache_dir whose runs/ keeps the JSON

    @property
    def any(self) -> bool:
        paths = (self.json, self.markdown, self.html, self.routes, self.step_summary, self.runs)
        return any(paths)


def write_outputs(doc: dict[str, Any], outputs: Outputs) -> list[Path]:
    """Render and write every requested report; returns the paths written."""
    from ..routing import render_routes_yaml
    from .html import render_html
    from .markdown import render_markdown

    written: list[Path] = []
    if outputs.json is not None:
        outputs.json.parent.mkdir(parents=True, exist_ok=True)
        with outputs.json.open("w", encoding="utf-8") as handle:
            write_json(doc, handle)
        written.append(outputs.json)
    rendered: dict[Path | None, Callable[[], str]] = {
        outputs.markdown: lambda: render_markdown(doc),
        outputs.html: lambda: render_html(doc),
        outputs.routes: lambda: render_routes_yaml(doc),
    }
    for path, render in rendered.items():
        if path is not None:
            _write(path, render())
            written.append(path)
    if outputs.step_summary is not None:
        with outputs.step_summary.open("a", encoding="utf-8") as handle:
            handle.write(render_markdown(doc) + "\n")
        written.append(outputs.step_summary)
    return written


def write_json(doc: dict[str, Any], handle: TextIO) -> None:
    """``json.dumps(doc, indent=2)`` plus a newline, written key by key and case by case:
    the text of a 50,000-case report is never held whole in memory."""
    handle.write("{")
    for n, (key, value) in enumerate(doc.items()):
        handle.write(("\n  " if n == 0 else ",\n  ") + json.dumps(key) + ": ")
        if key == "cases" and isinstance(value, list) and value:
            handle.write("[")
            for i, case in enumerate(value):
                text = json.dumps(case, indent=2).replace("\n", "\n    ")
                handle.write(("\n    " if i == 0 else ",\n    ") + text)
            handle.write("\n  ]")
        else:
            handle.write(json.dumps(value, indent=2).replace("\n", "\n  "))
    handle.write("\n}\n" if doc else "}\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
