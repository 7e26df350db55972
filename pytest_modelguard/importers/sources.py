"""The files an import reads, under the input policy, and the ``file://`` references in them.

A referenced path is relative to the directory of the file that names it (the config's)
and must stay inside it: an absolute path, ``~`` or a ``..`` that leaves it is refused
unread, as a suite's ``$ref`` is. Every file is a regular file of at most
``MAX_FILE_BYTES``, UTF-8; YAML is read by the suite's hardened loader (YAML 1.2
booleans), JSON and JSON Lines by the trace import's strict reader (no ``NaN``, 64-bit
numbers, bounded depth), CSV with each row's first line. Every refusal is a
``SuiteError`` naming ``file:line``.
"""

from __future__ import annotations

import csv
import glob
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..capture.import_input import Malformed, load_json
from ..core.errors import FileRefused, SuiteError
from ..core.safety import MAX_FILE_BYTES, read_regular_file
from ..suite.yaml_loader import LineDict, load_text, read_yaml

FILE_PREFIX = "file://"
MAX_GLOB_FILES = 1000
Row = tuple[int, dict[str, Any]]
"""A record and the line it starts on."""


def line_of(node: Any, key: str | None, fallback: str) -> str:
    """``file:line`` of ``node[key]`` (or of the node) from a line-numbered node."""
    base = fallback.rsplit(":", 1)[0] if fallback.rsplit(":", 1)[-1].isdigit() else fallback
    line = getattr(node, "line", 0)
    if key is not None and isinstance(node, LineDict):
        line = node.key_lines.get(key, line)
    return f"{base}:{line}" if line else fallback


class Files:
    """Reads files inside ``root`` (the config's directory), showing them relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def shown(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def refer(self, ref: str, where: str) -> list[Path]:
        """The files ``ref`` (``file://`` optional; a glob allowed) names, refused outside root."""
        text = ref.removeprefix(FILE_PREFIX)
        name = text.split(":", 1)[0] if text.count(":") == 1 and ".py:" in text else text
        if not name or name.startswith(("/", "\\", "~")) or (len(name) > 1 and name[1] == ":"):
            raise SuiteError(f"{where}: {ref!r} is an absolute path; name files relative to it")
        if any(c in name for c in "*?["):
            found = sorted(glob.glob(name, root_dir=self.root, recursive=True))[:MAX_GLOB_FILES]
            paths = [self.root / item for item in found]
            if not paths:
                raise SuiteError(f"{where}: {ref!r} matches no file")
        else:
            paths = [self.root / name]
        for path in paths:
            if not path.resolve().is_relative_to(self.root):
                raise SuiteError(
                    f"{where}: {ref!r} is outside {self.root}; copy the file in beside the config"
                )
        return paths

    def raw(self, path: Path, where: str) -> str:
        """A UTF-8 text file (a BOM dropped), or a SuiteError naming ``where`` and the file."""
        shown = self.shown(path)
        at = "" if where == shown else f"{where}: "  # the file itself, or a file it names
        try:
            data = read_regular_file(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            raise SuiteError(f"{at}{shown}: no such file") from None
        except FileRefused as exc:
            raise SuiteError(f"{at}{shown} {exc}") from None
        except OSError as exc:
            raise SuiteError(f"{at}{shown}: cannot read: {exc.strerror or exc}") from None
        try:
            return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SuiteError(f"{shown}:{line}: not UTF-8; save the file as UTF-8") from None

    def yaml(self, path: Path, where: str) -> Any:
        if not path.is_file():
            self.raw(path, where)  # the message for a missing or special file
        return read_yaml(path, self.shown(path), "file", yaml12=True)

    def json(self, path: Path, where: str) -> Any:
        text = self.raw(path, where)
        try:
            return load_json(text)
        except Malformed as exc:
            raise SuiteError(f"{self.shown(path)}:{exc.line or 1}: {exc}") from None

    def jsonl(self, path: Path, where: str) -> Iterator[Row]:
        shown = self.shown(path)
        for number, line in enumerate(self.raw(path, where).split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = load_json(line)
            except Malformed as exc:
                raise SuiteError(f"{shown}:{number}: {exc}") from None
            if not isinstance(record, dict):
                raise SuiteError(f"{shown}:{number}: not a JSON object")
            yield number, record

    def csv(self, path: Path, where: str) -> Iterator[Row]:
        """Rows as {column: text}, each with the line it starts on; a ragged row is an error."""
        shown = self.shown(path)
        reader = csv.reader(io.StringIO(self.raw(path, where), newline=""))
        try:
            header = [name.strip() for name in next(reader, [])]
            if not header or not any(header):
                raise SuiteError(f"{shown}:1: a CSV file of tests needs a header row")
            start = reader.line_num + 1
            for row in reader:
                if any(cell.strip() for cell in row):
                    if len(row) > len(header):
                        raise SuiteError(
                            f"{shown}:{start}: {len(row)} cells for {len(header)} columns"
                        )
                    cells = row + [""] * (len(header) - len(row))
                    yield start, dict(zip(header, cells, strict=True))
                start = reader.line_num + 1
        except csv.Error as exc:
            raise SuiteError(f"{shown}:{reader.line_num}: invalid CSV: {exc}") from None

    def schema_reader(self, where: str) -> Callable[[str], Any]:
        """Reads the JSON Schema an assert at ``where`` names: inline YAML/JSON text (None when
        it is not YAML), or a ``file://`` beside the config."""

        def read(value: str) -> Any:
            if value.startswith(FILE_PREFIX):
                return self.structured(self.refer(value, where)[0], where)
            try:
                return load_text(value, "schema", yaml12=True)
            except SuiteError:
                return None

        return read

    def structured(self, path: Path, where: str) -> Any:
        """A YAML or JSON file by its suffix (JSON is YAML, so anything else reads as YAML)."""
        if path.suffix.lower() == ".json":
            return self.json(path, where)
        return self.yaml(path, where)
