"""``modelguard compare BASE CANDIDATE``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._args import count_arg, fraction_arg


def add_commands(sub: Any) -> None:
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
    command.add_argument("--margin", type=fraction_arg(0.0, 1.0), default=0.0)
    command.add_argument("--confidence", type=fraction_arg(0.5, 1.0), default=0.95)
    command.add_argument("--method", choices=("auto", "score", "t", "bca"), default="auto")
    command.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (bca)")
    command.add_argument("--base-model", metavar="NAME", help="the model to read from BASE")
    command.add_argument("--candidate-model", metavar="NAME", help="the model from CANDIDATE")
    command.add_argument("--scorer", metavar="NAME", help="the scorer (metric) to read from both")
    command.add_argument("--base-scorer", metavar="NAME", help="the scorer to read from BASE")
    command.add_argument("--candidate-scorer", metavar="NAME", help="the scorer from CANDIDATE")
    command.add_argument("--show", type=count_arg, default=10, help="cases shown (10)")
    command.add_argument("--json", type=Path, metavar="PATH", help="write the result as JSON")
    command.add_argument("--markdown", type=Path, metavar="PATH", help="write it as Markdown")
    command.set_defaults(run=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Judge two result files as the gate would judge a run."""
    from ..scorefiles.command import Choice, CompareRun, Rule, run_compare

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
