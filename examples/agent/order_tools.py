"""The order agent's tools: plain Python functions, offered to the model by
``tools_from: order_tools`` (each public function is a tool, its schema read from its
signature and docstring). They run for real on every run, replays included."""

from __future__ import annotations

ORDERS = {
    1001: {"item": "kettle", "status": "delivered", "total": 42.5},
    1002: {"item": "desk lamp", "status": "shipped", "total": 29.0},
    1003: {"item": "headphones", "status": "delivered", "total": 89.99},
    1004: {"item": "yoga mat", "status": "delivered", "total": 25.0},
    1005: {"item": "coffee grinder", "status": "processing", "total": 54.0},
    1006: {"item": "backpack", "status": "delivered", "total": 64.5},
    1007: {"item": "phone case", "status": "delivered", "total": 15.99},
    1008: {"item": "blender", "status": "shipped", "total": 79.0},
    1009: {"item": "rain jacket", "status": "delivered", "total": 120.0},
    1010: {"item": "water bottle", "status": "delivered", "total": 18.5},
    1011: {"item": "keyboard", "status": "delivered", "total": 99.0},
    1012: {"item": "plant pot", "status": "processing", "total": 12.0},
}


def lookup_order(order_id: int) -> dict:
    """Look an order up: its item, status and total.

    Args:
        order_id: the order number the customer gave
    """
    order = ORDERS.get(order_id)
    if order is None:
        raise KeyError(f"no order {order_id}")
    return {"order_id": order_id, **order}


def refund(order_id: int, amount: float) -> dict:
    """Refund a delivered order, at most its total.

    Args:
        order_id: the order number
        amount: the amount to refund, in USD
    """
    order = ORDERS.get(order_id)
    if order is None:
        raise KeyError(f"no order {order_id}")
    if order["status"] != "delivered":
        raise ValueError(f"order {order_id} is {order['status']}, not delivered")
    if amount > order["total"]:
        raise ValueError(f"refund {amount} exceeds the order total {order['total']}")
    return {"order_id": order_id, "refunded": amount}
