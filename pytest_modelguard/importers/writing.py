"""Writing an imported suite (and the config snippet beside it): checked first, never over an
existing file unless ``--force``, every string valid Unicode."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ExportError, GraderConfigError, SuiteError
from ..core.safety import map_strings, output_problem, valid_text
from ..grading import build_grader
from ..suite import load_suite

SUFFIX = ".modelguard.yaml"


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


def dump(data: Mapping[str, Any]) -> str:
    """YAML text of plain data, in key order, every string valid Unicode."""
    clean = map_strings(dict(data), valid_text)
    return yaml.dump(clean, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def targets(out_dir: Path, name: str, extras: Sequence[str], force: bool) -> list[Path]:
    """``DIR/NAME.modelguard.yaml`` and its companions; ExportError if any exists (no --force)."""
    if not name or any(c in name for c in "/\\:[]\n") or name.startswith("."):
        raise ExportError(f"suite name {name!r}: use letters, digits, '-' and '_' (no path)")
    paths = [out_dir / f"{name}{SUFFIX}", *(out_dir / f"{name}{extra}" for extra in extras)]
    for path in paths:
        problem = output_problem(path)
        if problem:
            raise ExportError(problem)
    existing = [str(path) for path in paths if path.exists()]
    if existing and not force:
        raise ExportError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written: choose another -o DIR or pass --force to replace"
        )
    return paths


def write_suite(path: Path, text: str) -> None:
    """Write atomically once the suite loader accepts the text."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        for case in load_suite(tmp).cases:
            for spec in case.graders:
                build_grader(spec)
        os.replace(tmp, path)
    except (SuiteError, GraderConfigError) as exc:  # a bug here, never the user's input
        raise ExportError(f"{path}: the imported suite does not load: {exc}") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(valid_text(text), encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from None
