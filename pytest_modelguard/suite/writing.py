"""Suites written by our tools (``export``, ``import``): readable YAML, and a file written
only once the suite loader (and the caller's own check) accepts it."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ExportError, ModelguardError
from ..core.safety import map_strings, valid_text
from .schema import Suite, load_suite


def _dumper_base() -> type[yaml.SafeDumper]:
    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter: 5x faster


class _Dumper(_dumper_base()):  # type: ignore[misc]
    """Literal blocks for multi-line text, flow style for short scalar lists, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.representer.SafeRepresenter, text: str) -> yaml.Node:
    style = "|" if "\n" in text and text == text.strip(" ") and "\r" not in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_list(dumper: yaml.representer.SafeRepresenter, items: list[Any]) -> yaml.Node:
    short = sum(len(str(i)) for i in items) < 60
    flow = short and all(isinstance(i, str | int | float) and "\n" not in str(i) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


def _represent_dict(dumper: yaml.representer.SafeRepresenter, data: dict[Any, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items())


_Dumper.add_representer(str, _represent_str)
_Dumper.add_multi_representer(list, _represent_list)
_Dumper.add_multi_representer(dict, _represent_dict)


def dump_yaml(data: Mapping[str, Any]) -> str:
    """``data`` as block YAML, keys in their order, every string valid Unicode, 100 columns."""
    clean = map_strings(dict(data), valid_text)
    return yaml.dump(clean, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def indent(text: str) -> str:
    """``text`` two spaces deeper (blank lines left blank)."""
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(keepends=True))


def write_suite(
    out: Path, text: str, check: Callable[[Suite], None] | None = None, what: str = "written"
) -> None:
    """Write atomically once the suite loader accepts the text (and ``check`` the suite, e.g.
    by building its graders); ExportError otherwise: a bug here, never the user's input."""
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        suite = load_suite(tmp)
        if check is not None:
            check(suite)
        os.replace(tmp, out)
    except ModelguardError as exc:  # SuiteError, or what ``check`` raises
        raise ExportError(f"{out}: the {what} suite does not load: {exc}") from None
    except OSError as exc:
        raise ExportError(f"{out}: cannot write: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
