"""previous_response_id chains rebuilt whole for export: the turns, answers and system
message the model saw, or the reason they cannot be told."""

from __future__ import annotations

from typing import Any

from pytest_modelguard.capture.chains import (
    MAX_CHAIN,
    NOT_CAPTURED,
    OTHER_SYSTEM,
    TOO_LONG,
    chain_of,
    rebuilt,
)
from pytest_modelguard.capture.store import Trace

SYSTEM = {"role": "system", "content": "be brief"}


def call(*messages: Any, continues: str | None = None, **fields: Any) -> Trace:
    params: dict[str, Any] = {"temperature": 0}
    if continues is not None:
        params["previous_response_id"] = continues
    return Trace("openai", "m", tuple(messages), params, **fields)


def test_a_text_conversation_is_rebuilt_in_order_under_the_newest_system_message() -> None:
    first = call(SYSTEM, {"role": "user", "content": "hi"}, output="hello", response_id="r1")
    second = call(
        SYSTEM, {"role": "user", "content": "and?"}, continues="r1", output="so", response_id="r2"
    )
    third = call(SYSTEM, {"role": "user", "content": "bye"}, continues="r2", output="ciao")
    answered = {"r1": first, "r2": second}.get
    chain = chain_of(third, answered)
    assert chain == [first, second, third]
    whole = rebuilt(chain)
    assert isinstance(whole, Trace)
    assert whole.messages == (
        SYSTEM,
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and?"},
        {"role": "assistant", "content": "so"},
        {"role": "user", "content": "bye"},
    )
    assert whole.params == {"temperature": 0} and whole.output == "ciao"


def test_a_tool_step_is_rebuilt_as_the_chat_history_an_agent_case_reads() -> None:
    asked = {"id": "c1", "name": "get_weather", "arguments": {"city": "Oslo"}}
    first = call({"role": "user", "content": "weather?"}, output="", tool_calls=(asked,),
                 response_id="r1")  # fmt: skip
    result = {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    whole = rebuilt([first, call(result, continues="r1", output="It is sunny")])
    assert isinstance(whole, Trace)
    assert whole.messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
        ],
    }  # fmt: skip
    assert whole.messages[2] == result and "previous_response_id" not in whole.params


def test_what_cannot_be_rebuilt_is_a_reason() -> None:
    lone = call({"role": "user", "content": "and?"}, continues="gone")
    assert chain_of(lone, {}.get) == NOT_CAPTURED
    looped = call({"role": "user", "content": "x"}, continues="r1", response_id="r1")
    assert chain_of(looped, {"r1": looped}.get) == NOT_CAPTURED  # names itself: never resolves
    other = {"role": "system", "content": "be verbose"}
    first = call(other, {"role": "user", "content": "hi"}, output="hello", response_id="r1")
    assert rebuilt([first, call(SYSTEM, {"role": "user", "content": "x"}, continues="r1")]) == (
        OTHER_SYSTEM
    )
    # no system message now, one before: instructions are not carried over, an input item is
    assert rebuilt([first, call({"role": "user", "content": "x"}, continues="r1")]) == OTHER_SYSTEM
    calls = {f"r{n}": call({"role": "user", "content": str(n)}, continues=f"r{n + 1}",
                           response_id=f"r{n}") for n in range(MAX_CHAIN + 1)}  # fmt: skip
    calls[f"r{MAX_CHAIN + 1}"] = call({"role": "user", "content": "root"}, response_id="root")
    assert chain_of(calls["r0"], calls.get) == TOO_LONG
