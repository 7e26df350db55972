"""The ``modelguard`` console script."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .cache import CorruptEntryError
from .config import ConfigError, Overrides, Settings, load_settings, read_pyproject
from .providers.base import Completion


def _settings(pyproject: Path) -> Settings:
    return load_settings(str(pyproject), read_pyproject(pyproject), Overrides(), pyproject.parent)


def cmd_models(args: argparse.Namespace) -> int:
    """Print the configured baseline and candidates with their prices."""
    settings = _settings(args.pyproject)
    for model in settings.models:
        role = "baseline " if model is settings.baseline else "candidate"
        price = (
            f"${model.price.input:g}/M in, ${model.price.output:g}/M out"
            if model.price
            else "price unknown (set price on an alias)"
        )
        print(f"{role}  {model.name:<32} {model.provider.name}:{model.model:<28} {price}")
    return 0


def cmd_cache_check(args: argparse.Namespace) -> int:
    """Check that every recorded answer under cache_dir parses."""
    root = args.cache_dir or _settings(args.pyproject).cache_dir
    files = sorted((root / "answers").rglob("*.json"))
    bad = 0
    for path in files:
        try:
            Completion.from_dict(json.loads(path.read_text(encoding="utf-8"))["completion"])
        except (ValueError, KeyError, TypeError) as exc:
            bad += 1
            print(CorruptEntryError(f"{path}: {exc}"), file=sys.stderr)
    print(f"{len(files)} recorded answers under {root}, {bad} corrupt")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelguard", description="pytest-modelguard tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    models = sub.add_parser("models", help="list the configured models and their prices")
    models.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    models.set_defaults(run=cmd_models)
    check = sub.add_parser("cache-check", help="check that every recorded answer parses")
    check.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    check.add_argument("--cache-dir", type=Path, default=None)
    check.set_defaults(run=cmd_cache_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"modelguard: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    raise SystemExit(main())
