"""Captured calls → a ``*.modelguard.yaml`` suite whose cases carry the production answers.

Sampling is seeded and stratified (by tag set or model): each stratum gets its
share of ``--sample`` and its own seeded permutation, so adding calls of one tag
never changes the cases drawn for another.
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
from ..records.calls import params_problem
from ..suite import (
    REQUEST_KEYS,
    ROLES,
    dump_yaml,
    indent,
    message_problem,
    request_problem,
    write_suite,
)
from .export_tools import graders_for, openai_form
from .read import TraceDb, TraceFilter
from .store import Trace

STRATA = ("tag", "model")
SUFFIXES = (".modelguard.yaml", ".modelguard.yml")
_HEAD_COLUMNS = ("id", "started_at", "provider", "model", "request_key", "tags", "error")
_MESSAGE_KEYS = frozenset(("role", "content", "name", "tool_calls", "tool_call_id"))
_PRIVATE_PARAMS = frozenset(("user", "metadata", "store", "safety_identifier", "prompt_cache_key"))
"""Per-user or per-account fields: not part of the task, never sent to candidates."""
_USAGE_EXTRAS = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
_FETCH = 200
Head = dict[str, Any]
"""A call's metadata row (the _HEAD_COLUMNS): enough to filter, dedupe and stratify."""
Chosen = tuple[Head, dict[str, Any]]
_GRADERS_NOTE = """\
# Edit the graders: similarity to the production answer (token F1, passing at 0.8) is
# only a starting point. Add `expected:` to cases, or graders such as equals, contains,
# json_schema or llm_judge (see the README).
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


def export_suite(
    db_path: str | os.PathLike[str], out: Path, options: ExportOptions
) -> ExportResult:
    """Write the suite to ``out`` (atomically, validated by the suite loader)."""
    _check_output(out, options.overwrite)
    with TraceDb(db_path) as db:
        heads = list(db.scan(_HEAD_COLUMNS, options.where))
        answered = [h for h in heads if h["error"] is None]
        kept = _dedupe(answered) if options.dedupe else answered
        chosen, reasons = _choose(db, kept, options)
    if not chosen:
        raise ExportError(
            f"{db_path}: no exportable calls ({len(heads)} matched the filters, "
            f"{len(heads) - len(answered)} of them failed); nothing written"
        )
    cases = _with_ids(chosen)
    write_suite(out, _document(Path(db_path), out, cases, len(heads), options))
    return ExportResult(
        path=out,
        cases=len(cases),
        calls=len(heads),
        errors=len(heads) - len(answered),
        duplicates=len(answered) - len(kept),
        unsupported=sum(reasons.values()),
        reasons=reasons,
    )


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
    db: TraceDb, heads: list[Head], options: ExportOptions
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


def _cases(db: TraceDb, heads: Sequence[Head]) -> Iterator[tuple[Head, dict[str, Any] | str]]:
    """Each head with its case (or why the suite format cannot express it), fetched lazily."""
    for start in range(0, len(heads), _FETCH):
        chunk = heads[start : start + _FETCH]
        traces = db.traces([h["id"] for h in chunk])
        for head in chunk:
            yield head, case_of(traces[head["id"]])


def case_of(trace: Trace) -> dict[str, Any] | str:
    """A suite case (without id) for a captured call, or why the suite cannot express it.

    Tool use and history are kept (Anthropic's written in the OpenAI form suites use); a
    tool-call answer is graded ``tool_call: {against: baseline}``, a structured one by its
    schema.
    """
    if trace.output is None:
        return "no answer"
    messages, params = openai_form(trace)
    kept = [_message(m) for m in messages]
    problem = next((m for m in kept if isinstance(m, str)), None)
    if problem is not None:
        return problem
    chat = [m for m in kept if isinstance(m, dict)]
    case: dict[str, Any] = {"tags": list(trace.tags)} if trace.tags else {}
    if chat and chat[0]["role"] == "system" and isinstance(chat[0]["content"], str):
        case["system"] = chat.pop(0)["content"]
    if not chat:
        return "no user message"
    if _is_prompt(chat):
        case["prompt"] = chat[0]["content"]
    else:
        case["messages"] = chat
    case["params"] = {k: v for k, v in params.items() if k not in _PRIVATE_PARAMS}
    problem = next((p for k, v in case["params"].items() if (p := _param_problem(k, v))), None)
    if problem is not None:
        return problem
    case["baseline"] = baseline_of(trace)
    graders = graders_for(trace, case["params"])
    if graders:
        case["graders"] = graders
    return case


def _param_problem(key: str, value: Any) -> str | None:
    """Why a captured request param cannot go into a suite as written (tools and the like)."""
    if key in REQUEST_KEYS and request_problem(key, value):
        return f"unsupported {key}"
    if params_problem({key: value}):  # NaN, a param each call sets, a credential
        return f"unsupported {key}"
    return None


def _is_prompt(chat: list[dict[str, Any]]) -> bool:
    """One plain user message: written as ``prompt:``."""
    only = chat[0]
    plain = only.keys() == {"role", "content"} and isinstance(only["content"], str)
    return len(chat) == 1 and plain and only["role"] == "user"


def _message(message: Any) -> dict[str, Any] | str:
    """A message as a suite writes it, or why a suite cannot hold it."""
    if not isinstance(message, Mapping):
        return "a message that is not an object"
    message = {k: v for k, v in message.items() if k in _MESSAGE_KEYS or v not in (None, [], {})}
    extra = set(message) - _MESSAGE_KEYS
    if extra:
        return f"message field {sorted(extra)[0]!r}"
    if message.get("role") not in ROLES:
        return f"message role {str(message.get('role'))[:20]!r}"
    content = message.get("content")
    if isinstance(content, list) and all(_is_text_part(p) for p in content):
        content = "".join(p["text"] for p in content)
    if not isinstance(content, str) and not (content is None and message.get("tool_calls")):
        return "non-text content (images, audio or files)"
    problem = message_problem({**message, "content": content})
    return f"a malformed {problem[0]}" if problem else {**message, "content": content}


def _is_text_part(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("type") == "text" and "text" in part


def baseline_of(trace: Trace) -> dict[str, Any]:
    """The production answer with its usage, cost and latency (unknown fields left out)."""
    baseline: dict[str, Any] = {"output": trace.output}
    if trace.usage is not None:
        baseline["input_tokens"] = trace.usage.input_tokens
        baseline["output_tokens"] = trace.usage.output_tokens
        extras = {k: getattr(trace.usage, k) for k in _USAGE_EXTRAS}
        baseline.update({k: v for k, v in extras.items() if v})
    if trace.cost_usd is not None:
        baseline["cost_usd"] = float(f"{trace.cost_usd:.6g}")
    if trace.latency_s is not None:
        baseline["latency_s"] = round(trace.latency_s, 4)
    baseline["model"] = f"{trace.provider}:{trace.response_model or trace.model}"
    if trace.tool_calls:
        baseline["tool_calls"] = [
            {"name": c["name"], "arguments": c["arguments"]} for c in trace.tool_calls
        ]
    return baseline


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
    head = dump_yaml({"suite": name, "description": f"Production calls captured in {db.name}"})
    graders = dump_yaml({"graders": defaults.pop("graders")})
    settings = dump_yaml(defaults) if defaults else ""
    body = "defaults:\n" + indent(settings) + indent(_GRADERS_NOTE + graders)
    return header + head + body + dump_yaml({"cases": cases})
