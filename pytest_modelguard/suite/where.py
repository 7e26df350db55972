"""Where a suite's node is: ``path:line: key: problem`` errors for the suite reader."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..core.errors import SuiteError
from ..core.formatting import did_you_mean
from .yaml_loader import LineDict


def type_name(value: Any) -> str:
    """``list`` for a YAML sequence, ``dict`` for a mapping, else the Python type's name."""
    if isinstance(value, list):
        return "list"
    return "dict" if isinstance(value, dict) else type(value).__name__


class Where:
    """Formats ``path:line: key: problem`` messages."""

    def __init__(self, path: str, root: str) -> None:
        self.path = path
        self.root = root  # the project: files a suite refers to must lie inside it

    def fail(self, node: Any, key: str | None, problem: str, at: Any = None) -> SuiteError:
        """The error at ``node``'s ``key`` (or at the line of ``at``, a node inside it)."""
        line = getattr(node, "line", 0)
        if key is not None and isinstance(node, LineDict):
            line = node.key_lines.get(key, line)
        line = getattr(at, "line", 0) or line
        where = f"{self.path}:{line}" if line else self.path
        return SuiteError(f"{where}: {key + ': ' if key else ''}{problem}")

    def mapping(self, parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        """``parent[key]`` (empty when absent); an error at its key unless it is a mapping."""
        value = parent.get(key, LineDict())
        if not isinstance(value, Mapping):
            raise self.fail(parent, key, f"must be a mapping, got {type_name(value)}")
        return value

    def check_keys(self, node: Any, allowed: tuple[str, ...], what: str) -> None:
        if not isinstance(node, Mapping):
            raise self.fail(node, None, f"{what} must be a mapping, got {type_name(node)}")
        for key in node:
            if key not in allowed:
                raise self.fail(
                    node, str(key), f"unknown key in {what}" + did_you_mean(key, allowed)
                )

    def error(self, problem: str, line: int = 0) -> SuiteError:
        """The error at ``line`` of the file (the file alone when 0)."""
        return SuiteError(f"{self.path}:{line}: {problem}" if line else f"{self.path}: {problem}")

    @staticmethod
    def as_error(message: str) -> SuiteError:
        """A message that already names its file, as the suite's error."""
        return SuiteError(message)

    @staticmethod
    def hint(word: object, choices: Iterable[object]) -> str:
        """`` (did you mean 'x'?)`` for a near miss among ``choices``."""
        return did_you_mean(word, choices)
