"""JSON written as the reports and stored runs keep it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TextIO


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


def write_json_atomic(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` to ``path`` whole or not at all: a crash leaves the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # readable as any report
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            write_json(doc, handle)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
