"""``modelguard label sample`` and ``label import``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._args import count_arg, fail


def cmd_label_sample(args: argparse.Namespace) -> int:
    """A seeded sample of a JSON report's answers (whole cases) written as a CSV to label."""
    from ..report.labelling import sample_sheet

    try:
        sample = sample_sheet(args.report, args.n, args.seed, args.output, args.root)
    except ValueError as exc:  # HistoryError: the report, naming its field
        return fail(exc)
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
    from ..report.labelling import import_sheet, project_models, skipped_lines

    try:
        done = import_sheet(args.sheet, args.root, project_models(args.root))
    except ValueError as exc:  # LabelsError: the sheet or a labels file, naming file and line
        return fail(exc)
    for name, path, new, total in done.written:
        print(f"suite {name}: {new} labels written to {path} ({total} in all)")
    for line in skipped_lines(done):
        print(line)
    return 0


def add_commands(sub: Any) -> None:
    label = sub.add_parser("label", help="label a sample of answers to check the judge")
    label_sub = label.add_subparsers(dest="label_command", required=True)
    sample = label_sub.add_parser(
        "sample", help="write a seeded, uniformly random sample of a report's answers as a CSV"
    )
    sample.add_argument("report", type=Path, help="a --modelguard-json report")
    sample.add_argument("-n", type=count_arg, default=100, help="answers to sample (100)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("-o", "--output", type=Path, default=Path("labels.csv"))
    sample.add_argument("--root", type=Path, default=Path("."), help="where the suites are")
    sample.set_defaults(run=cmd_label_sample)
    imp = label_sub.add_parser("import", help="write a filled sheet's labels beside each suite")
    imp.add_argument("sheet", type=Path)
    imp.add_argument("--root", type=Path, default=Path("."), help="where the suites are")
    imp.set_defaults(run=cmd_label_import)
