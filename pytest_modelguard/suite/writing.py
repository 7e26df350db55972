"""Suites written by our tools (``export``, ``import inspect``): readable YAML, and a file
written only once the suite loader accepts it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ExportError, SuiteError
from .schema import load_suite


class _Dumper(yaml.SafeDumper):
    """Literal blocks for multi-line text, flow style for short scalar lists, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    short = sum(len(str(i)) for i in items) < 60
    flow = short and all(isinstance(i, str | int | float) and "\n" not in str(i) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def dump_yaml(data: Mapping[str, Any]) -> str:
    """``data`` as block YAML, keys in their order, Unicode kept, 100 columns."""
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def indent(text: str) -> str:
    """``text`` two spaces deeper (blank lines left blank)."""
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(keepends=True))


def write_suite(out: Path, text: str) -> None:
    """Write atomically after checking that the suite loader accepts the text."""
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        load_suite(tmp)
        os.replace(tmp, out)
    except SuiteError as exc:  # a bug here, never the user's input
        raise ExportError(f"{out}: the written suite does not load: {exc}") from None
    except OSError as exc:
        raise ExportError(f"{out}: cannot write: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
