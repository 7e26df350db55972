"""One captured call as a suite case: its messages and params as a suite writes them (tool
use in OpenAI's form), the production answer as ``baseline``, the graders it proposes; or
why a suite cannot hold it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..records.calls import params_problem
from ..suite import REQUEST_KEYS
from ..suite.tools import history_problem, request_problem
from ..suite.yaml_loader import MAX_DEPTH
from .conversations import PRIVATE_PARAMS
from .export_media import missing_bytes, suite_message
from .export_tools import graders_for, openai_form
from .store import Trace

_MESSAGE_KEYS = frozenset(("role", "content", "name", "tool_calls", "tool_call_id"))
_USAGE_EXTRAS = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")
_CASE_DEPTH = MAX_DEPTH - 10
"""A case nesting deeper is left out: the file adds levels above it (the suite loader
refuses YAML nested deeper than ``MAX_DEPTH``)."""


def case_of(trace: Trace) -> dict[str, Any] | str:
    """A suite case (without id) for a captured call, or why the suite cannot express it.

    Tool use and history are kept (Anthropic's written in the OpenAI form suites use); a
    tool-call answer is graded ``tool_call: {against: baseline}``, a structured one by its
    schema.
    """
    if trace.output is None:
        return "no answer"
    messages, params = openai_form(trace)
    kept = [suite_message(m) for m in messages]
    problem = next((m for m in kept if isinstance(m, str)), None)
    if problem is not None:
        return problem
    chat = [m for m in kept if isinstance(m, dict)]
    if history_problem(chat):
        return "tool results that do not answer their tool calls"
    case: dict[str, Any] = {"tags": list(trace.tags)} if trace.tags else {}
    if chat and chat[0]["role"] == "system" and isinstance(chat[0]["content"], str):
        case["system"] = chat.pop(0)["content"]
    if not chat:
        return "no user message"
    if _is_prompt(chat):
        case["prompt"] = chat[0]["content"]
    else:
        case["messages"] = chat
    case["params"] = {k: v for k, v in params.items() if k not in PRIVATE_PARAMS}
    problem = next((p for k, v in case["params"].items() if (p := _param_problem(k, v))), None)
    if problem is not None:
        return problem
    case["baseline"] = baseline_of(trace)
    graders = graders_for(trace, case["params"])
    if graders:
        case["graders"] = graders
    return case


_SERVER_STATE = frozenset(("previous_response_id", "conversation"))
"""Responses API params that continue a conversation kept by the provider: the request holds
only the newest turn, and replaying it would lean on state another model (or account) lacks.
A ``previous_response_id`` chain whose calls were captured is rebuilt before (``chains.py``)."""


def _param_problem(key: str, value: Any) -> str | None:
    """Why a captured request param cannot go into a suite as written (tools and the like)."""
    if key in _SERVER_STATE and value is not None:
        return f"a call that continues a conversation kept by the provider ({key})"
    if key in REQUEST_KEYS and request_problem(key, value):
        return f"unsupported {key}"
    if params_problem({key: value}):  # NaN, a param each call sets, a credential
        return f"unsupported {key}"
    return None


def _is_prompt(chat: list[dict[str, Any]]) -> bool:
    """One plain user message: written as ``prompt:``."""
    only = chat[0]
    plain = only.keys() == {"role", "content"} and isinstance(only["content"], str | list)
    return len(chat) == 1 and plain and only["role"] == "user"


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


def too_deep(case: Mapping[str, Any]) -> str | None:
    """Why a case cannot be written: values nested past what the suite loader reads."""
    deepest, stack = 0, [(case, 1)]
    while stack:  # without recursion: tool arguments may nest hundreds deep
        item, depth = stack.pop()
        if isinstance(item, Mapping | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, Mapping) else item
            stack += [(child, depth + 1) for child in children]
    return "values nested too deep for a suite" if deepest > _CASE_DEPTH else None


def finished(case: dict[str, Any], db_path: Path) -> dict[str, Any] | str:
    """The case as written, or why it cannot be: a part whose bytes are gone or changed,
    or nesting past the suite loader's depth."""
    return missing_bytes(case, db_path) or too_deep(case) or case
