"""The ``modelguard`` console script."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import Overrides, Settings, load_settings, read_pyproject
from .core.errors import ConfigError, CorruptEntryError
from .engine.cache import parse_entry

if TYPE_CHECKING:
    from .capture.read import TraceFilter


def _settings(pyproject: Path) -> Settings:
    if not pyproject.is_file():
        raise ConfigError(f"{pyproject}: no such file (pass --pyproject PATH)")
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
    """Check that every recorded answer under cache_dir parses and answers its own request."""
    root = args.cache_dir or _settings(args.pyproject).cache_dir
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


def _fail(exc: Exception) -> int:
    print(f"modelguard: {exc}", file=sys.stderr)
    return 4


def _trace_filter(args: argparse.Namespace) -> TraceFilter:
    from .capture.read import TraceFilter

    return TraceFilter(since=args.since, until=args.until, models=tuple(args.model or ()))


def cmd_export(args: argparse.Namespace) -> int:
    """Write a suite of captured calls whose cases carry the production answers."""
    from .capture.export import ExportOptions, export_suite
    from .core.errors import ExportError, TraceDbError

    options = ExportOptions(
        where=_trace_filter(args), sample=args.sample, by=args.by, seed=args.seed,
        dedupe=args.dedupe, suite=args.suite, overwrite=args.force,
    )  # fmt: skip
    try:
        done = export_suite(args.db, args.output, options)
    except (TraceDbError, ExportError) as exc:
        return _fail(exc)
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
    from .capture.read import TraceDb
    from .capture.stats import format_summary, summarize
    from .core.errors import TraceDbError

    try:
        with TraceDb(args.db) as db:
            summary = summarize(db, _trace_filter(args))
    except TraceDbError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(format_summary(str(args.db), summary))
    return 0


def _time_arg(end: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        from .capture.read import parse_time

        try:
            return parse_time(text, end=end)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def _add_trace_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("db", type=Path, help="the traces database written by capture()")
    parser.add_argument(
        "--since",
        type=_time_arg(False),
        metavar="WHEN",
        help="only calls made at or after WHEN (ISO 8601, UTC unless zoned)",
    )
    parser.add_argument(
        "--until",
        type=_time_arg(True),
        metavar="WHEN",
        help="only calls made before WHEN (a bare date includes that day)",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="MODEL",
        help="only calls to MODEL or PROVIDER:MODEL (repeatable)",
    )


def _add_capture_commands(sub: Any) -> None:
    export = sub.add_parser(
        "export", help="write captured calls as a suite whose baseline is the production answer"
    )
    _add_trace_filters(export)
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
        type=_count_arg,
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
    _add_trace_filters(stats)
    stats.add_argument("--json", action="store_true", help="print the summary as JSON")
    stats.set_defaults(run=cmd_traces_stats)
    _add_replay_command(sub)


def _add_replay_command(sub: Any) -> None:
    replay = sub.add_parser(
        "replay", help="can I switch? replay a sample of captured calls against a candidate"
    )
    _add_trace_filters(replay)
    replay.add_argument(
        "--candidate", required=True, metavar="MODEL", help="PROVIDER:MODEL or alias"
    )
    replay.add_argument("--sample", type=_count_arg, default=200, metavar="N", help="calls (200)")
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
    from .core.errors import ExportError, TraceDbError
    from .plugin.replay import ReplayPlan, run_replay

    plan = ReplayPlan(
        db=args.db, candidate=args.candidate, sample=args.sample, seed=args.seed,
        grader=args.grader, record=args.record, pyproject=args.pyproject,
        where=_trace_filter(args),
    )  # fmt: skip
    try:
        status, lines = run_replay(plan)
    except (TraceDbError, ExportError) as exc:
        return _fail(exc)
    print("\n".join(lines))
    return status


def cmd_label_sample(args: argparse.Namespace) -> int:
    """A seeded sample of a JSON report's answers (whole cases) written as a CSV to label."""
    from .report.labelling import sample_sheet

    try:
        sample = sample_sheet(args.report, args.n, args.seed, args.output, args.root)
    except ValueError as exc:  # HistoryError: the report, naming its field
        return _fail(exc)
    n_cases = len({(a.suite, a.case) for a in sample})
    print(
        f"wrote {len(sample)} answers ({n_cases} cases, every model's answer, drawn uniformly "
        f"with seed {args.seed}) to {args.output}: fill the label column (1 pass, 0 fail, "
        f"0.5 half), then run: modelguard label import {args.output}"
    )
    return 0


def cmd_label_import(args: argparse.Namespace) -> int:
    """Merge a filled label sheet into the labels file beside each suite; rows that cannot
    apply are skipped, counted by reason."""
    from .report.labelling import import_sheet, project_models, skipped_lines

    try:
        done = import_sheet(args.sheet, args.root, project_models(args.root))
    except ValueError as exc:  # LabelsError: the sheet or a labels file, naming file and line
        return _fail(exc)
    for name, path, new, total in done.written:
        print(f"suite {name}: {new} labels written to {path} ({total} in all)")
    for line in skipped_lines(done):
        print(line)
    return 0


def _add_label_commands(sub: Any) -> None:
    label = sub.add_parser("label", help="label a sample of answers to check the judge")
    label_sub = label.add_subparsers(dest="label_command", required=True)
    sample = label_sub.add_parser(
        "sample", help="write a seeded, uniformly random sample of a report's answers as a CSV"
    )
    sample.add_argument("report", type=Path, help="a --modelguard-json report")
    sample.add_argument("-n", type=_count_arg, default=100, help="answers to sample (100)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("-o", "--output", type=Path, default=Path("labels.csv"))
    sample.add_argument("--root", type=Path, default=Path("."), help="where the suites are")
    sample.set_defaults(run=cmd_label_sample)
    imp = label_sub.add_parser("import", help="write a filled sheet's labels beside each suite")
    imp.add_argument("sheet", type=Path)
    imp.add_argument("--root", type=Path, default=Path("."), help="where the suites are")
    imp.set_defaults(run=cmd_label_import)


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
    _add_capture_commands(sub)
    _add_import_command(sub)
    _add_label_commands(sub)
    return parser


def _add_import_command(sub: Any) -> None:
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

    from .capture.importing import import_files
    from .core.errors import FileRefused

    missing = [str(p) for p in args.files if not p.exists()]
    if missing:
        return _fail(FileNotFoundError(f"no such file: {', '.join(missing)}"))
    try:
        done = import_files(list(args.files), args.db, tags=tuple(args.tag))
    except FileRefused as exc:
        return _fail(exc)
    except (sqlite3.Error, OSError) as exc:
        return _fail(RuntimeError(f"{args.db}: cannot write the traces database: {exc}"))
    failed = f" ({done.failed} of them failed calls, filed as errors)" if done.failed else ""
    print(f"imported {done.imported} calls into {args.db}{failed}")
    for line in _import_lines(done.skipped, "skipped", done.first) + _import_lines(
        done.notes, "noted", done.first
    ):
        print(line)
    if done.skipped and not done.imported:
        return _fail(ValueError("nothing was imported: every record was skipped (see above)"))
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"modelguard: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    raise SystemExit(main())
