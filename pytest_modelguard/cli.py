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


def cmd_cache_merge(args: argparse.Namespace) -> int:
    """Union the recorded answers of several caches into one (e.g. of CI shards)."""
    from .core.errors import CacheError
    from .engine.cache_merge import merge_caches

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
    print(
        f"wrote {done.cases} cases to {done.path} from {done.calls} matching calls"
        + (f" (left out: {skipped})" if skipped else "")
    )
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
    _add_capture_commands(sub)
    _add_import_command(sub)
    _add_label_commands(sub)
    _add_compare_command(sub)
    return parser


def _fraction_arg(low: float, high: float) -> Callable[[str], float]:
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


def _add_compare_command(sub: Any) -> None:
    command = sub.add_parser(
        "compare",
        help="a paired verdict on two result files (our JSON, Inspect logs, promptfoo, CSV)",
        description="Pair two result files by case id and judge the candidate against the "
        "base with the gate's own compare(): the verdict, the interval, p, n and the cases "
        "behind the delta. Exit 1 when the gate fails.",
    )
    command.add_argument("base", type=Path, help="the base's results")
    command.add_argument("candidate", type=Path, help="the candidate's results")
    command.add_argument("--gate", choices=("regression", "non-inferiority"), default="regression")
    command.add_argument("--margin", type=_fraction_arg(0.0, 1.0), default=0.0)
    command.add_argument("--confidence", type=_fraction_arg(0.5, 1.0), default=0.95)
    command.add_argument("--method", choices=("auto", "score", "t", "bca"), default="auto")
    command.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (bca)")
    command.add_argument("--base-model", metavar="NAME", help="the model to read from BASE")
    command.add_argument("--candidate-model", metavar="NAME", help="the model from CANDIDATE")
    command.add_argument("--scorer", metavar="NAME", help="the scorer (metric) to read from both")
    command.add_argument("--base-scorer", metavar="NAME", help="the scorer to read from BASE")
    command.add_argument("--candidate-scorer", metavar="NAME", help="the scorer from CANDIDATE")
    command.add_argument("--show", type=_count_arg, default=10, help="cases shown (10)")
    command.add_argument("--json", type=Path, metavar="PATH", help="write the result as JSON")
    command.add_argument("--markdown", type=Path, metavar="PATH", help="write it as Markdown")
    command.set_defaults(run=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Judge two result files as the gate would judge a run."""
    from .scorefiles.command import Choice, CompareRun, Rule, run_compare

    named_both = bool(args.base_scorer and args.candidate_scorer)
    rule = Rule(args.gate, args.margin, args.confidence, args.seed, args.method)
    return run_compare(
        CompareRun(
            base=args.base,
            candidate=args.candidate,
            rule=rule,
            base_choice=Choice("base", args.base_model, args.base_scorer or args.scorer),
            candidate_choice=Choice(
                "candidate", args.candidate_model, args.candidate_scorer or args.scorer
            ),
            allow_mismatch=named_both,
            show=args.show,
            json_path=args.json,
            markdown_path=args.markdown,
        )
    )


def _add_import_command(sub: Any) -> None:
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
    from .importers.command import run

    return run(args.rest)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"modelguard: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    raise SystemExit(main())
