"""promptfoo ``prompts`` → labelled templates: inline text, ``file://`` text files (``---``
between prompts), chat prompts (a JSON or YAML list of ``{role, content}``), globs, and
the ``{id|raw, label}`` and ``{file: label}`` forms. A ``.js``/``.py`` prompt function
cannot be imported; it is counted, not dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import SuiteError
from ..suite.yaml_loader import LineList
from .findings import Findings
from .sources import FILE_PREFIX, Files

ROLES = ("system", "user", "assistant", "developer")
SEPARATOR = "\n---\n"
_SCRIPTS = (".js", ".cjs", ".mjs", ".ts", ".py")


@dataclass(frozen=True, slots=True)
class Prompt:
    """A template: text, or chat messages whose contents are templates."""

    label: str
    where: str
    text: str | None = None
    messages: tuple[tuple[str, str], ...] = ()


def chat_of(text: str) -> tuple[tuple[str, str], ...] | None:
    """A prompt written as a JSON list of ``{role, content}`` (text contents), else None."""
    if not text.lstrip().startswith("["):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return _messages(data)


def _messages(data: Any) -> tuple[tuple[str, str], ...] | None:
    if not isinstance(data, list) or not data:
        return None
    out = []
    for item in data:
        if not isinstance(item, Mapping) or set(item) - {"role", "content", "name"}:
            return None
        role, content = item.get("role"), item.get("content")
        if role not in ROLES or not isinstance(content, str):
            return None
        out.append((str(role), content))
    return tuple(out)


class PromptReader:
    """Reads ``prompts`` relative to the config; counts what it cannot import."""

    def __init__(self, files: Files, config: str, findings: Findings) -> None:
        self.files = files
        self.config = config
        self.findings = findings

    def read(self, node: Any, where: str) -> list[Prompt]:
        items: list[tuple[Any, str | None]]
        if isinstance(node, str):
            items = [(node, None)]
        elif isinstance(node, Mapping):  # {file://x.txt: label}
            items = [(key, str(label)) for key, label in node.items()]
        elif isinstance(node, list):
            items = [(item, None) for item in node]
        else:
            raise SuiteError(f"{where}: prompts must be a string, a list or a mapping")
        lines = node.item_lines if isinstance(node, LineList) else []
        prompts: list[Prompt] = []
        for index, (item, label) in enumerate(items):
            at = f"{self.config}:{lines[index]}" if index < len(lines) else where
            prompts.extend(self._one(item, label, at))
        return prompts

    def _one(self, item: Any, label: str | None, where: str) -> list[Prompt]:
        if isinstance(item, Mapping):
            label = item.get("label") if isinstance(item.get("label"), str) else label
            if "raw" in item and isinstance(item["raw"], str):
                return [self._text(item["raw"], label or item["raw"], where)]
            item = item.get("id")
        if not isinstance(item, str):
            raise SuiteError(f"{where}: a prompt must be text, file://PATH or {{id|raw, label}}")
        if not item.startswith(FILE_PREFIX):
            return [self._text(item, label or item, where)]
        return self._files(item, label, where)

    def _files(self, ref: str, label: str | None, where: str) -> list[Prompt]:
        out: list[Prompt] = []
        for path in self.files.refer(ref, where):
            shown = self.files.shown(path)
            suffix = path.suffix.lower()
            if suffix in _SCRIPTS or ".py:" in ref or ".js:" in ref:
                self.findings.miss(where, f"prompt function in a {suffix} file")
                continue
            if suffix in (".json", ".yaml", ".yml", ".jsonl"):
                out.append(self._structured(path, label or shown, where))
                continue
            text = self.files.raw(path, where)
            parts = [part.strip("\n") for part in text.split(SEPARATOR)]
            parts = [part for part in parts if part.strip()]
            for number, part in enumerate(parts, start=1):
                name = label or shown
                name = f"{name}: prompt {number}" if len(parts) > 1 else name
                line = text[: text.find(part)].count("\n") + 1 if part in text else 1
                out.append(self._text(part, name, f"{shown}:{line}"))
        return out

    def _structured(self, path: Any, label: str, where: str) -> Prompt:
        shown = self.files.shown(path)
        if path.suffix.lower() == ".jsonl":
            self.findings.miss(where, "prompts from a .jsonl file")
            return Prompt(label=label, where=f"{shown}:1")
        data = self.files.structured(path, where)
        messages = _messages(data)
        if messages is None:
            self.findings.miss(f"{shown}:1", "a structured prompt that is not a list of messages")
            return Prompt(label=label, where=f"{shown}:1")
        return Prompt(label=label, where=f"{shown}:1", messages=messages)

    def _text(self, text: str, label: str, where: str) -> Prompt:
        messages = chat_of(text)
        if messages is not None:
            return Prompt(label=label, where=where, messages=messages)
        return Prompt(label=label, where=where, text=text)
