"""The ``modelguard`` console script: the parser and ``main``; each group of subcommands
lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..core.errors import ConfigError
from . import (
    cache_commands,
    compare_command,
    import_commands,
    label_commands,
    schema_command,
    traffic_commands,
)


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand, each group added by its module."""
    parser = argparse.ArgumentParser(prog="modelguard", description="pytest-modelguard tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    cache_commands.add_commands(sub)
    traffic_commands.add_commands(sub)
    import_commands.add_commands(sub)
    label_commands.add_commands(sub)
    compare_command.add_commands(sub)
    schema_command.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"modelguard: {exc}", file=sys.stderr)
        return 4
