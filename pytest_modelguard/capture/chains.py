"""Responses API calls that continue an earlier answer (``previous_response_id``), made whole
for export. Pure.

Such a request holds only its newest turn: the provider keeps the rest. A call is rebuilt
from the captured calls it continues, found by their ``response_id``: their turns and
answers, oldest first, then its own, under its own system message. Then a suite case holds
all that the model saw and replays on any provider. What cannot be rebuilt (an earlier call
not captured, a system message that changed) is said, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .store import Trace

CONTINUES = "previous_response_id"
MAX_CHAIN = 256
"""Calls a rebuilt conversation may span; a longer chain is left out with its reason."""
NOT_CAPTURED = "a call continuing a response that was not captured (previous_response_id)"
OTHER_SYSTEM = "a call continuing a response given another system message (previous_response_id)"
TOO_LONG = f"a chain of more than {MAX_CHAIN} calls (previous_response_id)"


def continued(trace: Trace) -> str | None:
    """The id of the response ``trace`` continues, or None."""
    value = trace.params.get(CONTINUES)
    return value if isinstance(value, str) and value else None


def chain_of(trace: Trace, answered: Callable[[str], Trace | None]) -> list[Trace] | str:
    """``trace`` and the calls it continues, oldest first; ``answered(id)``: the captured
    call that answered with that response id. A reason when one is missing."""
    chain = [trace]
    seen = {id(trace)}
    while (earlier_id := continued(chain[0])) is not None:
        earlier = answered(earlier_id)
        if earlier is None or id(earlier) in seen:
            return NOT_CAPTURED
        if len(chain) == MAX_CHAIN:
            return TOO_LONG
        seen.add(id(earlier))
        chain.insert(0, earlier)
    return chain


def rebuilt(chain: Sequence[Trace]) -> Trace | str:
    """The last call of ``chain`` (each call continuing the one before) with the whole
    conversation as its messages and no ``previous_response_id``.

    The API carries earlier turns over but not earlier ``instructions`` (captured as the
    leading system message): a chain whose calls had different ones is refused, since what
    the model saw then cannot be told from the record.
    """
    last = chain[-1]
    system = _system(last)
    messages: list[Any] = [system] if system is not None else []
    for n, trace in enumerate(chain):
        own = _system(trace)
        if own is not None and own != system:
            return OTHER_SYSTEM
        messages += trace.messages[1:] if own is not None else trace.messages
        if n < len(chain) - 1:
            messages.append(answer_message(trace))
    params = {k: v for k, v in last.params.items() if k != CONTINUES}
    return replace(last, messages=tuple(messages), params=params)


def answer_message(trace: Trace) -> dict[str, Any]:
    """A call's answer as the assistant message of a chat history: its text, its tool calls."""
    message: dict[str, Any] = {"role": "assistant", "content": trace.output or None}
    if trace.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.get("id", ""),
                "type": "function",
                "function": {
                    "name": call.get("name", ""),
                    "arguments": _text(call.get("arguments")),
                },
            }
            for call in trace.tool_calls
        ]
    elif message["content"] is None:
        message["content"] = ""
    return message


def _system(trace: Trace) -> Any:
    first = trace.messages[0] if trace.messages else None
    return first if isinstance(first, dict) and first.get("role") == "system" else None


def _text(arguments: Any) -> str:
    """Tool call arguments as the JSON text a chat history carries."""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)
