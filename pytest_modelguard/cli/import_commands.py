"""``modelguard import [KIND] ...``: every argument goes to the importers' own parsers, which
decide the kind (``importers/command.py``: traces, promptfoo, dataset)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    command = sub.add_parser(
        "import",
        help="bring a suite (promptfoo, dataset) or traffic (traces) from another tool",
        add_help=False,
        prefix_chars="\0",  # every argument goes to the kind's own parser
    )
    command.add_argument("rest", nargs=argparse.REMAINDER)
    command.set_defaults(run=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    """``modelguard import [KIND] ...``: the kind's own parser and command."""
    from ..importers.command import run

    return run(args.rest)
