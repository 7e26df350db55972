"""``modelguard models``, ``cache-check`` and ``cache merge``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, CorruptEntryError
from ..engine.cache import parse_entry
from ._args import settings_at


def cmd_models(args: argparse.Namespace) -> int:
    """Print the configured baseline and candidates with their prices."""
    settings = settings_at(args.pyproject)
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
    """Check that every recorded answer under cache_dir parses and answers its own request."""
    root = args.cache_dir or settings_at(args.pyproject).cache_dir
    if not root.is_dir():
        raise ConfigError(f"{root}: no such cache directory (pass --cache-dir PATH)")
    files = sorted((root / "answers").rglob("*.json"))
    bad = 0
    for path in files:
        try:
            parse_entry(path.read_text(encoding="utf-8"), str(path), path.stem)
        except CorruptEntryError as exc:
            bad += 1
            print(exc, file=sys.stderr)
        except (OSError, UnicodeDecodeError) as exc:
            bad += 1
            print(f"{path}: unreadable ({exc})", file=sys.stderr)
    print(f"{len(files)} recorded answers under {root}, {bad} corrupt")
    return 1 if bad else 0


def cmd_cache_merge(args: argparse.Namespace) -> int:
    """Union the recorded answers of several caches into one (e.g. of CI shards)."""
    from ..core.errors import CacheError
    from ..engine.cache_merge import merge_caches

    into: Path = args.into
    for source in args.sources:
        if not source.is_dir():
            raise ConfigError(f"{source}: no such cache directory")
        if source.resolve() == into.resolve():
            raise ConfigError(f"{source}: is --into itself; name the caches to merge into it")
    if into.exists() and not into.is_dir():
        raise ConfigError(f"--into {into}: a file, not a cache directory")
    try:
        merged = merge_caches(args.sources, into)
    except CacheError as exc:
        print(f"modelguard: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # every entry written is whole: a rerun adds the rest
        print(f"modelguard: interrupted; merge again to add the rest to {into}", file=sys.stderr)
        return 130
    for line in merged.corrupt:
        print(f"corrupt: {line}", file=sys.stderr)
    for line in merged.conflicts:
        print(f"conflict: {line}", file=sys.stderr)
    print(
        f"merged {len(args.sources)} caches into {into}: {merged.read} entries read, "
        f"{merged.added} added, {merged.shared} already there with the same answer, "
        f"{len(merged.conflicts)} conflicts (the entry already in {into} kept), "
        f"{len(merged.corrupt)} corrupt"
    )
    return 0 if merged.ok else 1


def add_commands(sub: Any) -> None:
    """``models``, ``cache-check`` and ``cache merge``."""
    models = sub.add_parser("models", help="list the configured models and their prices")
    models.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    models.set_defaults(run=cmd_models)
    check = sub.add_parser("cache-check", help="check that every recorded answer parses")
    check.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    check.add_argument("--cache-dir", type=Path, default=None)
    check.set_defaults(run=cmd_cache_check)
    cache = sub.add_parser("cache", help="manage recorded answers (merge the caches of shards)")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True)
    merge = cache_sub.add_parser(
        "merge", help="union caches into one, each entry checked against its key"
    )
    merge.add_argument("sources", nargs="+", type=Path, metavar="DIR", help="caches to merge")
    merge.add_argument(
        "--into", type=Path, required=True, metavar="DIR", help="the cache to merge into"
    )
    merge.set_defaults(run=cmd_cache_merge)
