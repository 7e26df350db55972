"""Captured calls → a ``*.modelguard.yaml`` suite whose cases carry the production answers.

The calls of one agent conversation (each one's messages the previous call's, its tool
calls and their results) become one agent case (``conversations.py``, ``export_agent.py``);
every other call is a case of its own (``export_case.py``). Sampling is seeded and
stratified (by tag set or model) over those cases: each stratum gets its share of
``--sample`` and its own seeded permutation, so adding calls of one tag never changes the
cases drawn for another.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ExportError
from ..core.safety import output_problem
from ..suite import dump_yaml, indent, write_suite
from .export_agent import Grouping, agent_case, conversations_of
from .export_case import baseline_of, case_of, finished
from .export_chains import FETCH as _FETCH
from .export_chains import ChainedCalls
from .export_media import write_parts
from .read import TraceDb, TraceFilter

STRATA = ("tag", "model")
SUFFIXES = (".modelguard.yaml", ".modelguard.yml")
_HEAD_COLUMNS = ("id", "started_at", "provider", "model", "request_key", "tags", "error")
Head = dict[str, Any]
"""A case's metadata: its call's row (the _HEAD_COLUMNS), enough to filter, dedupe and
stratify, and ``calls``, the ids of its calls (an agent case's, first to last)."""
Chosen = tuple[Head, dict[str, Any]]
_GRADERS_NOTE = """\
# Edit the graders: similarity to the production answer (token F1, passing at 0.8) is
# only a starting point. Add `expected:` to cases, or graders such as equals, contains,
# json_schema or llm_judge (see docs/capture.md).
"""


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What to export: a filter, an optional seeded (stratified) sample, dedupe, a suite name."""

    where: TraceFilter = field(default_factory=TraceFilter)
    sample: int | None = None
    by: str | None = None
    seed: int = 0
    dedupe: bool = False
    suite: str | None = None
    overwrite: bool = False


@dataclass(frozen=True, slots=True)
class ExportResult:
    """How many cases were written out of how many matching calls, and why others were left."""

    path: Path
    cases: int
    calls: int
    errors: int
    duplicates: int
    unsupported: int
    reasons: Mapping[str, int] = field(default_factory=dict)  # why drawn calls were left out
    agent_cases: int = 0  # cases that are a whole conversation
    forks: int = 0  # calls continued two ways (one agent case per branch)
    ungrouped: Mapping[str, int] = field(default_factory=dict)
    """Calls of conversations that could not be one agent case, per reason (each exported
    as a case of its own)."""


def export_suite(
    db_path: str | os.PathLike[str], out: Path, options: ExportOptions
) -> ExportResult:
    """Write the suite to ``out`` (atomically, validated by the suite loader)."""
    _check_output(out, options.overwrite)
    with TraceDb(db_path) as db:
        heads = list(db.scan(_HEAD_COLUMNS, options.where))
        answered = [h for h in heads if h["error"] is None]
        calls = ChainedCalls(db, options.where)  # previous_response_id chains made whole
        for head in answered:
            head["request_key"] = calls.keys.get(head["id"], head["request_key"])
        tooled = db.tool_use(options.where)  # the others take part in no conversation
        grouping = conversations_of(calls.each([h["id"] for h in answered if h["id"] in tooled]))
        units = _units(answered, grouping)
        kept = _dedupe(units) if options.dedupe else units
        chosen, reasons = _choose(calls, kept, options)
    if not chosen:
        raise ExportError(
            f"{db_path}: no exportable calls ({len(heads)} matched the filters, "
            f"{len(heads) - len(answered)} of them failed); nothing written"
        )
    cases = _with_ids(chosen)
    write_parts(cases, Path(db_path), out)  # before the suite: its loader reads them
    write_suite(out, _document(Path(db_path), out, cases, len(heads), options))
    return ExportResult(
        path=out,
        cases=len(cases),
        calls=len(heads),
        errors=len(heads) - len(answered),
        duplicates=len(units) - len(kept),
        unsupported=sum(reasons.values()),
        reasons=reasons,
        agent_cases=sum(1 for c in cases if "agent" in c),
        forks=grouping.forks,
        ungrouped=grouping.reasons,
    )


def _units(heads: list[Head], grouping: Grouping) -> list[Head]:
    """One head per case: a single call's, or a conversation's last call's (its request
    covers the whole conversation) timed at its first call."""
    by_id = {h["id"]: h for h in heads}
    grouped = {i for ids in grouping.conversations for i in ids}
    units = [{**h, "calls": (h["id"],)} for h in heads if h["id"] not in grouped]
    for ids in grouping.conversations:
        start = by_id[ids[0]]["started_at"]
        units.append({**by_id[ids[-1]], "started_at": start, "calls": ids})
    return sorted(units, key=lambda h: (h["started_at"], h["id"]))


def _check_output(out: Path, overwrite: bool) -> None:
    if not out.name.endswith(SUFFIXES):
        raise ExportError(
            f"{out}: the suite's file name must end with .modelguard.yaml so pytest collects it"
        )
    problem = output_problem(out)
    if problem:
        raise ExportError(problem)
    if out.exists() and not overwrite:
        raise ExportError(f"{out} exists; choose another file or pass --force to replace it")


def _dedupe(heads: list[Head]) -> list[Head]:
    """One call per canonical request: the most recent."""
    latest = {h["request_key"]: h for h in heads}
    return sorted(latest.values(), key=lambda h: (h["started_at"], h["id"]))


def _stratum(head: Mapping[str, Any], by: str | None) -> str:
    if by == "tag":
        return "+".join(sorted(json.loads(head["tags"]))) or "(untagged)"
    if by == "model":
        return f"{head['provider']}:{head['model']}"
    return ""


def allocate(sizes: Mapping[str, int], total: int) -> dict[str, int]:
    """Split ``total`` over strata in proportion to their sizes (largest remainder).

    Every stratum gets at least one when ``total`` allows it.
    """
    if total >= sum(sizes.values()):
        return dict(sizes)
    keys = sorted(sizes)
    floor = {k: 1 if total >= len(keys) and sizes[k] else 0 for k in keys}
    room = {k: sizes[k] - floor[k] for k in keys}
    left, spare = total - sum(floor.values()), sum(room.values())
    quotas = {k: left * room[k] / spare if spare else 0.0 for k in keys}
    shares = {k: floor[k] + int(quotas[k]) for k in keys}
    by_remainder = sorted(keys, key=lambda k: (-(quotas[k] - int(quotas[k])), k))
    for k in by_remainder[: total - sum(shares.values())]:
        shares[k] += 1
    return shares


def _choose(
    db: ChainedCalls, heads: list[Head], options: ExportOptions
) -> tuple[list[Chosen], dict[str, int]]:
    """(head, case) pairs drawn per stratum, and how many drawn calls the suite cannot express,
    per reason."""
    strata: dict[str, list[Head]] = {}
    for head in heads:
        strata.setdefault(_stratum(head, options.by), []).append(head)
    wanted = {k: len(v) for k, v in strata.items()}
    if options.sample is not None:
        wanted = allocate(wanted, options.sample)
    chosen: list[Chosen] = []
    reasons: dict[str, int] = {}
    for key in sorted(k for k in strata if wanted[k]):
        order = list(strata[key])
        if options.sample is not None:
            random.Random(f"{options.seed}:{key}").shuffle(order)
        taken = 0
        for head, case in _cases(db, order):
            if taken == wanted[key]:
                break
            if isinstance(case, str):
                reasons[case] = reasons.get(case, 0) + 1
                continue
            chosen.append((head, case))
            taken += 1
    chosen.sort(key=lambda pair: (pair[0]["started_at"], pair[0]["id"]))
    return chosen, reasons


def _cases(db: ChainedCalls, heads: Sequence[Head]) -> Iterator[tuple[Head, dict[str, Any] | str]]:
    """Each head with its case (or why the suite format cannot express it), fetched lazily."""
    for start in range(0, len(heads), _FETCH):
        chunk = heads[start : start + _FETCH]
        traces = db.traces([i for h in chunk for i in h["calls"]])
        for head in chunk:
            calls = [traces[i] for i in head["calls"]]
            unchained = next((db.problems[i] for i in head["calls"] if i in db.problems), None)
            case = unchained or case_of(calls[0])
            if len(calls) > 1 and isinstance(case, dict):
                case = agent_case(case, calls, baseline_of)
            yield head, case if isinstance(case, str) else finished(case, db.path)


def _with_ids(chosen: list[Chosen]) -> list[dict[str, Any]]:
    """Cases with stable ids from their request hash; repeats of a request get -2, -3, …"""
    seen: dict[str, int] = {}
    cases = []
    for head, case in chosen:
        base = f"c-{head['request_key'][:10]}"
        seen[base] = seen.get(base, 0) + 1
        case_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        cases.append({"id": case_id, **case})
    return cases


def _document(
    db: Path, out: Path, cases: list[dict[str, Any]], calls: int, options: ExportOptions
) -> str:
    defaults: dict[str, Any] = {}
    for key in ("system", "params"):
        values = [c.get(key) for c in cases]
        if values[0] and all(v == values[0] for v in values):
            defaults[key] = values[0]
            for case in cases:
                case.pop(key)
    for case in cases:
        if not case.get("params", True):
            case.pop("params")
    defaults["graders"] = [{"similarity": {"against": "baseline"}}]
    name = options.suite or out.name.split(".modelguard.")[0]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    how = f"a seeded sample (seed {options.seed}) of " if options.sample is not None else ""
    header = (
        f"# Exported by `modelguard export` from {db.name} on {when}:\n"
        f"# {len(cases)} cases from {how}{calls} matching calls. Each `baseline` is the\n"
        "# answer production gave, with its usage, cost and latency.\n"
    )
    agents = sum(1 for c in cases if "agent" in c)
    if agents:
        header += (
            f"# {agents} cases are agent conversations: the baseline's steps are replayed with no\n"
            "# call, and every model's tool calls get production's results (expected.trajectory).\n"
        )
    head = dump_yaml({"suite": name, "description": f"Production calls captured in {db.name}"})
    graders = dump_yaml({"graders": defaults.pop("graders")})
    settings = dump_yaml(defaults) if defaults else ""
    body = "defaults:\n" + indent(settings) + indent(_GRADERS_NOTE + graders)
    return header + head + body + dump_yaml({"cases": cases})
