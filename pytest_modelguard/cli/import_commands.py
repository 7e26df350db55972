"""``modelguard import``: traffic kept elsewhere into a traces database."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._args import fail


def add_commands(sub: Any) -> None:
    command = sub.add_parser(
        "import",
        help="read OpenAI-format JSONL pairs or OTLP JSON GenAI spans into a traces database",
    )
    command.add_argument("files", nargs="+", type=Path, metavar="FILE")
    command.add_argument("--db", type=Path, required=True, help="the traces database to fill")
    command.add_argument("--tag", action="append", default=[], help="tag every imported call")
    command.set_defaults(run=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    """Import traffic kept elsewhere; what cannot be read is counted per reason."""
    import sqlite3

    from ..capture.importing import import_files
    from ..core.errors import FileRefused

    missing = [str(p) for p in args.files if not p.exists()]
    if missing:
        return fail(FileNotFoundError(f"no such file: {', '.join(missing)}"))
    try:
        done = import_files(list(args.files), args.db, tags=tuple(args.tag))
    except FileRefused as exc:
        return fail(exc)
    except (sqlite3.Error, OSError) as exc:
        return fail(RuntimeError(f"{args.db}: cannot write the traces database: {exc}"))
    failed = f" ({done.failed} of them failed calls, filed as errors)" if done.failed else ""
    print(f"imported {done.imported} calls into {args.db}{failed}")
    for line in _import_lines(done.skipped, "skipped", done.first) + _import_lines(
        done.notes, "noted", done.first
    ):
        print(line)
    if done.skipped and not done.imported:
        return fail(ValueError("nothing was imported: every record was skipped (see above)"))
    return 0


def _import_lines(counts: dict[str, int], verb: str, first: dict[str, str]) -> list[str]:
    """One line per reason, most frequent first, at most 20 (then how many more)."""
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    lines = [f"  {verb} {n}: {why} (first at {first[why]})" for why, n in ranked[:20]]
    if len(ranked) > 20:
        lines.append(
            f"  {verb} {sum(n for _, n in ranked[20:])} more, for {len(ranked) - 20} other reasons"
        )
    return lines
