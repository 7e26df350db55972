"""Captured calls grouped into agent conversations: chains of calls where each one's messages
are the previous call's messages, that call's tool calls and their results.

Pure: each call is first reduced to a :class:`Step` (hashes and tool-call signatures, no
texts), then :func:`group` links steps to the earlier call they continue and returns the
chains that end in an answer without tool calls. Several conversations interleaved in time
are told apart by their messages (and the tool calls' ids); a call that two later calls
continue (a fork) gives one conversation per branch. What cannot be linked for sure is
counted per reason, never guessed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..records.calls import tool_arguments

_UNSIGNED = "?"
"""An answer whose tool calls cannot be compared (arguments that are not a JSON object, or
nested past comparing): it continues nothing and ends no conversation."""
MAX_STEPS = 64
"""Longer chains are listed, not exported: an agent case of more model calls is unreadable."""
_SCAN = 64
"""Earlier calls with the same request looked at when choosing which one a step continues."""
PRIVATE_PARAMS = frozenset(("user", "metadata", "store", "safety_identifier", "prompt_cache_key"))
"""Per-user or per-account fields: not part of the task (nor of a conversation's identity)."""

NO_RESULTS = "tool calls without their results"
MISMATCHED = "tool results that do not answer the tool calls (ids)"
NOT_JSON = "tool call arguments that are not a JSON object"
NOT_TEXT = "tool results that are not text"
UNSEEN = "a conversation step whose earlier call was not captured"
DIFFERENT_CALLS = "a conversation step whose tool calls are not the earlier call's answer"
CHANGED = "a conversation step whose params or tools changed"
UNFINISHED = "a conversation that ends in tool calls (its next step was not captured)"
TOO_LONG = f"a conversation of more than {MAX_STEPS} steps"


@dataclass(frozen=True, slots=True)
class Step:
    """One answered call as grouping sees it (OpenAI-form messages, hashed)."""

    id: int
    started_at: float
    request: str  # provider, model and messages
    params: str  # the params a case would keep
    prefix: str | None = None  # the request it continues: messages before its last tool step
    asked: str = ""  # that tool step's calls, canonical (name, arguments), in order
    asked_ids: tuple[str, ...] = ()
    answered: str = ""  # its own answer's tool calls, canonical; "" when it answered text
    answered_ids: tuple[str, ...] = ()
    problem: str | None = None  # why its last tool step cannot continue a conversation

    @property
    def order(self) -> tuple[float, int]:
        return (self.started_at, self.id)


@dataclass(frozen=True, slots=True)
class Grouping:
    """Conversations (call ids, first to last) and the calls left as single calls, with why."""

    conversations: tuple[tuple[int, ...], ...]
    singles: tuple[int, ...]
    forks: int = 0  # calls continued by more than one conversation
    reasons: Mapping[str, int] = field(default_factory=dict)  # calls not grouped, per reason


def step_of(
    ident: int,
    started_at: float,
    head: tuple[str, str],
    messages: Sequence[Any],
    params: Mapping[str, Any],
    answer_calls: Sequence[Mapping[str, Any]],
) -> Step:
    """The step of an answered call: ``head`` is (provider, model), ``messages`` and
    ``params`` in OpenAI's form, ``answer_calls`` its answer's ``{id, name, arguments}``."""
    kept = {k: v for k, v in params.items() if k not in PRIVATE_PARAMS}
    answered, answered_ids = _signature(
        [(c.get("id"), c.get("name"), c.get("arguments")) for c in answer_calls]
    )
    step = Step(
        ident,
        started_at,
        _hash([*head, list(messages)]),
        _hash(kept),
        answered=_UNSIGNED if answered is None else answered,
        answered_ids=answered_ids,
    )
    found = tool_step(messages)
    if found is None:
        return step
    if isinstance(found, str):
        return _with(step, problem=found)
    asked, asked_ids = _signature([(i, name, args) for i, name, args, _ in found])
    if asked is None:
        return _with(step, problem=NOT_JSON)
    prefix = _hash([*head, list(messages[: last_tool_step(messages)])])
    return _with(step, prefix=prefix, asked=asked, asked_ids=asked_ids)


def _with(step: Step, **changes: Any) -> Step:
    return replace(step, **changes)


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, Mapping) else None


def last_tool_step(messages: Sequence[Any]) -> int | None:
    """The index of the assistant message with tool calls that only tool results follow."""
    index = len(messages) - 1
    while index >= 0 and _role(messages[index]) == "tool":
        index -= 1
    if index < 0 or _role(messages[index]) != "assistant":
        return None
    return index if messages[index].get("tool_calls") else None


ToolStep = list[tuple[str, str, Any, str]]
"""A step's tool calls in call order: (id, name, arguments, the result's text)."""


def tool_step(messages: Sequence[Any]) -> ToolStep | str | None:
    """The tool calls ``messages`` end with, each with its result; why they cannot be a
    step of a conversation; None when the messages do not end with tool calls."""
    last = last_tool_step(messages)
    if last is None:
        return None
    results = messages[last + 1 :]
    if not results:
        return NO_RESULTS
    raw = messages[last].get("tool_calls")
    calls = []
    for call in raw if isinstance(raw, list) else []:
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping):
            return MISMATCHED
        calls.append((call.get("id"), function.get("name"), function.get("arguments")))
    ids = [c[0] for c in calls]
    if (
        not calls
        or not all(isinstance(i, str) and i for i in ids)
        or sorted(ids) != sorted(m.get("tool_call_id") for m in results)
    ):
        return MISMATCHED
    texts = {m["tool_call_id"]: result_text(m.get("content")) for m in results}
    shown = {i: text for i, text in texts.items() if text is not None}
    if len(shown) < len(texts):
        return NOT_TEXT
    found = [(str(i), str(name), tool_arguments(args), shown[i]) for i, name, args in calls]
    if not all(isinstance(args, dict) for _, _, args, _ in found):
        return NOT_JSON
    return found


def result_text(content: Any) -> str | None:
    """A tool message's content as text (text parts joined); None when it is not text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in content
    ):
        return "".join(p["text"] for p in content)
    return None


def _signature(calls: Sequence[tuple[Any, Any, Any]]) -> tuple[str | None, tuple[str, ...]]:
    """Canonical (name, arguments) of the calls in order, and their ids; None when an
    argument is not a JSON object."""
    shown = []
    for _, name, arguments in calls:
        parsed = tool_arguments(arguments)
        if not isinstance(parsed, dict):
            return None, ()
        shown.append([str(name), parsed])
    try:
        text = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:  # nested past what can be compared: not linked
        return None, ()
    return (text if calls else ""), tuple(str(c[0] or "") for c in calls)


def _continues(step: Step, earlier: Step) -> bool:
    """Whether ``step``'s last tool step is ``earlier``'s answer (by its ids when it has them)."""
    same_ids = step.asked_ids == earlier.answered_ids or not any(earlier.answered_ids)
    return step.asked == earlier.answered and same_ids


def group(steps: Iterable[Step], max_steps: int = MAX_STEPS) -> Grouping:
    """Link each step to the earlier call it continues, then read off the conversations."""
    ordered = sorted(steps, key=lambda s: s.order)
    by_request: dict[str, list[Step]] = {}
    parent: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    reasons: dict[int, str] = {}
    for step in ordered:
        if step.problem is not None:
            reasons[step.id] = step.problem
        elif step.prefix is not None:
            found, why = _earlier(step, by_request.get(step.prefix, []), children)
            if found is None:
                reasons[step.id] = why
            else:
                parent[step.id] = found.id
                children.setdefault(found.id, []).append(step.id)
        by_request.setdefault(step.request, []).append(step)
    by_id = {s.id: s for s in ordered}
    roots = [
        s.id for s in ordered if s.id in children and s.id not in parent and s.id not in reasons
    ]
    kept: list[tuple[int, ...]] = []
    for root in roots:
        kept += _paths(root, children, by_id, max_steps, reasons)
    for orphan in [i for i in children if i in reasons]:  # its descendants cannot start a case
        _tag(_subtree(orphan, children), UNSEEN, reasons)
    return _grouping(ordered, kept, children, reasons)


def _subtree(root: int, children: Mapping[int, list[int]]) -> tuple[int, ...]:
    found: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        ident = stack.pop()
        found.append(ident)
        stack += children.get(ident, [])
    return tuple(found)


def _earlier(
    step: Step, candidates: list[Step], children: Mapping[int, list[int]]
) -> tuple[Step | None, str]:
    """The earlier call ``step`` continues: the latest match not yet continued, else the
    latest match; or why there is none."""
    if not candidates:
        return None, UNSEEN
    recent = candidates[-_SCAN:]
    matching = [c for c in recent if _continues(step, c)]
    same = [c for c in matching if c.params == step.params]
    if not same:
        return None, CHANGED if matching else DIFFERENT_CALLS
    free = [c for c in same if c.id not in children]
    return (free or same)[-1], ""


def _paths(
    root: int,
    children: Mapping[int, list[int]],
    by_id: Mapping[int, Step],
    max_steps: int,
    reasons: dict[int, str],
) -> list[tuple[int, ...]]:
    """Every root-to-leaf path that ends in a text answer, at most ``max_steps`` long; the
    calls of paths that do not are given their reason."""
    found: list[tuple[int, ...]] = []
    stack: list[tuple[int, ...]] = [(root,)]
    while stack:
        path = stack.pop()
        if len(path) > max_steps:
            _tag((*path, *_subtree(path[-1], children)), TOO_LONG, reasons)
            continue
        nexts = children.get(path[-1], [])
        if nexts:
            stack += [(*path, n) for n in reversed(nexts)]
        elif by_id[path[-1]].answered:
            _tag(path, UNFINISHED, reasons)
        else:
            found.append(path)
    return found


def _tag(path: tuple[int, ...], reason: str, reasons: dict[int, str]) -> None:
    for ident in path:
        reasons.setdefault(ident, reason)


def _grouping(
    ordered: list[Step],
    kept: list[tuple[int, ...]],
    children: Mapping[int, list[int]],
    reasons: Mapping[int, str],
) -> Grouping:
    grouped = {i for path in kept for i in path}
    singles = tuple(s.id for s in ordered if s.id not in grouped)
    leaves = Counter(i for path in kept for i in path)
    forks = sum(1 for i, kids in children.items() if len(kids) > 1 and leaves[i] > 1)
    counts = Counter(reasons[i] for i in singles if i in reasons)
    position = {s.id: n for n, s in enumerate(ordered)}
    kept.sort(key=lambda path: position[path[0]])
    return Grouping(tuple(kept), singles, forks, dict(counts))
