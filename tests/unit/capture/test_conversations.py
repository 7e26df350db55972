"""Grouping captured calls into agent conversations (capture/conversations.py), pure."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pytest_modelguard.capture import conversations as conv
from pytest_modelguard.capture.conversations import Grouping, Step, group, step_of

USER = [
    {"role": "system", "content": "You handle orders."},
    {"role": "user", "content": "refund 42"},
]
TOOLS = {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]}


def call(name: str, args: Any, ident: str) -> dict[str, Any]:
    """An answer's tool call as capture stores it."""
    return {"id": ident, "name": name, "arguments": args}


def asked(*calls: dict[str, Any]) -> dict[str, Any]:
    """The assistant message a framework appends for ``calls``."""
    wire = [
        {"id": c["id"], "type": "function",
         "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(
             c["arguments"], str) else json.dumps(c["arguments"])}}
        for c in calls
    ]  # fmt: skip
    return {"role": "assistant", "content": None, "tool_calls": wire}


def results(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"role": "tool", "tool_call_id": i, "content": text} for i, text in pairs]


def step(
    ident: int,
    messages: list[Any],
    answer: list[dict[str, Any]] | None = None,
    *,
    at: float | None = None,
    params: dict[str, Any] | None = None,
) -> Step:
    return step_of(
        ident,
        float(ident) if at is None else at,
        ("openai", "gpt-4.1-mini"),
        messages,
        TOOLS if params is None else params,
        answer or [],
    )


def agent_run(first: int, *, ids: tuple[str, str] = ("c1", "c2")) -> list[Step]:
    """lookup(42) → refund(42) and lookup(43) in parallel → an answer: three calls."""
    one = call("lookup", {"order_id": 42}, ids[0])
    two = [call("refund", {"order_id": 42}, ids[1]), call("lookup", {"order_id": 43}, "p2")]
    second = [*USER, asked(one), *results((ids[0], '{"status": "shipped"}'))]
    third = [*second, asked(*two), *results(("p2", "{}"), (ids[1], "refunded"))]
    return [
        step(first, USER, [one]),
        step(first + 1, second, two),
        step(first + 2, third),
    ]


def test_a_chain_with_parallel_calls_is_one_conversation() -> None:
    plain = step(9, [{"role": "user", "content": "hello"}])
    found = group([*agent_run(1), plain])
    assert found == Grouping(((1, 2, 3),), (9,), 0, {})


def test_interleaved_conversations_with_the_same_prompt_and_ids_stay_apart() -> None:
    """Two runs of one prompt whose tool-call ids repeat (as a simulator's do), interleaved:
    two conversations, not a fork of one."""
    a, b = agent_run(1), agent_run(11)
    at = {1: 1.0, 11: 2.0, 2: 3.0, 12: 4.0, 3: 5.0, 13: 6.0}
    steps = [step_of_at(s, at[s.id]) for s in (*a, *b)]
    found = group(steps)
    assert found.conversations == ((1, 12, 3), (11, 2, 13))  # equal runs: either pairing
    assert found.forks == 0 and found.singles == ()


def step_of_at(item: Step, at: float) -> Step:
    from dataclasses import replace

    return replace(item, started_at=at)


def test_unique_ids_tell_interleaved_conversations_apart_exactly() -> None:
    a, b = agent_run(1, ids=("a1", "a2")), agent_run(11, ids=("b1", "b2"))
    at = {1: 1.0, 11: 2.0, 2: 3.0, 12: 4.0, 3: 5.0, 13: 6.0}
    found = group([step_of_at(s, at[s.id]) for s in (*b, *a)])
    assert found.conversations == ((1, 2, 3), (11, 12, 13))


def test_a_fork_becomes_one_conversation_per_branch() -> None:
    one = call("lookup", {"order_id": 42}, "c1")
    first = step(1, USER, [one])
    left = step(2, [*USER, asked(one), *results(("c1", "shipped"))])
    right = step(3, [*USER, asked(one), *results(("c1", "lost"))])
    found = group([first, left, right])
    assert found.conversations == ((1, 2), (1, 3))
    assert found.forks == 1


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        ([asked(call("lookup", {}, "c1"))], conv.NO_RESULTS),
        ([asked(call("lookup", {}, "c1")), *results(("zz", "x"))], conv.MISMATCHED),
        ([asked(call("lookup", {}, "")), *results(("", "x"))], conv.MISMATCHED),
        ([asked(call("lookup", "{not json", "c1")), *results(("c1", "x"))], conv.NOT_JSON),
        ([asked(call("lookup", "[1, 2]", "c1")), *results(("c1", "x"))], conv.NOT_JSON),
        (
            [asked(call("lookup", {}, "c1")),
             {"role": "tool", "tool_call_id": "c1", "content": [{"type": "image_url"}]}],
            conv.NOT_TEXT,
        ),
    ],
)  # fmt: skip
def test_a_malformed_tool_step_is_listed_not_guessed(tail: list[Any], reason: str) -> None:
    first = step(1, USER, [call("lookup", {}, "c1")])
    found = group([first, step(2, [*USER, *tail])])
    assert found.conversations == ()
    assert found.singles == (1, 2)
    assert found.reasons == {reason: 1}  # the first call stays a single tool-call case


def test_steps_whose_start_was_not_captured_are_listed_with_their_descendants() -> None:
    _, second, third = agent_run(1)
    found = group([second, third])
    assert found.conversations == ()
    assert found.reasons == {conv.UNSEEN: 2}


def test_a_conversation_cut_before_its_answer_is_listed() -> None:
    first, second, _ = agent_run(1)
    found = group([first, second])
    assert found.conversations == ()
    assert found.reasons == {conv.UNFINISHED: 2}


def test_changed_params_and_other_tool_calls_do_not_link() -> None:
    one = call("lookup", {"order_id": 42}, "c1")
    first = step(1, USER, [one])
    changed = step(2, [*USER, asked(one), *results(("c1", "x"))], params={"temperature": 1})
    other = step(3, [*USER, asked(call("refund", {}, "c1")), *results(("c1", "x"))])
    found = group([first, changed, other])
    assert found.conversations == ()
    assert found.reasons == {conv.CHANGED: 1, conv.DIFFERENT_CALLS: 1}


def test_private_params_do_not_split_a_conversation() -> None:
    one = call("lookup", {}, "c1")
    first = step(1, USER, [one], params={**TOOLS, "user": "u-1"})
    last = step(2, [*USER, asked(one), *results(("c1", "x"))], params={**TOOLS, "user": "u-2"})
    assert group([first, last]).conversations == ((1, 2),)


def test_a_huge_chain_is_capped_and_listed() -> None:
    messages: list[Any] = list(USER)
    steps = []
    for n in range(1, 102):
        one = call("lookup", {"n": n}, f"c{n}")
        steps.append(step(n, list(messages), [one] if n < 101 else []))
        messages += [asked(one), *results((f"c{n}", "ok"))]
    found = group(steps)
    assert found.conversations == ()
    assert found.reasons == {conv.TOO_LONG: 101}
    assert group(steps, max_steps=101).conversations == (tuple(range(1, 102)),)


def test_many_conversations_group_in_linear_time() -> None:
    """4,000 two-call conversations of one prompt (the worst case for matching by prompt)."""
    one = call("lookup", {}, "c1")
    first = USER
    second = [*USER, asked(one), *results(("c1", "x"))]
    steps = [step(2 * i, first, [one]) for i in range(4_000)]
    steps += [step(2 * i + 1, second) for i in range(4_000)]
    started = time.process_time()
    found = group(steps)
    assert len(found.conversations) == 4_000 and found.forks == 0
    assert time.process_time() - started < 5


def test_surrogates_and_odd_messages_do_not_break_grouping() -> None:
    bad = [{"role": "user", "content": "\ud800 lone"}, "not a message", None]
    one = call("lookup", {"q": "\udfff"}, "c1")
    first = step(1, bad, [one])
    last = step(2, [*bad, asked(one), *results(("c1", "\ud800"))])
    assert group([first, last]).conversations == ((1, 2),)
