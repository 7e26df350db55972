"""Writes the report files a run asked for, all rendered from the one JSON document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.jsonfile import write_json


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
    from ..verdict.routing import render_routes_yaml
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


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
