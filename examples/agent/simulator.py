"""A deterministic loopback simulator of three models running the order agent (not real
models): step by step, from the conversation so far (the tool results it carries).

* ``gpt-4.1`` (the baseline) looks the order up, refunds a delivered one its full total,
  and answers;
* ``gpt-4.1-mini`` does the same, except that it also tries to refund a shipped order;
* ``gpt-4.1-nano`` skips the lookup on refund requests: it refunds a guessed amount at
  once, and answers whatever the tool said.
"""

from __future__ import annotations

import hashlib
import json
import re

from loopback import Call, Reply
from loopback_agent import calling, results, turns

TYPICAL_LATENCY_S = {"gpt-4.1": 0.55, "gpt-4.1-mini": 0.32, "gpt-4.1-nano": 0.21}


def _latency(call: Call) -> float:
    digest = hashlib.sha256(json.dumps(call.body, sort_keys=True).encode()).digest()
    return round(TYPICAL_LATENCY_S.get(call.model, 0.4) * (0.7 + 0.9 * (digest[0] / 255) ** 3), 3)


def respond(call: Call) -> Reply:
    """The model's next step of the order agent."""
    first = next((m["content"] for m in call.messages if m["role"] == "user"), "")
    found = re.search(r"order (\d+)", first)
    order = int(found.group(1)) if found else 0
    step, seen = turns(call), [_data(r) for r in results(call)]
    wants_refund = "refund" in first.lower()
    reply = _step(call.model, order, wants_refund, step, seen)
    return Reply(reply.text, tool_calls=reply.tool_calls, latency_s=_latency(call))


def _data(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _step(model: str, order: int, wants_refund: bool, step: int, seen: list[object]) -> Reply:
    if model == "gpt-4.1-nano" and wants_refund:
        if step == 0:
            return calling("refund", {"order_id": order, "amount": 50.0})
        return Reply(f"Your order {order} has been refunded.")
    if step == 0:
        return calling("lookup_order", {"order_id": order})
    found = seen[0] if isinstance(seen[0], dict) else {}
    status, total = found.get("status"), found.get("total")
    if not wants_refund:
        return Reply(f"Your order {order} ({found.get('item')}) is {status}.")
    refundable = status == "delivered" or (model == "gpt-4.1-mini" and status == "shipped")
    if step == 1 and refundable:
        return calling("refund", {"order_id": order, "amount": total})
    if step == 1 or (isinstance(seen[-1], str) and seen[-1].startswith("error:")):
        return Reply(f"Order {order} is {status}, so it cannot be refunded yet.")
    return Reply(f"I refunded ${total} on order {order}.")
