"""A captured conversation as one agent case: the first call's messages and tools, the tool
calls and their recorded results as ``expected.trajectory``, and every step's answer as the
baseline's ``steps`` (so the baseline replays with no call and the candidate is fed the
tools' production results).

Tool arguments and results are user data going into a file: credentials found in them (by
field, as imports find them) and bearer tokens or ``api_key=...`` written in them are
scrubbed, the same way in the trajectory and in the steps, so a replayed call still finds
its recorded result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.safety import map_strings
from .conversations import NO_RESULTS, group, result_text, step_of, tool_step
from .conversations import Grouping as Grouping
from .export_tools import openai_form
from .import_checks import Secrets
from .store import Trace

DEFAULT_MAX_STEPS = 8
_SUMMED = (
    "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "cost_usd", "latency_s",
)  # fmt: skip
GRADERS = [{"trajectory": {"mode": "strict"}}, {"similarity": {"against": "baseline"}}]
"""What an agent case is graded by at first: the production path, then the final answer."""


def conversations_of(calls: Iterable[tuple[int, Trace]]) -> Grouping:
    """The conversations among answered calls (``(row id, trace)``; only hashes are kept)."""
    steps = []
    for ident, trace in calls:
        messages, params = openai_form(trace)
        head = (trace.provider, trace.model)
        steps.append(step_of(ident, trace.started_at, head, messages, params, trace.tool_calls))
    return group(steps)


def agent_case(
    first: Mapping[str, Any], traces: Sequence[Trace], baseline: Any
) -> dict[str, Any] | str:
    """The agent case of a conversation (``traces`` in order, the last one a text answer),
    from ``first``, the case its first call exports as; ``baseline(trace)`` is a call's
    baseline record. A reason string when the conversation cannot be one case."""
    scrub = _scrubber(traces)
    trajectory: list[dict[str, Any]] = []
    for trace in traces[1:]:
        found = tool_step(openai_form(trace)[0])
        if not isinstance(found, list):  # traces that grouping did not put together
            return found or NO_RESULTS
        trajectory += [
            {"name": name, "arguments": map_strings(arguments, scrub), "result": scrub(result)}
            for _, name, arguments, result in found
        ]
    case = {k: v for k, v in first.items() if k not in ("baseline", "graders")}
    case["agent"] = {
        "max_steps": max(DEFAULT_MAX_STEPS, len(traces)),
        "tool_results": "recorded",
    }
    case["expected"] = {"trajectory": trajectory}
    case["baseline"] = _baseline([baseline(t) for t in traces], traces, scrub)
    case["graders"] = [dict(g) for g in GRADERS]
    return case


def _scrubber(traces: Sequence[Trace]) -> Any:
    """One scrubber for the conversation: the credentials any of its tool calls or results
    carry (by field), bearer tokens and keyed values written in text."""
    secrets = Secrets()
    found: set[str] = set()
    for trace in traces:
        found |= secrets.found_in([dict(c) for c in trace.tool_calls])
        for message in openai_form(trace)[0]:
            if isinstance(message, Mapping) and message.get("role") == "tool":
                found |= secrets.found_in(_data(message.get("content")))
    return secrets.scrubber(found)


def _data(content: Any) -> Any:
    """A tool result as data when it is JSON text (its fields are searched for keys)."""
    text = result_text(content)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _baseline(records: list[dict[str, Any]], traces: Sequence[Trace], scrub: Any) -> dict[str, Any]:
    """The final answer with the whole conversation's usage, cost and latency summed, and
    each step's own answer (tool calls with their ids) under ``steps``."""
    steps = []
    for record, trace in zip(records, traces, strict=True):
        step = {k: v for k, v in record.items() if k not in ("model", "tool_calls")}
        if trace.tool_calls:
            step["tool_calls"] = [
                {"id": str(c.get("id") or ""), "name": c["name"],
                 "arguments": map_strings(c["arguments"], scrub)}
                for c in trace.tool_calls
            ]  # fmt: skip
        steps.append(step)
    final = {k: v for k, v in records[-1].items() if k not in _SUMMED and k != "tool_calls"}
    for key in _SUMMED:
        values = [s[key] for s in steps if key in s]
        if values and len(values) == len(steps):
            total = sum(values)
            final[key] = round(total, 6) if isinstance(total, float) else total
    return {**final, "steps": steps}
