"""The modelguard command-line options, and what the hooks read from them."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..config import MAX_SEED, Overrides, Settings
from ..core.errors import ConfigError
from ..core.safety import output_problem, write_problem
from ..core.vocabulary import GateRule, RecordMode
from .gate_results import GATE_PATH

if TYPE_CHECKING:  # loaded when a run writes reports or resumes: a plain run does neither
    from ..report.outputs import Outputs
    from .session import ModelguardSession

REPORT_OPTIONS = (
    "modelguard_json", "modelguard_markdown", "modelguard_html", "modelguard_routes",
    "modelguard_otel",
)  # fmt: skip
OTEL_SDK = "sdk"  # --modelguard-otel sdk: events through the configured logger provider


def _seed(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        seed = -1
    if not 0 <= seed <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{value!r} is not a seed from 0 to {MAX_SEED}")
    return seed


def _margin(value: str) -> float:
    try:
        margin = float(value)
    except ValueError:
        margin = -1.0
    if not 0 <= margin <= 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a margin in [0, 1]")
    return margin


def add(parser: pytest.Parser) -> None:
    """The modelguard option group."""
    group = parser.getgroup(
        "modelguard", "model-swap checks on your own traffic (pytest-modelguard)"
    )
    group.addoption(
        "--models",
        metavar="A,B",
        help="candidate models (PROVIDER:MODEL or aliases), comma-separated; "
        "overrides [tool.modelguard] models",
    )
    group.addoption(
        "--baseline",
        metavar="MODEL",
        help="the model candidates are compared with; overrides [tool.modelguard] baseline",
    )
    group.addoption(
        "--modelguard-record",
        metavar="MODE",
        choices=[m.value for m in RecordMode],
        help="when to call models: none (default: replay only, offline), "
        "once/new (record missing answers), all (re-record)",
    )
    group.addoption(
        "--modelguard-json",
        metavar="PATH",
        help="write the JSON report (every figure and graded answer) to PATH",
    )
    group.addoption(
        "--modelguard-markdown",
        metavar="PATH",
        help="write a PR-comment-ready Markdown summary to PATH "
        "(also appended to $GITHUB_STEP_SUMMARY when set)",
    )
    group.addoption(
        "--modelguard-html",
        metavar="PATH",
        help="write a self-contained HTML report (cost-vs-quality chart, per-tag table, "
        "case browser) to PATH",
    )
    group.addoption(
        "--modelguard-routes",
        metavar="PATH",
        help="write the routing table (per tag, the cheapest model non-inferior to the "
        "baseline) as YAML to PATH",
    )
    group.addoption(
        "--modelguard-otel",
        metavar="PATH|sdk",
        help="write one OpenTelemetry gen_ai.evaluation.result event per grade as OTLP/JSON "
        "to PATH, or emit them through the configured OpenTelemetry logger provider (sdk)",
    )
    group.addoption(
        "--modelguard-save",
        action="store_true",
        help="keep this run's JSON report under <cache_dir>/runs/ for --modelguard-compare",
    )
    group.addoption(
        "--modelguard-compare",
        metavar="last|PATH",
        help="pair each model with itself in a stored run (last: the newest saved) and flag "
        "quality that moved; a significant drop fails the run",
    )
    group.addoption(
        "--modelguard-seed",
        metavar="N",
        type=_seed,
        help="seed of the bootstrap (default: [tool.modelguard] seed or 0)",
    )
    group.addoption(
        "--modelguard-gate",
        choices=tuple(rule.value for rule in GateRule),
        help="verdict rule (default: regression)",
    )
    group.addoption(
        "--modelguard-budget",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one [tool.modelguard.budgets] limit, e.g. max_spend_usd=0.50 (repeatable)",
    )
    group.addoption(
        "--modelguard-dry-run",
        action="store_true",
        help="count the uncached calls per model and their most possible cost, then stop "
        "without calling anything",
    )
    group.addoption(
        "--modelguard-margin",
        metavar="X",
        type=_margin,
        help="largest acceptable drop for non-inferiority, in score units",
    )
    group.addoption(
        "--modelguard-sequential",
        action="store_true",
        help="ask cases in a seeded random order, in batches, and stop asking a candidate "
        "once its verdict is settled (anytime-valid confidence sequences); not with -n",
    )
    group.addoption(
        "--modelguard-continue",
        action="store_true",
        help="with --modelguard-sequential: resume the sequences the last sequential run "
        "saved and ask only the cases no earlier run counted (a suite that grew is "
        "re-gated as one sequence)",
    )
    group.addoption(
        "--modelguard-batch",
        action="store_true",
        help="send every request the cache lacks to the providers' batch APIs (about half "
        "the price, answers within hours); a run that ends first is resumed by the next "
        "with this flag, never resubmitted; not with -n",
    )
    group.addoption(
        "--modelguard-drift",
        choices=("fixed-n", "accumulate"),
        help="with --modelguard-compare: fixed-n judges this run against the stored one "
        "alone; accumulate watches every night since the reference was accepted for a "
        "change, late ones too (false 'degraded' at most at the nominal rate over any "
        "number of nights)",
    )


def pyproject(config: pytest.Config) -> Path:
    inipath = config.inipath
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    return config.rootpath / "pyproject.toml"


def outputs(config: pytest.Config, complete: bool, mg: ModelguardSession) -> Outputs:
    def path(option: str) -> Path | None:
        value = config.getoption(option)
        return Path(value) if value else None

    from ..report.outputs import Outputs

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    save = config.getoption("modelguard_save") and complete  # half a run is no reference
    otel = config.getoption("modelguard_otel")
    return Outputs(
        json=path("modelguard_json"),
        markdown=path("modelguard_markdown"),
        html=path("modelguard_html"),
        routes=path("modelguard_routes"),
        step_summary=Path(summary) if summary else None,
        runs=mg.settings.cache_dir if save else None,
        otel=Path(otel) if otel and otel != OTEL_SDK else None,
        otel_sdk=otel == OTEL_SDK,
    )


def with_budgets(config: pytest.Config, table: Mapping[str, Any]) -> Mapping[str, Any]:
    """The [tool.modelguard] table with each --modelguard-budget KEY=VALUE laid over its
    budgets (checked there as if written in pyproject)."""
    given: list[str] = config.getoption("modelguard_budget") or []
    if not given:
        return table
    budgets = dict(table.get("budgets") or {})
    for item in given:
        key, sep, value = item.partition("=")
        try:
            budgets[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise pytest.UsageError(
                f"--modelguard-budget {item!r}: expected KEY=NUMBER, e.g. max_spend_usd=0.50"
            )
    return {**table, "budgets": budgets}


def overrides(config: pytest.Config) -> Overrides:
    opt = config.getoption
    return Overrides(
        models=opt("models"),
        baseline=opt("baseline"),
        record=opt("modelguard_record"),
        seed=opt("modelguard_seed"),
        gate=opt("modelguard_gate"),
        margin=opt("modelguard_margin"),
        sequential=opt("modelguard_sequential") or None,
        drift=opt("modelguard_drift"),
        batch=opt("modelguard_batch") or None,
    )


def check_outputs(config: pytest.Config) -> None:
    """Every report path can be written: found now, not after the run has paid for answers."""
    named = {f"--{o.replace('_', '-')}": config.getoption(o) for o in REPORT_OPTIONS}
    if named["--modelguard-otel"] == OTEL_SDK:
        named["--modelguard-otel"] = None  # no file: the logger provider
    named["$GITHUB_STEP_SUMMARY"] = os.environ.get("GITHUB_STEP_SUMMARY")
    for option, value in named.items():
        problem = output_problem(Path(value)) if value else None
        if problem:
            raise ConfigError(f"{option}: {problem}")
    junit = config.getoption("xmlpath", None)
    if junit:
        named["--junitxml"] = os.path.expanduser(os.path.expandvars(junit))
    _check_targets(named, pyproject(config))
    # pytest's own writer (off on xdist workers) would raise after the verdict
    if junit and not hasattr(config, "workerinput"):
        problem = write_problem(Path(os.path.normpath(os.path.abspath(named["--junitxml"]))))
        if problem:
            raise ConfigError(f"--junitxml: {problem}")


_INPUT_SUFFIXES = (".modelguard.yaml", ".modelguard.yml", ".labels.yaml")


def _check_targets(named: dict[str, str | None], project: Path) -> None:
    """No output written over another output, the pyproject or a suite or labels file."""
    seen: dict[Path, str] = {}
    for option, value in named.items():
        if not value:
            continue
        path = Path(os.path.abspath(value)).resolve()
        if path == project.resolve() or path.name.endswith(_INPUT_SUFFIXES):
            raise ConfigError(f"{option}: {value} is an input of the run; name another file")
        if path in seen and (path.is_file() or not path.exists()):  # /dev/null twice is fine
            raise ConfigError(f"{seen[path]} and {option} both name {value}; give each its file")
        seen[path] = option


def check_sequential(config: pytest.Config, settings: Settings) -> dict[str, Any] | None:
    """A sequential run decides after every batch in one process: not with pytest-xdist's -n.

    Returns the saved state ``--modelguard-continue`` resumes (None without the flag).
    """
    sequential = settings.sequential
    batched = settings.batch or any(m.batch or m.provider.batch for m in settings.models)
    if batched and settings.record.calls_misses and config.getoption("numprocesses", None):
        raise pytest.UsageError(
            "--modelguard-batch (batch = true) cannot run with -n (pytest-xdist): one process "
            "submits the run's batches and waits for them; drop -n"
        )
    if config.getoption("modelguard_continue") and not sequential:
        raise pytest.UsageError(
            "--modelguard-continue resumes a sequential run: add --modelguard-sequential "
            "(or sequential = true)"
        )
    if sequential and config.getoption("numprocesses", None):
        raise pytest.UsageError(
            "--modelguard-sequential cannot run with -n (pytest-xdist): it decides after "
            "every batch which cases to ask next, which needs every answer in one process; "
            "drop -n (the calls within a batch still run concurrently)"
        )
    if not config.getoption("modelguard_continue"):
        return None
    from ..engine import sequential_state

    return sequential_state.load(settings)


def last_failed_items(config: pytest.Config) -> bool:
    """Whether pytest's cache knows failing items, which --lf will rerun alone.

    Failing gate results are not items: with only those, --lf reruns the whole run.
    """
    cache = getattr(config, "cache", None)
    failed = cache.get("cache/lastfailed", {}) if cache is not None else {}
    return any(not str(nodeid).startswith(f"{GATE_PATH}::") for nodeid in failed)
