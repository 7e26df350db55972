"""An order agent's model for the loopback server: production looks the order and the
customer up (two tool calls in parallel), refunds, then answers; candidates answer at once
(``skip-*``) or follow production's path (``same-*``).

The step is read from the request: the assistant turns it carries (Chat Completions), or, on
the Responses wire (whose function outputs the loopback does not show as messages), how
many times this prompt was asked before.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from loopback import Call, Reply

CUSTOMER_KEY = "customer-secret-1234567890abcdef"
"""A credential a tool result carries (an API echoing a record): never exported."""


def lookup_order(order_id: int) -> str:
    """Look an order up by its number."""
    return json.dumps({"order_id": order_id, "status": "delivered", "total": 42.5})


def get_customer(name: str) -> str:
    """A customer's record."""
    return json.dumps({"name": name, "tier": "gold", "api_key": CUSTOMER_KEY})


def refund(order_id: int, reason: str) -> str:
    """Refund an order."""
    return f"refund of order {order_id} accepted ({reason})"


FUNCTIONS = (lookup_order, get_customer, refund)
STEPS: tuple[tuple[dict[str, Any], ...], ...] = (
    (
        {"name": "lookup_order", "arguments": {"order_id": 42}, "id": "call_look"},
        {"name": "get_customer", "arguments": {"name": "Ann"}, "id": "call_cust"},
    ),
    ({"name": "refund", "arguments": {"order_id": 42, "reason": "damaged"}, "id": "call_ref"},),
)
ANSWER = "Order 42 is refunded."


class OrderModel:
    """The responder: production's three steps, or a candidate's."""

    def __init__(self) -> None:
        self.asked: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, call: Call) -> Reply:
        if call.model.startswith("skip"):
            return Reply("Refunded.")
        step = self._step(call)
        if step < len(STEPS):
            return Reply("", tool_calls=STEPS[step])
        return Reply(ANSWER)

    def _step(self, call: Call) -> int:
        if call.path != "/v1/responses":
            return sum(1 for m in call.messages if m["role"] == "assistant")
        with self.lock:
            step = self.asked.get(call.prompt, 0)
            self.asked[call.prompt] = step + 1
        return step
