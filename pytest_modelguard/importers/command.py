"""``modelguard import KIND ...``: which importer an argument list asks for, and running it.

The rule: the first argument names the kind when it is one of ``KINDS`` (``traces``,
``promptfoo``, ``dataset``), except that a suite kind given with ``--db`` (which only the
trace import takes) is today's form, ``modelguard import FILE... --db DB``, where every
argument is a trace file. Any other first argument is a trace file. So a file literally
named ``promptfoo`` is imported as traces with ``--db``, and as the kind without it;
``./promptfoo`` is always a file.

A new kind: its name in ``KINDS`` (and in ``SUITE_KINDS`` when it takes no
``--db``), its parser and command in ``_COMMANDS``, its usage line in ``USAGE``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..core.errors import ExportError, FileRefused, SuiteError
from ..core.safety import printable, valid_text
from .findings import Findings, NothingImported

SUITE_KINDS = ("promptfoo", "dataset", "inspect")
KINDS = ("traces", *SUITE_KINDS)
DATASET_FORMATS = ("pydantic-evals", "langsmith", "langfuse")
USAGE = """\
usage: modelguard import promptfoo CONFIG [-o DIR] [--suite NAME] [--force]
       modelguard import dataset FILE [-o DIR] [--format {formats}] [--suite NAME] [--force]
       modelguard import inspect LOG... [-o DIR] [--suite NAME] [--force]
       modelguard import [traces] FILE... --db DB [--tag TAG]

Bring a suite from another tool (a promptfoo config; a Pydantic Evals, LangSmith or
Langfuse dataset; Inspect AI logs, their answers as the baseline) or traffic into a traces
database (OpenAI-format JSONL pairs, Batch API files, OTLP JSON GenAI spans). A first
argument that names a kind is the kind, unless --db is given with a suite kind: then every
argument is a trace file (write ./promptfoo for a file so named).
"""


def choose(argv: Sequence[str]) -> tuple[str, list[str]]:
    """``(kind, the rest of the arguments)`` by the module's rule."""
    args = list(argv)
    if not args or args[0] not in KINDS:
        return "traces", args
    has_db = any(a == "--db" or a.startswith("--db=") for a in args[1:])
    if args[0] in SUITE_KINDS and has_db:
        return "traces", args
    return args[0], args[1:]


def _fail(exc: Exception) -> int:
    if isinstance(exc, NothingImported):
        _summary(exc.findings)
    print(f"modelguard: {printable(str(exc))}", file=sys.stderr)
    return 4


def run(argv: Sequence[str]) -> int:
    """Run ``modelguard import`` with the arguments after ``import``."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE.format(formats="|".join(DATASET_FORMATS)), end="")
        return 0 if argv else 2
    kind, rest = choose(argv)
    parser, command = _COMMANDS[kind]()
    return command(parser.parse_args(rest))


def _traces_parser() -> tuple[argparse.ArgumentParser, Callable[[argparse.Namespace], int]]:
    parser = argparse.ArgumentParser(
        prog="modelguard import [traces]",
        description="read OpenAI-format JSONL pairs, Batch API files or OTLP JSON GenAI spans "
        "into a traces database",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--db", type=Path, required=True, help="the traces database to fill")
    parser.add_argument("--tag", action="append", default=[], help="tag every imported call")
    return parser, cmd_traces


def _suite_parser(kind: str, what: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"modelguard import {kind}", description=what)
    metavar = {"promptfoo": "CONFIG", "inspect": "LOG"}.get(kind, "FILE")
    parser.add_argument("source", type=Path, metavar=metavar)
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("."), metavar="DIR",
        help="where to write NAME.modelguard.yaml (default: the current directory)",
    )  # fmt: skip
    parser.add_argument("--suite", metavar="NAME", help="the suite's name (default: from the file)")
    parser.add_argument("--force", action="store_true", help="replace files that exist")
    return parser


def _promptfoo_parser() -> tuple[argparse.ArgumentParser, Callable[[argparse.Namespace], int]]:
    parser = _suite_parser(
        "promptfoo", "a promptfoo config's prompts x tests as a suite, its providers as aliases"
    )
    return parser, cmd_promptfoo


def _dataset_parser() -> tuple[argparse.ArgumentParser, Callable[[argparse.Namespace], int]]:
    parser = _suite_parser("dataset", "a Pydantic Evals, LangSmith or Langfuse dataset as a suite")
    parser.add_argument(
        "--format", choices=DATASET_FORMATS, help="the dataset's kind (default: sniffed)"
    )
    return parser, cmd_dataset


def _inspect_parser() -> tuple[argparse.ArgumentParser, Callable[[argparse.Namespace], int]]:
    parser = _suite_parser(
        "inspect", "Inspect AI logs' samples as a suite whose baseline is the logged answer"
    )
    parser.add_argument("more", nargs="*", type=Path, metavar="LOG", help="more logs")
    return parser, cmd_inspect


_COMMANDS = {
    "traces": _traces_parser,
    "promptfoo": _promptfoo_parser,
    "dataset": _dataset_parser,
    "inspect": _inspect_parser,
}


def _summary(findings: Findings) -> None:
    for line in findings.lines():
        print(printable(line))


def cmd_promptfoo(args: argparse.Namespace) -> int:
    """Import a promptfoo config; write the suite and the snippet unless a file would be lost."""
    from .promptfoo import import_config
    from .writing import targets, write_suite, write_text

    try:
        done = import_config(args.source, args.suite)
        suite, toml = targets(args.output, done.name, [".pyproject-snippet.toml"], args.force)
        write_suite(suite, done.suite)
        write_text(toml, done.snippet)
    except (SuiteError, ExportError) as exc:
        return _fail(exc)
    print(f"wrote {done.cases} cases ({done.prompts} prompts x {done.tests} tests) to {suite}")
    _summary(done.findings)
    print(f"[tool.modelguard] snippet for pyproject.toml, also in {toml}:\n")
    print(valid_text(done.snippet), end="")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    """Import a dataset as a suite."""
    from .datasets import import_dataset
    from .writing import targets, write_suite

    try:
        done = import_dataset(args.source, args.format, args.suite)
        (suite,) = targets(args.output, done.name, [], args.force)
        write_suite(suite, done.suite)
    except (SuiteError, ExportError) as exc:
        return _fail(exc)
    print(f"wrote {done.cases} cases from a {done.format} dataset to {suite}")
    _summary(done.findings)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """Import Inspect logs as a suite (``scorefiles.inspect_suite``), its summary as ours."""
    from ..core.errors import ScoreFileError
    from ..scorefiles.inspect_suite import import_inspect
    from .writing import targets

    logs = [args.source, *args.more]
    try:
        (suite,) = targets(args.output, args.suite or logs[0].name.split(".")[0], [], args.force)
        done = import_inspect(logs, suite, name=args.suite, overwrite=args.force)
    except (ScoreFileError, ExportError, SuiteError) as exc:
        return _fail(exc)
    print(f"wrote {done.cases} cases from {len(logs)} Inspect log(s) to {suite}")
    findings = Findings(mapped=dict(done.graded_by), left_out=dict(done.left_out))
    findings.first.update(done.first)
    _summary(findings)
    for scorer, count in done.unmapped_scorers.most_common():
        print(f"  not mapped {count}: scorer {scorer} (graded by similarity to the logged answer)")
    return 0


def cmd_traces(args: argparse.Namespace) -> int:
    """Import traffic kept elsewhere; what cannot be read is counted per reason."""
    import sqlite3

    from ..capture.importing import import_files

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
