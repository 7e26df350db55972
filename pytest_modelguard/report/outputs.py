"""Writes the report files a run asked for, all rendered from the one JSON document.

A report that cannot be written after the run (its directory gone, the disk full, a
file where a directory belongs) is not the run's failure: it is told as a warning naming
the path and the reason, and the other reports are still written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
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
    otel: Path | None = None  # --modelguard-otel PATH: evaluation events as OTLP/JSON
    otel_sdk: bool = False  # --modelguard-otel sdk: through the configured logger provider

    @property
    def any(self) -> bool:
        paths = (self.json, self.markdown, self.html, self.routes, self.step_summary, self.runs)
        return any(paths) or self.otel is not None or self.otel_sdk


@dataclass(frozen=True, slots=True)
class Written:
    """The reports written, and a warning per report that could not be."""

    paths: tuple[Path, ...] = ()
    problems: tuple[str, ...] = ()


def unwritten(what: str, path: Path, exc: BaseException) -> str:
    """The warning for a report that could not be written: what, where, why."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{what} not written to {path}: {reason} (the verdict stands)"


def write_outputs(doc: dict[str, Any], outputs: Outputs) -> Written:
    """Render and write every requested report; one that cannot be written is a problem."""
    from ..verdict.routing import render_routes_yaml
    from .html import render_html
    from .markdown import render_markdown
    from .otel import otlp_json

    jobs: list[tuple[str, Path | None, Callable[[Path], None]]] = [
        ("--modelguard-json report", outputs.json, lambda p: _write_json(p, doc)),
        ("--modelguard-markdown report", outputs.markdown,
         lambda p: _write(p, render_markdown(doc))),
        ("--modelguard-html report", outputs.html, lambda p: _write(p, render_html(doc))),
        ("--modelguard-routes file", outputs.routes, lambda p: _write(p, render_routes_yaml(doc))),
        ("$GITHUB_STEP_SUMMARY", outputs.step_summary,
         lambda p: _append(p, render_markdown(doc) + "\n")),
        ("--modelguard-otel events", outputs.otel,
         lambda p: _write(p, json.dumps(otlp_json(doc, time.time_ns(), __version__)) + "\n")),
    ]  # fmt: skip
    written: list[Path] = []
    problems: list[str] = []
    for what, path, write in jobs:
        if path is None:
            continue
        try:
            write(path)
        except (OSError, UnicodeError) as exc:
            problems.append(unwritten(what, path, exc))
        else:
            written.append(path)
    if outputs.otel_sdk:
        problems += _emit_events(doc)
    return Written(tuple(written), tuple(problems))


def _emit_events(doc: dict[str, Any]) -> list[str]:
    """The evaluation events through the user's OpenTelemetry logger provider; a problem
    when the API is missing or too old (the verdict stands either way)."""
    from .otel import emit

    try:
        emit(doc, time.time_ns(), __version__)
    except (ImportError, TypeError, AttributeError):
        return [
            "--modelguard-otel sdk: no events emitted: it needs opentelemetry-api 1.35 or "
            "later and a logger provider the run configures (the verdict stands)"
        ]
    return []


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        write_json(doc, handle)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _append(path: Path, text: str) -> None:
    """$GITHUB_STEP_SUMMARY is the CI's file: appended to, its directory never made."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
