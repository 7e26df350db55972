"""``modelguard export``, ``traces stats`` and ``replay``: captured traffic."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._args import add_trace_filters, count_arg, fail, trace_filter


def cmd_export(args: argparse.Namespace) -> int:
    """Write a suite of captured calls whose cases carry the production answers."""
    from ..capture.export import ExportOptions, export_suite
    from ..core.errors import ExportError, TraceDbError

    options = ExportOptions(
        where=trace_filter(args), sample=args.sample, by=args.by, seed=args.seed,
        dedupe=args.dedupe, suite=args.suite, overwrite=args.force,
    )  # fmt: skip
    try:
        done = export_suite(args.db, args.output, options)
    except (TraceDbError, ExportError) as exc:
        return fail(exc)
    left = {"failed": done.errors, "duplicates": done.duplicates, **done.reasons}
    skipped = ", ".join(f"{n} {why}" for why, n in left.items() if n)
    agents = f" ({done.agent_cases} of them agent conversations)" if done.agent_cases else ""
    print(
        f"wrote {done.cases} cases{agents} to {done.path} from {done.calls} matching calls"
        + (f" (left out: {skipped})" if skipped else "")
    )
    alone = ", ".join(f"{n} {why}" for why, n in done.ungrouped.items())
    if alone:
        print(f"not grouped into agent cases (exported one call per case): {alone}")
    if done.forks:
        print(f"{done.forks} conversations forked: one agent case per branch")
    return 0


def cmd_traces_stats(args: argparse.Namespace) -> int:
    """Summarise a traces database: calls, models, cost, tokens, latency, errors."""
    from ..capture.read import TraceDb
    from ..capture.stats import format_summary, summarize
    from ..core.errors import TraceDbError

    try:
        with TraceDb(args.db) as db:
            summary = summarize(db, trace_filter(args))
    except TraceDbError as exc:
        return fail(exc)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(format_summary(str(args.db), summary))
    return 0


def add_commands(sub: Any) -> None:
    """``export``, ``traces stats`` and ``replay``."""
    export = sub.add_parser(
        "export", help="write captured calls as a suite whose baseline is the production answer"
    )
    add_trace_filters(export)
    export.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="the suite to write (FILE.modelguard.yaml)",
    )
    export.add_argument(
        "--sample",
        type=count_arg,
        metavar="N",
        help="draw N calls at random (seeded) instead of all",
    )
    export.add_argument(
        "--by",
        choices=("tag", "model"),
        help="stratify the sample: each tag set (or model) gets its share",
    )
    export.add_argument("--seed", type=int, default=0, help="the sampling seed (default 0)")
    export.add_argument(
        "--dedupe", action="store_true", help="keep one call (the latest) per identical request"
    )
    export.add_argument("--suite", metavar="NAME", help="the suite's name (default: from FILE)")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.set_defaults(run=cmd_export)
    traces = sub.add_parser("traces", help="inspect a traces database written by capture()")
    traces_sub = traces.add_subparsers(dest="traces_command", required=True)
    stats = traces_sub.add_parser(
        "stats", help="calls, models, cost, tokens, latency and errors of a traces database"
    )
    add_trace_filters(stats)
    stats.add_argument("--json", action="store_true", help="print the summary as JSON")
    stats.set_defaults(run=cmd_traces_stats)
    _add_replay_command(sub)


def _add_replay_command(sub: Any) -> None:
    replay = sub.add_parser(
        "replay", help="can I switch? replay a sample of captured calls against a candidate"
    )
    add_trace_filters(replay)
    replay.add_argument(
        "--candidate", required=True, metavar="MODEL", help="PROVIDER:MODEL or alias"
    )
    replay.add_argument("--sample", type=count_arg, default=200, metavar="N", help="calls (200)")
    replay.add_argument("--seed", type=int, default=0, help="sampling and bootstrap seed (0)")
    replay.add_argument(
        "--grader",
        choices=("similarity", "judge"),
        default="similarity",
        help="similarity to the production answer, or a pairwise llm_judge (needs judge = ...)",
    )
    replay.add_argument(
        "--record", choices=("none", "once", "all"), default="once", help="calls (default once)"
    )
    replay.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    replay.set_defaults(run=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    """Export a sample, run it against the candidate, and say whether to switch."""
    from ..core.errors import ExportError, TraceDbError
    from ..plugin.replay import ReplayPlan, run_replay

    plan = ReplayPlan(
        db=args.db, candidate=args.candidate, sample=args.sample, seed=args.seed,
        grader=args.grader, record=args.record, pyproject=args.pyproject,
        where=trace_filter(args),
    )  # fmt: skip
    try:
        status, lines = run_replay(plan)
    except (TraceDbError, ExportError) as exc:
        return fail(exc)
    print("\n".join(lines))
    return status
