"""Argument types and helpers the subcommands share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Overrides, Settings, load_settings, read_pyproject
from ..core.errors import ConfigError

if TYPE_CHECKING:
    from ..capture.read import TraceFilter


def settings_at(pyproject: Path) -> Settings:
    if not pyproject.is_file():
        raise ConfigError(f"{pyproject}: no such file (pass --pyproject PATH)")
    return load_settings(str(pyproject), read_pyproject(pyproject), Overrides(), pyproject.parent)


def fail(exc: Exception) -> int:
    print(f"modelguard: {exc}", file=sys.stderr)
    return 4


def trace_filter(args: argparse.Namespace) -> TraceFilter:
    from ..capture.read import TraceFilter

    return TraceFilter(since=args.since, until=args.until, models=tuple(args.model or ()))


def time_arg(end: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        from ..capture.read import parse_time

        try:
            return parse_time(text, end=end)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def fraction_arg(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low <= value < high:
            raise argparse.ArgumentTypeError(
                f"must be a number in [{low:g}, {high:g}), got {text!r}"
            )
        return value

    return parse


def add_trace_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("db", type=Path, help="the traces database written by capture()")
    parser.add_argument(
        "--since",
        type=time_arg(False),
        metavar="WHEN",
        help="only calls made at or after WHEN (ISO 8601, UTC unless zoned)",
    )
    parser.add_argument(
        "--until",
        type=time_arg(True),
        metavar="WHEN",
        help="only calls made before WHEN (a bare date includes that day)",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="MODEL",
        help="only calls to MODEL or PROVIDER:MODEL (repeatable)",
    )
